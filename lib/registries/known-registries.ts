/**
 * The registries DNC Flow knows: the national ones and the US state do-not-call lists kept apart from the
 * National Registry, with their ids, file layouts, calling codes, the freshness rule each one's regulator sets
 * (COMPLIANCE.md, docs/registries.md "State do-not-call lists" for the citations) and, for a state list, the
 * state whose callees it answers for. Also the id rule every registry (known or custom) follows.
 */
import { normaliseUsState } from './number-state';
import type { LayoutOptions } from './parsers';

/** The US state lists: `US_` and the state's USPS code. */
export type StateRegistryId =
  'US_CO' | 'US_FL' | 'US_IN' | 'US_LA' | 'US_MA' | 'US_MO' | 'US_OK' | 'US_PA' | 'US_TN' | 'US_TX';

export type KnownRegistryId =
  'US_NDNC' | 'CA_DNCL' | 'UK_TPS' | 'UK_CTPS' | 'AU_DNCR' | 'SG_DNC' | StateRegistryId;
/** A known registry, or a custom one (any other id). */
export type RegistryId = KnownRegistryId | (string & {});

export const KNOWN_REGISTRIES: readonly KnownRegistryId[] = [
  'US_NDNC',
  'CA_DNCL',
  'UK_TPS',
  'UK_CTPS',
  'AU_DNCR',
  'SG_DNC',
  'US_CO',
  'US_FL',
  'US_IN',
  'US_LA',
  'US_MA',
  'US_MO',
  'US_OK',
  'US_PA',
  'US_TN',
  'US_TX',
];

/**
 * The state whose callees each state list answers for (USPS code). A number whose callee is known to be in
 * another state is "not covered" by the list; one whose state cannot be known is looked up (check.ts).
 */
export const REGISTRY_STATES: Readonly<Record<StateRegistryId, string>> = {
  US_CO: 'CO',
  US_FL: 'FL',
  US_IN: 'IN',
  US_LA: 'LA',
  US_MA: 'MA',
  US_MO: 'MO',
  US_OK: 'OK',
  US_PA: 'PA',
  US_TN: 'TN',
  US_TX: 'TX',
};

export function isStateRegistry(id: string): id is StateRegistryId {
  return Object.prototype.hasOwnProperty.call(REGISTRY_STATES, id);
}

/**
 * Days the data may be old before lookups fail as stale, per registry's rule (COMPLIANCE.md): US and Canada
 * 31 (data no more than 31 days old when calling), UK 28 (screen at least every 28 days), Australia 30 (a wash
 * is a defence for 30 days), Singapore 21 (results valid 21 days).
 *
 * State lists, counted from the list's publication date (date the file by it: a `.asof` sidecar or the
 * setting; a download date makes the list look newer than it is):
 * - a quarterly list that must be replaced when the next quarter's list takes effect: 89 days, one less than
 *   the shortest quarter (1 Jan to 1 Apr, 90 days), so a list is stale before the day its successor binds;
 *   the same where no freshness rule is published and the list is quarterly (FL, MA, MO, OK, TX);
 * - Colorado: lists posted the 10th of each quarter's first month must be in use by that month's end
 *   (C.R.S. 6-1-904(4)): a list is good until its successor's deadline, 10 Jan to 30 Apr = 110 days, the
 *   shortest of the four;
 * - Pennsylvania: a listing binds 30 days after the quarterly list that first holds it is issued (73 P.S.
 *   2245.2(a)): 1 Jan to 1 May = 120 days, less one;
 * - Louisiana: the statute requires a monthly update (La. R.S. 45:844.14(A)(2)(b)); the PSC's consumer page
 *   says quarterly: the stricter, 31 days;
 * - Tennessee: the update cadence was not confirmed in this pass; a listing binds 60 days after the first of
 *   the month after enrolment (Tenn. Comp. R. & Regs. 1220-04-11-.05(1)(a)): 31 days, as the federal rule.
 */
export const DEFAULT_MAX_AGE_DAYS: Readonly<Record<KnownRegistryId, number>> = {
  US_NDNC: 31,
  CA_DNCL: 31,
  UK_TPS: 28,
  UK_CTPS: 28,
  AU_DNCR: 30,
  SG_DNC: 21,
  US_CO: 110,
  US_FL: 89,
  US_IN: 89,
  US_LA: 31,
  US_MA: 89,
  US_MO: 89,
  US_OK: 89,
  US_PA: 119,
  US_TN: 31,
  US_TX: 89,
};

/**
 * File layout each known registry is delivered in (overridable). AU and SG files are wash/check results.
 * State lists: no state publishes its file layout in the material read; `nanp` (one 10-digit number a line,
 * `2015551234` or `201,5551234`) is assumed, except Massachusetts, whose list holds the number and the last
 * name in number order (mass.gov solicitor page): a CSV whose first column is the number.
 */
export const DEFAULT_LAYOUTS: Readonly<Record<KnownRegistryId, LayoutOptions>> = {
  US_NDNC: { layout: 'nanp' },
  CA_DNCL: { layout: 'nanp' },
  UK_TPS: { layout: 'uk-fixed' },
  UK_CTPS: { layout: 'uk-fixed' },
  // National numbers are read with libphonenumber-js's national-prefix rules for the calling code.
  AU_DNCR: { layout: 'lines', callingCode: '61' },
  SG_DNC: { layout: 'lines', callingCode: '65' },
  US_CO: { layout: 'nanp' },
  US_FL: { layout: 'nanp' },
  US_IN: { layout: 'nanp' },
  US_LA: { layout: 'nanp' },
  US_MA: { layout: 'csv', column: 0, callingCode: '1' },
  US_MO: { layout: 'nanp' },
  US_OK: { layout: 'nanp' },
  US_PA: { layout: 'nanp' },
  US_TN: { layout: 'nanp' },
  US_TX: { layout: 'nanp' },
};

