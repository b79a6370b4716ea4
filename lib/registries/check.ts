/**
 * What Check DNC does with national registries and India NCPR preferences, kept apart from lib/decide.ts so
 * the common check (no registry, no NCPR category) pays nothing for them.
 *
 * Registries. Every phone key of the contact is looked up in every registry of the plan. A listed number
 * blocks with REGISTRY (naming the registry and its as-of date; `stale: true` when the data or wash result
 * that lists it is past its validity: such a listing blocks even when failures are allowed). A registry that cannot answer blocks with
 * REGISTRY_STALE (data or wash result past the registry's validity) or REGISTRY_UNAVAILABLE (not loaded,
 * service down, circuit open, number missing from the answer), unless the plan allows failures. A number
 * outside a registry's coverage (another country) is simply not on it. Contacts with no phone key (email,
 * id) are not looked up. File registries answer synchronously from memory; service registries
 * (`async: true`) only on the async path (checkAsync / checkManyAsync), which batches the numbers of a
 * whole list into the service's requests.
 *
 * State lists. A registry with a `state` (the US state lists: US_TX answers for TX) answers only for callees
 * in that state. The callee's states are the contact's own (`state`/`region`/`province` of an object contact)
 * and its number's area code; when both are known and differ, both bind (Florida and Oklahoma presume an
 * area code means a resident). A callee known to be elsewhere gets `not-covered` (OUTSIDE_STATE): never a
 * block, whatever the list's state (stale, not loaded). A callee whose state cannot be known (a non-geographic
 * number such as 800 with no state given, or a state given that names no US state) may be in the list's
 * state, so the list is consulted and its answer stands: listed blocks, stale or unavailable blocks as for
 * any registry. Failing closed costs little here: a number not on the list passes.
 *
 * NCPR. A contact's preference is stored as reserved labels (`NCPR_0` fully blocked, `NCPR_1`..`NCPR_8` the
 * categories accepted); with a campaign category in the plan, a refused category blocks with
 * NCPR_PREFERENCE. Without a category the preference is not consulted (the message may be transactional).
 */
import { DncError } from '../errors';
import { decideNcpr, isNcprCategory, type NcprCategory, type NcprPreference } from './ncpr';
import type { RegistryId } from './known-registries';
import type { RegistryLookupResult, RndRecord, SourceLookupResult } from './lookup-result';
import { defaultStateOfNumber, normaliseUsState, type StateOfNumber } from './number-state';

/** A registry answering from memory (FileRegistry). */
export interface SyncRegistrySource {
  readonly id: RegistryId;
  readonly name: string;
  /** A state list's state (USPS code): it answers only for callees there. */
  readonly state?: string | null;
  readonly async?: false;
  covers(e164: string): boolean;
  lookupMany(numbers: readonly string[], at?: number): RegistryLookupResult[];
}

/** A registry answering through a service (ServiceRegistrySource). */
export interface AsyncRegistrySource {
  readonly id: RegistryId;
  readonly name: string;
  /** A state list's state (USPS code): it answers only for callees there. */
  readonly state?: string | null;
  readonly async: true;
  covers(e164: string): boolean;
  lookupMany(numbers: readonly string[]): Promise<SourceLookupResult[]>;
  /**
   * Set by a source whose answer depends on the contact's consent date (the Reassigned Numbers Database):
   * it is asked per number and consent date through lookupConsented, not per number.
   */
  readonly needsConsentDate?: true;
  lookupConsented?(
    queries: readonly { readonly number: string; readonly consentDate?: string }[],
  ): Promise<SourceLookupResult[]>;
}

/** What the async path knows of each contact beyond its keys: its own state and its consent date. */
export interface CalleeContext {
  readonly region?: string;
  readonly consentDate?: string;
}

export type RegistrySource = SyncRegistrySource | AsyncRegistrySource;

export type RegistryFailurePolicy = 'block' | 'allow';

/** A registry's answer for one number of a contact (msg.dnc.registries). */
export interface ContactRegistryResult extends SourceLookupResult {
  readonly number: string;
  readonly name: string;
}

/** Registries of a compiled check plan. */
export interface RegistryPlan {
  readonly sources: readonly RegistrySource[];
  /** True when a service registry is among them: checks must take the async path. */
  readonly async: boolean;
  /** True when the designer chose to allow contacts a registry cannot check. */
  readonly allowFailure: boolean;
}

/** The reserved label names of NCPR preferences. */
export const NCPR_LABEL_PATTERN = /^NCPR_[0-8]$/;

