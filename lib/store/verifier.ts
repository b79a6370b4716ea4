/**
 * verify() of the embedded store: the audit chain checked against what the store wrote. Incremental:
 * the records written since the last check are verified from the remembered head; the whole chain is
 * walked again (in a worker thread, off the event loop that answers checks) at most once per
 * `fullVerifyEvery`, and the first time after open. One verifier per open of the store.
 */
import type { AuditVerification } from './types';
import type { AuditKey } from './audit-hash';
import { GENESIS_STATE, walkChain, walkChainOffThread, type ChainState, type ChainWalk } from './journal';
import type { DurableHead } from './group-commit';

/** The chain as verified so far: the state after the last verified record and where its line ends. */
export interface VerifiedChain {
  readonly state: ChainState;
  readonly offset: number;
}

export interface AuditVerifierOptions {
  readonly journalPath: string;
  readonly key: AuditKey;
  /** The chain as verified at open. */
  readonly verified: VerifiedChain;
  /** The end of what is durable (the writer moves it): a walk must end exactly there. */
  readonly durable: Readonly<DurableHead>;
  /** The last snapshot on disk: a full walk checks the journal still matches it. */
  readonly snapshot: () => { readonly seq: number; readonly head: string };
  /** A full walk at most once per this many ms. */
  readonly fullVerifyEvery: number;
}

export class AuditVerifier {
  /** The chain as verified so far: verify() continues from here. */
  private verified: VerifiedChain;
  /** A failure found by a walk: kept until reopened, so that later incremental checks still report it. */
  private verifyFailure: { badSeq: number; problem: string; records: number } | undefined;
  private lastFullVerify = -Infinity; // the first verify() walks again: it reports on the file as it is then
  private verifying: Promise<void> | undefined;

  constructor(private readonly options: AuditVerifierOptions) {
    this.verified = options.verified;
  }

  /**
   * Concurrent calls share one run. A failure, once found, is reported by every later call until the
   * store is reopened.
   */
  async verify(): Promise<AuditVerification> {
    while (this.verifying) await this.verifying.catch(() => undefined);
    const run = this.runVerify();
    this.verifying = run;
    try {
      await run;
    } finally {
      if (this.verifying === run) this.verifying = undefined;
    }
    const failure = this.verifyFailure;
    if (failure)
      return { ok: false, records: failure.records, badSeq: failure.badSeq, problem: failure.problem };
    const state = this.verified.state;
    return chainVerification(state);
  }

  private async runVerify(): Promise<void> {
    if (this.verifyFailure) return;
    const { journalPath, key, durable, fullVerifyEvery } = this.options;
    const end = durable.journalSize;
    const expected = { seq: durable.seq, head: durable.hash };
    const full = Date.now() - this.lastFullVerify >= fullVerifyEvery;
    if (!full && end === this.verified.offset) {
      // Nothing written since the last check and no full walk due: no file to open. One turn of the
      // event loop all the same, so that a caller polling verify() in a loop never starves checks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return;
    }
    const { seq: snapshotSeq, head: snapshotHead } = this.options.snapshot();
    const walk: ChainWalk = full
      ? {
          path: journalPath,
          start: 0,
          end,
          state: GENESIS_STATE,
          key: key.export(),
          ...(snapshotSeq > 0 ? { reportSeq: snapshotSeq } : {}),
        }
      : {
          path: journalPath,
          start: this.verified.offset,
          end,
          state: this.verified.state,
          key: key.export(),
        };
    if (full) this.lastFullVerify = Date.now();
    // A few new records are cheaper to hash here than a worker is to start.
    const result =
      full || end - walk.start > 1024 * 1024 ? await walkChainOffThread(walk) : await walkChain(walk);
    if (result.problem) {
      this.verifyFailure = {
        badSeq: result.problem.seq,
        problem: result.problem.message,
        records: result.state.seq,
      };
      return;
    }
    if (
      result.torn ||
      result.end !== end ||
      result.state.seq !== expected.seq ||
      result.state.head !== expected.head
    ) {
      const records = result.state.seq;
      this.verifyFailure = {
        badSeq: records + 1,
        problem: result.torn
          ? `the journal ends in the middle of record ${records + 1}`
          : `the journal holds ${records} valid records but ${expected.seq} were written (records deleted)`,
        records,
      };
      return;
    }
    if (full && snapshotSeq > 0 && result.reported?.hash !== snapshotHead) {
      // The snapshot's head must still be in the chain (checked at open; the file may have changed since).
      this.verifyFailure = {
        badSeq: snapshotSeq,
        problem: `record ${snapshotSeq} is not the record the snapshot was taken at`,
        records: result.state.seq,
      };
      return;
    }
    this.verified = { state: result.state, offset: end };
  }
}

/** What verify() reports for a chain walked without a problem: ok unless records are keyed with an unknown key. */
export function chainVerification(state: ChainState): AuditVerification {
  const unverifiable = state.unverifiable;
  return {
    ok: unverifiable === undefined,
    records: state.seq,
    ...(state.legacy > 0 ? { legacy: state.legacy } : {}),
    ...(unverifiable
      ? {
          unverifiable: { ...unverifiable },
          problem: `records ${unverifiable.from}..${unverifiable.to} are keyed with audit key ${unverifiable.keyId}, which this store does not have: their content cannot be proven`,
        }
      : {}),
  };
}
