/**
 * Decisions: may this contact be contacted on this channel for this purpose, now? And if not, why.
 *
 * One decision shape serves every caller (msg.dnc in Check DNC, the HTTP check route, a campaign scrub).
 * The check runs from memory only and fails closed: a contact that cannot be parsed, a store that
 * cannot answer, or any unexpected error blocks the contact with a reason code; nothing is allowed by
 * accident. Bad options (an unknown label, a malformed channel) are configuration errors and throw a
 * DncError instead, so a flow's Catch node sees them; they never produce an "allowed".
 */
import { AttemptAccounting, releaseAfterCaller } from './attempt-accounting';
import { BatchTally, summarise } from './batch-summary';
import { ContactParser, contactLabel, type ParsedContact } from './contacts';
import type { ActiveLabel, BatchDecision, CheckOptions, CheckPlan, Decision, Reason } from './decision';
import { DncError } from './errors';
import { KNOWN_CHANNELS, LabelCatalog, normaliseChannel } from './labels';
import {
  PolicyStack,
  createPolicy,
  isCheckPolicy,
  preset,
  type CallingPolicy,
  type CheckPolicy,
  type PolicyDefinition,
} from './policy';
import {
  completeAsync,
  completeSync,
  isNcprLabel,
  ncprCategoryOf,
  registryPlanOf,
  type CalleeContext,
} from './registries/check';
import type { AppliedLabel, AttemptRecord, ContactState, DncStore } from './store/types';
import { checkInstantOf, isoOrNull, isoTime } from './time';

export class DncDecider {
  constructor(
    private readonly catalog: LabelCatalog,
    private readonly parser: ContactParser,
    private readonly store: DncStore,
    private readonly now: () => number = Date.now,
  ) {
    this.attempts = new AttemptAccounting(store);
  }

