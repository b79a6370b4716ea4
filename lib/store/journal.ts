/**
 * The event journal: NDJSON, one AuditRecord per line, append-only. It is the audit trail and the
 * source of truth; the snapshot is only a cache of the state folded from it.
 */
import { open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditRecord } from './types';
import { AuditKey, computeRecordHash, keyedLineHash } from './audit-hash';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/** `dnc-store.json` -> `dnc-store.events.ndjson` (beside the snapshot). */
export function journalPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.events.ndjson`;
}

export interface JournalLine {
  readonly text: string;
  /** Byte offset of the line's first byte. */
  readonly start: number;
  /** Byte offset just after the line's newline (or after its last byte when incomplete). */
  readonly end: number;
  /** false for a final line without its newline (a torn write). */
  readonly complete: boolean;
}

/**
 * Calls onLine for every line between byte offsets start and end (end of file when omitted). Reads in
 * large chunks rather than through readline: replaying a million lines must take seconds, not minutes.
 * onLine returns false to stop early.
 */
export async function scanLines(
  path: string,
  start: number,
  end: number | undefined,
  onLine: (line: JournalLine) => boolean | void,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const limit = end ?? (await handle.stat()).size;
    let position = start;
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = start;
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    while (position < limit) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, limit - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data =
        carry.length > 0
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (;;) {
        const newline = data.indexOf(10, lineStart);
        if (newline < 0) break;
        const line: JournalLine = {
          text: data.toString('utf8', lineStart, newline),
          start: carryStart + lineStart,
          end: carryStart + newline + 1,
          complete: true,
        };
        if (onLine(line) === false) return;
        lineStart = newline + 1;
      }
      // Copy: the rest of `data` may live in `chunk`, which the next read overwrites.
      carry = Buffer.from(data.subarray(lineStart));
      carryStart += lineStart;
    }
    if (carry.length > 0) {
      onLine({
        text: carry.toString('utf8'),
        start: carryStart,
        end: carryStart + carry.length,
        complete: false,
      });
    }
  } finally {
    await handle.close();
  }
}

/**
 * Parses and checks one journal line against the chain: returns the record or a description of what is
 * wrong. `expectedHash` gives the hash the record must carry (undefined: not checkable, linkage only);
 * by default the unkeyed sha256 of 0.1.0.
 */
export function checkJournalLine(
  text: string,
  expectedSeq: number,
  expectedPrev: string,
  expectedHash: (record: AuditRecord) => string | undefined = computeRecordHash,
): { record: AuditRecord; problem?: undefined } | { record?: undefined; problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: `record ${expectedSeq} is not valid JSON` };
  }
  const shapeProblem = describeShapeProblem(parsed);
  if (shapeProblem) return { problem: `record ${expectedSeq} is malformed: ${shapeProblem}` };
  const record = parsed as AuditRecord;
  if (record.seq !== expectedSeq) {
    return {
      problem: `expected seq ${expectedSeq} but found seq ${record.seq} (a record was deleted, inserted or moved)`,
    };
  }
  if (record.prev !== expectedPrev) {
    return { problem: `record ${expectedSeq} does not link to the previous record's hash` };
  }
  const hash = expectedHash(record);
  if (hash !== undefined && hash !== record.hash) {
    return { problem: `record ${expectedSeq} was altered: its content does not match its hash` };
  }
  return { record };
}

/** Where a chain walk stands: after record `seq` whose hash is `head`, in the part keyed by `chainKey`. */
export interface ChainState {
  readonly seq: number;
  readonly head: string;
  /** The keyId of the part the next record continues; null: still 0.1.0's unkeyed part. */
  readonly chainKey: string | null;
  /** Records 1..legacy are unkeyed. */
  readonly legacy: number;
  /** Records keyed with a key other than the verifier's (lost or replaced): not provable. */
  readonly unverifiable?: { readonly from: number; readonly to: number; readonly keyId: string };
}

export const GENESIS_STATE: ChainState = {
  seq: 0,
  head: '0'.repeat(64),
  chainKey: null,
  legacy: 0,
};