/** Calling codes whose numbers each known registry can list; numbers outside are simply not on it. */
export const DEFAULT_CALLING_CODES: Readonly<Record<KnownRegistryId, readonly string[]>> = {
  US_NDNC: ['1'],
  CA_DNCL: ['1'],
  UK_TPS: ['44'],
  UK_CTPS: ['44'],
  AU_DNCR: ['61'],
  SG_DNC: ['65'],
  US_CO: ['1'],
  US_FL: ['1'],
  US_IN: ['1'],
  US_LA: ['1'],
  US_MA: ['1'],
  US_MO: ['1'],
  US_OK: ['1'],
  US_PA: ['1'],
  US_TN: ['1'],
  US_TX: ['1'],
};

/** Each known registry's freshness rule, as COMPLIANCE.md states it (named in the errors that enforce it). */
export const REGISTRY_RULES: Readonly<Record<KnownRegistryId, string>> = {
  US_NDNC: 'FTC (US National DNC Registry): data no more than 31 days old when calling',
  CA_DNCL: 'CRTC (Canada National DNCL): data no more than 31 days old',
  UK_TPS: 'TPS: screen at least every 28 days',
  UK_CTPS: 'CTPS: screen at least every 28 days',
  AU_DNCR: 'ACMA (Australia Do Not Call Register): a wash is a defence for 30 days',
  SG_DNC: 'Singapore DNC Registry: results valid 21 days',
  US_CO:
    'Colorado No-Call List (C.R.S. 6-1-904(4)): lists posted 10 Jan/Apr/Jul/Oct must be in use by the end of that month',
  US_FL:
    'Florida Do Not Call List (Fla. Stat. 501.059): quarterly list; no freshness rule found, the quarter less a day',
  US_IN:
    'Indiana Do Not Call List (IC 24-4.7): quarterly lists effective 1 Jan/Apr/Jul/Oct; the quarter less a day',
  US_LA: 'Louisiana Do Not Call list (La. R.S. 45:844.14(A)(2)(b)): updated monthly',
  US_MA:
    'Massachusetts Do Not Call Registry (201 CMR 12.02(1), 12.03(4)): the then current quarterly registry; the quarter less a day',
  US_MO: 'Missouri No-Call list (RSMo 407.1101, 15 CSR 60-13.020): quarterly; the quarter less a day',
  US_OK:
    'Oklahoma Telemarketer Restriction Act registry (15 O.S. 775B.4): updated at least quarterly; the quarter less a day',
  US_PA:
    'Pennsylvania Do Not Call list (73 P.S. 2245.2(a)): a listing binds 30 days after the quarterly list holding it is issued',
  US_TN:
    'Tennessee Do Not Call Register (Tenn. Comp. R. & Regs. 1220-04-11): cadence not confirmed; 31 days, as the federal rule',
  US_TX:
    'Texas no-call list (Tex. Bus. & Com. Code 304.051(d)): published 1 Jan/Apr/Jul/Oct; the quarter less a day',
};

/** A registry id, known or custom: a letter, then letters, digits, `_` and `-` (64 at most). */
export const REGISTRY_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Throws a RangeError for an id that is not a registry id (REGISTRY_ID_PATTERN). */
export function checkRegistryId(id: string): void {
  if (!REGISTRY_ID_PATTERN.test(id)) {
    throw new RangeError(`registry id must be letters, digits, _ and - (starting with a letter): ${id}`);
  }
}

export function isKnownRegistry(id: string): id is KnownRegistryId {
  return (KNOWN_REGISTRIES as readonly string[]).includes(id);
}

/**
 * The validity (days) a registry's data or results may be used for: the given value, else the known
 * registry's rule. A known registry may not be given more than its rule allows (RangeError naming the rule);
 * custom registries must give a positive value.
 */
export function registryMaxAgeDays(id: string, maxAgeDays: number | undefined): number {
  const known = isKnownRegistry(id) ? id : null;
  const days = maxAgeDays ?? (known ? DEFAULT_MAX_AGE_DAYS[known] : undefined);
  if (days === undefined || !(days > 0) || !Number.isFinite(days)) {
    throw new RangeError(`registry ${id}: maxAgeDays must be a positive number of days`);
  }
  if (known && days > DEFAULT_MAX_AGE_DAYS[known]) {
    throw new RangeError(
      `registry ${id}: valid for ${days} days is more than the rule allows (${DEFAULT_MAX_AGE_DAYS[known]} days; ${REGISTRY_RULES[known]})`,
    );
  }
  return days;
}

/**
 * The state a registry answers for: the given USPS code (upper-cased), else the state list's own; a state list
 * may not be given another state (RangeError), and a code that names no US state or territory is refused.
 */
export function registryState(id: string, state: string | null | undefined): string | null {
  const own = isStateRegistry(id) ? REGISTRY_STATES[id] : null;
  if (state === undefined || state === null || state === '') return own;
  const code = typeof state === 'string' ? normaliseUsState(state) : undefined;
  if (code === undefined) {
    throw new RangeError(
      `registry ${id}: state must be a US state or territory code, got ${JSON.stringify(state)}`,
    );
  }
  if (own !== null && code !== own) {
    throw new RangeError(`registry ${id}: it is the ${own} list; it cannot answer for ${code}`);
  }
  return code;
}
