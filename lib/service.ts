/**
 * The DNC service: what a flow, an agent desktop or a CRM does with DNC state, in one place.
 * Node-RED nodes and the HTTP API are thin callers of this class; it validates every input, turns
 * contacts into keys, applies label definitions (expiry, scope) and writes through the store contract.
 */
import { AttemptRecorder, type AttemptRequest } from './attempt-recorder';
import { ContactParser, contactLabel } from './contacts';
import { DncDecider } from './decide';
import type { BatchDecision, CheckOptions, CheckPlan, Decision } from './decision';
import { DncError } from './errors';
import { LabelCatalog, type LabelDefinition } from './labels';
import { isNcprLabel, ncprLabelsFor } from './registries/check';
import { parseNcprPreference } from './registries/ncpr';
import { SYSTEM_PRINCIPAL, channelOf, principalText, sourceOf, type Principal } from './request-fields';
import type {
  AttemptRecord,
  AuditQuery,
  AuditRecord,
  AuditVerification,
  ChangeListener,
  ChangeResult,
  ContactState,
  DncStore,
  StoreStatus,
} from './store/types';
import { IsoClock, checkInstantOf, instantOf } from './time';
import { HINTS, RULES, assertValue, textValue } from './values';

export interface DncServiceOptions {
  /** Label definitions (validated here: DNC_INVALID_LABEL). */
  readonly labels: readonly (LabelDefinition | Record<string, unknown>)[];
  /**
   * Custom channels, beyond voice, sms, whatsapp and email (a list, or comma-separated text). A check
   * on a channel neither built in nor declared is blocked (UNKNOWN_CHANNEL); an attempt or a label
   * scope naming one is refused.
   */
  readonly channels?: unknown;
  /** Country for national-format numbers (ISO 3166 alpha-2). */
  readonly defaultCountry?: string;
  readonly store: DncStore;
  /** Resolves when the store is open; rejects when it cannot be (checks then fail closed). */
  readonly storeReady?: Promise<void>;
  /** The clock (tests pin it). */
  readonly now?: () => number;
}

/** A request to add or remove labels. Fields come straight from msg or an HTTP body and are validated here. */
export interface LabelChangeRequest {
  readonly contact: unknown;
  /** Label names: a list, or a comma-separated string. */
  readonly labels?: unknown;
  /** `ivr`, `bot`, `agent`, `api`, `import`, `keyword`, ... */
  readonly source?: unknown;
  readonly actor?: unknown;
  readonly reason?: unknown;
  readonly campaign?: unknown;
  readonly channel?: unknown;
  /** For removals: remove every label the contact carries. */
  readonly all?: boolean;
  /** When the change happened (default now). */
  readonly at?: Date | number;
}

/** How prepareChange reads a request, for callers whose input has its own conventions. */
export interface PrepareOptions {
  /** The source recorded when the request names none (default `api`). */
  readonly defaultSource?: string;
  /**
   * Reads and resolves the request's labels (at least one) instead of the API's rule (RULES.someLabels):
   * import rows have their own list syntax (`a|b;c`). Runs where the API's rule would, after the contact.
   */
  readonly labels?: (value: unknown, catalog: LabelCatalog) => readonly string[];
}

/** A label change validated and resolved against this configuration, not yet written (prepareChange). */
export interface PreparedChange {
  readonly op: 'add' | 'remove';
  /** The contact as normalised (its first key). */
  readonly contact: string;
  readonly keys: readonly string[];
  /** The label names (resolved), or 'all': remove every label the contact carries. */
  readonly labels: readonly string[] | 'all';
  readonly source: string;
  readonly actor: string | null;
  readonly principal: string;
  readonly reason: string | null;
  /** When the change happens: the request's `at`, else the time it was prepared. */
  readonly at: number;
  /** Recorded with an add; null for a removal. */
  readonly campaign: string | null;
  readonly channel: string | null;
}

export interface LabelChangeOutcome {
  /** The contact as normalised (its first key). */
  readonly contact: string;
  readonly keys: readonly string[];
  /** The labels asked for ('*' for remove-all). */
  readonly labels: readonly string[];
  /** Labels newly added (add) or actually removed (remove). */
  readonly changed: readonly string[];
  /** Labels asked for that needed no change: already carried (add) or not carried (remove). */
  readonly unchanged: readonly string[];
  /** seq of the audit record that holds this change. */
  readonly seq: number;
  readonly at: string;
  readonly source: string;
  readonly actor: string | null;
  /** Who made the change, as the package knows them (see `Principal`). */
  readonly principal: string | null;
  readonly reason: string | null;
  readonly record: AuditRecord;
  /**
   * PostgreSQL store only: the database could not be reached, so the change waits in the durable local
   * spool, enforced by this instance at once and committed in order later; `seq` is 0 until then.
   */
  readonly queued?: true;
}

