/**
 * Attempts counted before they are durable, so a burst or a list cannot exceed a frequency cap while
 * the attempts file catches up: held records (DncService.recordAttempt's record being written, an
 * allowed contact whose caller is about to record it) and, while checkMany runs, how many items of the
 * list each key had allowed so far. `source` is what the calling policy reads: the store's records
 * plus these. One process: the counts live in memory (docs/ARCHITECTURE.md, the store contract).
 */
import type { CheckPlan, Decision } from './decision';
import type { AttemptSource } from './policy';
import type { AttemptRecord, DncStore } from './store/types';

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

/** The attempts a check's caps count: durable, held and a list's earlier allowed items. */
export class AttemptAccounting {
  private readonly pending = new PendingAttempts();
  private reader: AttemptSource | null | undefined;
  /** While checkMany runs under a policy with caps: how many items each key had allowed so far. */
  private list: { counts: Map<string, number>; template: Omit<AttemptRecord, 'keys' | 'source'> } | undefined;

  constructor(private readonly store: DncStore) {}

  /**
   * Counts an attempt record at once, before it is durable; the function returned stops counting it
   * (call it once the store counts the record, or when writing it failed).
   */
  hold(record: AttemptRecord): () => void {
    return this.pending.add(record);
  }

  /** Counts an allowed contact's coming attempt under a plan with caps; undefined when nothing counts. */
  holdFor(decision: Decision, plan: CheckPlan, at: number): (() => void) | undefined {
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

  /**
   * Starts counting a list's allowed items (checkMany under a policy with caps): the caller adds one
   * per key of each allowed item to the map returned, and calls endList() when the list is done.
   * Every such attempt has the same time, channel and campaign, so a count per key is enough: far
   * cheaper than a pending record per allowed item (a scrub of a million contacts must stay fast).
   */
  beginList(plan: CheckPlan, at: number): Map<string, number> {
    const counts = new Map<string, number>();
    this.list = {
      counts,
      template: {
        at,
        attempt: true,
        outcome: null,
        channel: plan.channel,
        campaign: plan.campaign ?? null,
      },
    };
    return counts;
  }

  endList(): void {
    this.list = undefined;
  }

  /** The store's attempt records with the counted ones, or undefined for a store without them. */
  get source(): AttemptSource | undefined {
    if (this.reader === undefined) {
      const store = this.store;
      const pending = this.pending;
      this.reader =
        typeof store.attempts === 'function'
          ? (key, since) => {
              const durable = store.attempts!(key, since);
              const counted = pending.of(key, since);
              const list = this.list;
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
    return this.reader ?? undefined;
  }
}

/**
 * Stops counting a held attempt: at once when no caller records it; otherwise after the caller's
 * continuation has run (it records the attempt synchronously, which counts it again), so no check
 * decided in between sees the old count.
 */
export function releaseAfterCaller(release: () => void, recorded: boolean): void {
  if (recorded) setImmediate(release);
  else release();
}