export function isNcprLabel(name: string): boolean {
  return name.length === 6 && NCPR_LABEL_PATTERN.test(name);
}

/** The labels that record a preference: `[NCPR_0]` or `[NCPR_1, NCPR_3]`. */
export function ncprLabelsFor(preference: NcprPreference): string[] {
  return preference.fullyBlocked ? ['NCPR_0'] : preference.acceptedCategories.map((c) => `NCPR_${c}`);
}

/**
 * The preference recorded by a contact's active labels, or null. NCPR_0 beside categories (two changes
 * made apart) reads as fully blocked: between contradicting records the stricter one is the safe one.
 */
export function ncprFromLabels(labels: readonly { readonly label: string }[]): NcprPreference | null {
  let blocked = false;
  const categories: NcprCategory[] = [];
  for (const { label } of labels) {
    if (!isNcprLabel(label)) continue;
    const n = label.charCodeAt(5) - 48;
    if (n === 0) blocked = true;
    else if (!categories.includes(n as NcprCategory)) categories.push(n as NcprCategory);
  }
  if (blocked) return { fullyBlocked: true };
  if (categories.length === 0) return null;
  return { fullyBlocked: false, acceptedCategories: categories.sort((a, b) => a - b) };
}

export function registryPlanOf(
  sources: readonly RegistrySource[] | null | undefined,
  failure: unknown,
): RegistryPlan | undefined {
  if (failure !== undefined && failure !== null && failure !== 'block' && failure !== 'allow') {
    throw new DncError('DNC_INVALID_INPUT', 'registryFailure must be "block" or "allow"', {
      field: 'registryFailure',
    });
  }
  if (sources === undefined || sources === null) return undefined;
  if (!Array.isArray(sources)) {
    throw new DncError('DNC_INVALID_INPUT', 'registries must be a list of registry sources', {
      field: 'registries',
    });
  }
  if (sources.length === 0) return undefined;
  for (const source of sources as unknown[]) {
    const s = source as Partial<RegistrySource> | null;
    if (s === null || typeof s !== 'object' || typeof s.lookupMany !== 'function') {
      throw new DncError('DNC_INVALID_INPUT', 'registries must be registry sources (file or service)', {
        field: 'registries',
      });
    }
  }
  return {
    sources,
    async: (sources as readonly RegistrySource[]).some((s) => s.async === true),
    allowFailure: failure === 'allow',
  };
}

export function ncprCategoryOf(value: unknown): NcprCategory | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  if (!isNcprCategory(n)) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `ncprCategory must be an NCPR category 1-8, got ${JSON.stringify(value)}`,
      {
        field: 'ncprCategory',
      },
    );
  }
  return n;
}

/** The decision fields this module reads and writes (a structural view of lib/decide.ts's Decision). */
interface DecisionView {
  readonly allowed: boolean;
  readonly contact: string | null;
  readonly keys: readonly string[];
  readonly labels: readonly { readonly label: string }[];
  readonly reasons: readonly ReasonView[];
  readonly nextAllowedAt?: string | null;
  readonly registries?: readonly ContactRegistryResult[];
}

interface ReasonView {
  readonly code: string;
  readonly message: string;
}

interface PlanView {
  readonly registries?: RegistryPlan;
  readonly ncprCategory?: NcprCategory;
  readonly policy?: unknown;
}

function phonesOf(decision: DecisionView): string[] {
  const phones: string[] = [];
  if (decision.contact === null) return phones;
  for (const key of decision.keys) if (key.charCodeAt(0) === 43 /* + */) phones.push(key);
  return phones;
}

function day(asOf: string | null): string {
  return asOf === null ? 'unknown' : asOf.slice(0, 10);
}

