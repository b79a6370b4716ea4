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
import Holidays from 'date-holidays';
import { DncError } from '../errors';
import { normaliseChannel } from '../labels';
import { HolidayCalendar, HolidayUnion, ZoneCalendar, type HolidaySet } from './calendar';
import { REGION_COUNTRIES, regionCode } from './holiday-regions';
import { DAY_MS, MINUTE_MS, isValidZone } from './zone-clock';

export type CapScope = 'campaign' | 'channel' | 'all';
export type CoolingOffTrigger = 'refusal' | 'optout' | 'conversation';

export interface CapDefinition {
  readonly limit: number;
  readonly hours?: number;
  readonly days?: number;
  /** campaign: attempts on the same campaign or subject; channel: on the same channel; all: every attempt. */
  readonly scope?: CapScope;
  /** The channels the cap is about (it counts their attempts and binds their checks); absent: all. */
  readonly channels?: readonly string[];
  readonly rule?: string;
}

export interface CoolingOffDefinition {
  readonly after: CoolingOffTrigger;
  readonly days: number;
  readonly scope?: CapScope;
  /** The channels it silences (and whose outcomes start it); absent: all. */
  readonly channels?: readonly string[];
  readonly rule?: string;
}

export interface HolidayDefinition {
  readonly country?: string;
  readonly state?: string;
  readonly types?: readonly string[];
  readonly dates?: readonly string[];
  readonly rule?: string;
  /**
   * Holidays kept only in some regions of `country`, by region code (`AU-QLD`, `FR-57`): they bind a
   * callee who may be in that region (holiday-regions.ts). A plain CallingPolicy cannot place the
   * callee and binds them all; createPolicy builds a RegionalPolicy, which binds only the callee's.
   */
  readonly regions?: Readonly<Record<string, RegionHolidayDefinition>>;
}

/** A region's own holidays: its date-holidays calendar (when it has one) and/or dates. */
export interface RegionHolidayDefinition {
  /** date-holidays types of the region's calendar (default ["public"]). */
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
  /**
   * A policy decided per contact by where the callee is: `us-states` (federal rules plus the callee's
   * state's, us-states.ts). Such a definition takes only name, preset, rule and `calls`.
   */
  readonly jurisdiction?: string;
  /** With `jurisdiction`: which state rules bind (solicitation, licensed, automated, securities). */
  readonly calls?: readonly string[];
}

export interface CompiledCap {
  readonly limit: number;
  readonly windowMs: number;
  readonly scope: CapScope;
  /** null: every channel. */
  readonly channels: ReadonlySet<string> | null;
  readonly rule: string;
  readonly text: string;
}

export interface CompiledCoolingOff {
  readonly after: CoolingOffTrigger;
  readonly durationMs: number;
  readonly scope: CapScope;
  /** null: every channel. */
  readonly channels: ReadonlySet<string> | null;
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
  return new DncError('DNC_INVALID_INPUT', `policy: ${message}`, {
    field: field === 'policy' ? 'policy' : `policy.${field}`,
  });
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

/** Longest cap window or cooling-off period: beyond ten years a number is a typo, not a rule. */
const MAX_DAYS = 3650;

function positive(value: unknown, field: string, integer: boolean, max?: number): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  )
    throw invalid(`${field} must be a positive ${integer ? 'whole ' : ''}number`, field);
  if (max !== undefined && value > max) throw invalid(`${field} must be at most ${max}`, field);
  return value;
}

function text(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`${field} must be text`, field);
  return value.trim();
}

/** A plain object, else an error naming the field. */
function record(value: unknown, field: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be ${what}`, field);
  return value as Record<string, unknown>;
}

/** A list, else an error naming the field. */
function list(value: unknown, field: string, what: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${field} must be ${what}`, field);
  return value;
}

/**
 * A misspelt key (`coolingof`, `holiday`, `limits`) would silently enforce nothing: every object of a
 * definition accepts only the keys it documents.
 */
function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = field === '' ? key : `${field}.${key}`;
      throw invalid(
        `unknown key "${key}"${field === '' ? '' : ` in ${field}`} (allowed: ${allowed.join(', ')})`,
        where,
      );
    }
  }
}

