/**
 * The policy definition: what a dnc-policy config node holds and what the API accepts, as plain JSON.
 *
 * {
 *   "name": "France (Decree 2022-1313)",
 *   "rule": "Décret n° 2022-1313 ...",               // cited by OUTSIDE_CALLING_HOURS
 *   "channels": ["voice"],                            // channels the policy governs; [] or absent: all
 *   "windows": { "mon-fri": ["10:00-13:00", "14:00-20:00"] },
 *   "holidays": { "country": "FR", "types": ["public"], "dates": ["12-24"], "rule": "..." },
 *   "caps": [{ "limit": 4, "days": 30, "scope": "all", "rule": "..." }],
 *   "coolingOff": [{ "after": "refusal", "days": 60, "scope": "all", "rule": "..." }],
 *   "timezoneFallback": "block"                       // or an IANA zone used when none is found
 * }
 *
 * Window keys: a day (`mon`...`sun`), a range (`mon-fri`, `sat-sun`) or `daily`; a day absent from
 * every key has no window (no contact that day). Times are `HH:MM-HH:MM` in the callee's local time,
 * half-open, `24:00` allowed as an end. Caps count attempts in a rolling window (`hours` or `days`)
 * and block while `limit` attempts are in it; cooling-off blocks for `days` x 24 h after an outcome.
 */
import { DncError } from '../errors';
import { HolidayCalendar, ZoneCalendar } from './calendar';
import { DAY_MS, MINUTE_MS, isValidZone } from './zone-clock';

export type CapScope = 'campaign' | 'channel' | 'all';
export type CoolingOffTrigger = 'refusal' | 'optout' | 'conversation';

export interface CapDefinition {
  readonly limit: number;
  readonly hours?: number;
  readonly days?: number;
  /** campaign: attempts on the same campaign or subject; channel: on the same channel; all: every attempt. */
  readonly scope?: CapScope;
  readonly rule?: string;
}

export interface CoolingOffDefinition {
  readonly after: CoolingOffTrigger;
  readonly days: number;
  readonly scope?: CapScope;
  readonly rule?: string;
}

export interface HolidayDefinition {
  readonly country?: string;
  readonly state?: string;
  readonly types?: readonly string[];
  readonly dates?: readonly string[];
  readonly rule?: string;
}

export interface PolicyDefinition {
  readonly name?: string;
  /** The preset this policy started from (informational). */
  readonly preset?: string;
  readonly rule?: string;
  readonly channels?: readonly string[];
  readonly windows?: Readonly<Record<string, readonly string[] | string>>;
  readonly holidays?: HolidayDefinition | null;
  readonly caps?: readonly CapDefinition[];
  readonly coolingOff?: readonly CoolingOffDefinition[];
  /** 'block' (default): TIMEZONE_UNKNOWN; or an IANA zone to assume. */
  readonly timezoneFallback?: string;
}

export interface CompiledCap {
  readonly limit: number;
  readonly windowMs: number;
  readonly scope: CapScope;
  readonly rule: string;
  readonly text: string;
}

export interface CompiledCoolingOff {
  readonly after: CoolingOffTrigger;
  readonly durationMs: number;
  readonly scope: CapScope;
  readonly rule: string;
  readonly days: number;
}

export interface CompiledDefinition {
  readonly name: string;
  readonly rule: string;
  readonly channels: ReadonlySet<string> | null;
  readonly calendar: ZoneCalendar;
  /** Window text per weekday, for messages. */
  readonly windowText: readonly string[];
  readonly holidayRule: string;
  readonly caps: readonly CompiledCap[];
  readonly coolingOff: readonly CompiledCoolingOff[];
  readonly fallbackZone: string | null;
  /** How long attempt records can matter to this policy. */
  readonly horizonMs: number;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SCOPES: readonly CapScope[] = ['campaign', 'channel', 'all'];
const TRIGGERS: readonly CoolingOffTrigger[] = ['refusal', 'optout', 'conversation'];

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', `policy: ${message}`, { field: `policy.${field}` });
}