/** The reason a registry result gives, or null when it does not block. */
export function registryReason(
  result: ContactRegistryResult,
  allowFailure: boolean,
):
  | (ReasonView & {
      registry: string;
      asOf: string | null;
      number: string;
      stale?: true;
      rnd?: RndRecord;
    })
  | null {
  const base = { registry: result.registry, asOf: result.asOf, number: result.number };
  // The Reassigned Numbers Database: its answers are its own reasons, and neither "no data" nor a missing
  // consent date is a registry failure that "allow when a registry cannot answer" relaxes: the query was
  // answered, or could not be made, and either way there is no safe harbour.
  switch (result.reason) {
    case 'REASSIGNED':
      if (result.result !== 'listed') break;
      return {
        code: 'REASSIGNED',
        message: `${result.number} was permanently disconnected on or after the consent date ${result.rnd?.consentDate ?? '?'}: the consent given for it is no longer the callee's (${result.name}, asked ${result.rnd?.queriedAt ?? result.asOf ?? '?'})`,
        ...base,
        ...(result.rnd === undefined ? {} : { rnd: result.rnd }),
      };
    case 'RND_NO_DATA':
      if (result.result === 'not-listed') return null;
      return {
        code: 'REASSIGNED_NO_DATA',
        message: `${result.name} has no data for ${result.number} since ${result.rnd?.consentDate ?? '?'}, so the contact is blocked: ${result.detail ?? 'no safe harbour'}`,
        ...base,
        ...(result.rnd === undefined ? {} : { rnd: result.rnd }),
      };
    case 'CONSENT_DATE_MISSING':
      return {
        code: 'CONSENT_DATE_MISSING',
        message: `${result.name} cannot be asked about ${result.number}, so the contact is blocked: ${result.detail ?? 'no consent date'}`,
        ...base,
      };
    default:
      break;
  }
  switch (result.result) {
    case 'listed':
      // Listed on data past its validity still blocks, whatever the failure policy: only the absence of
      // an answer may be relaxed, never an answer that says "listed".
      return result.stale === true
        ? {
            code: 'REGISTRY',
            message: `${result.number} is on ${result.name} (data as of ${day(result.asOf)}, past its validity)`,
            ...base,
            stale: true,
          }
        : {
            code: 'REGISTRY',
            message: `${result.number} is on ${result.name} (data as of ${day(result.asOf)})`,
            ...base,
          };
    case 'not-listed':
    case 'not-covered':
      return null;
    case 'stale':
      return allowFailure
        ? null
        : {
            code: 'REGISTRY_STALE',
            message: `${result.name} cannot be relied on, so the contact is blocked: ${result.detail ?? `data of ${day(result.asOf)} is too old`}`,
            ...base,
          };
    default:
      return allowFailure
        ? null
        : {
            code: 'REGISTRY_UNAVAILABLE',
            message: `${result.name} cannot answer for ${result.number}, so the contact is blocked: ${result.detail ?? result.reason}`,
            ...base,
          };
  }
}

function finish<D extends DecisionView>(
  decision: D,
  plan: PlanView,
  reasons: ReasonView[],
  results: readonly ContactRegistryResult[] | undefined,
): D {
  if (reasons.length === 0 && results === undefined) return decision;
  const out = { ...decision } as Record<string, unknown>;
  if (results !== undefined) out.registries = results;
  if (reasons.length > 0) {
    out.allowed = false;
    out.reasons = [...decision.reasons, ...reasons];
    // A registry or a preference is not a matter of time.
    if (plan.policy !== undefined) out.nextAllowedAt = null;
  }
  return out as unknown as D;
}

function ncprReason(decision: DecisionView, category: NcprCategory): ReasonView | null {
  if (decision.contact === null || decision.labels.length === 0) return null;
  const preference = ncprFromLabels(decision.labels);
  if (preference === null) return null;
  const verdict = decideNcpr(preference, category);
  if (verdict.allowed) return null;
  const text = preference.fullyBlocked ? '0' : preference.acceptedCategories.join(',');
  const reason = {
    code: 'NCPR_PREFERENCE',
    category,
    preference: text,
    message:
      verdict.reason === 'NCPR_FULLY_BLOCKED'
        ? `${decision.contact} has NCPR preference 0 (fully blocked): no commercial communication`
        : `${decision.contact} accepts NCPR categories ${text}, not category ${category}`,
  };
  return reason;
}

function lookupSync(
  source: SyncRegistrySource,
  phones: readonly string[],
  at: number,
): ContactRegistryResult[] {
  try {
    const answers = source.lookupMany(phones, at);
    // One answer per number asked, whatever the source returned: a number it did not answer for is
    // unavailable (fail closed), never silently skipped.
    return phones.map((number, i): ContactRegistryResult => {
      const answer = Array.isArray(answers) ? (answers[i] as RegistryLookupResult | undefined) : undefined;
      return answer !== null && typeof answer === 'object'
        ? { ...answer, number, name: source.name }
        : unavailable(source, number, 'the registry gave no answer for this number');
    });
  } catch (err) {
    return phones.map((number) => unavailable(source, number, err));
  }
}