const DEFINITION_KEYS = [
  'name',
  'preset',
  'rule',
  'channels',
  'windows',
  'holidays',
  'caps',
  'coolingOff',
  'timezoneFallback',
] as const;
const HOLIDAY_KEYS = ['country', 'state', 'types', 'dates', 'rule', 'regions'] as const;
const REGION_KEYS = ['types', 'dates', 'rule'] as const;
const CAP_KEYS = ['limit', 'hours', 'days', 'scope', 'channels', 'rule'] as const;
const COOLING_OFF_KEYS = ['after', 'days', 'scope', 'channels', 'rule'] as const;
/** The holiday types date-holidays knows. */
const HOLIDAY_TYPES = ['public', 'bank', 'school', 'optional', 'observance'] as const;

const holidayData = new Holidays();
const COUNTRIES: ReadonlySet<string> = new Set(Object.keys(holidayData.getCountries() ?? {}));

/** The country as date-holidays knows it (ISO 3166-1 alpha-2, upper case), or an error. */
function holidayCountry(value: unknown): string {
  const country = text(value, 'holidays.country').toUpperCase();
  if (country === '') return '';
  if (!COUNTRIES.has(country))
    throw invalid(
      `holidays.country "${country}" is not a country with a holiday calendar (an ISO 3166-1 alpha-2 code such as US, FR or AU)`,
      'holidays.country',
    );
  return country;
}

/** The state or region code as date-holidays spells it (matched ignoring case), or an error. */
function holidayState(value: unknown, country: string): string {
  const state = text(value, 'holidays.state');
  if (state === '') return '';
  if (country === '') throw invalid('holidays.state needs holidays.country', 'holidays.state');
  const states = Object.keys(holidayData.getStates(country) ?? {});
  const found = states.find((s) => s.toUpperCase() === state.toUpperCase());
  if (found === undefined)
    throw invalid(
      states.length === 0
        ? `holidays.state "${state}": the holiday calendar of ${country} has no states or regions`
        : `holidays.state "${state}" is not a state or region of ${country} (known: ${states.join(', ')})`,
      'holidays.state',
    );
  return found;
}

function daysInMonth(month: number, year: number | null): number {
  if (month === 2)
    return year === null || (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** `YYYY-MM-DD` (a real date, years 1900-2999) or `MM-DD` (every year; `02-29` in leap years only). */
function holidayDate(value: unknown, field: string): string {
  const date = typeof value === 'string' ? value.trim() : '';
  const match = /^(?:(\d{4})-)?(\d{2})-(\d{2})$/.exec(date);
  if (match === null)
    throw invalid(`holiday date ${JSON.stringify(value)} must be YYYY-MM-DD or MM-DD`, field);
  const year = match[1] === undefined ? null : Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year !== null && (year < 1900 || year > 2999))
    throw invalid(`holiday date "${date}": the year must be from 1900 to 2999`, field);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(month, year))
    throw invalid(`holiday date "${date}" does not exist`, field);
  return date;
}

/** A cap's or cooling-off's scope: campaign, channel or all (default). */
function scopeOf(value: unknown, field: string): CapScope {
  if (value === undefined || value === null) return 'all';
  if (typeof value !== 'string' || !SCOPES.includes(value as CapScope))
    throw invalid(`${field} must be campaign, channel or all`, field);
  return value as CapScope;
}

/** A list of channel names (normalised), null when absent or empty (every channel). */
function channelsOf(value: unknown, field: string): ReadonlySet<string> | null {
  const names = list(value, field, 'a list of channel names').map((c, i) => {
    try {
      return normaliseChannel(c, `${field}[${i}]`);
    } catch (err) {
      throw invalid((err as Error).message, `${field}[${i}]`);
    }
  });
  return names.length === 0 ? null : new Set(names);
}

/** A list of date-holidays types (default ["public"]), else an error naming the entry. */
function holidayTypes(value: unknown, field: string): string[] {
  const types = list(value, field, 'a list such as ["public"]').map((t, i) => {
    if (typeof t !== 'string' || !(HOLIDAY_TYPES as readonly string[]).includes(t))
      throw invalid(`${field}[${i}] must be one of ${HOLIDAY_TYPES.join(', ')}`, `${field}[${i}]`);
    return t;
  });
  return types.length === 0 ? ['public'] : types;
}

