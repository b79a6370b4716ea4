/**
 * The embedded store: an append-only event journal (the audit trail, NDJSON, fsynced per batch) plus a
 * lowdb snapshot of the state folded from it, rewritten in the background.
 *
 * Why not lowdb alone: lowdb serialises and rewrites the whole file on every write (0.38 s per write at
 * 100k contacts, 8 s at 1M). Here a write appends one line per change to the journal and fsyncs it;
 * lowdb only writes the snapshot every `snapshotEvery` records and on close.
 *
 * Files, beside each other:
 * - `<name>.json`             snapshot (see snapshot.ts): seq, journal offset, head hash, compact contacts
 * - `<name>.events.ndjson`    journal: one AuditRecord per line, hash-chained (see audit-hash.ts)
 * - `<name>.checkpoint`       the journal's head (seq, hash), MACed: see checkpoint.ts
 * - `<name>.key`              the audit key, unless the config node's credentials give one: see key-file.ts
 * - `<file>.corrupt-<time>`   copy of a file found unreadable at open (the original is left untouched)
 * - `<journal>.torn-<time>`   a torn final journal line set aside at open (a write that was never acknowledged)
 *
 * At open the whole chain is verified (in a worker thread, beside the snapshot's parse), not only the
 * part after the snapshot: a record the snapshot covers may have been altered too.
 *
 * Writes are serialised with group commit: while one batch is being written and fsynced, new changes
 * queue; the next batch writes all of them with one write and one fdatasync. A change becomes visible to
 * lookups only once durable: each batch folds its changes into an overlay of new immutable profiles that
 * is merged into the index after the fsync.
 */
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DncError } from '../errors';
import type {
  AuditQuery,
  AuditRecord,
  AuditVerification,
  AttemptRecord,
  ChangeListener,
  ChangeResult,
  ContactState,
  DncStore,
  LabelChange,
  StoreState,
  StoreStatus,
} from './types';
import { KeyIndex } from './key-index';
import { GENESIS_HASH } from './audit-hash';
import { journalPathFor, scanLines } from './journal';
import { checkpointPathFor } from './checkpoint';
import { keyPathFor } from './key-file';
import { AuditIndex, readLastLines, readLinesAt } from './audit-index';
import { AttemptLog, attemptsPathFor } from './attempts';
import { SNAPSHOT_FORMAT, type SnapshotData } from './snapshot';
import { StringInterner, type FoldableChange } from './state';
import { normaliseChange } from './changes';
import { GroupCommitWriter, type DurableHead, type WriterHost } from './group-commit';
import { StoreRecovery, emptySnapshot } from './recovery';
import { StoreLock, lockPathFor } from './lock';
import { AuditVerifier } from './verifier';
import { WRITE_RETRY_FIRST_MS, WRITE_RETRY_MAX_MS, truncateTo } from './files';

export interface StoreLogger {
  warn(message: string): void;
}

export interface EmbeddedStoreOptions {
  /** The lowdb snapshot file, e.g. `<userDir>/dnc-store.json`. The journal lives beside it. */
  readonly path: string;
  /** Rewrite the snapshot after this many new journal records (and on close). */
  readonly snapshotEvery?: number;
  readonly logger?: StoreLogger;
  /** Do not touch the files before this settles (the registry passes the close of a previous instance). */
  readonly openAfter?: Promise<unknown>;
  /**
   * The audit key (base64 or hex, as the DNC labels node's credentials hold it). Absent: the key file
   * `<name>.key` beside the store, created at the first open.
   */
  readonly auditKey?: string;
  /**
   * The explicit recovery step for a lost or replaced audit key: the id of the key the checkpoint was
   * written with (the refusal names it). With it, a checkpoint naming that key (or a missing key file
   * beside it) is accepted: the store opens with its current key (a new key file when there is none),
   * continues the chain from a switch-over record, and verify() keeps reporting the old key's records
   * as unverifiable. Without it such a store is refused.
   */
  readonly acceptAuditKeyChange?: string;
  /**
   * verify() walks the whole chain at most once per this many ms (default 60 s), in a worker thread;
   * in between it checks only the records written since the last walk.
   */
  readonly fullVerifyEvery?: number;
  /**
   * At the first open of a journal whose records are all unkeyed (written by 0.1.0), append the
   * switch-over record that starts the keyed chain and says so in the audit trail (principal `system`,
   * reason `upgrade: ...`). Default true; false only for a throwaway copy (the migration's source copy,
   * whose generated key is discarded).
   */
  readonly recordUpgrade?: boolean;
}