function unavailable(source: RegistrySource, number: string, why: unknown): ContactRegistryResult {
  return {
    registry: source.id,
    name: source.name,
    number,
    result: 'unavailable',
    asOf: null,
    reason: 'REGISTRY_UNAVAILABLE',
    detail: why instanceof Error ? why.message : String(why),
  };
}

/** Whether a state list answers for a callee: in its state, elsewhere, or where nobody can tell. */
export type CalleeScope = { scope: 'in' | 'unknown' } | { scope: 'out'; detail: string };

/**
 * Whether the list of `state` answers for the callee at `number` whose contact gave `region` (undefined when
 * it gave none). Both the contact's state and the area code's bind; see the module comment for the rules.
 */
export function calleeScope(
  state: string,
  number: string,
  region: string | undefined,
  stateOfNumber: StateOfNumber = defaultStateOfNumber,
): CalleeScope {
  let byNumber: string | null | undefined;
  try {
    byNumber = stateOfNumber(number);
  } catch {
    byNumber = undefined;
  }
  const byContact = region === undefined ? undefined : normaliseUsState(region);
  if (byNumber === state || byContact === state) return { scope: 'in' };
  // A state given that names no US state might still mean this one ("Tex."): the list is consulted.
  if (region !== undefined && byContact === undefined) return { scope: 'unknown' };
  if (byNumber === undefined && byContact === undefined) return { scope: 'unknown' };
  const where =
    byContact !== undefined
      ? `the contact's state is ${byContact}${byNumber === undefined ? '' : byNumber === null ? ' and its number is not a US one' : ` and its area code is ${byNumber}'s`}`
      : byNumber === null
        ? 'its number is not a US one'
        : `its area code is ${byNumber}'s`;
  return { scope: 'out', detail: `the list answers for ${state} callees only; ${where}` };
}

/** A result as the callee's state scopes it: `not-covered` for a callee known to be outside the list's state. */
export function scoped(
  source: RegistrySource,
  result: ContactRegistryResult,
  region: string | undefined,
): ContactRegistryResult {
  const state = source.state;
  if (state === undefined || state === null) return result;
  const scope = calleeScope(state, result.number, region);
  if (scope.scope !== 'out') return result;
  return {
    registry: result.registry,
    name: result.name,
    number: result.number,
    result: 'not-covered',
    asOf: result.asOf,
    reason: 'OUTSIDE_STATE',
    detail: scope.detail,
  };
}

/**
 * Completes a decision with NCPR and the registries that answer synchronously. A service registry in the
 * plan cannot answer here: it blocks (fail closed) with REGISTRY_UNAVAILABLE; use the async path.
 */
export function completeSync<D extends DecisionView>(
  decision: D,
  plan: PlanView,
  at: number,
  region?: string,
): D {
  const reasons: ReasonView[] = [];
  if (plan.ncprCategory !== undefined) {
    const reason = ncprReason(decision, plan.ncprCategory);
    if (reason !== null) reasons.push(reason);
  }
  const registries = plan.registries;
  if (registries === undefined) return finish(decision, plan, reasons, undefined);
  const phones = phonesOf(decision);
  const results: ContactRegistryResult[] = [];
  if (phones.length > 0) {
    for (const source of registries.sources) {
      if (source.async === true) {
        for (const number of phones) {
          const result = scoped(
            source,
            unavailable(source, number, 'a service registry answers only on the async path'),
            region,
          );
          results.push(result);
          const reason = registryReason(result, false);
          if (reason !== null) reasons.push(reason);
        }
        continue;
      }
      for (const answer of lookupSync(source, phones, at)) {
        const result = scoped(source, answer, region);
        results.push(result);
        const reason = registryReason(result, registries.allowFailure);
        if (reason !== null) reasons.push(reason);
      }
    }
  }
  return finish(decision, plan, reasons, results);
}

/**
 * Completes a batch of decisions (from the sync path without registries) with NCPR and every registry:
 * each service registry is asked once for the distinct numbers of the whole batch.
 */