export class DncService {
  readonly catalog: LabelCatalog;
  readonly parser: ContactParser;
  readonly store: DncStore;
  private readonly decider: DncDecider;
  private readonly attempts: AttemptRecorder;
  private readonly now: () => number;
  private readonly storeReady: Promise<void>;
  private readonly clock = new IsoClock();

  constructor(options: DncServiceOptions) {
    this.catalog = new LabelCatalog(options.labels, options.channels);
    this.parser = new ContactParser({ defaultCountry: options.defaultCountry });
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.decider = new DncDecider(this.catalog, this.parser, this.store, this.now);
    this.attempts = new AttemptRecorder({
      parser: this.parser,
      catalog: this.catalog,
      store: this.store,
      now: this.now,
      hold: (record) => this.decider.holdAttempt(record),
      whenReady: () => this.whenReady(),
    });
    this.storeReady = options.storeReady ?? Promise.resolve();
    // A store that fails to open is reported through status() and fails checks closed; the
    // rejection is observed by whoever awaits whenReady(), never left unhandled.
    this.storeReady.catch(() => undefined);
  }

  /** Resolves once the store can answer; rejects with the store's DNC_STORE_UNAVAILABLE error. */
  async whenReady(): Promise<void> {
    if (this.store.status().state === 'ready') return;
    await this.storeReady;
    const status = this.store.status();
    if (status.state !== 'ready') {
      throw status.error instanceof DncError
        ? status.error
        : new DncError('DNC_STORE_UNAVAILABLE', `the DNC store is ${status.state}`, { cause: status.error });
    }
  }

  /**
   * Resolves once the store takes changes: as whenReady, except that a shared store too stale to answer
   * checks still takes them (into its spool), so an opt-out heard during an outage is not refused.
   */
  async whenWritable(): Promise<void> {
    if (this.store.acceptsChanges?.() ?? this.store.status().state === 'ready') return;
    await this.whenReady().catch((error: unknown) => {
      if (!(this.store.acceptsChanges?.() ?? false)) throw error;
    });
  }

  /** Validates check options once (for nodes: at deploy time). */
  plan(options: CheckOptions = {}): CheckPlan {
    const plan = this.decider.plan(options);
    if (plan.policy !== undefined) this.retainAttemptsFor(plan.policy.horizonMs);
    return plan;
  }

  /** The decision for one contact. Contact and store problems are decisions (blocked); bad options throw. */
  check(contact: unknown, options: CheckOptions = {}): Decision {
    return this.decider.check(contact, options);
  }

  /** The same under a compiled plan, for the hot path of a node. */
  checkWithPlan(contact: unknown, plan: CheckPlan, at: number = this.now()): Decision {
    return this.decider.decide(contact, plan, at, this.clock.iso(at));
  }

  /** A campaign list: allowed items as given, blocked items with their decision, a summary per reason. */
  checkMany(contacts: readonly unknown[], options: CheckOptions = {}): BatchDecision {
    return this.decider.checkMany(contacts, options);
  }

  /** check, with service-backed registries asked (the same as check when the options name none). */
  checkAsync(contact: unknown, options: CheckOptions = {}): Promise<Decision> {
    const at = checkInstantOf(options.at, this.now);
    return this.checkWithPlanAsync(contact, this.plan(options), at);
  }

  /** checkWithPlan for plans with service-backed registries (`plan.registries.async`). */
  checkWithPlanAsync(contact: unknown, plan: CheckPlan, at: number = this.now()): Promise<Decision> {
    return this.decider.decideAsync(contact, plan, at, this.clock.iso(at));
  }

  /** checkMany with service-backed registries: each service is asked once for the list's numbers. */
  checkManyAsync(contacts: readonly unknown[], options: CheckOptions = {}): Promise<BatchDecision> {
    return this.decider.checkManyAsync(contacts, options);
  }