/**
 * Walks the chain one journal line at a time. Lines of the part keyed with the verifier's own key are
 * checked from their text alone (HMAC over the line, no JSON parse: the cost of verifying the whole
 * journal at every open); everything else is parsed and checked member by member.
 */
export class ChainVerifier {
  private seq: number;
  private head: string;
  private chainKey: string | null;
  private legacy: number;
  private unverifiable: { from: number; to: number; keyId: string } | undefined;

  constructor(
    state: ChainState,
    private readonly key: AuditKey,
  ) {
    this.seq = state.seq;
    this.head = state.head;
    this.chainKey = state.chainKey;
    this.legacy = state.legacy;
    this.unverifiable = state.unverifiable === undefined ? undefined : { ...state.unverifiable };
  }

  state(): ChainState {
    return {
      seq: this.seq,
      head: this.head,
      chainKey: this.chainKey,
      legacy: this.legacy,
      ...(this.unverifiable ? { unverifiable: { ...this.unverifiable } } : {}),
    };
  }

  /**
   * Checks the next line. `wantRecord`: parse and return the record even on the fast path (replay
   * needs it). Returns the problem, if any, without advancing.
   */
  next(
    text: string,
    wantRecord: boolean,
  ): { record?: AuditRecord; problem?: undefined } | { problem: string } {
    const expectedSeq = this.seq + 1;
    if (this.chainKey === this.key.id) {
      const hashes = keyedLineHash(this.key, this.head, text);
      if (hashes !== undefined && hashes.computed === hashes.stored) {
        let record: AuditRecord | undefined;
        if (wantRecord) {
          const checked = checkJournalLine(text, expectedSeq, this.head, () => hashes.computed);
          if (checked.problem !== undefined) return { problem: checked.problem };
          record = checked.record;
          if (record.keyId !== undefined && record.keyId !== this.key.id) {
            return { problem: `record ${expectedSeq} names another audit key but carries this key's MAC` };
          }
        }
        this.seq = expectedSeq;
        this.head = hashes.stored;
        return { record };
      }
      // Not this key's MAC: only a switch-over to another key (a key lost and replaced) may say so.
    }
    let switchTo: string | undefined;
    const checked = checkJournalLine(text, expectedSeq, this.head, (record) => {
      switchTo = typeof record.keyId === 'string' ? record.keyId : undefined;
      const keyId = switchTo ?? this.chainKey;
      if (keyId === null) return computeRecordHash(record);
      if (keyId === this.key.id) return keyedLineHash(this.key, record.prev, text)?.computed ?? '';
      return undefined; // keyed with a key this verifier does not have: linkage only
    });
    if (checked.problem !== undefined) return checked;
    const record = checked.record;
    if (record.keyId !== undefined && typeof record.keyId !== 'string') {
      return { problem: `record ${expectedSeq} is malformed: keyId` };
    }
    if (switchTo !== undefined) this.chainKey = switchTo;
    if (this.chainKey === null) this.legacy = expectedSeq;
    else if (this.chainKey !== this.key.id) {
      if (this.unverifiable === undefined) {
        this.unverifiable = { from: expectedSeq, to: expectedSeq, keyId: this.chainKey };
      } else {
        this.unverifiable.to = expectedSeq;
        this.unverifiable.keyId = this.chainKey;
      }
    }
    this.seq = expectedSeq;
    this.head = record.hash;
    return { record };
  }
}

function describeShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const record = value as Record<string, unknown>;
  if (!Number.isSafeInteger(record.seq)) return 'seq';
  if (typeof record.at !== 'string' || Number.isNaN(Date.parse(record.at))) return 'at';
  if (record.op !== 'add' && record.op !== 'remove') return 'op';
  if (!isStringArray(record.keys)) return 'keys';
  if (!isStringArray(record.labels)) return 'labels';
  if (!isStringArray(record.changed)) return 'changed';
  // No key: only the switch-over record of an upgrade (recovery.ts), a remove that changes nothing.
  if (
    record.keys.length === 0 &&
    (record.op !== 'remove' || record.labels.length > 0 || record.changed.length > 0)
  ) {
    return 'keys';
  }
  if (record.op === 'add') {
    const expiries = record.expiresAt;
    if (
      !Array.isArray(expiries) ||
      expiries.length !== record.labels.length ||
      !expiries.every((e) => e === null || (typeof e === 'string' && !Number.isNaN(Date.parse(e))))
    ) {
      return 'expiresAt';
    }
  }
  if (typeof record.source !== 'string') return 'source';
  if (record.principal !== undefined && typeof record.principal !== 'string') return 'principal';
  if (typeof record.prev !== 'string' || typeof record.hash !== 'string') return 'prev/hash';
  return undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export interface ChainWalk {
  readonly path: string;
  /** Byte offset to start at, with the chain state there. */
  readonly start: number;
  readonly state: ChainState;
  /** Stop at this byte offset (end of file when omitted). */
  readonly end?: number;
  /** The audit key, as AuditKey.export() gives it (a worker cannot receive the object). */
  readonly key: string;
  /** Report the hash and chain part of this record (the checkpoint's, or the snapshot's). */
  readonly reportSeq?: number;
}

export interface ChainWalkResult {
  /** The state after the last complete, valid line. */
  readonly state: ChainState;
  /** Byte offset just after that line. */
  readonly end: number;
  /** A final line without its newline. */
  readonly torn?: { readonly start: number; readonly end: number };
  readonly problem?: { readonly message: string; readonly at: number; readonly seq: number };
  readonly reported?: { readonly hash: string; readonly chainKey: string | null };
}

/** Walks the chain over a byte range of the journal (streamed: 8 MB at a time, whatever its size). */
export async function walkChain(walk: ChainWalk): Promise<ChainWalkResult> {
  const key = AuditKey.parse(walk.key);
  if (key === undefined) throw new Error('invalid audit key');
  const verifier = new ChainVerifier(walk.state, key);
  let end = walk.start;
  let torn: ChainWalkResult['torn'];
  let problem: ChainWalkResult['problem'];
  let reported: ChainWalkResult['reported'] =
    walk.reportSeq === walk.state.seq ? { hash: walk.state.head, chainKey: walk.state.chainKey } : undefined;
  await scanLines(walk.path, walk.start, walk.end, (line) => {
    if (!line.complete) {
      torn = { start: line.start, end: line.end };
      return false;
    }
    const checked = verifier.next(line.text, false);
    if (checked.problem !== undefined) {
      problem = { message: checked.problem, at: line.start, seq: verifier.state().seq + 1 };
      return false;
    }
    end = line.end;
    if (walk.reportSeq !== undefined && reported === undefined) {
      const state = verifier.state();
      if (state.seq === walk.reportSeq) reported = { hash: state.head, chainKey: state.chainKey };
    }
    return true;
  });
  return {
    state: verifier.state(),
    end,
    ...(torn ? { torn } : {}),
    ...(problem ? { problem } : {}),
    ...(reported ? { reported } : {}),
  };
}

/**
 * walkChain in a worker thread, so that walking a million records (seconds of hashing) never stalls
 * checks on the event loop; inline when no worker can be started.
 */
export async function walkChainOffThread(walk: ChainWalk): Promise<ChainWalkResult> {
  const script = join(__dirname, 'verify-worker.js');
  if (!existsSync(script)) return walkChain(walk);
  let worker: Worker;
  try {
    worker = new Worker(script, { workerData: walk });
  } catch {
    return walkChain(walk);
  }
  return new Promise<ChainWalkResult>((resolve, reject) => {
    let settled = false;
    worker.once('message', (message: { result?: ChainWalkResult; error?: string }) => {
      settled = true;
      if (message.result) resolve(message.result);
      else reject(new Error(message.error ?? 'the chain walk failed'));
      void worker.terminate();
    });
    worker.once('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    worker.once('exit', () => {
      if (!settled) {
        settled = true;
        reject(new Error('the chain walk stopped'));
      }
    });
  });
}