export const DEFAULT_FULL_VERIFY_EVERY = 60_000;

export const DEFAULT_SNAPSHOT_EVERY = 50_000;
export class EmbeddedStore implements DncStore {
  readonly path: string;
  readonly journalPath: string;
  private readonly snapshotEvery: number;
  private readonly logger: StoreLogger;
  private readonly openAfter: Promise<unknown> | undefined;
  private readonly interner = new StringInterner();
  readonly checkpointPath: string;
  readonly keyPath: string;
  private readonly configuredKey: string | undefined;
  private readonly recordUpgrade: boolean;
  private readonly fullVerifyEvery: number;
  private readonly acceptKeyChange: string | undefined;
  /** verify() of the current open (lib/store/verifier.ts). */
  private verifier: AuditVerifier | undefined;
  /** Per-contact audit index, built at the first per-contact query and kept up to date after. */
  private auditIndex: AuditIndex | undefined;
  private auditIndexBuilding: Promise<AuditIndex> | undefined;

  private state: StoreState = 'closed';
  private error: Error | undefined;
  private openPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private closing = false;
  /** A reopen after a failed write: scheduled, or under way. */
  private recoveryTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  private recoveryDelay = WRITE_RETRY_FIRST_MS;

  /** Every key to the immutable profile holding it. Only durable changes are here. */
  private index = new KeyIndex();
  /** The end of what is durable; the writer moves it at each commit. */
  private readonly durable: DurableHead = {
    seq: 0,
    hash: GENESIS_HASH,
    chainKey: null,
    journalSize: 0,
    profileCount: 0,
  };
  /** The group-commit writer of the current open (lib/store/group-commit.ts). */
  private writer: GroupCommitWriter | undefined;
  private db: Low<SnapshotData> | undefined;
  /** The last snapshot on disk: replay starts there; verify() checks the journal still matches it. */
  private snapshotSeq = 0;
  private snapshotHead = GENESIS_HASH;
  private snapshotRunning: Promise<void> | undefined;

  private readonly listeners = new Set<ChangeListener>();
  /** Held from open to close: one process per store (lock.ts). */
  private lock: StoreLock | undefined;

  constructor(options: EmbeddedStoreOptions) {
    this.path = options.path;
    this.journalPath = journalPathFor(options.path);
    this.snapshotEvery = Math.max(1, options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY);
    this.logger = options.logger ?? { warn: (message) => console.warn(message) };
    this.openAfter = options.openAfter;
    this.checkpointPath = checkpointPathFor(options.path);
    this.keyPath = keyPathFor(options.path);
    this.configuredKey =
      typeof options.auditKey === 'string' && options.auditKey.trim() !== '' ? options.auditKey : undefined;
    this.recordUpgrade = options.recordUpgrade !== false;
    this.acceptKeyChange =
      typeof options.acceptAuditKeyChange === 'string' && options.acceptAuditKeyChange.trim() !== ''
        ? options.acceptAuditKeyChange.trim()
        : undefined;
    this.fullVerifyEvery = Math.max(0, options.fullVerifyEvery ?? DEFAULT_FULL_VERIFY_EVERY);
    this.attemptLog = new AttemptLog(attemptsPathFor(options.path), options.openAfter);
  }

  open(): Promise<void> {
    // Attempt records open beside the journal; their failure fails only the policies that need them.
    this.openPromise ??= Promise.all([
      this.load(),
      this.attemptLog.open().catch((error: unknown) => this.logger.warn(String(error))),
    ]).then(() => undefined);
    return this.openPromise;
  }

  status(): StoreStatus {
    return {
      state: this.state,
      ...(this.error ? { error: this.error } : {}),
      contacts: this.durable.profileCount,
      keys: this.index.size,
      seq: this.durable.seq,
    };
  }

  // ---------------------------------------------------------------- open

