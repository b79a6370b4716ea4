/**
 * The DNC service: what a flow, an agent desktop or a CRM does with DNC state, in one place.
 * Node-RED nodes and the HTTP API are thin callers of this class; it validates every input, turns
 * contacts into keys, applies label definitions (expiry, scope) and writes through the store contract.
 */
import { ContactParser, contactLabel } from './contacts';
import { DncDecider, type BatchDecision, type CheckOptions, type CheckPlan, type Decision } from './decide';
import { DncError } from './errors';
import { LabelCatalog, normaliseChannel, type LabelDefinition } from './labels';
import type { AuditRecord, ChangeResult, DncStore } from './store/types';
import { IsoClock } from './time';

export interface DncServiceOptions {
  /** Label definitions (validated here: DNC_INVALID_LABEL). */
  readonly labels: readonly (LabelDefinition | Record<string, unknown>)[];
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
  readonly reason: string | null;
  readonly record: AuditRecord;
}

const SOURCE_PATTERN = /^[A-Za-z0-9_.:-]{1,32}$/;

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') {
    throw new DncError('DNC_INVALID_INPUT', `${field} must be text`, { field });
  }
  const text = value.trim();
  if (text.length > max) {
    throw new DncError('DNC_INVALID_INPUT', `${field} is longer than ${max} characters`, { field });
  }
  return text === '' ? null : text;
}

function sourceOf(value: unknown, fallback: string): string {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'string' || !SOURCE_PATTERN.test(value.trim())) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      'source must be a short name such as ivr, bot, agent, api, import or keyword (letters, digits, "_", "-", ".", ":")',
      { field: 'source' },
    );
  }
  return value.trim();
}

function instant(at: Date | number | undefined, now: () => number): number {
  if (at === undefined) return now();
  const ms = typeof at === 'number' ? at : at instanceof Date ? at.getTime() : NaN;
  if (!Number.isFinite(ms))
    throw new DncError('DNC_INVALID_INPUT', 'at must be a valid time', { field: 'at' });
  return ms;
}

export class DncService {
  readonly catalog: LabelCatalog;
  readonly parser: ContactParser;
  readonly store: DncStore;
  private readonly decider: DncDecider;
  private readonly now: () => number;
  private readonly storeReady: Promise<void>;
  private readonly clock = new IsoClock();

  constructor(options: DncServiceOptions) {
    this.catalog = new LabelCatalog(options.labels);
    this.parser = new ContactParser({ defaultCountry: options.defaultCountry });
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.decider = new DncDecider(this.catalog, this.parser, this.store, this.now);
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

  /** Validates check options once (for nodes: at deploy time). */
  plan(options: CheckOptions = {}): CheckPlan {
    return this.decider.plan(options);
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

  /** Applies labels to a contact. Resolves once the change is durable. */
  async addLabels(request: LabelChangeRequest): Promise<LabelChangeOutcome> {
    const contact = this.parser.parse(request.contact);
    const labels = this.requiredLabels(request.labels);
    const meta = this.meta(request, 'api');
    const campaign = optionalText(request.campaign, 'campaign', 200);
    const channel =
      request.channel === undefined || request.channel === null || request.channel === ''
        ? null
        : normaliseChannel(request.channel, 'channel');
    await this.whenReady();
    const result = await this.store.apply({
      op: 'add',
      keys: contact.keys,
      labels: labels.map((label) => ({ label, expiresAt: this.catalog.expiryFor(label, meta.at) })),
      campaign,
      channel,
      ...meta,
    });
    return this.outcome(contactLabel(contact), contact.keys, labels, result);
  }

  /** Removes the named labels, or every label with `all: true`. Resolves once the change is durable. */
  async removeLabels(request: LabelChangeRequest): Promise<LabelChangeOutcome> {
    const contact = this.parser.parse(request.contact);
    const labels: string[] | 'all' = request.all === true ? 'all' : this.requiredLabels(request.labels);
    const meta = this.meta(request, 'api');
    await this.whenReady();
    const result = await this.store.apply({ op: 'remove', keys: contact.keys, labels, ...meta });
    return this.outcome(contactLabel(contact), contact.keys, labels === 'all' ? ['*'] : labels, result);
  }

  private requiredLabels(value: unknown): string[] {
    if (value === undefined || value === null) {
      throw new DncError('DNC_INVALID_INPUT', 'no labels given: name at least one label', {
        field: 'labels',
      });
    }
    const labels = this.catalog.resolveNames(value, 'labels');
    if (labels.length === 0) {
      throw new DncError('DNC_INVALID_INPUT', 'no labels given: name at least one label', {
        field: 'labels',
      });
    }
    return labels;
  }

  private meta(request: LabelChangeRequest, defaultSource: string) {
    return {
      source: sourceOf(request.source, defaultSource),
      actor: optionalText(request.actor, 'actor', 200),
      reason: optionalText(request.reason, 'reason', 1000),
      at: instant(request.at, this.now),
    };
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
      reason: record.reason,
      record,
    };
  }
}
