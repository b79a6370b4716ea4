/**
 * Fast ISO 8601 rendering of epoch milliseconds. `Date#toISOString` costs about 0.5 µs here, and a
 * decision renders up to four instants, which alone would cap checks below a million per second.
 * This gives the same string (UTC, millisecond precision, `Z`) with integer arithmetic
 * (Howard Hinnant's civil-from-days), and defers to Date for years outside 0000-9999.
 */
import { DncError } from './errors';

const DAY_MS = 86_400_000;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`;
}

/** The same string as `new Date(ms).toISOString()`. */
export function isoTime(ms: number): string {
  // 0000-01-01 .. 9999-12-31: outside, toISOString's expanded-year form applies.
  if (!(ms >= -62_167_219_200_000 && ms < 253_402_300_800_000)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;

  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const yyyy = year < 10 ? `000${year}` : year < 100 ? `00${year}` : year < 1000 ? `0${year}` : `${year}`;
  return `${yyyy}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(millis)}Z`;
}

/** isoTime of an instant that may be absent (a label that never expires): null stays null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

/** isoTime that keeps the last answer: a batch or a busy node checks many contacts at one instant. */
export class IsoClock {
  private lastMs = NaN;
  private lastIso = '';

  iso(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastIso = isoTime(ms);
      this.lastMs = ms;
    }
    return this.lastIso;
  }
}

/** The earliest and latest instants a request may name: 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z. */
export const EARLIEST_INSTANT_MS = 0;
export const LATEST_INSTANT_MS = 253_402_300_799_999;

/**
 * RFC 3339 `date-time` (section 5.6), as the API accepts it: a four-digit year from 1970, a `T`, seconds,
 * optional fraction, and a `Z` or a numeric offset. Leap seconds (`:60`) are refused: nothing here
 * records them, and JavaScript time cannot hold one. Calendar validity (no 2020-02-30) is checked in
 * parseInstant. The same text is the `pattern` of every date-time in the OpenAPI document.
 */
export const INSTANT_PATTERN =
  '^(?:19[7-9]\\d|[2-9]\\d{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])[Tt](?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,9})?(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$';
const INSTANT_RE = new RegExp(INSTANT_PATTERN);

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function invalidInstant(field: string, why: string): DncError {
  return new DncError(
    'DNC_INVALID_INPUT',
    `${field} ${why}: give an RFC 3339 time with an offset, such as 2024-05-01T09:30:00Z or 2024-05-01T11:30:00+02:00`,
    { field },
  );
}

/**
 * An RFC 3339 date-time as epoch ms, or DNC_INVALID_INPUT naming `field`. Strict where Date.parse is
 * lenient: `2020-02-30` is an error (Date.parse gives 2020-03-01), `2020` or `x 1` are errors (not a
 * year or 2001-01-01), a time without an offset is an error (it would be read in the server's zone),
 * and the year must be 1970..9999. Fractions beyond milliseconds are truncated.
 */
export function parseInstant(text: string, field = 'at'): number {
  if (!INSTANT_RE.test(text)) {
    throw invalidInstant(field, 'is not a date and time');
  }
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (day > daysInMonth(year, month))
    throw invalidInstant(field, `is not a real date (${text.slice(0, 10)})`);
  const fraction = /\.(\d+)/.exec(text.slice(19));
  const millis = fraction === null ? 0 : Number(fraction[1].slice(0, 3).padEnd(3, '0'));
  const zone = /(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text)!;
  const offsetMinutes =
    zone[1] === undefined ? 0 : (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3]));
  const ms =
    Date.UTC(
      year,
      month - 1,
      day,
      Number(text.slice(11, 13)),
      Number(text.slice(14, 16)),
      Number(text.slice(17, 19)),
      millis,
    ) -
    offsetMinutes * 60_000;
  if (ms < EARLIEST_INSTANT_MS || ms > LATEST_INSTANT_MS) {
    throw invalidInstant(field, 'is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z');
  }
  return ms;
}

/**
 * The instant a request names, or now when it names none: epoch ms (a whole number), a Date, or an
 * RFC 3339 text (parseInstant). Anything else, a fractional or out-of-range number, or an invalid Date
 * is DNC_INVALID_INPUT on `field`: a check or a record never runs at a guessed time.
 */
export function instantOf(at: Date | number | string | undefined, now: () => number, field = 'at'): number {
  if (at === undefined) return now();
  if (typeof at === 'string') return parseInstant(at, field);
  const ms = typeof at === 'number' ? at : at instanceof Date ? at.getTime() : NaN;
  if (!Number.isInteger(ms)) {
    throw new DncError('DNC_INVALID_INPUT', `${field} must be a valid time`, { field });
  }
  if (ms < EARLIEST_INSTANT_MS || ms > LATEST_INSTANT_MS) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `${field} is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z`,
      { field },
    );
  }
  return ms;
}

/** Checks may be asked for another instant, within these bounds (the API's `at`, Check DNC's `msg.at`). */
export const EARLIEST_CHECK_MS = Date.UTC(2000, 0, 1);
/** How far ahead a check may look: a year (366 days, so the same date next year is in). */
export const CHECK_LOOKAHEAD_MS = 366 * 86_400_000;

/**
 * The instant a check decides for: now when absent, else ISO 8601 or epoch ms between 2000-01-01 and a
 * year from now. Further out, holiday calendars, rules and the contact's labels are guesses; before
 * 2000 it is a typo (a year missing a digit, seconds given as ms). DNC_INVALID_INPUT naming `field`.
 */
export function checkInstantOf(
  at: Date | number | string | undefined,
  now: () => number,
  field = 'at',
): number {
  if (at === undefined) return now();
  const ms = instantOf(at, now, field);
  const current = now();
  if (ms < EARLIEST_CHECK_MS || ms > current + CHECK_LOOKAHEAD_MS) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `${field} must be between 2000-01-01T00:00:00Z and a year from now (${isoTime(current + CHECK_LOOKAHEAD_MS)}): ${isoTime(ms)}`,
      { field },
    );
  }
  return ms;
}