  private async load(): Promise<void> {
    this.state = 'opening';
    this.error = undefined;
    try {
      await this.openAfter?.catch(() => undefined);
      // Before any file is read: another process writing the same files would corrupt them (lock.ts).
      this.lock = await StoreLock.acquire(lockPathFor(this.path), (error) => {
        this.state = 'unavailable';
        this.error = error;
        this.logger.warn(error.message);
      });
      const opened = await new StoreRecovery({
        path: this.path,
        logger: this.logger,
        configuredKey: this.configuredKey,
        acceptKeyChange: this.acceptKeyChange,
        interner: this.interner,
        recordUpgrade: this.recordUpgrade,
      }).open();
      this.index = opened.index;
      this.durable.profileCount = opened.profileCount;
      this.durable.seq = opened.seq;
      this.durable.hash = opened.head;
      this.durable.chainKey = opened.chainKey;
      this.durable.journalSize = opened.journalSize;
      this.snapshotSeq = opened.snapshotSeq;
      this.snapshotHead = opened.snapshotHead;
      this.db = opened.db;
      this.writer = new GroupCommitWriter({
        journal: opened.journal,
        journalPath: this.journalPath,
        checkpoint: opened.checkpoint,
        checkpointPath: this.checkpointPath,
        key: opened.key,
        index: opened.index,
        interner: this.interner,
        durable: this.durable,
        listeners: this.listeners,
        logger: this.logger,
        host: this.writerHost,
      });
      this.verifier = new AuditVerifier({
        journalPath: this.journalPath,
        key: opened.key,
        verified: opened.verified,
        durable: this.durable,
        snapshot: () => ({ seq: this.snapshotSeq, head: this.snapshotHead }),
        fullVerifyEvery: this.fullVerifyEvery,
      });
      this.state = 'ready';
    } catch (error) {
      await this.lock?.release();
      this.lock = undefined;
      this.index = new KeyIndex();
      this.durable.profileCount = 0;
      this.state = 'unavailable';
      this.error =
        error instanceof DncError && error.code === 'DNC_STORE_UNAVAILABLE'
          ? error
          : new DncError(
              'DNC_STORE_UNAVAILABLE',
              `DNC store unavailable: cannot open ${this.path}: ${(error as Error).message}`,
              { cause: error },
            );
      throw this.error;
    }
  }

  // ---------------------------------------------------------------- reads

