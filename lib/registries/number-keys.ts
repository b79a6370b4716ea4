/**
 * Number keys: a number is keyed by its E.164 digits read as an integer: `+12015551234` -> 12015551234. E.164
 * digits never start with 0 (no calling code does), so the mapping is injective across countries and
 * lengths, and every key is below 10^15 < 2^53: an exact double. One index can therefore hold any mix of
 * countries; a registry of one country simply has all its keys in one narrow range. Keys are grouped by
 * `key / GROUP_SIZE` (the prefix: for NANP calling code 1 + area code + exchange) and a 4-digit suffix.
 */

/** Numbers per group: the group is `key / GROUP_SIZE`, the suffix `key % GROUP_SIZE`. */
export const GROUP_SIZE = 10_000;

/** Smallest and largest key accepted: 7 to 15 E.164 digits. */
export const MIN_KEY = 1_000_000;
export const MAX_KEY = 999_999_999_999_999;

/** Parses `+` and 7-15 digits into a key; NaN when the text is not E.164-shaped. */
export function e164ToKey(e164: string): number {
  const length = e164.length;
  if (length < 8 || length > 16 || e164.charCodeAt(0) !== 43 /* + */ || e164.charCodeAt(1) === 48) return NaN;
  let key = 0;
  for (let i = 1; i < length; i++) {
    const digit = e164.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    key = key * 10 + digit;
  }
  return key;
}

export function keyToE164(key: number): string {
  return `+${key}`;
}

/** key / 10^4, exactly (double division can round up across a multiple of 10^4). */
export function exactPrefix(key: number): number {
  let prefix = Math.floor(key / GROUP_SIZE);
  const suffix = key - prefix * GROUP_SIZE;
  if (suffix < 0) prefix -= 1;
  else if (suffix >= GROUP_SIZE) prefix += 1;
  return prefix;
}