/** A calendar, its current year loaded now (a library fault is a definition error, not a check error). */
function holidayCalendar(
  source: { country?: string; state?: string; types: readonly string[]; dates: readonly string[] },
  field: string,
): HolidayCalendar {
  try {
    const calendar = new HolidayCalendar(source);
    if (source.country !== undefined) calendar.has(Math.floor(Date.now() / DAY_MS));
    return calendar;
  } catch (err) {
    throw invalid(`${field}: ${(err as Error).message}`, field);
  }
}

/**
 * `holidays.regions`: each key a region code of `holidays.country` that the callee's placement knows
 * (an unknown one would never be placed, so its holidays would bind everyone or no one by accident),
 * each value that region's date-holidays calendar (when date-holidays has the region) and/or dates.
 */
function regionsOf(
  value: unknown,
  country: string,
): Array<{ code: string; calendar: HolidayCalendar; rule: string }> {
  if (value === undefined || value === null) return [];
  const regions = record(value, 'holidays.regions', 'an object such as { "FR-57": { "dates": ["12-26"] } }');
  const out: Array<{ code: string; calendar: HolidayCalendar; rule: string }> = [];
  for (const [key, raw] of Object.entries(regions)) {
    const field = `holidays.regions.${key}`;
    const code = regionCode(key);
    if (code === null)
      throw invalid(
        `holidays.regions: "${key}" is not a region code the callee can be placed in (${REGION_COUNTRIES.map((c) => `${c}-...`).join(', ')}: an Australian state such as AU-QLD, a French department such as FR-57)`,
        field,
      );
    const regionCountry = code.slice(0, 2);
    if (regionCountry !== country)
      throw invalid(
        `${field}: a region of ${regionCountry} needs holidays.country "${regionCountry}"`,
        field,
      );
    const entry = record(raw, field, 'an object such as { "types": ["public"] } or { "dates": ["12-26"] }');
    onlyKeys(entry, REGION_KEYS, field);
    const subdivision = code.slice(3);
    const known = Object.keys(holidayData.getStates(country) ?? {}).find(
      (s) => s.toUpperCase() === subdivision,
    );
    const dates = list(entry.dates, `${field}.dates`, 'a list of dates (YYYY-MM-DD or MM-DD)').map((d, i) =>
      holidayDate(d, `${field}.dates[${i}]`),
    );
    if (known === undefined && entry.types !== undefined)
      throw invalid(
        `${field}.types: date-holidays has no calendar for ${code}; give its dates`,
        `${field}.types`,
      );
    if (known === undefined && dates.length === 0)
      throw invalid(`${field}: date-holidays has no calendar for ${code}; give its dates`, field);
    const calendar =
      known === undefined
        ? holidayCalendar({ types: ['public'], dates }, field)
        : holidayCalendar(
            { country, state: known, types: holidayTypes(entry.types, `${field}.types`), dates },
            field,
          );
    out.push({ code, calendar, rule: text(entry.rule, `${field}.rule`) });
  }
  return out;
}

