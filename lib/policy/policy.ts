/**
 * A compiled calling policy: windows and holidays in the callee's local time, frequency caps and
 * cooling-off periods over attempt records. `evaluate` answers null (allowed) or a blocked verdict with
 * reasons and, when the block is only a matter of time, the first instant the contact may be tried.
 *
 * Cost: the window verdict depends only on the zone set and the instant, and stays the same until the
 * next window edge, local midnight or clock change in any of the zones; it is cached per zone set with
 * that validity, so a batch (one instant) or a busy node evaluates windows once per zone set.
 */
import type { ZoneHints } from '../contacts';
import { isoTime } from '../time';
import type { AttemptRecord } from '../store/types';
import { HORIZON_DAYS } from './calendar';
import { DAY_MS, dateOf, weekdayOf } from './zone-clock';
import {
  compileDefinition,
  WEEKDAY_NAMES,
  type CapScope,
  type CompiledDefinition,
  type PolicyDefinition,
} from './model';
import { resolveZones, zoneSetOf, type ZoneSet } from './zones';

export type PolicyReasonCode =
  'OUTSIDE_CALLING_HOURS' | 'HOLIDAY' | 'FREQUENCY_CAP' | 'COOLING_OFF' | 'TIMEZONE_UNKNOWN';

export interface PolicyReason {
  readonly code: PolicyReasonCode;
  readonly message: string;
  /** The rule this reason enforces, as cited by the policy. */
  readonly rule: string;
  /** When this reason stops blocking (ISO 8601), or null when it has no end in sight. */
  readonly nextAllowedAt: string | null;
  /** The callee's zones considered (window and holiday reasons). */
  readonly zones?: readonly string[];
  /** For FREQUENCY_CAP: attempts counted and the limit. */
  readonly count?: number;
  readonly limit?: number;
}

export interface PolicyVerdict {
  readonly reasons: readonly PolicyReason[];
  /** The first instant every reason has cleared (epoch ms), or null. */
  readonly nextAllowedAt: number | null;
  /** The same as ISO 8601 (null when nextAllowedAt is). */
  readonly nextAllowedText: string | null;
  readonly zones: readonly string[] | null;
}

/** A ParsedContact is one. */
export interface PolicyContact {
  /** What the contact says about where it is (timezone, region, postalCode, country). */
  readonly hints?: ZoneHints;
  /** E.164 number, when the contact has one. */
  readonly phone?: string;
  /** Every index key of the contact (attempt records are kept per key). */
  readonly keys: readonly string[];
}

export interface PolicyScope {
  readonly channel: string | null;
  /** Absent or null: unknown. */
  readonly campaign?: string | null;
}

/** Attempt records of one key at or after `since`, oldest first. */
export type AttemptSource = (key: string, since: number) => readonly AttemptRecord[];

interface WindowVerdict {
  readonly from: number;
  readonly until: number;
  readonly allowed: boolean;
  readonly next: number | null;
  readonly reasons: readonly PolicyReason[];
  /** The verdict itself when only the windows block (shared by every contact of the zone set: frozen). */
  readonly verdict: PolicyVerdict | null;
}

const MAX_CACHED_SETS = 50_000;

function matches(scope: CapScope, record: AttemptRecord, wanted: PolicyScope): boolean {
  // Unknown on either side could be the same campaign or channel: it counts (fail closed).
  if (scope === 'campaign')
    return (
      wanted.campaign === undefined ||
      wanted.campaign === null ||
      record.campaign === null ||
      record.campaign === wanted.campaign
    );
  if (scope === 'channel')
    return wanted.channel === null || record.channel === null || record.channel === wanted.channel;
  return true;
}

/** Whether a record counts for a rule about these channels: its channel is one, or unknown (fail closed). */
function onChannels(channels: ReadonlySet<string> | null, record: AttemptRecord): boolean {
  return channels === null || record.channel === null || channels.has(record.channel);
}