  /** Attempts the caps count before they are durable (held records, a list's earlier items). */
  private readonly attempts: AttemptAccounting;

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
    const policy = checkPolicyOf(options.policy, options.policies);
    if (policy !== undefined) for (const member of policy.members) this.checkPolicyChannels(member);
    if (channel !== null && !this.catalog.isChannel(channel)) {
      // A decision, not an exception: a check on an unknown channel blocks every contact (fail closed).
      return policy === undefined
        ? { selected, channel, channelUnknown: true }
        : { selected, channel, channelUnknown: true, policy };
    }
    const plan: CheckPlan =
      policy === undefined
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
    const at = checkInstantOf(options.at, this.now);
    return this.decide(input, this.plan(options), at, isoTime(at));
  }

  checkMany(items: readonly unknown[], options: CheckOptions = {}): BatchDecision {
    if (!Array.isArray(items)) {
      throw new DncError('DNC_INVALID_INPUT', 'a batch check takes a list of contacts', {
        field: 'contacts',
      });
    }
    const at = checkInstantOf(options.at, this.now);
    const plan = this.plan(options);
    const checkedAt = isoTime(at);
    const tally = new BatchTally();
    // An item allowed earlier in the list counts towards the caps of the items after it.
    const counts = plan.policy?.needsAttempts === true ? this.attempts.beginList(plan, at) : undefined;
    const perNumber = plan.policy?.needsAttemptsForNumber?.bind(plan.policy);
    try {
      for (const item of items) {
        const decision = this.decide(item, plan, at, checkedAt);
        if (decision.allowed) {
          tally.allow(item);
          // A bare number whose rules have no cap or cooling-off (us-states outside Florida) needs no
          // count; an object contact may name a state that has one, so it is always counted.
          if (
            counts !== undefined &&
            !(
              perNumber !== undefined &&
              typeof item === 'string' &&
              decision.keys.length === 1 &&
              decision.keys[0].charCodeAt(0) === 43 &&
              !perNumber(decision.keys[0])
            )
          ) {
            for (const key of decision.keys) counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          continue;
        }
        tally.block(item, decision);
      }
    } finally {
      // Synchronous: a caller that records the allowed items does so before any other check runs.
      this.attempts.endList();
    }
    return tally.result(items.length, checkedAt);
  }

  /** The decision for one contact under a compiled plan; never throws. */
  decide(input: unknown, plan: CheckPlan, at: number, checkedAt: string): Decision {
    if (plan.channelUnknown === true) return this.unknownChannel(input, plan, checkedAt);
    let contact: ParsedContact | Error;
    try {
      contact = this.parser.tryParse(input);
    } catch (err) {
      contact = failure(err);
    }
    const decision = this.decideLabels(contact, plan, at, checkedAt);
    const checked =
      plan.policy === undefined ? decision : this.withPolicy(decision, contact, plan, plan.policy, at);
    if (plan.registries === undefined && plan.ncprCategory === undefined) return checked;
    try {
      // The contact's own state scopes the state lists (check.ts).
      return completeSync(checked, plan, at, contact instanceof Error ? undefined : contact.hints?.region);
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
    const callees: (CalleeContext | undefined)[] = [];
    const base = this.decideBase(input, plan, at, checkedAt, callees);
    // A caller that records the attempt: it counts while the registries are asked.
    const release = plan.recordsAttempt === true ? this.attempts.holdFor(base, plan, at) : undefined;
    let decision: Decision | undefined;
    try {
      [decision] = await completeAsync([base], plan, at, callees);
      return decision;
    } finally {
      if (release !== undefined) releaseAfterCaller(release, decision?.allowed === true);
    }
  }

  /** A list under a plan with service registries: each service is asked once for the whole list. */
  async checkManyAsync(items: readonly unknown[], options: CheckOptions = {}): Promise<BatchDecision> {
    const at = checkInstantOf(options.at, this.now);
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
      const callees: (CalleeContext | undefined)[] = [];
      const base = items.map((item) => {
        const decision = this.decideBase(item, plan, at, checkedAt, callees);
        const release = this.attempts.holdFor(decision, plan, at);
        if (release !== undefined) held.push(release);
        return decision;
      });
      const decisions = await completeAsync(base, plan, at, callees);
      recorded = plan.recordsAttempt === true;
      return summarise(items, decisions, checkedAt);
    } finally {
      for (const release of held) releaseAfterCaller(release, recorded);
    }
  }

  /**
   * Counts an attempt record at once, before it is durable; the function returned stops counting it
   * (call it once the store counts the record, or when writing it failed).
   */
  holdAttempt(record: AttemptRecord): () => void {
    return this.attempts.hold(record);
  }

  /**
   * Labels and policy only (the async path adds NCPR and registries afterwards). What the registries need
   * of the contact (its own state for the state lists, its consent date for the Reassigned Numbers
   * Database) is pushed onto `callees`, one entry per call.
   */
  private decideBase(
    input: unknown,
    plan: CheckPlan,
    at: number,
    checkedAt: string,
    callees: (CalleeContext | undefined)[],
  ): Decision {
    let contact: ParsedContact | Error;
    try {
      contact = this.parser.tryParse(input);
    } catch (err) {
      contact = failure(err);
    }
    callees.push(
      contact instanceof Error || (contact.hints === undefined && contact.consentDate === undefined)
        ? undefined
        : { region: contact.hints?.region, consentDate: contact.consentDate },
    );
    const decision = this.decideLabels(contact, plan, at, checkedAt);
    return plan.policy === undefined ? decision : this.withPolicy(decision, contact, plan, plan.policy, at);
  }

  /** Adds the policy's reasons and nextAllowedAt; a policy that throws blocks (fail closed). */
  private withPolicy(
    decision: Decision,
    contact: ParsedContact | Error,
    plan: CheckPlan,
    policy: CheckPolicy,
    at: number,
  ): Decision {
    // A contact that could not be parsed (decision.contact null) has no zone and no attempts.
    if (contact instanceof Error) return { ...decision, nextAllowedAt: null };
    try {
      let phone: string | undefined;
      for (const key of decision.keys) {
        if (key.charCodeAt(0) === 43 /* + */) {
          phone = key;
          break;
        }
      }
      // The plan is the scope (channel, campaign): no allocation on the hot path.
      const verdict = policy.evaluateFor(contact.hints, phone, decision.keys, plan, at, this.attempts.source);
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
        const then = policy.evaluateFor(
          contact.hints,
          phone,
          decision.keys,
          plan,
          latestExpiry,
          this.attempts.source,
        );
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

  /** `contact`: what tryParse gave, or the Error it threw (a bug: the contact is blocked, CHECK_FAILED). */
  private decideLabels(
    contact: ParsedContact | Error,
    plan: CheckPlan,
    at: number,
    checkedAt: string,
  ): Decision {
    if (contact instanceof Error) {
      return blockedFor(
        null,
        [],
        plan.channel,
        checkedAt,
        contact instanceof DncError
          ? { code: 'INVALID_CONTACT', message: contact.message }
          : {
              code: 'CHECK_FAILED',
              message: `the check could not be completed, so the contact is blocked: ${contact.message}`,
            },
      );
    }
    const key = contactLabel(contact);
    try {
      let profiles: ContactState[];
      try {
        if (contact.keys.length === 1) {
          const one = this.store.lookup(contact.keys[0]);
          profiles = one === undefined ? [] : [one];
        } else {
          profiles = this.store.lookupAll(contact.keys);
        }
      } catch (err) {
        return blockedFor(key, contact.keys, plan.channel, checkedAt, {
          code: 'STORE_UNAVAILABLE',
          message: `the DNC store cannot answer, so the contact is blocked: ${(err as Error).message}`,
        });
      }
      if (profiles.length === 0) {
        return {
          allowed: true,
          contact: key,
          keys: contact.keys,
          channel: plan.channel,
          labels: [],
          matched: [],
          reasons: [],
          checkedAt,
        };
      }
      return this.fromProfiles(key, contact.keys, profiles, plan, at, checkedAt);
    } catch (err) {
      // Fail closed on anything unforeseen: a bug must never turn into an allowed call.
      return blockedFor(key, contact.keys, plan.channel, checkedAt, {
        code: 'CHECK_FAILED',
        message: `the check could not be completed, so the contact is blocked: ${(err as Error).message}`,
      });
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
      const expiresAt = isoOrNull(applied.expiresAt);
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

function policyOf(value: unknown, field: string): CheckPolicy {
  if (isCheckPolicy(value)) return value;
  if (typeof value === 'string') {
    const found = preset(value);
    if (found === undefined)
      throw new DncError('DNC_INVALID_INPUT', `no calling policy preset named "${value}"`, { field });
    return createPolicy(found);
  }
  try {
    return createPolicy(value as PolicyDefinition);
  } catch (error) {
    // The definition's own field names (policy.windows...) under the list's entry: policies[1].windows.
    if (error instanceof DncError && field !== 'policy' && typeof error.field === 'string') {
      throw new DncError(error.code, error.message.replace(/^policy:/, `${field}:`), {
        field: error.field.replace(/^policy/, field),
      });
    }
    throw error;
  }
}

/** More would be a mistake (a list built in a loop), and each one costs every check. */
const MAX_POLICIES = 20;

/** `policy` and `policies` as one CheckPolicy: none, the one policy, or a stack (policy first). */
function checkPolicyOf(policy: unknown, policies: unknown): CheckPolicy | undefined {
  const members: CheckPolicy[] = [];
  if (policy !== undefined && policy !== null) members.push(policyOf(policy, 'policy'));
  if (policies !== undefined && policies !== null) {
    if (!Array.isArray(policies))
      throw new DncError('DNC_INVALID_INPUT', 'policies must be a list of calling policies', {
        field: 'policies',
      });
    if (policies.length > MAX_POLICIES)
      throw new DncError('DNC_INVALID_INPUT', `at most ${MAX_POLICIES} policies on one check`, {
        field: 'policies',
      });
    policies.forEach((value, i) => {
      if (value === undefined || value === null || value === '')
        throw new DncError(
          'DNC_INVALID_INPUT',
          `policies[${i}] is blank: name a policy or remove the entry`,
          {
            field: `policies[${i}]`,
          },
        );
      members.push(policyOf(value, `policies[${i}]`));
    });
  }
  if (members.length === 0) return undefined;
  return members.length === 1 ? members[0] : new PolicyStack(members);
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

/** What tryParse threw, as an Error (only a bug can throw there: tryParse returns its DncErrors). */
function failure(err: unknown): Error {
  return err instanceof Error ? err : new Error(String((err as { message?: unknown } | undefined)?.message));
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
