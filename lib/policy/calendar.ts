/**
 * Calling windows and holidays evaluated in one zone, and in the overlap of several zones.
 *
 * A window is half-open in local wall time: [start, end). 08:00-21:00 allows 08:00:00.000 and
 * 20:59:59.999 and blocks 21:00:00.000 (the conservative reading of "after 9 p.m."); 20:00-24:00 ends
 * at midnight. A window is a set of local wall times, so on the day clocks are set forward a wall time
 * in the gap never occurs (a window starting in the gap opens at the jump), and on the day clocks are
 * set back a repeated wall time is inside the window both times it occurs. A holiday blocks the whole
 * local day.
 */
import Holidays from 'date-holidays';
import { DAY_MS, weekdayOf, type ZoneClock } from './zone-clock';

/** How far ahead nextAllowedAt is looked for; beyond it the block is reported as having no end. */
export const HORIZON_DAYS = 400;

export interface HolidaySource {
  readonly country?: string;
  readonly state?: string;
  /** date-holidays types to bar (default ['public']). */
  readonly types?: readonly string[];
  /** 'YYYY-MM-DD' (that day) or 'MM-DD' (every year). */
  readonly dates?: readonly string[];
}

function dayNumber(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY_MS);
}

export class HolidayCalendar {
  private readonly days = new Set<number>();
  private readonly years = new Set<number>();
  private readonly library: Holidays | null;
  private readonly types: ReadonlySet<string>;
  private readonly yearly: Array<readonly [number, number]> = [];
  /** name of each barred day, for messages */
  private readonly names = new Map<number, string>();

  constructor(source: HolidaySource) {
    this.types = new Set(source.types && source.types.length > 0 ? source.types : ['public']);
    this.library = source.country
      ? source.state
        ? new Holidays(source.country, source.state)
        : new Holidays(source.country)
      : null;
    for (const date of source.dates ?? []) {
      const full = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
      if (full) {
        const day = dayNumber(Number(full[1]), Number(full[2]), Number(full[3]));
        this.days.add(day);
        this.names.set(day, 'custom date');
        continue;
      }
      const yearly = /^(\d{2})-(\d{2})$/.exec(date);
      if (yearly) this.yearly.push([Number(yearly[1]), Number(yearly[2])]);
    }
  }

  private load(year: number): void {
    this.years.add(year);
    for (const [month, day] of this.yearly) {
      const number = dayNumber(year, month, day);
      // 02-29 only in leap years: Date.UTC would roll it over to 1 March.
      if (new Date(number * DAY_MS).getUTCMonth() !== month - 1) continue;
      this.days.add(number);
      this.names.set(number, 'custom date');
    }
    if (this.library === null) return;
    for (const holiday of this.library.getHolidays(year)) {
      if (!this.types.has(holiday.type)) continue;
      const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(holiday.date);
      if (!match) continue;
      const number = dayNumber(Number(match[1]), Number(match[2]), Number(match[3]));
      this.days.add(number);
      if (!this.names.has(number)) this.names.set(number, holiday.name);
    }
  }

  /** Is this local date (a day number) barred? */
  has(day: number): boolean {
    const year = new Date(day * DAY_MS).getUTCFullYear();
    if (!this.years.has(year)) this.load(year);
    return this.days.has(day);
  }

  nameOf(day: number): string {
    return this.names.get(day) ?? 'holiday';
  }
}

/** What a calendar of barred days answers (one HolidayCalendar, or several together). */
export interface HolidaySet {
  /** Is this local date (a day number) barred? */
  has(day: number): boolean;
  nameOf(day: number): string;
}

/**
 * Several calendars barring their days together: the country's holidays and those of each region the
 * callee may be in (Alsace-Moselle's 26 December beside France's public holidays). A day is named by
 * the first calendar that bars it.
 */
export class HolidayUnion implements HolidaySet {
  constructor(private readonly parts: readonly HolidaySet[]) {}

  has(day: number): boolean {
    for (const part of this.parts) if (part.has(day)) return true;
    return false;
  }

