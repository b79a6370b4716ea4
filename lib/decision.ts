/**
 * The shape of a check's answer, for every caller (msg.dnc in Check DNC, the HTTP check route, a campaign
 * scrub): Decision and its reasons, the batch result and its summary, the check options and the plan
 * they compile to (lib/decide.ts).
 */
import type { CheckPolicy, PolicyDefinition } from './policy';
import type {
  ContactRegistryResult,
  RegistryFailurePolicy,
  RegistryPlan,
  RegistrySource,
} from './registries/check';
import type { NcprCategory } from './registries/ncpr';
import type { RndRecord } from './registries/lookup-result';
import type { AttemptRndRecord } from './store/types';

/**
 * Stable reason codes, documented in the README. A calling policy (lib/policy) adds
 * OUTSIDE_CALLING_HOURS, HOLIDAY, FREQUENCY_CAP, COOLING_OFF and TIMEZONE_UNKNOWN, each citing its rule.
 */
export type ReasonCode =
  | 'LABEL'
  | 'INVALID_CONTACT'
  | 'STORE_UNAVAILABLE'
  | 'CHECK_FAILED'
  | 'OUTSIDE_CALLING_HOURS'
  | 'HOLIDAY'
  | 'FREQUENCY_CAP'
  | 'COOLING_OFF'
  | 'TIMEZONE_UNKNOWN'
  /** On a national registry (lib/registries): names the registry and its data's as-of date. */
  | 'REGISTRY'
  /** A registry cannot answer (not loaded, service down, no answer for the number): fail closed. */
  | 'REGISTRY_UNAVAILABLE'
  /** A registry's data (or wash result) is older than its validity: fail closed. */
  | 'REGISTRY_STALE'
  /** India NCPR: the contact's recorded preference refuses the campaign's category. */
  | 'NCPR_PREFERENCE'
  /**
   * The FCC Reassigned Numbers Database says the number was permanently disconnected on or after the
   * contact's consent date (lib/registries/reassigned-numbers.ts): the consent is no longer the callee's.
   */
  | 'REASSIGNED'
  /** That database has no data for the number and date (default: blocked, no safe harbour). */
  | 'REASSIGNED_NO_DATA'
  /** That database cannot be asked: the contact has no consent date (or not a date), nor the source. */
  | 'CONSENT_DATE_MISSING'
  /**
   * The check's channel is neither built in nor declared in the label configuration (a typo such as
   * `smss`, or a synonym such as `text`): no label scope can be shown not to apply, so it blocks.
   */
  | 'UNKNOWN_CHANNEL';

export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  /** For LABEL: the label that blocked. */
  readonly label?: string;
  /** For LABEL: when that label stops blocking (ISO 8601), or null for never. */
  readonly expiresAt?: string | null;
  /** For policy reasons: the rule enforced, as the policy cites it. */
  readonly rule?: string;
  /** For policy reasons: when this reason stops blocking (ISO 8601), or null when it has no end in sight. */
  readonly nextAllowedAt?: string | null;
  /** For OUTSIDE_CALLING_HOURS and HOLIDAY: the callee's possible zones. */
  readonly zones?: readonly string[];
  /** For FREQUENCY_CAP: attempts counted and the limit. */
  readonly count?: number;
  readonly limit?: number;
  /** For REASSIGNED and REASSIGNED_NO_DATA: the database's answer, the date asked about, when. */
  readonly rnd?: RndRecord;
  /** For registry reasons: the registry's id, the as-of date of its data and the number looked up. */
  readonly registry?: string;
  readonly asOf?: string | null;
  readonly number?: string;
  /** For REGISTRY: true when the data (or wash result) that lists the number is past its validity. */
  readonly stale?: boolean;
  /** For NCPR_PREFERENCE: the campaign's category and the contact's preference (`0` or `1,3`). */
  readonly category?: number;
  readonly preference?: string;
}

/** A label the contact carries and that is in force at the instant checked. */
export interface ActiveLabel {
  readonly label: string;
  readonly appliedAt: string;
  readonly expiresAt: string | null;
  readonly source: string;
  /** The channels the label's definition covers; empty = every channel. */
  readonly channels: readonly string[];
  readonly global: boolean;
}

