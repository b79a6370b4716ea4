/**
 * The group-commit writer of the embedded store: changes queue while a batch is written and fsynced;
 * the next batch folds all of them (on top of the batches not durable yet), seals each record into the
 * hash chain, and appends them with one write and one fdatasync. Batches commit strictly in order once
 * their fdatasync completed: the checkpoint first, then the index (lookups see only durable changes),
 * then the acknowledgements and change listeners. A failed write or fdatasync fails the store closed.
 */
import type { FileHandle } from 'node:fs/promises';
import { DncError } from '../errors';
import { truncateTo } from './files';
import type { ChangeListener, ChangeResult, ContactState } from './types';
import type { KeyIndex } from './key-index';
import { sealRecord, type AuditKey } from './audit-hash';
import type { CheckpointWriter } from './checkpoint';
import { foldChange, type FoldableChange, type StateView, type StringInterner } from './state';
import { recordContent, unchangedLabels } from './changes';
import type { StoreLogger } from './embedded';

/**
 * Caps one group commit, so the first changes of a flood are acknowledged after one small batch rather
 * than behind the whole flood (bench/store.bench.ts measured 128-1000; see MAX_IN_FLIGHT).
 */
const MAX_BATCH = 256;
/**
 * Batches written whose fdatasync has not completed yet. The next batch is prepared and written while
 * the previous one's fdatasync runs; acknowledgements still go in order, each only once an fdatasync
 * issued after its bytes were written has completed.
 */
const MAX_IN_FLIGHT = 2;

interface PendingChange {
  readonly change: FoldableChange;
  readonly resolve: (result: ChangeResult) => void;
  readonly reject: (error: unknown) => void;
}

/** A group commit: prepared (folded, hashed, rendered), then written, then made durable by fdatasync. */
interface Batch {
  readonly items: readonly PendingChange[];
  readonly results: readonly ChangeResult[];
  /** The new profiles, by key: merged into the index once durable. */
  readonly overlay: Map<string, ContactState>;
  readonly bytes: Buffer;
  /** seq and hash of the batch's last record. */
  readonly seq: number;
  readonly head: string;
  /** The key part the batch's last record belongs to (a switch-over record starts this store's key). */
  readonly chainKey: string;
  /** Byte offset of each record's line from the batch's first byte (the audit index). */
  readonly lineOffsets: readonly number[];
  readonly profileDelta: number;
  /** Settles when the fdatasync issued after this batch's write completes. */
  synced?: Promise<void>;
  /** Set once `synced` has resolved. */
  durable?: boolean;
}

/**
 * Where the durable journal ends: the record the next batch chains onto, the bytes reads stop at, the
 * profiles the index holds. Shared by the store (status, reads, snapshots, verify) and its writer.
 */
export interface DurableHead {
  /** seq and hash of the last durable record. */
  seq: number;
  hash: string;
  /** The key part of the chain the next record continues (null: 0.1.0's unkeyed part). */
  chainKey: string | null;
  /** Journal bytes that are durable (the end of the last committed batch). */
  journalSize: number;
  /** Distinct profiles in the index. */
  profileCount: number;
}

/** What the writer needs of the store it writes for. */
export interface WriterHost {
  /** Whether changes may be written (the store is ready). */
  writable(): boolean;
  /** Why not, to reject what is queued. */
  notWritable(): Error;
  /** A write failed: the store is unavailable with this error until it has reopened (it retries on its own). */
  failClosed(error: DncError): void;
  /** A batch's records are durable, at `start` + `lineOffsets[i]` in the journal (before they are acknowledged). */
  recordsCommitted(results: readonly ChangeResult[], lineOffsets: readonly number[], start: number): void;
  /** A batch was committed and acknowledged. */
  batchCommitted(): void;
}

export interface GroupCommitOptions {
  readonly journal: FileHandle;
  readonly journalPath: string;
  readonly checkpoint: CheckpointWriter;
  readonly checkpointPath: string;
  readonly key: AuditKey;
  /** The store's index: committed batches are merged into it. */
  readonly index: KeyIndex;
  readonly interner: StringInterner;
  readonly durable: DurableHead;
  readonly listeners: ReadonlySet<ChangeListener>;
  readonly logger: StoreLogger;
  readonly host: WriterHost;
}

/** One open store's writer: it owns the journal's append handle and the checkpoint writer. */
export class GroupCommitWriter {
  private readonly journal: FileHandle;
  private readonly journalPath: string;
  private readonly checkpoint: CheckpointWriter;
  private readonly checkpointPath: string;
  private readonly key: AuditKey;
  private readonly index: KeyIndex;
  private readonly interner: StringInterner;
  private readonly durable: DurableHead;
  private readonly listeners: ReadonlySet<ChangeListener>;
  private readonly logger: StoreLogger;
  private readonly host: WriterHost;

  private readonly queue: PendingChange[] = [];
  private running: Promise<void> | undefined;
  /**
   * The profiles of batches written but not yet durable, by key: the next batch folds on top of them.
   * Never read by lookups (they see only the index); an entry leaves when its batch is committed.
   */
  private readonly unsynced = new Map<string, ContactState>();

