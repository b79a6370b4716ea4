/**
 * Contact attempts and outcomes recorded for DncService (recordAttempt, recordOutcome): the request
 * validated into an attempt record, counted by caps at once (before it is durable), written through the
 * store, and the attempt records the policies in use no longer need pruned now and then.
 */
import type { ContactParser } from './contacts';
import { DncError } from './errors';
import type { LabelCatalog } from './labels';
import { channelOf, principalText, sourceOf, type Principal } from './request-fields';
import type { CheckPlan, Reason } from './decision';
import {
  isAttemptRndList,
  MAX_ATTEMPT_RND_RECORDS,
  type AttemptGuard,
  type AttemptRecord,
  type AttemptRndRecord,
  type DncStore,
} from './store/types';
import { instantOf } from './time';
import { HINTS, RULES, assertValue, textValue } from './values';

/** How far ahead of our clock an attempt's time may be (dialer clocks drift). */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** A contact attempt or outcome made here or elsewhere (frequency caps, cooling-off). */
export interface AttemptRequest {
  readonly contact: unknown;
  /** When it happened (default now). */
  readonly at?: Date | number;
  readonly channel?: unknown;
  /** The campaign or subject (caps "on the same subject"). */
  readonly campaign?: unknown;
  /** `conversation`, `refusal`, `optout` (these start cooling-off periods), or another short word. */
  readonly outcome?: unknown;
  readonly source?: unknown;
  /**
   * The Reassigned Numbers Database answers the check that allowed the attempt relied on (Check DNC passes
   * them; the HTTP API does not take them): kept with the record as the safe-harbour evidence.
   */
  readonly rnd?: unknown;
}

/**
 * An attempt a check allowed that may no longer be recorded: by the time the store ordered it, attempts
 * recorded before it (another instance's, on a shared store) had reached a cap or started a cooling-off
 * period. The caller blocks the contact with these reasons instead of sending it.
 */
export class AttemptRefused extends Error {
  constructor(
    readonly reasons: readonly Reason[],
    readonly nextAllowedAt: string | null,
  ) {
    super(reasons.map((reason) => reason.message).join('; '));
    this.name = 'AttemptRefused';
  }
}

/** The policy reasons an attempt's recording re-checks (the window was checked with the contact). */
const RECORDING_CODES: ReadonlySet<string> = new Set(['FREQUENCY_CAP', 'COOLING_OFF']);

/** Attempt records older than the longest rule of any policy seen are pruned at most this often. */
const PRUNE_EVERY_MS = 3_600_000;
/**
 * The longest horizon announced by any policy in this process: several services (config nodes) may
 * share one store file, and none may prune records another one's rules still need.
 */
let attemptHorizonMs = 0;

/** What the recorder uses of its service. */
export interface AttemptRecorderOptions {
  readonly parser: ContactParser;
  readonly catalog: LabelCatalog;
  readonly store: DncStore;
  readonly now: () => number;
  /** Counts a record at once, before it is durable (DncDecider.holdAttempt); returns its release. */
  readonly hold: (record: AttemptRecord) => () => void;
  /** Resolves once the store can answer (DncService.whenReady). */
  readonly whenReady: () => Promise<void>;
}

export class AttemptRecorder {
  private lastPrune = 0;

  constructor(private readonly options: AttemptRecorderOptions) {}

  /** Records older than the longest horizon announced are pruned (see DncService.retainAttemptsFor). */
  retainFor(horizonMs: number): void {
    if (Number.isFinite(horizonMs) && horizonMs > attemptHorizonMs) attemptHorizonMs = horizonMs;
  }

  /**
   * An attempt (with its outcome when known). Resolves once durable. `plan`: the check that allowed it;
   * under a policy with caps or cooling-off the store records it only if the attempts ordered before it
   * still allow it, and rejects with AttemptRefused otherwise.
   */
  recordAttempt(request: AttemptRequest, principal: Principal, plan?: CheckPlan): Promise<AttemptRecord> {
    return this.write(request, true, principal, plan);
  }

  /** An outcome on its own: the request must name one. */
  recordOutcome(request: AttemptRequest, principal: Principal): Promise<AttemptRecord> {
    if (request.outcome === undefined || request.outcome === null || request.outcome === '') {
      return Promise.reject(
        new DncError('DNC_INVALID_INPUT', 'an outcome is needed (conversation, refusal, optout...)', {
          field: 'outcome',
        }),
      );
    }
    return this.write(request, false, principal);
  }