  /**
   * Records a contact's India NCPR preference (`0` fully blocked, or the categories accepted: `"1,3"`,
   * `[1, 3]`), replacing any earlier one. Stored as the reserved labels NCPR_0..NCPR_8 (audited like any
   * label): the new labels are added first, then the old ones removed, so a check in between sees the
   * union, which is never more permissive than the two preferences together. Calls for the same
   * contact run one after the other (the later one wins), and each removes only the NCPR labels the
   * contact carried before its own add, so two concurrent updates never leave the contact without one.
   */
  async setNcprPreference(
    request: Omit<LabelChangeRequest, 'labels' | 'all'> & { readonly ncpr: unknown },
    principal: Principal = SYSTEM_PRINCIPAL,
  ): Promise<LabelChangeOutcome> {
    const preference = parseNcprPreference(request.ncpr);
    const labels = ncprLabelsFor(preference);
    const keys = this.parser.parse(request.contact).keys;
    return this.oneAtATime(keys, async () => {
      await this.whenReady();
      const before = new Set(
        this.store
          .lookupAll(keys)
          .flatMap((profile) => profile.labels.map((l) => l.label))
          .filter((name) => isNcprLabel(name)),
      );
      const added = await this.addLabels({ ...request, labels }, principal);
      const stale = [...before].filter((name) => !labels.includes(name));
      if (stale.length === 0) return added;
      const removed = await this.removeLabels({ ...request, labels: stale }, principal);
      return { ...added, changed: [...added.changed, ...removed.changed] };
    });
  }

  /** The last NCPR preference update queued per contact key. */
  private readonly ncprUpdates = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier update queued for any of these keys has settled. */
  private oneAtATime<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const earlier: Promise<unknown>[] = [];
    for (const key of keys) {
      const queued = this.ncprUpdates.get(key);
      if (queued !== undefined) earlier.push(queued);
    }
    const run = Promise.all(earlier).then(work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    for (const key of keys) this.ncprUpdates.set(key, settled);
    void settled.then(() => {
      for (const key of keys) if (this.ncprUpdates.get(key) === settled) this.ncprUpdates.delete(key);
    });
    return run;
  }

  /**
   * Tells the service how long a policy needs attempt records; records older than the longest
   * horizon announced are pruned (never while no policy with caps or cooling-off has been announced).
   */
  retainAttemptsFor(horizonMs: number): void {
    this.attempts.retainFor(horizonMs);
  }

  /** Records a contact attempt (with its outcome when known). Resolves once durable. */
  recordAttempt(
    request: AttemptRequest,
    principal: Principal = SYSTEM_PRINCIPAL,
    plan?: CheckPlan,
  ): Promise<AttemptRecord> {
    return this.attempts.recordAttempt(request, principal, plan);
  }

  /** Records an outcome (conversation, refusal, optout...) on its own, e.g. from a dialer's call result. */
  recordOutcome(request: AttemptRequest, principal: Principal = SYSTEM_PRINCIPAL): Promise<AttemptRecord> {
    return this.attempts.recordOutcome(request, principal);
  }

  /**
   * Applies labels to a contact. Resolves once the change is durable. `principal`: who is acting, as the
   * caller authenticated them (never a field of the request).
   */
  async addLabels(
    request: LabelChangeRequest,
    principal: Principal = SYSTEM_PRINCIPAL,
  ): Promise<LabelChangeOutcome> {
    // async: a request that fails validation rejects, it does not throw at the call.
    return this.applyChange(this.prepareChange('add', request, principal));
  }

  /** Removes the named labels, or every label with `all: true`. Resolves once the change is durable. */
  async removeLabels(
    request: LabelChangeRequest,
    principal: Principal = SYSTEM_PRINCIPAL,
  ): Promise<LabelChangeOutcome> {
    return this.applyChange(this.prepareChange('remove', request, principal));
  }

  /**
   * Validates a label change and resolves it against this configuration without writing it: the
   * contact parsed, the label names resolved, the texts checked, the instant fixed. Throws what
   * addLabels / removeLabels would throw (DNC_INVALID_CONTACT, DNC_UNKNOWN_LABEL, DNC_INVALID_INPUT).
   * For callers that decide before they write (an import's dry run, its no-op rows).
   */
  prepareChange(
    op: 'add' | 'remove',
    request: LabelChangeRequest,
    principal: Principal = SYSTEM_PRINCIPAL,
    options: PrepareOptions = {},
  ): PreparedChange {
    const contact = this.parser.parse(request.contact);
    const labels: readonly string[] | 'all' =
      op === 'remove' && request.all === true
        ? 'all'
        : options.labels !== undefined
          ? options.labels(request.labels, this.catalog)
          : this.requiredLabels(request.labels);
    const source = sourceOf(request.source, options.defaultSource ?? 'api');
    const actor = textValue(RULES.actor, request.actor, 'actor');
    const reason = textValue(RULES.reason, request.reason, 'reason');
    const at = instantOf(request.at, this.now);
    const common = {
      op,
      contact: contactLabel(contact),
      keys: contact.keys,
      labels,
      source,
      actor,
      principal: principalText(principal),
      reason,
      at,
    };
    // A removal records no campaign or channel (the contact no longer carries what they described).
    if (op === 'remove') return { ...common, campaign: null, channel: null };
    const campaign = textValue(RULES.campaign, request.campaign, 'campaign');
    // The channel a change arrived on is audit detail only (it scopes nothing), so an undeclared one is
    // recorded as given: an opt-out is never refused for the name of its channel.
    const channel = channelOf(request.channel);
    return { ...common, campaign, channel };
  }

