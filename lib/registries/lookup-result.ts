/** What every registry source (a file registry, a wash service) answers for one number. */
import type { RegistryId } from './known-registries';

/**
 * `not-covered`: a state list asked about a callee known to be in another state (a Texas list and a New York
 * callee). Not "not listed" (the list says nothing about that callee) and not a failure: it never blocks.
 */
export type RegistryResult = 'listed' | 'not-listed' | 'unavailable' | 'stale' | 'not-covered';

export type RegistryReasonCode =
  /** The number is on the registry. */
  | 'LISTED'
  /** The registry's current data does not list the number. */
  | 'NOT_LISTED'
  /** The number is outside the registry's calling codes (a UK number and the US registry). */
  | 'OUTSIDE_REGISTRY'
  /** The data is older than maxAgeDays. */
  | 'REGISTRY_STALE'
  /** No data yet (still loading, or every load so far failed). */
  | 'REGISTRY_NOT_LOADED'
  /** Not E.164 (`+` and 7-15 digits). */
  | 'INVALID_NUMBER'
  /** A state list and a callee known to be in another state (result `not-covered`). */
  | 'OUTSIDE_STATE';

export interface RegistryLookupResult {
  registry: RegistryId;
  result: RegistryResult;
  /** As-of date of the data consulted (ISO 8601), null when there is none. */
  asOf: string | null;
  reason: RegistryReasonCode;
  /**
   * Set on a `listed` answer from data past its validity: stale data that lists a number is still a
   * listing (the number is blocked); only the absence of an answer may be relaxed.
   */
  stale?: true;
  /** Human-readable detail (why it is unavailable, how stale). */
  detail?: string;
  /** The FCC Reassigned Numbers Database's answer (the safe-harbour record), on that source's results. */
  rnd?: RndRecord;
}

/**
 * What a Reassigned Numbers Database query asked and answered: the record that shows the caller checked the
 * database before the call (47 CFR 64.1200(m)).
 */
export interface RndRecord {
  /** "yes": permanently disconnected on or after the consent date; "no": not since; "no data". */
  readonly answer: 'yes' | 'no' | 'no data';
  /** The date asked about (YYYY-MM-DD). */
  readonly consentDate: string;
  /** When the database answered (ISO 8601). */
  readonly queriedAt: string;
}

/**
 * The file registry's codes plus REGISTRY_UNAVAILABLE (the service could not answer for this number) and the
 * Reassigned Numbers Database's (lib/registries/reassigned-numbers.ts): REASSIGNED ("yes"), NOT_REASSIGNED
 * ("no"), RND_NO_DATA ("no data") and CONSENT_DATE_MISSING (no usable consent date to ask about).
 */
export type SourceReasonCode =
  | RegistryReasonCode
  | 'REGISTRY_UNAVAILABLE'
  | 'REASSIGNED'
  | 'NOT_REASSIGNED'
  | 'RND_NO_DATA'
  | 'CONSENT_DATE_MISSING';

/** A lookup result from any registry source (file or service). */
export interface SourceLookupResult extends Omit<RegistryLookupResult, 'reason'> {
  reason: SourceReasonCode;
}