  nameOf(day: number): string {
    for (const part of this.parts) if (part.has(day)) return part.nameOf(day);
    return 'holiday';
  }
}

/** Windows per weekday (0 = Sunday): flat [start, end, start, end...] in milliseconds since local midnight. */
export type WeekWindows = readonly (readonly number[])[];

export class ZoneCalendar {
  private readonly hasWindows: boolean;

  constructor(
    readonly windows: WeekWindows,
    readonly holidays: HolidaySet | null,
  ) {
    this.hasWindows = windows.some((day) => day.length > 0);
  }

  /** Local day number of an instant. */
  localDay(clock: ZoneClock, t: number): number {
    return Math.floor((t + clock.offset(t)) / DAY_MS);
  }

  isHoliday(clock: ZoneClock, t: number): boolean {
    return this.holidays !== null && this.holidays.has(this.localDay(clock, t));
  }

  allowedIn(clock: ZoneClock, t: number): boolean {
    const wall = t + clock.offset(t);
    const day = Math.floor(wall / DAY_MS);
    if (this.holidays !== null && this.holidays.has(day)) return false;
    const ms = wall - day * DAY_MS;
    const list = this.windows[weekdayOf(day)];
    for (let i = 0; i < list.length; i += 2) if (ms >= list[i] && ms < list[i + 1]) return true;
    return false;
  }

  /** The first instant at or after t allowed in this zone, or null within the horizon. */
  nextAllowedIn(clock: ZoneClock, t: number): number | null {
    if (this.allowedIn(clock, t)) return t;
    if (!this.hasWindows) return null;
    // The status only turns to allowed where the wall clock reaches a window's start (at each
    // instant a start wall time occurs: twice when clocks are set back over it, at the jump when
    // clocks skip it), or where the clock changes: set back from after a window's end into the
    // window (00:30-01:30 on the night 01:59 EDT becomes 01:00 EST), the window reopens mid-way.
    let found: number | null = null;
    const first = this.localDay(clock, t);
    search: for (let day = first - 1; day <= first + HORIZON_DAYS; day++) {
      if (this.holidays !== null && this.holidays.has(day)) continue;
      const list = this.windows[weekdayOf(day)];
      for (let i = 0; i < list.length; i += 2) {
        for (const start of clock.instantsOfWall(day * DAY_MS + list[i])) {
          if (start >= t && this.allowedIn(clock, start)) {
            found = start;
            break search;
          }
        }
      }
    }
    const limit = found ?? t + (HORIZON_DAYS + 1) * DAY_MS;
    for (let change = clock.nextTransition(t); change < limit; change = clock.nextTransition(change)) {
      if (this.allowedIn(clock, change)) return change;
    }
    return found;
  }

  /** The first instant after t at which this zone's status or local date may change. */
  nextChangeIn(clock: ZoneClock, t: number): number {
    const day = this.localDay(clock, t);
    let next = clock.firstAtOrAfterWall((day + 1) * DAY_MS);
    const list = this.windows[weekdayOf(day)];
    for (let i = 0; i < list.length; i++) {
      for (const edge of clock.instantsOfWall(day * DAY_MS + list[i])) {
        if (edge > t && edge < next) next = edge;
      }
    }
    const jump = clock.nextTransition(t);
    if (jump > t && jump < next) next = jump;
    return next > t ? next : t + 1;
  }

  /** The first instant at or after t allowed in every zone, or null within the horizon. */
  nextAllowedInAll(clocks: readonly ZoneClock[], t: number): number | null {
    const limit = t + (HORIZON_DAYS + 1) * DAY_MS;
    let c = t;
    for (let round = 0; round < 100_000; round++) {
      let moved = false;
      for (const clock of clocks) {
        const next = this.nextAllowedIn(clock, c);
        if (next === null) return null;
        if (next > c) {
          c = next;
          moved = true;
        }
      }
      if (!moved) return c;
      if (c > limit) return null;
    }
    return null;
  }
}