export function compileDefinition(definition: PolicyDefinition): CompiledDefinition {
  const def = record(definition, 'policy', 'an object (a policy definition)');
  onlyKeys(def, DEFINITION_KEYS, '');
  const name = text(def.name, 'name') || 'custom policy';
  const rule = text(def.rule, 'rule');
  text(def.preset, 'preset');

  // ---- windows
  const perDay: Array<Array<[number, number]>> = [[], [], [], [], [], [], []];
  const windows = def.windows ?? {};
  if (typeof windows !== 'object' || windows === null || Array.isArray(windows))
    throw invalid('windows must map days to lists of "HH:MM-HH:MM"', 'windows');
  for (const [key, value] of Object.entries(windows as Record<string, unknown>)) {
    const items: unknown = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(items))
      throw invalid(`windows.${key} must be a list of "HH:MM-HH:MM"`, `windows.${key}`);
    const days = daysOfKey(key);
    for (const item of items) {
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
      for (const day of days) perDay[day].push([start, end]);
    }
  }
  const merged = perDay.map((dayList) => {
    dayList.sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const [s, e] of dayList) {
      const last = out[out.length - 1];
      if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s, e]);
    }
    return out;
  });
  const flat = merged.map((dayList) => dayList.flatMap(([s, e]) => [s * MINUTE_MS, e * MINUTE_MS]));
  const windowText = merged.map((dayList) =>
    dayList.length === 0 ? 'no window' : dayList.map(([s, e]) => `${hhmm(s)}-${hhmm(e)}`).join(', '),
  );

  // ---- holidays: an unknown country, state or date would bar no day at all, so each is an error
  let holidays: HolidaySet | null = null;
  let holidayRule = '';
  if (def.holidays !== undefined && def.holidays !== null) {
    const h = record(def.holidays, 'holidays', 'an object such as { "country": "FR" }');
    onlyKeys(h, HOLIDAY_KEYS, 'holidays');
    const country = holidayCountry(h.country);
    const state = holidayState(h.state, country);
    const dates = list(h.dates, 'holidays.dates', 'a list of dates (YYYY-MM-DD or MM-DD)').map((d, i) =>
      holidayDate(d, `holidays.dates[${i}]`),
    );
    const types = holidayTypes(h.types, 'holidays.types');
    if (country === '' && dates.length === 0)
      throw invalid('holidays needs a country or dates (or leave holidays out)', 'holidays');
    const calendars: HolidaySet[] = [
      holidayCalendar({ country: country || undefined, state: state || undefined, types, dates }, 'holidays'),
    ];
    const rules = [text(h.rule, 'holidays.rule')];
    for (const region of regionsOf(h.regions, country)) {
      calendars.push(region.calendar);
      if (region.rule !== '') rules.push(region.rule);
    }
    holidays = calendars.length === 1 ? calendars[0] : new HolidayUnion(calendars);
    holidayRule = rules.filter((r) => r !== '').join('; ');
  }

  // ---- caps and cooling-off
  const caps = list(def.caps, 'caps', 'a list of caps such as [{ "limit": 3, "hours": 24 }]').map(
    (raw, i): CompiledCap => {
      const field = `caps[${i}]`;
      const cap = record(raw, field, 'an object such as { "limit": 3, "hours": 24 }');
      onlyKeys(cap, CAP_KEYS, field);
      const limit = positive(cap.limit, `${field}.limit`, true);
      const hours = cap.hours !== undefined ? positive(cap.hours, `${field}.hours`, false, MAX_DAYS * 24) : 0;
      const days = cap.days !== undefined ? positive(cap.days, `${field}.days`, false, MAX_DAYS) : 0;
      if ((hours === 0) === (days === 0)) throw invalid(`${field} needs hours or days (one of them)`, field);
      const scope = scopeOf(cap.scope, `${field}.scope`);
      const period = hours !== 0 ? `${hours} h` : `${days} days`;
      const channels = channelsOf(cap.channels, `${field}.channels`);
      return {
        limit,
        windowMs: hours !== 0 ? hours * 3_600_000 : days * DAY_MS,
        scope,
        channels,
        rule: text(cap.rule, `${field}.rule`),
        text: `${limit} per ${period}${scope === 'all' ? '' : ` on the same ${scope}`}`,
      };
    },
  );
  const coolingOff = list(
    def.coolingOff,
    'coolingOff',
    'a list such as [{ "after": "refusal", "days": 60 }]',
  ).map((raw, i): CompiledCoolingOff => {
    const field = `coolingOff[${i}]`;
    const c = record(raw, field, 'an object such as { "after": "refusal", "days": 60 }');
    onlyKeys(c, COOLING_OFF_KEYS, field);
    if (typeof c.after !== 'string' || !TRIGGERS.includes(c.after as CoolingOffTrigger))
      throw invalid(`${field}.after must be refusal, optout or conversation`, `${field}.after`);
    const days = positive(c.days, `${field}.days`, false, MAX_DAYS);
    const scope = scopeOf(c.scope, `${field}.scope`);
    return {
      after: c.after as CoolingOffTrigger,
      durationMs: days * DAY_MS,
      days,
      scope,
      channels: channelsOf(c.channels, `${field}.channels`),
      rule: text(c.rule, `${field}.rule`),
    };
  });

  // ---- channels and fallback (whether a channel is declared is checked by the check using the policy)
  const channels = [...(channelsOf(def.channels, 'channels') ?? [])];
  const fallback = text(def.timezoneFallback, 'timezoneFallback');
  if (fallback !== '' && fallback !== 'block' && !isValidZone(fallback))
    throw invalid(
      `timezoneFallback "${fallback}" is neither "block" nor an IANA time zone`,
      'timezoneFallback',
    );

  const horizonMs = Math.max(0, ...caps.map((c) => c.windowMs), ...coolingOff.map((c) => c.durationMs));
  return {
    name,
    rule,
    channels: channels.length === 0 ? null : new Set(channels),
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