function daysOfKey(key: string): number[] {
  const k = key.trim().toLowerCase();
  if (k === 'daily' || k === 'every day') return [0, 1, 2, 3, 4, 5, 6];
  if (k === 'weekdays') return [1, 2, 3, 4, 5];
  if (k === 'weekends') return [6, 0];
  const range = /^([a-z]{3})\s*-\s*([a-z]{3})$/.exec(k);
  if (range) {
    const from = DAYS.indexOf(range[1] as (typeof DAYS)[number]);
    const to = DAYS.indexOf(range[2] as (typeof DAYS)[number]);
    if (from === -1 || to === -1) throw invalid(`unknown days "${key}"`, 'windows');
    // Monday-first ranges: mon-fri, sat-sun, fri-mon (wrapping over Sunday).
    const out: number[] = [];
    for (let d = from; ; d = (d + 1) % 7) {
      out.push(d);
      if (d === to) break;
    }
    return out;
  }
  const single = DAYS.indexOf(k as (typeof DAYS)[number]);
  if (single === -1)
    throw invalid(`unknown day "${key}" (use mon..sun, a range such as mon-fri, or daily)`, 'windows');
  return [single];
}

function minutesOf(text: string, field: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) throw invalid(`"${text}" is not a time HH:MM`, field);
  const h = Number(match[1]);
  const m = Number(match[2]);
  if (m > 59 || h > 24 || (h === 24 && m !== 0)) throw invalid(`"${text}" is not a time of day`, field);
  return h * 60 + m;
}

function positive(value: unknown, field: string, integer: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  )
    throw invalid(`${field} must be a positive ${integer ? 'whole ' : ''}number`, field);
  return value;
}

function text(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`${field} must be text`, field);
  return value.trim();
}

