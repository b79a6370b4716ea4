/**
 * A list check's result (BatchDecision): the allowed items, the blocked items with their decisions, and
 * the summary counts. One tally serves both paths: checkMany adds decisions as it makes them, the async
 * path adds them once the registries have answered.
 */
import type { BatchDecision, BlockedItem, Decision, ReasonCode } from './decision';
import type { AttemptRndRecord } from './store/types';

export class BatchTally {
  private readonly allowed: unknown[] = [];
  private readonly blocked: BlockedItem[] = [];
  private readonly reasons: Partial<Record<ReasonCode, number>> = {};
  // A Map, not an object: label names are user-chosen and `constructor` must count like any other.
  private readonly labels = new Map<string, number>();

  allow(item: unknown): void {
    this.allowed.push(item);
  }

  get allowedCount(): number {
    return this.allowed.length;
  }

  /**
   * Counts a blocked contact once under each of its reason codes (two labels, or two registries, that
   * blocked it count once; its reasons need not come grouped by code) and once per matched label.
   */
  block(item: unknown, decision: Decision): void {
    this.blocked.push({ item, decision });
    const reasons = decision.reasons;
    for (let i = 0; i < reasons.length; i++) {
      const code = reasons[i].code;
      let counted = false;
      // A decision has a handful of reasons: a scan beats a Set per blocked contact.
      for (let j = 0; j < i && !counted; j++) counted = reasons[j].code === code;
      if (!counted) this.reasons[code] = (this.reasons[code] ?? 0) + 1;
    }
    for (const name of decision.matched) this.labels.set(name, (this.labels.get(name) ?? 0) + 1);
  }

  result(total: number, checkedAt: string): BatchDecision {
    return {
      allowed: this.allowed,
      blocked: this.blocked,
      summary: {
        total,
        allowed: this.allowed.length,
        blocked: this.blocked.length,
        reasons: this.reasons,
        labels: Object.fromEntries(this.labels),
      },
      checkedAt,
    };
  }
}

/** The batch result of a list's decisions (one per item, in order). */
export function summarise(
  items: readonly unknown[],
  decisions: readonly Decision[],
  checkedAt: string,
): BatchDecision {
  const tally = new BatchTally();
  let rnd: (readonly AttemptRndRecord[] | undefined)[] | undefined;
  decisions.forEach((decision, i) => {
    if (decision.allowed) {
      tally.allow(items[i]);
      const records = rndRecordsOf(decision);
      if (records !== undefined) {
        rnd ??= [];
        rnd[tally.allowedCount - 1] = records;
      }
    } else tally.block(items[i], decision);
  });
  const result = tally.result(items.length, checkedAt);
  if (rnd === undefined) return result;
  rnd.length = result.allowed.length;
  return { ...result, allowedRnd: rnd };
}

/** The Reassigned Numbers Database answers a decision relied on, as an attempt keeps them; undefined: none. */
export function rndRecordsOf(decision: Decision): AttemptRndRecord[] | undefined {
  let out: AttemptRndRecord[] | undefined;
  for (const r of decision.registries ?? []) {
    if (r.rnd === undefined) continue;
    (out ??= []).push({ number: r.number, ...r.rnd });
  }
  return out;
}