export interface Decision {
  readonly allowed: boolean;
  /** The contact as normalised (its first key: E.164 number, email or id:...), or null when it could not be parsed. */
  readonly contact: string | null;
  /** Every identifier key of the contact as given. */
  readonly keys: readonly string[];
  readonly channel: string | null;
  /** Every active label the contact carries, whether this check enforces it or not. */
  readonly labels: readonly ActiveLabel[];
  /** The names of the labels that blocked this check. */
  readonly matched: readonly string[];
  /** Why the contact is blocked (empty when allowed). */
  readonly reasons: readonly Reason[];
  readonly checkedAt: string;
  /**
   * Under a calling policy, on blocked decisions: the first instant every reason has cleared (ISO 8601),
   * so a scheduler can retry then; null when the block is not only a matter of time.
   */
  readonly nextAllowedAt?: string | null;
  /** When the check consulted registries: each registry's answer for each phone number of the contact. */
  readonly registries?: readonly ContactRegistryResult[];
}

export interface CheckOptions {
  /** The labels this check enforces; empty or absent = every label. Global labels always apply. */
  readonly labels?: readonly string[] | string | null;
  /** The channel about to be used; absent = unknown, so channel-scoped labels block too (fail closed). */
  readonly channel?: string | null;
  /** The instant to decide for (default now). */
  readonly at?: Date | number;
  /** A calling policy (compiled, a definition, or a preset name); absent = no policy. */
  readonly policy?: CheckPolicy | PolicyDefinition | string | null;
  /**
   * More calling policies, each as `policy` takes one: the contact is allowed only when every one
   * (with `policy`, listed first) allows. Empty or absent: only `policy`.
   */
  readonly policies?: readonly (CheckPolicy | PolicyDefinition | string)[] | null;
  /** The campaign or subject, for frequency caps and cooling-off scoped to it; absent = unknown. */
  readonly campaign?: string | null;
  /** National registries to consult (file registries answer from memory; services need checkAsync). */
  readonly registries?: readonly RegistrySource[] | null;
  /** When a registry cannot answer: 'block' (default: fail closed) or 'allow'. */
  readonly registryFailure?: RegistryFailurePolicy | null;
  /** India NCPR: the campaign's category (1-8); a contact whose preference refuses it is blocked. */
  readonly ncprCategory?: number | string | null;
  /**
   * The caller records an attempt for each allowed contact (Check DNC's "record attempt"): the attempt
   * counts towards caps from the decision on, while the caller's record is still being written.
   */
  readonly recordAttempt?: boolean | null;
}

export interface BlockedItem {
  /** The list item exactly as given. */
  readonly item: unknown;
  readonly decision: Decision;
}

export interface BatchSummary {
  readonly total: number;
  readonly allowed: number;
  readonly blocked: number;
  /** Blocked contacts per reason code (a contact blocked for two reasons counts under both). */
  readonly reasons: Partial<Record<ReasonCode, number>>;
  /** Blocked contacts per matched label. */
  readonly labels: Record<string, number>;
}

export interface BatchDecision {
  /** The allowed items, exactly as given, in input order. */
  readonly allowed: unknown[];
  readonly blocked: BlockedItem[];
  readonly summary: BatchSummary;
  readonly checkedAt: string;
  /**
   * Per allowed item (same order), the Reassigned Numbers Database answers its check relied on; present only
   * when the check asked that database. Check DNC keeps them with the attempts it records.
   */
  readonly allowedRnd?: readonly (readonly AttemptRndRecord[] | undefined)[];
}

/** Check options validated once: a node compiles its configuration into a plan at deploy time. */
export interface CheckPlan {
  /** null: every label. */
  readonly selected: ReadonlySet<string> | null;
  readonly channel: string | null;
  /** The channel is neither built in nor declared: every decision under the plan is UNKNOWN_CHANNEL. */
  readonly channelUnknown?: boolean;
  /** The calling policy (one, or a stack of them), when the check has one. */
  readonly policy?: CheckPolicy;
  readonly campaign?: string | null;
  /** Registries to consult, when the check has any. */
  readonly registries?: RegistryPlan;
  readonly ncprCategory?: NcprCategory;
  /** The caller records an attempt for each allowed contact (CheckOptions.recordAttempt). */
  readonly recordsAttempt?: boolean;
}