export function compileDefinition(definition: PolicyDefinition): CompiledDefinition {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition))
    throw invalid('a policy must be an object', 'definition');
  const name = text(definition.name, 'name') || 'custom policy';
  const rule = text(definition.rule, 'rule');

  // ---- windows
  const perDay: Array<Array<[number, number]>> = [[], [], [], [], [], [], []];
  const windows = definition.windows ?? {};
  if (typeof windows !== 'object' || windows === null || Array.isArray(windows))
    throw invalid('windows must map days to lists of "HH:MM-HH:MM"', 'windows');
  for (const [key, value] of Object.entries(windows)) {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list))
      throw invalid(`windows.${key} must be a list of "HH:MM-HH:MM"`, `windows.${key}`);
    for (const item of list) {
      if (typeof item !== 'string')
        throw invalid(`windows.${key} must be a list of "HH:MM-HH:MM"`, `windows.${key}`);
      const parts = item.split('-');
      if (parts.length !== 2) throw invalid(`"${item}" is not a window HH:MM-HH:MM`, `windows.${key}`);
      const start = minutesOf(parts[0], `windows.${key}`);
      const end = minutesOf(parts[1], `windows.${key}`);
      if (end <= start)
        throw invalid(
          `"${item}" ends before it starts (split a window past midnight in two)`,
          `windows.${key}`,
        );
      for (const day of daysOfKey(key)) perDay[day].push([start, end]);
    }
  }
  const merged = perDay.map((list) => {
    list.sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const [s, e] of list) {
      const last = out[out.length - 1];
      if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s, e]);
    }
    return out;
  });
  const flat = merged.map((list) => list.flatMap(([s, e]) => [s * MINUTE_MS, e * MINUTE_MS]));
  const windowText = merged.map((list) =>
    list.length === 0 ? 'no window' : list.map(([s, e]) => `${hhmm(s)}-${hhmm(e)}`).join(', '),
  );

  // ---- holidays
  let holidays: HolidayCalendar | null = null;
  let holidayRule = '';
  if (definition.holidays !== undefined && definition.holidays !== null) {
    const h = definition.holidays;
    if (typeof h !== 'object' || Array.isArray(h)) throw invalid('holidays must be an object', 'holidays');
    const country = text(h.country, 'holidays.country').toUpperCase();
    const state = text(h.state, 'holidays.state').toUpperCase();
    if (country !== '' && !/^[A-Z]{2}$/.test(country))
      throw invalid('holidays.country must be an ISO 3166-1 alpha-2 code', 'holidays.country');
    const dates = h.dates ?? [];
    if (!Array.isArray(dates)) throw invalid('holidays.dates must be a list', 'holidays.dates');
    for (const date of dates) {
      if (typeof date !== 'string' || !/^(\d{4}-)?\d{2}-\d{2}$/.test(date.trim()))
        throw invalid(`holiday date "${String(date)}" must be YYYY-MM-DD or MM-DD`, 'holidays.dates');
    }
    const types = h.types ?? ['public'];
    if (!Array.isArray(types) || types.some((t) => typeof t !== 'string'))
      throw invalid('holidays.types must be a list such as ["public"]', 'holidays.types');
    if (country !== '' || dates.length > 0) {
      try {
        holidays = new HolidayCalendar({
          country: country || undefined,
          state: state || undefined,
          types,
          dates: dates.map((d: string) => d.trim()),
        });
        if (country !== '') holidays.has(Math.floor(Date.now() / DAY_MS)); // fails now for an unknown country
      } catch (err) {
        throw invalid(`holidays: ${(err as Error).message}`, 'holidays');
      }
    }
    holidayRule = text(h.rule, 'holidays.rule');
  }

  // ---- caps and cooling-off
  const caps = (definition.caps ?? []).map((cap, i): CompiledCap => {
    const field = `caps[${i}]`;
    if (typeof cap !== 'object' || cap === null) throw invalid(`${field} must be an object`, field);
    const limit = positive(cap.limit, `${field}.limit`, true);
    const hours = cap.hours !== undefined ? positive(cap.hours, `${field}.hours`, false) : 0;
    const days = cap.days !== undefined ? positive(cap.days, `${field}.days`, false) : 0;
    if ((hours === 0) === (days === 0)) throw invalid(`${field} needs hours or days (one of them)`, field);
    const scope = cap.scope ?? 'all';
    if (!SCOPES.includes(scope))
      throw invalid(`${field}.scope must be campaign, channel or all`, `${field}.scope`);
    const period = hours !== 0 ? `${hours} h` : `${days} days`;
    return {
      limit,
      windowMs: hours !== 0 ? hours * 3_600_000 : days * DAY_MS,
      scope,
      rule: text(cap.rule, `${field}.rule`),
      text: `${limit} per ${period}${scope === 'all' ? '' : ` on the same ${scope}`}`,
    };
  });
  const coolingOff = (definition.coolingOff ?? []).map((c, i): CompiledCoolingOff => {
    const field = `coolingOff[${i}]`;
    if (typeof c !== 'object' || c === null) throw invalid(`${field} must be an object`, field);
    if (!TRIGGERS.includes(c.after))
      throw invalid(`${field}.after must be refusal, optout or conversation`, `${field}.after`);
    const days = positive(c.days, `${field}.days`, false);
    const scope = c.scope ?? 'all';
    if (!SCOPES.includes(scope))
      throw invalid(`${field}.scope must be campaign, channel or all`, `${field}.scope`);
    return { after: c.after, durationMs: days * DAY_MS, days, scope, rule: text(c.rule, `${field}.rule`) };
  });

  // ---- channels and fallback
  const channelList = definition.channels ?? [];
  if (!Array.isArray(channelList) || channelList.some((c) => typeof c !== 'string'))
    throw invalid('channels must be a list of channel names', 'channels');
  const fallback = text(definition.timezoneFallback, 'timezoneFallback');
  if (fallback !== '' && fallback !== 'block' && !isValidZone(fallback))
    throw invalid(
      `timezoneFallback "${fallback}" is neither "block" nor an IANA time zone`,
      'timezoneFallback',
    );

  const horizonMs = Math.max(0, ...caps.map((c) => c.windowMs), ...coolingOff.map((c) => c.durationMs));
  return {
    name,
    rule,
    channels:
      channelList.length === 0
        ? null
        : new Set((channelList as readonly string[]).map((c) => c.trim().toLowerCase())),
    calendar: new ZoneCalendar(flat, holidays),
    windowText,
    holidayRule,
    caps,
    coolingOff,
    fallbackZone: fallback === '' || fallback === 'block' ? null : fallback,
    horizonMs,
  };
}

function hhmm(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}

export const WEEKDAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