  private async write(
    request: AttemptRequest,
    attempt: boolean,
    principal: Principal,
    plan?: CheckPlan,
  ): Promise<AttemptRecord> {
    const { parser, store, now } = this.options;
    const contact = parser.parse(request.contact);
    let outcome: string | null = null;
    if (request.outcome !== undefined && request.outcome !== null) {
      assertValue(RULES.outcome, request.outcome, 'outcome', HINTS.outcome);
      outcome = request.outcome as string;
    }
    const at = instantOf(request.at, now);
    // Records come from dialers with their own clocks, but one far in the future would count against
    // caps for days, and must never move the pruning horizon: allow a little skew, refuse the rest.
    if (at > now() + MAX_CLOCK_SKEW_MS) {
      throw new DncError('DNC_INVALID_INPUT', 'at is in the future: an attempt is recorded when it happens', {
        field: 'at',
      });
    }
    const record: AttemptRecord = {
      keys: contact.keys,
      at,
      attempt,
      outcome,
      // An attempt on an unknown channel (`smss`) would not count towards that channel's caps: refused.
      channel: this.knownChannel(channelOf(request.channel)),
      campaign: textValue(RULES.campaign, request.campaign, 'campaign'),
      source: sourceOf(request.source, 'api'),
      principal: principalText(principal),
      ...(request.rnd === undefined ? {} : { rnd: rndList(request.rnd) }),
    };
    if (typeof store.recordAttempt !== 'function') {
      throw new DncError('DNC_STORE_ERROR', 'this store keeps no attempt records');
    }
    // Counted by caps from now on, not only once durable: a burst of checks sees it at once.
    const release = this.options.hold(record);
    try {
      await this.options.whenReady();
      await store.recordAttempt(record, plan === undefined ? undefined : guardFor(contact, record, plan));
    } finally {
      release();
    }
    this.maybePrune();
    return record;
  }

  /** A well-formed channel name (or null) that is also built in or declared: DNC_INVALID_INPUT otherwise. */
  private knownChannel(channel: string | null): string | null {
    return channel === null ? null : this.options.catalog.channelOf(channel, 'channel');
  }

  /** Prunes by the service's clock only: a record's own time must never decide what is forgotten. */
  private maybePrune(): void {
    const { store } = this.options;
    const now = this.options.now();
    if (attemptHorizonMs === 0 || now - this.lastPrune < PRUNE_EVERY_MS) return;
    if (typeof store.pruneAttempts !== 'function') return;
    this.lastPrune = now;
    // Best effort: a failed prune only keeps records a little longer.
    store.pruneAttempts(now - attemptHorizonMs).catch(() => undefined);
  }
}

/** The guard of an attempt a check under `plan` allowed: its caps and cooling-off, re-checked in order. */
function guardFor(
  contact: ReturnType<ContactParser['parse']>,
  record: AttemptRecord,
  plan: CheckPlan,
): AttemptGuard | undefined {
  const policy = plan.policy;
  if (policy === undefined || !policy.needsAttempts) return undefined;
  const phone = contact.keys.find((key) => key.startsWith('+'));
  return (attempts) => {
    // At the newest attempt ordered before this one if it is later: another instance's attempt a
    // millisecond after ours, committed first, must count (a cap counts attempts up to its instant).
    let at = record.at;
    for (const key of contact.keys)
      for (const earlier of attempts(key, at)) if (earlier.at > at) at = earlier.at;
    const verdict = policy.evaluateFor(contact.hints, phone, contact.keys, plan, at, attempts);
    const refusing = verdict?.reasons.filter((reason) => RECORDING_CODES.has(reason.code)) ?? [];
    return refusing.length === 0 ? undefined : new AttemptRefused(refusing, verdict!.nextAllowedText);
  };
}

/** The RND answers an attempt keeps, checked (at most MAX_ATTEMPT_RND_RECORDS, each complete). */
function rndList(value: unknown): readonly AttemptRndRecord[] {
  if (!isAttemptRndList(value)) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `rnd must be a list of 1-${MAX_ATTEMPT_RND_RECORDS} Reassigned Numbers Database answers`,
      { field: 'rnd' },
    );
  }
  return value.map(({ number, answer, consentDate, queriedAt }) => ({
    number,
    answer,
    consentDate,
    queriedAt,
  }));
}