  private assertReady(): void {
    if (this.state !== 'ready') {
      throw (
        this.error ??
        new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store ${this.path} is ${this.state}: no lookup can be answered`,
        )
      );
    }
  }

  lookup(key: string): ContactState | undefined {
    this.assertReady();
    return this.index.get(key);
  }

  lookupAll(keys: readonly string[]): ContactState[] {
    this.assertReady();
    const profiles: ContactState[] = [];
    for (const key of keys) {
      const profile = this.index.get(key);
      if (profile !== undefined && !profiles.includes(profile)) profiles.push(profile);
    }
    return profiles;
  }

  *contacts(): IterableIterator<ContactState> {
    this.assertReady();
    // Every key of a profile maps to it: yield each profile once, at its first key.
    yield* this.index.profiles();
  }

  /**
   * Cost: a per-contact query reads only that contact's records (the audit index, built at the first
   * such query by one scan); an unfiltered query reads only the last `limit` lines; other filters
   * (label, source, time) scan the journal (a stream in 8 MB chunks, about 1 s per million records).
   */
  async audit(query: AuditQuery = {}): Promise<AuditRecord[]> {
    this.assertReady();
    const end = this.durable.journalSize;
    const keys = query.keys === undefined ? undefined : new Set(query.keys);
    const limit = query.limit ?? Infinity;
    const matches = (record: AuditRecord): boolean => {
      if (keys && !record.keys.some((key) => keys.has(key))) return false;
      if (
        query.label !== undefined &&
        !record.labels.includes(query.label) &&
        !record.changed.includes(query.label)
      ) {
        return false;
      }
      if (query.source !== undefined && record.source !== query.source) return false;
      if (query.since !== undefined || query.until !== undefined) {
        const at = Date.parse(record.at);
        if (query.since !== undefined && at < query.since) return false;
        if (query.until !== undefined && at > query.until) return false;
      }
      return true;
    };
    if (keys) {
      const index = await this.ensureAuditIndex();
      const offsets = index.lookup(keys).filter((offset) => offset < end);
      const lines = await readLinesAt(this.journalPath, offsets, end);
      const found = lines.map((text) => JSON.parse(text) as AuditRecord).filter(matches);
      return limit < found.length ? found.slice(found.length - limit) : found;
    }
    if (
      Number.isFinite(limit) &&
      query.label === undefined &&
      query.source === undefined &&
      query.since === undefined &&
      query.until === undefined
    ) {
      return (await readLastLines(this.journalPath, end, limit)).map(
        (text) => JSON.parse(text) as AuditRecord,
      );
    }
    const found: AuditRecord[] = [];
    await scanLines(this.journalPath, 0, end, (line) => {
      const record = JSON.parse(line.text) as AuditRecord;
      if (!matches(record)) return;
      found.push(record);
      // Newest last: keep only the last `limit` (trim in steps, not per record).
      if (found.length >= 2 * limit + 1000) found.splice(0, found.length - limit);
    });
    return limit < found.length ? found.slice(found.length - limit) : found;
  }

  /** The audit index: built once (by one scan, records committed meanwhile are added by commit()). */
  private async ensureAuditIndex(): Promise<AuditIndex> {
    if (this.auditIndex) return this.auditIndex;
    this.auditIndexBuilding ??= (async () => {
      // Records committed while the scan runs are past `end`: index them from the journal too.
      let end = this.durable.journalSize;
      const index = await AuditIndex.build(this.journalPath, end);
      while (end < this.durable.journalSize) {
        const next = this.durable.journalSize;
        await scanLines(this.journalPath, end, next, (line) => {
          index.add((JSON.parse(line.text) as AuditRecord).keys, line.start);
        });
        end = next;
      }
      // From here on (synchronously, before any other commit) commit() adds each new record.
      this.auditIndex = index;
      return index;
    })().finally(() => (this.auditIndexBuilding = undefined));
    return this.auditIndexBuilding;
  }

  /** Incremental, a full walk now and then: see lib/store/verifier.ts. */
  async verify(): Promise<AuditVerification> {
    this.assertReady();
    return this.verifier!.verify();
  }

  /** Attempt records (lib/store/attempts.ts): caps and cooling-off. */
  readonly attemptLog: AttemptLog;

  recordAttempt(record: AttemptRecord): Promise<void> {
    return this.attemptLog.record(record);
  }

  attempts(key: string, since: number): readonly AttemptRecord[] {
    return this.attemptLog.attempts(key, since);
  }

  pruneAttempts(before: number): Promise<number> {
    return this.attemptLog.prune(before);
  }

  onChange(listener: ChangeListener): () => void {
    // Wrapped so that the same function registered twice is called twice and removed once per unsubscribe.
    const entry: ChangeListener = (record, contact) => listener(record, contact);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  // ---------------------------------------------------------------- writes

  apply(change: LabelChange): Promise<ChangeResult> {
    if (this.state !== 'ready' || this.closing) {
      return Promise.reject(
        this.state === 'unavailable' && this.error
          ? this.error
          : new DncError(
              'DNC_STORE_UNAVAILABLE',
              `DNC store ${this.path} is ${this.closing ? 'closing' : this.state}`,
            ),
      );
    }
    let foldable: FoldableChange;
    try {
      foldable = normaliseChange(change);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.writer!.write(foldable);
  }

  /** The store as its writer sees it: state, failure, and what follows a commit. */
  private readonly writerHost: WriterHost = {
    writable: () => this.state === 'ready',
    notWritable: () =>
      this.error ?? new DncError('DNC_STORE_UNAVAILABLE', `DNC store ${this.path} is ${this.state}`),
    failClosed: (error) => {
      this.state = 'unavailable';
      this.error = error;
      this.scheduleRecovery();
    },
    recordsCommitted: (results, lineOffsets, start) => {
      const auditIndex = this.auditIndex;
      if (auditIndex) {
        for (let i = 0; i < results.length; i++)
          auditIndex.add(results[i].record.keys, start + lineOffsets[i]);
      }
    },
    batchCommitted: () => {
      this.recoveryDelay = WRITE_RETRY_FIRST_MS;
      if (this.durable.seq - this.snapshotSeq >= this.snapshotEvery && !this.snapshotRunning)
        void this.startSnapshot();
    },
  };

  // ---------------------------------------------------------------- recovery after a failed write

  private scheduleRecovery(): void {
    if (this.recoveryTimer !== undefined || this.recovering !== undefined || this.closing) return;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = undefined;
      this.recovering = this.recover().finally(() => {
        this.recovering = undefined;
        // A reopen that failed tries again (from here: while it ran, scheduling was refused).
        if (this.state === 'unavailable' && !this.closing && this.writer !== undefined)
          this.scheduleRecovery();
      });
    }, this.recoveryDelay);
    this.recoveryTimer.unref();
  }

  /**
   * Reopens the store after a failed journal write (ENOSPC, EIO), without a restart: once the writer is
   * idle, the journal is cut back to the last acknowledged record (what follows was reported as not
   * saved), and the store opens again from its files as at start, verifying them. Until then it stays
   * unavailable (checks fail closed, writes are refused with DNC_STORE_UNAVAILABLE); a failed attempt
   * is retried after a pause that doubles up to WRITE_RETRY_MAX_MS.
   */
  private async recover(): Promise<void> {
    if (this.closing || this.state !== 'unavailable' || this.writer === undefined) return;
    const failure = this.error;
    try {
      await this.writer.idle();
      await this.writer.close(false).catch(() => undefined);
      await truncateTo(this.journalPath, this.durable.journalSize);
      await this.snapshotRunning;
      await this.lock?.release();
      this.lock = undefined;
      this.auditIndex = undefined;
      this.auditIndexBuilding = undefined;
      this.openPromise = this.load();
      await this.openPromise;
      // The pause is reset by the next commit, not here: a full disk still lets the store reopen (it only
      // reads), and each failed write would otherwise reopen it again after the shortest pause.
      this.logger.warn(`DNC store ${this.path}: reopened after a failed write`);
    } catch (error) {
      this.state = 'unavailable';
      // A reopen that got as far as reading the files says what is wrong now (load() set it: a file
      // found corrupt, say); before that, the disk still refuses, and the write's failure says why.
      this.error ??= failure ?? (error as Error);
    } finally {
      this.recoveryDelay = Math.min(this.recoveryDelay * 2, WRITE_RETRY_MAX_MS);
    }
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Takes the profile list at the current seq (profiles are immutable, so a shallow list is a consistent
   * picture even while writes continue) and writes it through lowdb in the background.
   */
  private startSnapshot(): Promise<void> {
    const db = this.db;
    if (!db) return Promise.resolve();
    const profiles: ContactState[] = [];
    // Each profile is in the index under each of its keys: list it once, under its first key.
    for (const profile of this.index.profiles()) profiles.push(profile);
    const data: SnapshotData = {
      format: SNAPSHOT_FORMAT,
      seq: this.durable.seq,
      offset: this.durable.journalSize,
      head: this.durable.hash,
      createdAt: new Date().toISOString(),
      profiles,
    };
    db.data = data;
    const running = db
      .write()
      .then(
        () => {
          this.snapshotSeq = data.seq;
          this.snapshotHead = data.head;
        },
        (error: unknown) => {
          // Not fatal: the journal holds every change; the next snapshot (or the next open's replay) catches up.
          this.logger.warn(`DNC store: writing the snapshot ${this.path} failed: ${String(error)}`);
        },
      )
      .finally(() => {
        if (db.data === data) db.data = emptySnapshot();
        this.snapshotRunning = undefined;
      });
    this.snapshotRunning = running;
    return running;
  }

  /** Writes a snapshot now (after any running one), unless the last one is current. */
  async snapshotNow(): Promise<void> {
    this.assertReady();
    await this.snapshotRunning;
    if (this.durable.seq > this.snapshotSeq) await this.startSnapshot();
  }

  // ---------------------------------------------------------------- close

  close(): Promise<void> {
    this.closePromise ??= this.shutDown().finally(() => {
      this.closePromise = undefined;
    });
    return this.closePromise;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
    try {
      await this.recovering;
      await this.openPromise?.catch(() => undefined);
      await this.writer?.idle();
      await this.snapshotRunning;
      if (this.state === 'ready' && this.durable.seq > this.snapshotSeq) await this.startSnapshot();
      await this.writer?.close(this.state === 'ready');
      await this.attemptLog.close();
    } finally {
      await this.lock?.release();
      this.lock = undefined;
      this.writer = undefined;
      this.auditIndex = undefined;
      this.auditIndexBuilding = undefined;
      this.verifier = undefined;
      this.db = undefined;
      this.index = new KeyIndex();
      this.durable.profileCount = 0;
      this.state = 'closed';
      this.openPromise = undefined;
      this.closing = false;
    }
  }
}
