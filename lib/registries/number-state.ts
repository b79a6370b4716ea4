/**
 * The US state (or territory) a callee is in, for registries that answer only for one state's callees
 * (the state do-not-call lists: a Texas list says nothing about a New York callee), and for the us-states
 * calling policy.
 *
 * Two sources, and both bind when they differ (Florida and Oklahoma presume an area code means a resident,
 * COMPLIANCE-US-STATES.md): the state an object contact gives (`state`, `region` or `province`, as the policy
 * zones read it) and the state of the number's area code, from NANPA's NPA database
 * (lib/policy/nanp-area-codes.ts, the one table both the policy and the registries read).
 */
import { NON_US_AREA_CODES, stateOfAreaCode } from '../policy/nanp-area-codes';
import { US_JURISDICTIONS } from '../policy/us-state-rules';

/**
 * The USPS code of the state, DC or territory a number's area code belongs to (`TX`, `PR`); `null` when the
 * number is known to be outside the US (Canada, the Caribbean, another country); undefined when it cannot be
 * known (a non-geographic code such as 800 or 500, an area code missing from the table).
 */
export type StateOfNumber = (e164: string) => string | null | undefined;

/** USPS codes of the states, DC and the inhabited territories, with their names. */
export const US_STATES: Readonly<Record<string, string>> = US_JURISDICTIONS;

/** Lower-cased names (and the geocoder's own spellings) to codes. */
const BY_NAME: ReadonlyMap<string, string> = new Map([
  ...Object.entries(US_STATES).map(([code, name]) => [name.toLowerCase(), code] as [string, string]),
  ['washington state', 'WA'],
  ['washington d.c.', 'DC'],
  ['washington dc', 'DC'],
  ['virgin islands', 'VI'],
  ['us virgin islands', 'VI'],
]);

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

/** The default StateOfNumber: the area code's state in NANPA's table; outside +1, not a US number. */
export const defaultStateOfNumber: StateOfNumber = (e164) => {
  if (!/^\+1[2-9]\d{9}$/.test(e164)) return e164.startsWith('+1') ? undefined : null;
  const npa = e164.slice(2, 5);
  const state = stateOfAreaCode(npa);
  if (state !== null) return state;
  // Canada and the Caribbean: not a US number. Toll-free, 5XX, a code the table does not hold: unknown.
  return Object.prototype.hasOwnProperty.call(NON_US_AREA_CODES, npa) ? null : undefined;
};
