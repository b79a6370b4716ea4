/**
 * Decisions: may this contact be contacted on this channel for this purpose, now? And if not, why.
 *
 * One decision shape serves every caller (msg.dnc in Check DNC, the HTTP check route, a campaign scrub).
 * The check runs from memory only and fails closed: a contact that cannot be parsed, a store that
 * cannot answer, or any unexpected error blocks the contact with a reason code; nothing is allowed by
 * accident. Bad options (an unknown label, a malformed channel) are configuration errors and throw a
 * DncError instead, so a flow's Catch node sees them; they never produce an "allowed".
 */
import { ContactParser, contactLabel, type ParsedContact } from './contacts';
import { DncError } from './errors';
import { KNOWN_CHANNELS, LabelCatalog, normaliseChannel } from './labels';
import { CallingPolicy, preset, type AttemptSource, type PolicyDefinition } from './policy';
import {
  completeAsync,
  completeSync,
  isNcprLabel,
  ncprCategoryOf,
  registryPlanOf,
  type ContactRegistryResult,
  type RegistryFailurePolicy,
  type RegistryPlan,
  type RegistrySource,
} from './registries/check';
import type { NcprCategory } from './registries/ncpr';
import type { AppliedLabel, AttemptRecord, ContactState, DncStore } from './store/types';
import { instantOf, isoTime } from './time';

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
  readonly policy?: CallingPolicy | PolicyDefinition | string | null;
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
}

/** Check options validated once: a node compiles its configuration into a plan at deploy time. */
export interface CheckPlan {
  /** null: every label. */
  readonly selected: ReadonlySet<string> | null;
  readonly channel: string | null;
  /** The channel is neither built in nor declared: every decision under the plan is UNKNOWN_CHANNEL. */
  readonly channelUnknown?: boolean;
  /** The calling policy, when the check has one. */
  readonly policy?: CallingPolicy;
  readonly campaign?: string | null;
  /** Registries to consult, when the check has any. */
  readonly registries?: RegistryPlan;
  readonly ncprCategory?: NcprCategory;
  /** The caller records an attempt for each allowed contact (CheckOptions.recordAttempt). */
  readonly recordsAttempt?: boolean;
}

/**
 * Attempts counted before they are durable: a record being written (DncService.recordAttempt), an
 * allowed contact whose caller is about to record it, a list's earlier allowed items. Caps count them at
 * once, so a burst or a list cannot exceed a cap while the attempts file catches up (fail closed: a
 * record counted here and in the store for a moment only blocks sooner).
 */
class PendingAttempts {
  private readonly byKey = new Map<string, AttemptRecord[]>();

