/**
 * UTC offsets of IANA zones, fast and exact.
 *
 * luxon (Intl underneath) answers one offset in about 10 µs, far too slow for a batch check. A
 * ZoneClock asks luxon once per span of constant offset, finds the span's ends exactly (to the
 * millisecond, by bisection), and then answers every instant inside the span from memory.
 * Assumption (true of every zone in the tz database since 1970): two offset changes of a zone are at
 * least PROBE_STEP apart. Spans are looked for at most SPAN_HORIZON either side of an instant; a zone
 * without transitions gets spans of that length.
 *
 * "Wall time" below means local date and time written as if it were UTC epoch milliseconds.
 */
import { IANAZone } from 'luxon';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
const PROBE_STEP = 2 * DAY_MS;
const SPAN_HORIZON = 200 * DAY_MS;

interface Span {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  /** Offset in milliseconds (local = instant + offset). */
  readonly offset: number;
}

export class ZoneClock {
  private readonly zone: IANAZone;
  private readonly spans: Span[] = [];
  private last: Span | undefined;

  constructor(readonly name: string) {
    this.zone = IANAZone.create(name);
    if (!this.zone.isValid) throw new Error(`${name} is not an IANA time zone`);
  }

  private raw(t: number): number {
    return this.zone.offset(t) * MINUTE_MS;
  }

  /** local wall time = t + offset(t). */
  offset(t: number): number {
    const last = this.last;
    if (last !== undefined && t >= last.from && t < last.to) return last.offset;
    return this.spanAt(t).offset;
  }

  /** The first instant after t at which the offset changes (or the end of the known span). */
  nextTransition(t: number): number {
    return this.spanAt(t).to;
  }

  private spanAt(t: number): Span {
    const spans = this.spans;
    let lo = 0;
    let hi = spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const span = spans[mid];
      if (t < span.from) hi = mid - 1;
      else if (t >= span.to) lo = mid + 1;
      else {
        this.last = span;
        return span;
      }
    }
    const span = this.discover(t);
    // Keep spans sorted and disjoint: clip the new one against its neighbours.
    const before = lo > 0 ? spans[lo - 1] : undefined;
    const after = lo < spans.length ? spans[lo] : undefined;
    const clipped: Span = {
      from: before !== undefined ? Math.max(span.from, before.to) : span.from,
      to: after !== undefined ? Math.min(span.to, after.from) : span.to,
      offset: span.offset,
    };
    spans.splice(lo, 0, clipped);
    this.last = clipped;
    return clipped;
  }

  private discover(t: number): Span {
    const offset = this.raw(t);
    // Forward: probe until the offset differs, then bisect between the last equal and the first different.
    let to = t + SPAN_HORIZON;
    for (let probe = t + PROBE_STEP, prev = t; probe <= t + SPAN_HORIZON; prev = probe, probe += PROBE_STEP) {
      if (this.raw(probe) !== offset) {
        to = this.bisect(prev, probe, offset);
        break;
      }
    }
    let from = t - SPAN_HORIZON;
    for (let probe = t - PROBE_STEP, prev = t; probe >= t - SPAN_HORIZON; prev = probe, probe -= PROBE_STEP) {
      if (this.raw(probe) !== offset) {
        from = this.bisect(probe, prev, offset);
        break;
      }
    }
    return { from, to, offset };
  }

  /**
   * Between a and b (a < b) exactly one of them has `offset`; returns the first instant of the part
   * that does not have it when it is b's side, or the first instant that has it when it is b's side.
   */
  private bisect(a: number, b: number, offset: number): number {
    const aHas = this.raw(a) === offset;
    let lo = a;
    let hi = b;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.raw(mid) === offset) === aHas) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /**
   * The first instant whose wall time is at or after `wall`, among the instants near it: the instant of
   * that wall time, the earlier one when the wall time occurs twice (clocks set back), or the instant
   * the clocks jump when the wall time does not exist (clocks set forward).
   */
  firstAtOrAfterWall(wall: number): number {
    const before = this.offset(wall - DAY_MS);
    const after = this.offset(wall + DAY_MS);
    const c1 = wall - before;
    if (before === after) {
      if (this.offset(c1) === before) return c1;
    }
    const c2 = wall - after;
    const ok1 = this.offset(c1) === before;
    const ok2 = this.offset(c2) === after;
    if (ok1 && ok2) return Math.min(c1, c2);
    if (ok1) return c1;
    if (ok2) return c2;
    // The wall time falls in a gap: the answer is the jump itself, the first instant with `after`.
    const lo = Math.min(c1, c2);
    const hi = Math.max(c1, c2);
    return this.bisectOffset(lo, hi, after);
  }

  /**
   * Every instant at which the wall clock reads `wall` (ascending): one; two when clocks are set back
   * over it; none when clocks jump over it, and then the instant of the jump (where wall time passes it).
   */
  instantsOfWall(wall: number): number[] {
    const before = this.offset(wall - DAY_MS);
    const after = this.offset(wall + DAY_MS);
    const c1 = wall - before;
    if (before === after && this.offset(c1) === before) return [c1];
    const c2 = wall - after;
    const out: number[] = [];
    if (this.offset(c1) === before) out.push(c1);
    if (c2 !== c1 && this.offset(c2) === after) out.push(c2);
    if (out.length === 0) return [this.bisectOffset(Math.min(c1, c2), Math.max(c1, c2), after)];
    return out.length === 2 && out[1] < out[0] ? [out[1], out[0]] : out;
  }

  private bisectOffset(lo: number, hi: number, target: number): number {
    // offset(lo) !== target, offset(hi) === target
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.offset(mid) === target) hi = mid;
      else lo = mid;
    }
    return hi;
  }
}

const clocks = new Map<string, ZoneClock | null>();

/** The clock of an IANA zone (links such as Asia/Calcutta included), or null for an unknown name. */
export function zoneClock(name: string): ZoneClock | null {
  let clock = clocks.get(name);
  if (clock === undefined) {
    clock = IANAZone.isValidZone(name) ? new ZoneClock(name) : null;
    if (clocks.size < 10_000) clocks.set(name, clock);
  }
  return clock;
}

export function isValidZone(name: string): boolean {
  return zoneClock(name) !== null;
}

/** 0 = Sunday ... 6 = Saturday, of a wall-time day number (days since 1970-01-01, a Thursday). */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** 'YYYY-MM-DD' of a day number. */
export function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** 'HH:MM' of minutes since midnight. */
export function clockText(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}