export class CallingPolicy {
  readonly definition: PolicyDefinition;
  readonly name: string;
  /** How far back attempt records can matter (the longest cap window or cooling-off period). */
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  private readonly compiled: CompiledDefinition;
  private readonly fallback: ZoneSet | null;
  private readonly verdicts = new Map<ZoneSet, WindowVerdict>();

  /** Throws DncError DNC_INVALID_INPUT when the definition is not valid. */
  constructor(definition: PolicyDefinition) {
    this.compiled = compileDefinition(definition);
    this.definition = definition;
    this.name = this.compiled.name;
    this.horizonMs = this.compiled.horizonMs;
    this.needsAttempts = this.compiled.caps.length > 0 || this.compiled.coolingOff.length > 0;
    this.fallback =
      this.compiled.fallbackZone === null ? null : zoneSetOf([this.compiled.fallbackZone], 'fallback');
  }

  /** As a CheckPolicy (stack.ts): the one policy checked. */
  get members(): readonly CallingPolicy[] {
    return [this];
  }

  /** The channels the policy governs (normalised), or null for every channel. */
  get channels(): readonly string[] | null {
    return this.compiled.channels === null ? null : [...this.compiled.channels];
  }

  /** Does the policy govern this channel? An unknown channel is governed (fail closed). */
  appliesTo(channel: string | null): boolean {
    return this.compiled.channels === null || channel === null || this.compiled.channels.has(channel);
  }

  /** null: allowed. Throws when attempt records are needed and none can be read (the caller blocks). */
  evaluate(
    contact: PolicyContact,
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    return this.evaluateFor(contact.hints, contact.phone, contact.keys, scope, at, attempts);
  }