  /** Counts the record under each of its keys; the function returned stops counting it (idempotent). */
  add(record: AttemptRecord): () => void {
    const keys = [...new Set(record.keys)];
    for (const key of keys) {
      const list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, [record]);
      else list.push(record);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of keys) {
        const list = this.byKey.get(key);
        if (list === undefined) continue;
        const i = list.indexOf(record);
        if (i !== -1) list.splice(i, 1);
        if (list.length === 0) this.byKey.delete(key);
      }
    };
  }

  of(key: string, since: number): readonly AttemptRecord[] | undefined {
    const list = this.byKey.get(key);
    if (list === undefined) return undefined;
    const found = list.filter((r) => r.at >= since);
    return found.length === 0 ? undefined : found;
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

export class DncDecider {
  constructor(
    private readonly catalog: LabelCatalog,
    private readonly parser: ContactParser,
    private readonly store: DncStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Validates check options; throws DNC_UNKNOWN_LABEL or DNC_INVALID_INPUT. */
  plan(options: CheckOptions = {}): CheckPlan {
    const names =
      options.labels === undefined || options.labels === null
        ? []
        : this.catalog.resolveNames(options.labels, 'labels');
    const channel =
      options.channel === undefined || options.channel === null || options.channel === ''
        ? null
        : normaliseChannel(options.channel, 'channel');
    const selected = names.length === 0 ? null : new Set(names);
    const registries = registryPlanOf(options.registries, options.registryFailure);
    const ncprCategory = ncprCategoryOf(options.ncprCategory);
    const policy =
      options.policy === undefined || options.policy === null ? undefined : policyOf(options.policy);
    if (policy !== undefined) this.checkPolicyChannels(policy);
    if (channel !== null && !this.catalog.isChannel(channel)) {
      // A decision, not an exception: a check on an unknown channel blocks every contact (fail closed).
      return policy === undefined
        ? { selected, channel, channelUnknown: true }
        : { selected, channel, channelUnknown: true, policy };
    }
    const plan: CheckPlan =
      options.policy === undefined || options.policy === null
        ? { selected, channel }
        : options.recordAttempt === true
          ? {
              selected,
              channel,
              policy,
              campaign: campaignOf(options.campaign),
              recordsAttempt: true,
            }
          : { selected, channel, policy, campaign: campaignOf(options.campaign) };
    if (registries === undefined && ncprCategory === undefined) return plan;
    return { ...plan, registries, ncprCategory };
  }

  /**
   * A policy that governs a channel this configuration does not know (`voise`) would govern nothing
   * real: refuse it. Throws DNC_INVALID_INPUT naming `policy.channels[i]`.
   */
  private checkPolicyChannels(policy: CallingPolicy): void {
    const channels = policy.channels;
    if (channels === null) return;
    channels.forEach((channel, i) => {
      if (this.catalog.isChannel(channel)) return;
      throw new DncError(
        'DNC_INVALID_INPUT',
        `the calling policy "${policy.name}" governs channel "${channel}", which is neither built in (${KNOWN_CHANNELS.join(', ')}) nor declared in the DNC labels configuration`,
        { field: `policy.channels[${i}]` },
      );
    });
  }

  check(input: unknown, options: CheckOptions = {}): Decision {
    const at = instantOf(options.at, this.now);
    return this.decide(input, this.plan(options), at, isoTime(at));
  }

  checkMany(items: readonly unknown[], options: CheckOptions = {}): BatchDecision {
    if (!Array.isArray(items)) {
      throw new DncError('DNC_INVALID_INPUT', 'a batch check takes a list of contacts', {
        field: 'contacts',
      });
    }
    const at = instantOf(options.at, this.now);
    const plan = this.plan(options);
    const checkedAt = isoTime(at);
    const allowed: unknown[] = [];
    const blocked: BlockedItem[] = [];
    const reasons: Partial<Record<ReasonCode, number>> = {};
    // A Map, not an object: label names are user-chosen and `constructor` must count like any other.
    const labels = new Map<string, number>();
    // An item allowed earlier in the list counts towards the caps of the items after it. Every such
    // attempt has the same time, channel and campaign, so a count per key is enough: far cheaper than
    // a pending record per allowed item (a scrub of a million contacts must stay fast).
    const counting = plan.policy?.needsAttempts === true;
    if (counting) {
      this.listAttempts = {
        counts: new Map(),
        template: {
          at,
          attempt: true,
          outcome: null,
          channel: plan.channel,
          campaign: plan.campaign ?? null,
        },
      };
    }
    try {
      for (const item of items) {
        const decision = this.decide(item, plan, at, checkedAt);
        if (decision.allowed) {
          allowed.push(item);
          if (counting) {
            const counts = this.listAttempts!.counts;
            for (const key of decision.keys) counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          continue;
        }
        blocked.push({ item, decision });
        let lastCode: ReasonCode | undefined;
        for (const reason of decision.reasons) {
          // Count a contact once per code even when two labels blocked it.
          if (reason.code !== lastCode) reasons[reason.code] = (reasons[reason.code] ?? 0) + 1;
          lastCode = reason.code;
        }
        for (const name of decision.matched) labels.set(name, (labels.get(name) ?? 0) + 1);
      }
    } finally {
      // Synchronous: a caller that records the allowed items does so before any other check runs.
      this.listAttempts = undefined;
    }
    return {
      allowed,
      blocked,
      summary: {
        total: items.length,
        allowed: allowed.length,
        blocked: blocked.length,
        reasons,
        labels: Object.fromEntries(labels),
      },
      checkedAt,
    };
  }

  /** The decision for one contact under a compiled plan; never throws. */
  decide(input: unknown, plan: CheckPlan, at: number, checkedAt: string): Decision {
    if (plan.channelUnknown === true) return this.unknownChannel(input, plan, checkedAt);
    const decision = this.decideLabels(input, plan, at, checkedAt);
    const checked =
      plan.policy === undefined ? decision : this.withPolicy(decision, input, plan, plan.policy, at);
    if (plan.registries === undefined && plan.ncprCategory === undefined) return checked;
    try {
      return completeSync(checked, plan, at);
    } catch (err) {
      // The registry and NCPR step fails closed like every other step.
      return {
        ...checked,
        allowed: false,
        reasons: [
          ...checked.reasons,
          {
            code: 'CHECK_FAILED',
            message: `the registry check could not be completed, so the contact is blocked: ${(err as Error).message}`,
          },
        ],
      };
    }
  }

  /** The decision, with service-backed registries asked (the async path; same as decide without them). */
  async decideAsync(input: unknown, plan: CheckPlan, at: number, checkedAt: string): Promise<Decision> {
    if (plan.registries?.async !== true || plan.channelUnknown === true) {
      return this.decide(input, plan, at, checkedAt);
    }
    const base = this.decideBase(input, plan, at, checkedAt);
    // A caller that records the attempt: it counts while the registries are asked.
    const release = plan.recordsAttempt === true ? this.holdFor(base, plan, at) : undefined;
    let decision: Decision | undefined;
    try {
      [decision] = await completeAsync([base], plan, at);
      return decision;
    } finally {
      if (release !== undefined) releaseAfterCaller(release, decision?.allowed === true);
    }
  }

  /** A list under a plan with service registries: each service is asked once for the whole list. */
  async checkManyAsync(items: readonly unknown[], options: CheckOptions = {}): Promise<BatchDecision> {
    const at = instantOf(options.at, this.now);
    const plan = this.plan(options);
    if (plan.registries?.async !== true || plan.channelUnknown === true) {
      return this.checkMany(items, options);
    }
    const checkedAt = isoTime(at);
    // An item allowed earlier in the list counts towards the caps of the items after it (and, for a
    // caller that records attempts, while the registries are asked).
    const held: Array<() => void> = [];
    let recorded = false;
    try {
      const base = items.map((item) => {
        const decision = this.decideBase(item, plan, at, checkedAt);
        const release = this.holdFor(decision, plan, at);
        if (release !== undefined) held.push(release);
        return decision;
      });
      const decisions = await completeAsync(base, plan, at);
      recorded = plan.recordsAttempt === true;
      return summarise(items, decisions, checkedAt);
    } finally {
      for (const release of held) releaseAfterCaller(release, recorded);
    }
  }

  private readonly pending = new PendingAttempts();

  /**
   * Counts an attempt record at once, before it is durable; the function returned stops counting it
   * (call it once the store counts the record, or when writing it failed).
   */
  holdAttempt(record: AttemptRecord): () => void {
    return this.pending.add(record);
  }

  /** Counts an allowed contact's coming attempt under a plan with caps; undefined when nothing counts. */
  private holdFor(decision: Decision, plan: CheckPlan, at: number): (() => void) | undefined {
    if (!decision.allowed || plan.policy?.needsAttempts !== true || decision.keys.length === 0) {
      return undefined;
    }
    return this.pending.add({
      keys: decision.keys,
      at,
      attempt: true,
      outcome: null,
      channel: plan.channel,
      campaign: plan.campaign ?? null,
      source: 'pending',
    });
  }

  /** Labels and policy only (the async path adds NCPR and registries afterwards). */
  private decideBase(input: unknown, plan: CheckPlan, at: number, checkedAt: string): Decision {
    const decision = this.decideLabels(input, plan, at, checkedAt);
    return plan.policy === undefined ? decision : this.withPolicy(decision, input, plan, plan.policy, at);
  }

  private attemptReader: AttemptSource | null | undefined;
  /** While checkMany runs under a policy with caps: how many items each key had allowed so far. */
  private listAttempts:
    { counts: Map<string, number>; template: Omit<AttemptRecord, 'keys' | 'source'> } | undefined;

  /** The store's attempt records, or undefined for a store without them. */
  private get attemptSource(): AttemptSource | undefined {
    if (this.attemptReader === undefined) {
      const store = this.store;
      const pending = this.pending;
      this.attemptReader =
        typeof store.attempts === 'function'
          ? (key, since) => {
              const durable = store.attempts!(key, since);
              const counted = pending.of(key, since);
              const list = this.listAttempts;
              const earlier = list === undefined ? 0 : (list.counts.get(key) ?? 0);
              if (counted === undefined && earlier === 0) return durable;
              const all = counted === undefined ? [...durable] : [...durable, ...counted];
              if (earlier > 0 && list!.template.at >= since) {
                const record: AttemptRecord = { ...list!.template, keys: [key], source: 'pending' };
                for (let i = 0; i < earlier; i++) all.push(record);
              }
              return all;
            }
          : null;
    }
    return this.attemptReader ?? undefined;
  }

  /** Adds the policy's reasons and nextAllowedAt; a policy that throws blocks (fail closed). */
  private withPolicy(
    decision: Decision,
    input: unknown,
    plan: CheckPlan,
    policy: CallingPolicy,
    at: number,
  ): Decision {
    if (decision.contact === null) return { ...decision, nextAllowedAt: null };
    try {
      let phone: string | undefined;
      for (const key of decision.keys) {
        if (key.charCodeAt(0) === 43 /* + */) {
          phone = key;
          break;
        }
      }
      // The plan is the scope (channel, campaign): no allocation on the hot path.
      const verdict = policy.evaluateFor(input, phone, decision.keys, plan, at, this.attemptSource);
      if (verdict === null && decision.allowed) return decision;
      if (decision.allowed) {
        // The common block: only the policy. Its reasons are shared and frozen.
        return {
          allowed: false,
          contact: decision.contact,
          keys: decision.keys,
          channel: decision.channel,
          labels: decision.labels,
          matched: decision.matched,
          reasons: verdict!.reasons,
          checkedAt: decision.checkedAt,
          nextAllowedAt: verdict!.nextAllowedText,
        };
      }
      // Only a matter of time when every other reason is a label that expires.
      let latestExpiry = at;
      let timed = true;
      for (const reason of decision.reasons) {
        if (reason.code !== 'LABEL' || typeof reason.expiresAt !== 'string') {
          timed = false;
          break;
        }
        latestExpiry = Math.max(latestExpiry, Date.parse(reason.expiresAt));
      }
      let next: number | null = null;
      if (timed) {
        const then = policy.evaluateFor(input, phone, decision.keys, plan, latestExpiry, this.attemptSource);
        next = then === null ? latestExpiry : then.nextAllowedAt;
      }
      return {
        ...decision,
        allowed: false,
        reasons: verdict === null ? decision.reasons : [...decision.reasons, ...verdict.reasons],
        nextAllowedAt: next === null ? null : isoTime(next),
      };
    } catch (err) {
      return {
        ...decision,
        allowed: false,
        reasons: [
          ...decision.reasons,
          {
            code: 'CHECK_FAILED',
            message: `the calling policy "${policy.name}" could not be applied, so the contact is blocked: ${(err as Error).message}`,
          },
        ],
        nextAllowedAt: null,
      };
    }
  }

  /** The decision under a plan whose channel is unknown: blocked, naming the channel; never throws. */
  private unknownChannel(input: unknown, plan: CheckPlan, checkedAt: string): Decision {
    let contact: string | null = null;
    let keys: readonly string[] = [];
    try {
      const parsed = this.parser.tryParse(input);
      if (!(parsed instanceof DncError)) {
        contact = contactLabel(parsed);
        keys = parsed.keys;
      }
    } catch {
      // The contact only fills the decision in: it is blocked either way.
    }
    const known = this.catalog.channels.join(', ');
    const decision = blockedFor(contact, keys, plan.channel, checkedAt, {
      code: 'UNKNOWN_CHANNEL',
      message: `channel "${plan.channel}" is neither built in nor declared in the DNC labels configuration (known channels: ${known}), so the contact is blocked`,
    });
    return plan.policy === undefined ? decision : { ...decision, nextAllowedAt: null };
  }

  private decideLabels(input: unknown, plan: CheckPlan, at: number, checkedAt: string): Decision {
    let contact: ParsedContact | undefined;
    try {
      const parsed = this.parser.tryParse(input);
      if (parsed instanceof DncError) {
        return blockedFor(null, [], plan.channel, checkedAt, {
          code: 'INVALID_CONTACT',
          message: parsed.message,
        });
      }
      contact = parsed;
      let profiles: ContactState[];
      try {
        if (parsed.keys.length === 1) {
          const one = this.store.lookup(parsed.keys[0]);
          profiles = one === undefined ? [] : [one];
        } else {
          profiles = this.store.lookupAll(parsed.keys);
        }
      } catch (err) {
        return blockedFor(contactLabel(parsed), parsed.keys, plan.channel, checkedAt, {
          code: 'STORE_UNAVAILABLE',
          message: `the DNC store cannot answer, so the contact is blocked: ${(err as Error).message}`,
        });
      }
      const key = contactLabel(parsed);
      if (profiles.length === 0) {
        return {
          allowed: true,
          contact: key,
          keys: parsed.keys,
          channel: plan.channel,
          labels: [],
          matched: [],
          reasons: [],
          checkedAt,
        };
      }
      return this.fromProfiles(key, parsed.keys, profiles, plan, at, checkedAt);
    } catch (err) {
      // Fail closed on anything unforeseen: a bug must never turn into an allowed call.
      return blockedFor(
        contact ? contactLabel(contact) : null,
        contact?.keys ?? [],
        plan.channel,
        checkedAt,
        {
          code: 'CHECK_FAILED',
          message: `the check could not be completed, so the contact is blocked: ${(err as Error).message}`,
        },
      );
    }
  }

  private fromProfiles(
    contact: string,
    keys: readonly string[],
    profiles: readonly ContactState[],
    plan: CheckPlan,
    at: number,
    checkedAt: string,
  ): Decision {
    const active = activeLabels(profiles, at);
    const labels: ActiveLabel[] = [];
    const matched: string[] = [];
    const reasons: Reason[] = [];
    for (const applied of active) {
      const def = this.catalog.find(applied.label);
      // Rendered once: the view, the reason and its message all show the same instant.
      const expiresAt = iso(applied.expiresAt);
      labels.push({
        label: applied.label,
        appliedAt: isoTime(applied.appliedAt),
        expiresAt,
        source: applied.source,
        channels: def ? def.channels : [],
        global: def ? def.global : false,
      });
      // A label the configuration no longer defines still blocks a check of "every label": we cannot
      // tell what it was for, so we assume the worst.
      const enforced = def
        ? def.global || plan.selected === null || plan.selected.has(def.name)
        : plan.selected === null;
      // An unknown channel cannot be shown to be outside a label's scope: channel-scoped labels block too.
      const inScope =
        !def || def.channelSet === null || plan.channel === null || def.channelSet.has(plan.channel);
      // NCPR_0..NCPR_8 record an India NCPR preference (lib/registries/check.ts), read only by checks
      // that name a campaign category; they are not blocking labels unless the configuration defines them.
      if (!enforced || !inScope || (!def && isNcprLabel(applied.label))) continue;
      matched.push(applied.label);
      const scope = def && def.channelSet !== null ? ` (${def.channels.join(', ')})` : '';
      const until = expiresAt === null ? '' : ` until ${expiresAt}`;
      reasons.push({
        code: 'LABEL',
        label: applied.label,
        expiresAt,
        message: `${contact} carries ${applied.label}${scope}${until}`,
      });
    }
    return {
      allowed: matched.length === 0,
      contact,
      keys,
      channel: plan.channel,
      labels,
      matched,
      reasons,
      checkedAt,
    };
  }
}

/**
 * The labels in force at `at` across the given profiles, one per name. When two profiles (two
 * identifiers not yet linked) carry the same label, the stricter record wins: the earlier applied,
 * the later expiry.
 */
export function activeLabels(profiles: readonly ContactState[], at: number): AppliedLabel[] {
  const result: AppliedLabel[] = [];
  for (const profile of profiles) {
    for (const applied of profile.labels) {
      if (applied.expiresAt !== null && at >= applied.expiresAt) continue;
      const same = result.findIndex((l) => l.label === applied.label);
      if (same === -1) {
        result.push(applied);
        continue;
      }
      const kept = result[same];
      const expiresAt =
        kept.expiresAt === null || applied.expiresAt === null
          ? null
          : Math.max(kept.expiresAt, applied.expiresAt);
      result[same] = { ...(kept.appliedAt <= applied.appliedAt ? kept : applied), expiresAt };
    }
  }
  return result;
}

function policyOf(value: CallingPolicy | PolicyDefinition | string): CallingPolicy {
  if (value instanceof CallingPolicy) return value;
  if (typeof value === 'string') {
    const found = preset(value);
    if (found === undefined)
      throw new DncError('DNC_INVALID_INPUT', `no calling policy preset named "${value}"`, {
        field: 'policy',
      });
    return new CallingPolicy(found);
  }
  return new CallingPolicy(value);
}

function campaignOf(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.length > 200)
    throw new DncError('DNC_INVALID_INPUT', 'campaign must be text of at most 200 characters', {
      field: 'campaign',
    });
  return value.trim() === '' ? null : value.trim();
}

function blockedFor(
  contact: string | null,
  keys: readonly string[],
  channel: string | null,
  checkedAt: string,
  reason: Reason,
): Decision {
  return { allowed: false, contact, keys, channel, labels: [], matched: [], reasons: [reason], checkedAt };
}

/**
 * Stops counting a held attempt: at once when no caller records it; otherwise after the caller's
 * continuation has run (it records the attempt synchronously, which counts it again), so no check
 * decided in between sees the old count.
 */
function releaseAfterCaller(release: () => void, recorded: boolean): void {
  if (recorded) setImmediate(release);
  else release();
}

/** A batch result from its decisions (the async path; checkMany counts as it goes). */
function summarise(
  items: readonly unknown[],
  decisions: readonly Decision[],
  checkedAt: string,
): BatchDecision {
  const allowed: unknown[] = [];
  const blocked: BlockedItem[] = [];
  const reasons: Partial<Record<ReasonCode, number>> = {};
  const labels = new Map<string, number>();
  decisions.forEach((decision, i) => {
    if (decision.allowed) {
      allowed.push(items[i]);
      return;
    }
    blocked.push({ item: items[i], decision });
    const codes = new Set(decision.reasons.map((r) => r.code));
    for (const code of codes) reasons[code] = (reasons[code] ?? 0) + 1;
    for (const name of decision.matched) labels.set(name, (labels.get(name) ?? 0) + 1);
  });
  return {
    allowed,
    blocked,
    summary: {
      total: items.length,
      allowed: allowed.length,
      blocked: blocked.length,
      reasons,
      labels: Object.fromEntries(labels),
    },
    checkedAt,
  };
}