  constructor(options: GroupCommitOptions) {
    this.journal = options.journal;
    this.journalPath = options.journalPath;
    this.checkpoint = options.checkpoint;
    this.checkpointPath = options.checkpointPath;
    this.key = options.key;
    this.index = options.index;
    this.interner = options.interner;
    this.durable = options.durable;
    this.listeners = options.listeners;
    this.logger = options.logger;
    this.host = options.host;
  }

  /** Queues a checked change; resolves once it is durable (in seq order), rejects if it cannot be. */
  write(change: FoldableChange): Promise<ChangeResult> {
    return new Promise<ChangeResult>((resolve, reject) => {
      this.queue.push({ change, resolve, reject });
      this.startWriter();
    });
  }

  /** Settles once nothing is queued or being written. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Closes the journal; writes the durable head to the checkpoint first when `flush`, then closes it. */
  async close(flush: boolean): Promise<void> {
    await this.journal.close();
    if (flush) await this.checkpoint.flush(this.durable.seq, this.durable.hash, this.durable.chainKey);
    await this.checkpoint.close();
  }

  private startWriter(): void {
    if (this.running) return;
    this.running = this.runWriter().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.startWriter();
    });
  }

  /**
   * The write pipeline. Up to MAX_IN_FLIGHT batches are written with their fdatasync running; while
   * one syncs, the next is prepared and written. Batches commit (index, acknowledgements, listeners)
   * strictly in order, each once its own fdatasync completed: an fdatasync covers every byte written to
   * the file before it was issued, and a batch's is issued after its write returned.
   */
  private async runWriter(): Promise<void> {
    // Let every apply() of the current tick join the first batch.
    await Promise.resolve();
    const inFlight: Batch[] = [];
    let seq = this.durable.seq;
    let head = this.durable.hash;
    let chainKey = this.durable.chainKey;
    while (this.queue.length > 0 || inFlight.length > 0) {
      // Acknowledge what is already durable before preparing more: the first acks of a flood do not
      // wait for the next batch's preparation.
      while (inFlight.length > 0 && inFlight[0].durable === true) {
        const durable = inFlight.shift()!;
        if (!(await this.commitOrFail(durable, inFlight))) return;
      }
      const journal = this.journal;
      if (this.queue.length > 0 && inFlight.length < MAX_IN_FLIGHT && this.host.writable()) {
        const batch = this.prepareBatch(this.queue.splice(0, MAX_BATCH), seq, head, chainKey);
        if (batch === undefined) continue;
        try {
          let written = 0;
          while (written < batch.bytes.length) {
            const { bytesWritten } = await journal.write(
              batch.bytes,
              written,
              batch.bytes.length - written,
              null,
            );
            written += bytesWritten;
          }
        } catch (error) {
          await this.failWrites(error, inFlight, batch);
          return;
        }
        batch.synced = journal.datasync();
        batch.synced.then(
          () => (batch.durable = true),
          () => undefined, // awaited below, in order; never left unhandled meanwhile
        );
        seq = batch.seq;
        head = batch.head;
        chainKey = batch.chainKey;
        inFlight.push(batch);
        continue;
      }
      const oldest = inFlight.shift();
      if (oldest === undefined) {
        // Not ready (closed, or failed): nothing queued can be written.
        const error = this.host.notWritable();
        for (const pending of this.queue.splice(0)) pending.reject(error);
        return;
      }
      try {
        await oldest.synced;
      } catch (error) {
        await this.failWrites(error, inFlight, oldest);
        return;
      }
      if (!(await this.commitOrFail(oldest, inFlight))) return;
    }
  }

  /**
   * Commits a durable batch; when that fails (the checkpoint cannot be written), the store fails closed
   * like for a failed journal write: the batch and those after it are rejected, the journal cut back.
   */
  private async commitOrFail(batch: Batch, inFlight: Batch[]): Promise<boolean> {
    try {
      this.commit(batch);
      return true;
    } catch (error) {
      await this.failWrites(error, inFlight, batch, `the checkpoint ${this.checkpointPath}`);
      return false;
    }
  }

  /** Folds, hashes and renders a batch on top of the unsynced batches; undefined (batch rejected) if that fails. */
  private prepareBatch(
    items: PendingChange[],
    firstSeq: number,
    head: string,
    chainKey: string | null,
  ): Batch | undefined {
    const key = this.key;
    const overlay = new Map<string, ContactState>();
    const unsynced = this.unsynced;
    const index = this.index;
    const view: StateView = {
      get: (key) => overlay.get(key) ?? unsynced.get(key) ?? index.get(key),
      set: (key, state) => overlay.set(key, state),
    };
    const results: ChangeResult[] = new Array<ChangeResult>(items.length);
    const lines: string[] = new Array<string>(items.length);
    const lineOffsets: number[] = new Array<number>(items.length);
    let offset = 0;
    let seq = firstSeq;
    let prev = head;
    let profileDelta = 0;
    try {
      for (let i = 0; i < items.length; i++) {
        const change = items[i].change;
        const fold = foldChange(view, change, this.interner);
        seq++;
        // The first record this store's key MACs names the key: the switch-over record.
        const keyId = chainKey === key.id ? undefined : key.id;
        const sealed = sealRecord(recordContent(seq, prev, change, fold.changed, keyId), key);
        chainKey = key.id;
        prev = sealed.record.hash;
        lineOffsets[i] = offset;
        offset += Buffer.byteLength(sealed.line);
        profileDelta += fold.profileDelta;
        lines[i] = sealed.line;
        results[i] = {
          record: sealed.record,
          changed: fold.changed,
          unchanged: unchangedLabels(change.labels, fold.changed),
          contact: fold.contact,
        };
      }
    } catch (error) {
      // Nothing was written: reject this batch, the store stays usable.
      const failure = new DncError(
        'DNC_STORE_ERROR',
        `DNC store: the change could not be prepared: ${String(error)}`,
        { cause: error },
      );
      for (const pending of items) pending.reject(failure);
      return undefined;
    }
    for (const [key, state] of overlay) unsynced.set(key, state);
    const bytes = Buffer.from(lines.join(''), 'utf8');
    return { items, results, overlay, bytes, seq, head: prev, chainKey: key.id, lineOffsets, profileDelta };
  }

  /** A batch is durable: make it visible to lookups, acknowledge its changes, tell the listeners. */
  private commit(batch: Batch): void {
    // First, before anything changes or is acknowledged: an acknowledged record is never after the
    // checkpoint. If the write throws (EIO, ENOSPC), nothing of the batch was committed (see runWriter).
    this.checkpoint.update(batch.seq, batch.head, batch.chainKey);
    const unsynced = this.unsynced;
    for (const [key, state] of batch.overlay) {
      this.index.set(key, state);
      if (unsynced.get(key) === state) unsynced.delete(key);
    }
    this.durable.profileCount += batch.profileDelta;
    this.durable.seq = batch.seq;
    this.durable.hash = batch.head;
    this.durable.chainKey = batch.chainKey;
    const { items, results } = batch;
    this.host.recordsCommitted(results, batch.lineOffsets, this.durable.journalSize);
    this.durable.journalSize += batch.bytes.length;
    for (let i = 0; i < items.length; i++) {
      const result = results[i];
      items[i].resolve(result);
      for (const listener of this.listeners) {
        try {
          listener(result.record, result.contact);
        } catch (error) {
          this.logger.warn(`DNC store: a change listener threw: ${String(error)}`);
        }
      }
    }
    this.host.batchCommitted();
  }

  /**
   * A write or fdatasync failed: disk and memory may now disagree (part of a batch may be on disk), so
   * the store fails closed until it has reopened (EmbeddedStore retries: see its recovery). Batches written before the failing one whose fdatasync still
   * completes are durable and are acknowledged; the failing batch and everything after it is rejected,
   * once the journal is cut back to the end of the last acknowledged batch.
   */
  private async failWrites(
    error: unknown,
    inFlight: Batch[],
    failed: Batch,
    file = `the journal ${this.journalPath}`,
  ): Promise<void> {
    let unavailable = new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: writing ${file} failed (${(error as Error).message}).` +
        ` It reopens on its own once the disk accepts writes again (retried with a growing pause).`,
      { cause: error },
    );
    this.host.failClosed(unavailable);
    const failure = new DncError(
      'DNC_STORE_ERROR',
      `DNC store: the change was not saved: ${(error as Error).message}`,
      { cause: error },
    );
    // A failed write: the batches before it may still become durable. A failed fdatasync: the ones in
    // flight were written after the failing batch and chain onto it, so none of them can be acknowledged.
    let failing = false;
    const rejected: Batch[] = [];
    for (const batch of inFlight.splice(0)) {
      if (!failing && batch.seq < failed.seq) {
        try {
          await batch.synced;
          this.commit(batch);
          continue;
        } catch {
          failing = true;
        }
      }
      rejected.push(batch);
    }
    rejected.push(failed);
    // The rejected batches may be on disk, whole or in part; replay at reopen would apply their complete
    // lines, saving changes their callers were told were not saved. Cut the journal back to the end of
    // the last acknowledged batch, and make the cut durable, before telling anyone.
    try {
      await truncateTo(this.journalPath, this.durable.journalSize);
    } catch (truncateError) {
      unavailable = new DncError(
        'DNC_STORE_UNAVAILABLE',
        `DNC store unavailable: writing the journal ${this.journalPath} failed (${(error as Error).message}),` +
          ` and cutting it back to the last acknowledged record (${this.durable.journalSize} bytes) failed too` +
          ` (${(truncateError as Error).message}): the journal may hold records of changes that were reported` +
          ` as not saved. The store cuts it back before it reopens, retried with a growing pause until` +
          ` the disk accepts it.`,
        { cause: error },
      );
      this.host.failClosed(unavailable);
    }
    for (const batch of rejected) for (const pending of batch.items) pending.reject(failure);
    for (const pending of this.queue.splice(0)) pending.reject(unavailable);
    this.unsynced.clear();
  }
}