  /**
   * Writes a prepared change through the store; resolves once it is durable. `at` (default: the
   * change's own) dates the change and its labels' expiries.
   */
  async applyChange(change: PreparedChange, at: number = change.at): Promise<LabelChangeOutcome> {
    const meta = {
      source: change.source,
      actor: change.actor,
      principal: change.principal,
      reason: change.reason,
      at,
    };
    await this.whenWritable();
    if (change.op === 'add') {
      const labels = change.labels as readonly string[];
      const result = await this.store.apply({
        op: 'add',
        keys: change.keys,
        labels: labels.map((label) => ({ label, expiresAt: this.catalog.expiryFor(label, at) })),
        campaign: change.campaign,
        channel: change.channel,
        ...meta,
      });
      return this.outcome(change.contact, change.keys, labels, result);
    }
    const result = await this.store.apply({
      op: 'remove',
      keys: change.keys,
      labels: change.labels,
      ...meta,
    });
    return this.outcome(change.contact, change.keys, change.labels === 'all' ? ['*'] : change.labels, result);
  }

  /** The stored profiles holding any of these keys (several until a change links them). */
  profiles(keys: readonly string[]): ContactState[] {
    return this.store.lookupAll(keys);
  }

  /** The stored profile holding this key. */
  lookup(key: string): ContactState | undefined {
    return this.store.lookup(key);
  }

  /** Every stored profile, walked lazily over the live state (take an array for a consistent picture). */
  contacts(): IterableIterator<ContactState> {
    return this.store.contacts();
  }

  /** The store's state and size (for health answers; whenReady() is the way to wait for it). */
  storeStatus(): StoreStatus {
    return this.store.status();
  }

  /** Audit records matching the query, oldest first. */
  audit(query?: AuditQuery): Promise<AuditRecord[]> {
    return this.store.audit(query);
  }

  /** Verifies the audit trail's hash chain. */
  verify(): Promise<AuditVerification> {
    return this.store.verify();
  }

  /** Follows every durable change, whoever made it; returns the function that stops following. */
  /** Whether this process emits the events nobody's change makes (label expiries): see DncStore.leads. */
  leads(): boolean {
    return this.store.leads?.() ?? true;
  }

  onChange(listener: ChangeListener): () => void {
    return this.store.onChange(listener);
  }

  private requiredLabels(value: unknown): string[] {
    if (value === undefined || value === null) {
      throw new DncError('DNC_INVALID_INPUT', 'no labels given: name at least one label', {
        field: 'labels',
      });
    }
    assertValue(RULES.someLabels, value, 'labels', HINTS.someLabels);
    // NCPR_0..NCPR_8 (India NCPR preferences) are reserved names: written without a definition.
    const reserved: string[] = [];
    if (typeof value === 'string' || Array.isArray(value)) {
      const items: unknown[] = typeof value === 'string' ? value.split(',') : value;
      const rest: unknown[] = [];
      for (const item of items) {
        const name = typeof item === 'string' ? item.trim() : item;
        if (typeof name === 'string' && isNcprLabel(name) && this.catalog.find(name) === undefined) {
          if (!reserved.includes(name)) reserved.push(name);
        } else rest.push(item);
      }
      if (reserved.length > 0) value = rest;
    }
    const labels = [...this.catalog.resolveNames(value, 'labels'), ...reserved];
    if (labels.length === 0) {
      throw new DncError('DNC_INVALID_INPUT', 'no labels given: name at least one label', {
        field: 'labels',
      });
    }
    return labels;
  }

  private outcome(
    contact: string,
    keys: readonly string[],
    labels: readonly string[],
    result: ChangeResult,
  ): LabelChangeOutcome {
    const record = result.record;
    return {
      contact,
      keys,
      labels,
      changed: result.changed,
      unchanged: result.unchanged,
      seq: record.seq,
      at: record.at,
      source: record.source,
      actor: record.actor,
      principal: record.principal ?? null,
      reason: record.reason,
      record,
      ...(result.queued === true ? { queued: true as const } : {}),
    };
  }
}