  /** evaluate() without the wrapper objects (the hot path of a batch check). */
  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    if (!this.appliesTo(scope.channel)) return null;
    return this.evaluateInZones(resolveZones(hints, phone), keys, scope, at, attempts);
  }

  /** evaluateFor with the callee's zones already resolved (null: none found); a stack resolves them once. */
  evaluateInZones(
    zones: ZoneSet | null,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    if (!this.appliesTo(scope.channel)) return null;
    const set = zones ?? this.fallback;
    const window = set === null ? null : this.windowVerdict(set, at);
    let timed: PolicyReason[] | null = null;
    let clearAt = at;
    if (this.needsAttempts) {
      if (attempts === undefined)
        throw new Error(
          'the store keeps no attempt records, so frequency caps and cooling-off cannot be checked',
        );
      const records = this.recordsOf(keys, at, attempts);
      if (records.length > 0) {
        for (const reason of this.capReasons(records, scope, at)) {
          (timed ??= []).push(reason.reason);
          if (reason.clearAt > clearAt) clearAt = reason.clearAt;
        }
      }
    }
    if (window !== null && window.allowed && timed === null) return null;
    if (set === null) {
      const reasons: PolicyReason[] = [
        {
          code: 'TIMEZONE_UNKNOWN',
          message:
            "the callee's time zone could not be found (no zone, region, number prefix or country to go by), and the policy blocks such contacts",
          rule: this.compiled.rule,
          nextAllowedAt: null,
        },
      ];
      if (timed !== null) reasons.push(...timed);
      return { reasons, nextAllowedAt: null, nextAllowedText: null, zones: null };
    }
    if (timed === null) return window!.verdict!;
    const reasons: PolicyReason[] = window!.allowed ? timed : [...window!.reasons, ...timed];
    const next = this.compiled.calendar.nextAllowedInAll(set.clocks, clearAt);
    return {
      reasons,
      nextAllowedAt: next,
      nextAllowedText: next === null ? null : isoTime(next),
      zones: set.zones,
    };
  }

  /**
   * The first instant at or after `t` at which this policy alone allows the contact, or null when none
   * is in sight (no zone, or no allowed time within the horizon). Caps and cooling-off clear at a
   * fixed instant (attempts only leave their windows as time passes), then the windows and holidays
   * decide: this is the step a stack of policies searches with (stack.ts).
   */
  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    if (!this.appliesTo(scope.channel)) return t;
    return this.firstAllowedInZones(resolveZones(hints, phone), keys, scope, t, attempts);
  }

  /** firstAllowedAt with the callee's zones already resolved (null: none found). */
  firstAllowedInZones(
    zones: ZoneSet | null,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    if (!this.appliesTo(scope.channel)) return t;
    const set = zones ?? this.fallback;
    if (set === null) return null;
    let clearAt = t;
    if (this.needsAttempts) {
      if (attempts === undefined)
        throw new Error(
          'the store keeps no attempt records, so frequency caps and cooling-off cannot be checked',
        );
      const records = this.recordsOf(keys, t, attempts);
      if (records.length > 0) {
        for (const reason of this.capReasons(records, scope, t)) {
          if (reason.clearAt > clearAt) clearAt = reason.clearAt;
        }
      }
    }
    return this.compiled.calendar.nextAllowedInAll(set.clocks, clearAt);
  }

  private recordsOf(keys: readonly string[], at: number, attempts: AttemptSource): readonly AttemptRecord[] {
    const since = at - this.horizonMs;
    if (keys.length === 1) return attempts(keys[0], since);
    const seen = new Set<AttemptRecord>();
    for (const key of keys) for (const record of attempts(key, since)) seen.add(record);
    return [...seen].sort((a, b) => a.at - b.at);
  }

  private capReasons(
    records: readonly AttemptRecord[],
    scope: PolicyScope,
    at: number,
  ): Array<{ reason: PolicyReason; clearAt: number }> {
    const out: Array<{ reason: PolicyReason; clearAt: number }> = [];
    for (const cap of this.compiled.caps) {
      // A cap about some channels binds their checks only; an unknown channel could be one (fail closed).
      if (cap.channels !== null && scope.channel !== null && !cap.channels.has(scope.channel)) continue;
      const times: number[] = [];
      for (const record of records) {
        if (!record.attempt || record.at > at || record.at <= at - cap.windowMs) continue;
        if (!onChannels(cap.channels, record)) continue;
        if (matches(cap.scope, record, scope)) times.push(record.at);
      }
      if (times.length < cap.limit) continue;
      times.sort((a, b) => a - b);
      const clearAt = times[times.length - cap.limit] + cap.windowMs;
      out.push({
        clearAt,
        reason: {
          code: 'FREQUENCY_CAP',
          message: `${times.length} attempts already made; the cap is ${cap.text}`,
          rule: cap.rule,
          nextAllowedAt: isoTime(clearAt),
          count: times.length,
          limit: cap.limit,
        },
      });
    }
    for (const cooling of this.compiled.coolingOff) {
      if (cooling.channels !== null && scope.channel !== null && !cooling.channels.has(scope.channel))
        continue;
      let last: AttemptRecord | null = null;
      for (const record of records) {
        if (record.outcome !== cooling.after || record.at > at || record.at <= at - cooling.durationMs)
          continue;
        if (!onChannels(cooling.channels, record)) continue;
        if (!matches(cooling.scope, record, scope)) continue;
        if (last === null || record.at > last.at) last = record;
      }
      if (last === null) continue;
      const clearAt = last.at + cooling.durationMs;
      out.push({
        clearAt,
        reason: {
          code: 'COOLING_OFF',
          message: `a ${cooling.after} was recorded at ${isoTime(last.at)}: no contact for ${cooling.days} days`,
          rule: cooling.rule,
          nextAllowedAt: isoTime(clearAt),
        },
      });
    }
    return out;
  }

  private windowVerdict(set: ZoneSet, at: number): WindowVerdict {
    const cached = this.verdicts.get(set);
    if (cached !== undefined && at >= cached.from && at < cached.until) return cached;
    const verdict = this.computeWindow(set, at);
    if (this.verdicts.size >= MAX_CACHED_SETS) this.verdicts.clear();
    this.verdicts.set(set, verdict);
    return verdict;
  }

  private computeWindow(set: ZoneSet, at: number): WindowVerdict {
    const calendar = this.compiled.calendar;
    let until = Infinity;
    let allowed = true;
    const holidays: string[] = [];
    const outside: string[] = [];
    for (const clock of set.clocks) {
      const change = calendar.nextChangeIn(clock, at);
      if (change < until) until = change;
      if (calendar.allowedIn(clock, at)) continue;
      allowed = false;
      const day = calendar.localDay(clock, at);
      if (calendar.holidays !== null && calendar.holidays.has(day)) {
        holidays.push(`${dateOf(day)} is a holiday (${calendar.holidays.nameOf(day)}) in ${clock.name}`);
      } else {
        const weekday = weekdayOf(day);
        outside.push(`${clock.name} (${WEEKDAY_NAMES[weekday]}: ${this.compiled.windowText[weekday]})`);
      }
    }
    if (allowed) return { from: at, until, allowed, next: null, reasons: [], verdict: null };
    const next = calendar.nextAllowedInAll(set.clocks, at);
    if (next !== null && next < until) until = next;
    const nextText = next === null ? null : isoTime(next);
    const reasons: PolicyReason[] = [];
    if (
      next === null &&
      !set.placed &&
      set.zones.length > 1 &&
      set.clocks.every((clock) => calendar.nextAllowedIn(clock, at) !== null)
    ) {
      // Only where the callee could be, and no hour fits them all although each has some: the zone is
      // what is missing (a policy that allows no hour anywhere stays OUTSIDE_CALLING_HOURS).
      reasons.push({
        code: 'TIMEZONE_UNKNOWN',
        message: `${unplacedText(set)}, and no time in the next ${HORIZON_DAYS} days is within the calling hours in all ${set.zones.length} of its zones; give the contact's timezone, region or state`,
        rule: this.compiled.rule,
        nextAllowedAt: null,
        zones: set.zones,
      });
      outside.length = 0;
      holidays.length = 0;
    }
    const several = set.zones.length > 1 ? ' (every possible zone of the callee must allow it)' : '';
    if (outside.length > 0) {
      reasons.push({
        code: 'OUTSIDE_CALLING_HOURS',
        message:
          `outside calling hours in the callee's local time: ${outside.join('; ')}${several}` +
          (next === null ? `; no time in the next ${HORIZON_DAYS} days is allowed everywhere` : ''),
        rule: this.compiled.rule,
        nextAllowedAt: nextText,
        zones: set.zones,
      });
    }
    if (holidays.length > 0) {
      reasons.push({
        code: 'HOLIDAY',
        message: holidays.join('; '),
        rule: this.compiled.holidayRule || this.compiled.rule,
        nextAllowedAt: nextText,
        zones: set.zones,
      });
    }
    for (const reason of reasons) Object.freeze(reason);
    Object.freeze(reasons);
    const verdict: PolicyVerdict = Object.freeze({
      reasons,
      nextAllowedAt: next,
      nextAllowedText: nextText,
      zones: set.zones,
    });
    return { from: at, until, allowed, next, reasons, verdict };
  }
}

/** Why a zone set holds several zones the contact did not give (for TIMEZONE_UNKNOWN). */
function unplacedText(set: ZoneSet): string {
  if (set.source === 'numbering-plan')
    return 'the number is not tied to a place (toll-free, premium-rate, shared-cost, personal, VoIP or pager, or a prefix the zone map does not know), so the callee could be anywhere its calling code reaches';
  if (set.source === 'country')
    return 'the callee could be anywhere in the country (a mobile number, or only a country given)';
  return "the number's prefix spans several time zones";
}

/** Compiles a policy definition; throws DncError DNC_INVALID_INPUT. */
export function compilePolicy(definition: PolicyDefinition): CallingPolicy {
  return new CallingPolicy(definition);
}

export { DAY_MS };