export async function completeAsync<D extends DecisionView>(
  decisions: readonly D[],
  plan: PlanView,
  at: number,
  callees?: readonly (CalleeContext | undefined)[],
): Promise<D[]> {
  const registries = plan.registries;
  if (registries === undefined) {
    return decisions.map((d, i) => completeSync(d, plan, at, callees?.[i]?.region));
  }
  const phonesPer = decisions.map(phonesOf);
  // A source asked per consent date: one query per contact's number and date (the same pair once), at the
  // same time as the others.
  const [answers, consented] = await Promise.all([
    lookupNumbers(registries.sources, [...new Set(phonesPer.flat())], at, true),
    Promise.all(
      registries.sources.map((source) =>
        source.async === true && source.needsConsentDate === true
          ? lookupConsented(source, phonesPer, callees)
          : Promise.resolve(undefined),
      ),
    ),
  ]);
  const regions = callees?.map((c) => c?.region);
  return decisions.map((decision, i) => {
    const reasons: ReasonView[] = [];
    if (plan.ncprCategory !== undefined) {
      const reason = ncprReason(decision, plan.ncprCategory);
      if (reason !== null) reasons.push(reason);
    }
    const results: ContactRegistryResult[] = [];
    answers.forEach((map, sourceIndex) => {
      for (const number of phonesPer[i]) {
        const source = registries.sources[sourceIndex];
        const answer = consented[sourceIndex]?.[i].get(number) ?? map.get(number);
        const result = scoped(
          source,
          answer ?? unavailable(source, number, 'the registry gave no answer for this number'),
          regions?.[i],
        );
        results.push(result);
        const reason = registryReason(result, registries.allowFailure);
        if (reason !== null) reasons.push(reason);
      }
    });
    return finish(decision, plan, reasons, results);
  });
}

/** A consent-dated source's answers, per decision: number -> answer; never rejects. */
async function lookupConsented(
  source: AsyncRegistrySource,
  phonesPer: readonly (readonly string[])[],
  callees: readonly (CalleeContext | undefined)[] | undefined,
): Promise<Map<string, ContactRegistryResult>[]> {
  const queries: { number: string; consentDate?: string }[] = [];
  phonesPer.forEach((phones, i) => {
    const consentDate = callees?.[i]?.consentDate;
    for (const number of phones)
      queries.push(consentDate === undefined ? { number } : { number, consentDate });
  });
  let list: ContactRegistryResult[];
  try {
    const raw = queries.length === 0 ? [] : await source.lookupConsented!(queries);
    list = queries.map((q, k) =>
      raw[k] !== null && typeof raw[k] === 'object'
        ? { ...raw[k], number: q.number, name: source.name }
        : unavailable(source, q.number, 'the registry gave no answer for this number'),
    );
  } catch (err) {
    list = queries.map((q) => unavailable(source, q.number, err));
  }
  let k = 0;
  return phonesPer.map((phones) => {
    const map = new Map<string, ContactRegistryResult>();
    for (const number of phones) map.set(number, list[k++]);
    return map;
  });
}

/**
 * Looks distinct E.164 numbers up in every source (services once each, for the whole list); never rejects.
 * One map per source, number -> its answer. A consent-dated source (the Reassigned Numbers Database) is asked
 * about its default consent date, or, with `perContact`, left out (empty map: completeAsync asks it per
 * contact).
 */
export function lookupNumbers(
  sources: readonly RegistrySource[],
  numbers: readonly string[],
  at: number,
  perContact = false,
): Promise<Map<string, ContactRegistryResult>[]> {
  return Promise.all(
    sources.map(async (source): Promise<Map<string, ContactRegistryResult>> => {
      const map = new Map<string, ContactRegistryResult>();
      // completeAsync asks a consent-dated source per contact (lookupConsented) instead.
      if (numbers.length === 0 || (perContact && source.async === true && source.needsConsentDate === true)) {
        return map;
      }
      let list: ContactRegistryResult[];
      if (source.async === true) {
        try {
          const raw = await source.lookupMany(numbers);
          list = raw.map((r, i) => ({ ...r, number: numbers[i], name: source.name }));
        } catch (err) {
          list = numbers.map((n) => unavailable(source, n, err));
        }
      } else list = lookupSync(source, numbers, at);
      list.forEach((r) => map.set(r.number, r));
      return map;
    }),
  );
}

export type RegistryOutcome = 'not-listed' | 'listed' | 'could-not-check';

/**
 * Listed on any registry: listed; else any registry that could not answer: could-not-check; else not listed
 * (a state list that does not cover the callee counts as not listed: it has nothing to say against the call).
 */
export function registryOutcome(results: readonly SourceLookupResult[]): RegistryOutcome {
  let failed = false;
  for (const r of results) {
    if (r.result === 'listed') return 'listed';
    if (r.result !== 'not-listed' && r.result !== 'not-covered') failed = true;
  }
  return failed ? 'could-not-check' : 'not-listed';
}
