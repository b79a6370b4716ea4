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
import { chmod, copyFile, open, stat, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DncError } from '../errors';
import { PRIVATE_FILE_MODE, openPrivate, tightenFiles } from '../private-files';
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
import { LABEL_NAME_PATTERN } from '../labels';
import { AuditKey, GENESIS_HASH, sealRecord } from './audit-hash';
import {
  GENESIS_STATE,
  journalPathFor,
  scanLines,
  walkChain,
  walkChainOffThread,
  type ChainState,
  type ChainWalk,
  type ChainWalkResult,
} from './journal';
import {
  CheckpointWriter,
  checkpointIsAuthentic,
  checkpointPathFor,
  createCheckpoint,
  readCheckpoint,
  type Checkpoint,
} from './checkpoint';
import {
  installPendingKeyFile,
  keyPathFor,
  readKeyFile,
  readPendingKeyFile,
  writePendingKeyFile,
} from './key-file';
import { AuditIndex, readLastLines, readLinesAt } from './audit-index';
import { AttemptLog, attemptsPathFor } from './attempts';
import {
  SNAPSHOT_FORMAT,
  SnapshotFileAdapter,
  SnapshotFormatError,
  fsyncDirectory,
  type SnapshotData,
} from './snapshot';
import { StringInterner, foldChange, recordToChange, type FoldableChange, type StateView } from './state';

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
}

export const DEFAULT_FULL_VERIFY_EVERY = 60_000;

export const DEFAULT_SNAPSHOT_EVERY = 50_000;
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
/** Dates beyond this are not representable (ECMAScript time range). */
const MAX_TIME = 8.64e15;

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

function emptySnapshot(): SnapshotData {
  return { format: SNAPSHOT_FORMAT, seq: 0, offset: 0, head: GENESIS_HASH, createdAt: '', profiles: [] };
}

function timestampForFileName(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

function iso(time: number): string {
  return new Date(time).toISOString();
}

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
  private readonly fullVerifyEvery: number;
  private key: AuditKey | undefined;
  /** A key generated at this open: its file is written once the open succeeds. */
  private keyToWrite: AuditKey | undefined;
  /** The key file was there before this open (so a checkpoint must be too). */
  private keyFileExisted = false;
  /** The pending key file `<key>.new` already holds keyToWrite (a crash after the first checkpoint). */
  private keyPending = false;
  private readonly acceptKeyChange: string | undefined;
  private checkpoint: CheckpointWriter | undefined;
  /** The key part of the chain the next record continues (null: 0.1.0's unkeyed part). */
  private chainKey: string | null = null;
  /** The chain as verified so far: verify() continues from here. */
  private verified: { state: ChainState; offset: number } | undefined;
  /** A failure found by a walk: kept until reopened, so that later incremental checks still report it. */
  private verifyFailure: { badSeq: number; problem: string; records: number } | undefined;
  private lastFullVerify = -Infinity;
  private verifying: Promise<void> | undefined;
  /** Per-contact audit index, built at the first per-contact query and kept up to date after. */
  private auditIndex: AuditIndex | undefined;
  private auditIndexBuilding: Promise<AuditIndex> | undefined;

  private state: StoreState = 'closed';
  private error: Error | undefined;
  private openPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private closing = false;

  /** Every key to the immutable profile holding it. Only durable changes are here. */
  private index = new KeyIndex();
  private profileCount = 0;
  private seq = 0;
  private head = GENESIS_HASH;
  /** Journal bytes that are durable (the end of the last committed batch). */
  private journalSize = 0;
  private journal: FileHandle | undefined;
  private db: Low<SnapshotData> | undefined;
  /** The last snapshot on disk: replay starts there; verify() checks the journal still matches it. */
  private snapshotSeq = 0;
  private snapshotHead = GENESIS_HASH;
  private snapshotRunning: Promise<void> | undefined;

  private readonly queue: PendingChange[] = [];
  private writer: Promise<void> | undefined;
  /**
   * The profiles of batches written but not yet durable, by key: the next batch folds on top of them.
   * Never read by lookups (they see only the index); an entry leaves when its batch is committed.
   */
  private readonly unsynced = new Map<string, ContactState>();
  private readonly listeners = new Set<ChangeListener>();

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
      contacts: this.profileCount,
      keys: this.index.size,
      seq: this.seq,
    };
  }

  // ---------------------------------------------------------------- open

  private async load(): Promise<void> {
    this.state = 'opening';
    this.error = undefined;
    try {
      await this.openAfter?.catch(() => undefined);
      // Files written by 0.1.0 were created 0644: personal data is owner-only from now on.
      await tightenFiles([
        this.path,
        this.journalPath,
        attemptsPathFor(this.path),
        this.keyPath,
        this.checkpointPath,
      ]);
      const checkpointRead = await readCheckpoint(this.checkpointPath).catch(async (error: unknown) => {
        throw await this.mismatch(
          `the checkpoint ${this.checkpointPath} is unreadable (${(error as Error).message})`,
          this.checkpointPath,
        );
      });
      const checkpoint = checkpointRead === 'empty' ? undefined : checkpointRead;
      this.key = await this.loadKey(checkpoint);
      const key = this.key;
      const journalBytes = await stat(this.journalPath).then(
        (info) => info.size,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return -1;
          throw error;
        },
      );
      // The whole chain, in a worker thread while this thread parses the snapshot: a record the
      // snapshot covers may have been altered as well as one after it.
      const walk: ChainWalk = {
        path: this.journalPath,
        start: 0,
        state: GENESIS_STATE,
        key: key.export(),
        ...(checkpoint ? { reportSeq: checkpoint.seq } : {}),
      };
      const walked: Promise<ChainWalkResult | undefined> =
        journalBytes > 0 ? walkChainOffThread(walk) : Promise.resolve(undefined);
      walked.catch(() => undefined); // awaited below; never left unhandled while the snapshot loads

      const { Low } = await import('lowdb');
      this.db = new Low<SnapshotData>(new SnapshotFileAdapter(this.path, this.interner), emptySnapshot());
      try {
        await this.db.read();
      } catch (error) {
        await walked.catch(() => undefined);
        const copy = await this.keepCopy(this.path);
        const what = error instanceof SnapshotFormatError ? error.message : (error as Error).message;
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the snapshot ${this.path} is unreadable (${what}).${copy}` +
            ` Restore it from a backup, or remove it so the state is rebuilt from the journal ${this.journalPath}.`,
          { cause: error },
        );
      }
      const snapshot = this.db.data;
      this.db.data = emptySnapshot(); // the index holds the profiles; do not keep a second array alive

      const chain: ChainWalkResult = (await walked) ?? {
        state: GENESIS_STATE,
        end: 0,
        reported: { hash: GENESIS_STATE.head, chainKey: null },
      };
      if (chain.problem) {
        const copy = await this.keepCopy(this.journalPath);
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the journal ${this.journalPath} is corrupt at byte ${chain.problem.at}: ${chain.problem.message}.${copy}` +
            ` Restore the journal from a backup; no change can be written until it reads cleanly.`,
        );
      }
      if (snapshot.seq > 0 && journalBytes < snapshot.offset) {
        throw await this.mismatch(
          journalBytes < 0
            ? `the journal ${this.journalPath} is missing but the snapshot ${this.path} covers ${snapshot.seq} records`
            : `the journal ${this.journalPath} is ${journalBytes} bytes, shorter than the ${snapshot.offset} bytes the snapshot ${this.path} covers`,
        );
      }
      if (snapshot.seq > 0) await this.checkSnapshotContinuity(snapshot);
      if (checkpointRead === 'empty' && (chain.state.chainKey !== null || this.keyFileExisted)) {
        throw await this.mismatch(`the checkpoint ${this.checkpointPath} is empty`, this.checkpointPath);
      }
      // Empty beside an unkeyed journal and no key file: a crash while an earlier version created it
      // at the first open; the checks for a store without a checkpoint apply.
      await this.checkAgainstCheckpoint(checkpoint, chain);

      // Sized for the snapshot up front, so a million keys go in without rehashing.
      this.index = new KeyIndex(snapshot.profiles.length);
      for (const profile of snapshot.profiles) {
        for (const key of profile.keys) this.index.set(key, profile);
      }
      this.profileCount = snapshot.profiles.length;
      this.seq = snapshot.seq;
      this.head = snapshot.head;
      this.journalSize = snapshot.offset;
      this.snapshotSeq = snapshot.seq;
      this.snapshotHead = snapshot.head;

      // Every line up to chain.end was verified above: replay only folds what follows the snapshot.
      if (chain.end > snapshot.offset) await this.replay(chain.end);
      if (this.seq !== chain.state.seq || this.head !== chain.state.head) {
        throw await this.mismatch(
          `the journal ${this.journalPath} changed while the store was opening (record ${this.seq} is not the verified record ${chain.state.seq})`,
        );
      }
      if (chain.torn) await this.setTornLineAside(chain.torn.start, chain.torn.end);
      this.chainKey = chain.state.chainKey;
      this.verified = { state: chain.state, offset: chain.end };
      this.verifyFailure = undefined;
      this.lastFullVerify = -Infinity; // the first verify() walks again: it reports on the file as it is then
      if (chain.state.unverifiable) {
        const { from, to, keyId } = chain.state.unverifiable;
        this.logger.warn(
          `DNC store ${this.path}: records ${from}..${to} of the journal are keyed with audit key ${keyId},` +
            ` not with this store's key ${key.id}: they are linked and in order, but their content cannot be proven` +
            ` (verify() reports them). Restore the key (see the README, "The audit key") if it was lost.`,
        );
      }

      this.journal = await openPrivate(this.journalPath, 'a');
      if (journalBytes < 0) await fsyncDirectory(this.journalPath);
      // A new key: pending file, then the checkpoint (atomically), then the key file. A crash at any
      // point leaves a state the next open accepts: no checkpoint (a first open again), or a checkpoint
      // with a pending key that authenticates it.
      if (this.keyToWrite && !this.keyPending) await writePendingKeyFile(this.keyPath, this.keyToWrite);
      if (!checkpoint || this.keyToWrite) {
        await createCheckpoint(this.checkpointPath, key, this.seq, this.head, this.chainKey);
      }
      if (this.keyToWrite) {
        await installPendingKeyFile(this.keyPath);
        this.keyToWrite = undefined;
        this.logger.warn(
          `DNC store: created the audit key ${this.keyPath}; back it up (records keyed with it cannot be proven without it)`,
        );
      }
      this.checkpoint = await CheckpointWriter.open(this.checkpointPath, key);
      await this.checkpoint.flush(this.seq, this.head, this.chainKey);
      this.state = 'ready';
    } catch (error) {
      await this.journal?.close().catch(() => undefined);
      this.journal = undefined;
      await this.checkpoint?.close().catch(() => undefined);
      this.checkpoint = undefined;
      this.index = new KeyIndex();
      this.profileCount = 0;
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

  /**
   * The configured key (the config node's credential), or the key file's. A new key's file is written
   * only once the store has opened (just before its first checkpoint), so that a key file always has a
   * checkpoint beside it: a missing checkpoint next to an existing key file is then a deletion.
   */
  private async loadKey(checkpoint: Checkpoint | undefined): Promise<AuditKey> {
    this.keyToWrite = undefined;
    this.keyPending = false;
    this.keyFileExisted = false;
    if (this.configuredKey !== undefined) {
      const key = AuditKey.parse(this.configuredKey);
      if (key === undefined) {
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the audit key given for ${this.path} is not a key (base64 or hex, at least 16 bytes)`,
        );
      }
      return key;
    }
    const existing = await readKeyFile(this.keyPath);
    this.keyFileExisted = existing !== undefined;
    if (existing) return existing;
    if (checkpoint !== undefined) {
      const pending = await readPendingKeyFile(this.keyPath);
      if (pending?.id === checkpoint.keyId) {
        // A crash between the first checkpoint and the key file's rename: install the key it names.
        this.keyToWrite = pending;
        this.keyPending = true;
        return pending;
      }
      if (this.acceptKeyChange !== checkpoint.keyId) {
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the audit key file ${this.keyPath} is missing, but the checkpoint ${this.checkpointPath}` +
            ` was written with audit key ${checkpoint.keyId}: a new key would let a rewritten journal pass.` +
            ` Restore the key file from a backup; or, if the key is truly lost, accept the change explicitly` +
            ` (dncAcceptAuditKeyChange: '${checkpoint.keyId}' in Node-RED's settings.js; see the README, "The audit key").`,
        );
      }
      this.logger.warn(
        `DNC store ${this.path}: the audit key ${checkpoint.keyId} is missing; a new key is created as accepted` +
          ` by acceptAuditKeyChange (the records keyed with the old key stay unverifiable)`,
      );
    }
    this.keyToWrite = AuditKey.generate();
    return this.keyToWrite;
  }

  /**
   * The checkpoint anchors the head: the journal may not end before it (a deleted tail), must hold its
   * record unchanged, and may only go on with records MACed by this store's key. A torn final line is
   * set aside only when the checkpoint proves it was never acknowledged.
   */
  private async checkAgainstCheckpoint(
    checkpoint: Checkpoint | undefined,
    chain: ChainWalkResult,
  ): Promise<void> {
    const key = this.key!;
    const last = chain.state.seq;
    if (checkpoint === undefined) {
      if (this.keyFileExisted) {
        throw await this.mismatch(
          `the checkpoint ${this.checkpointPath} is missing although the audit key file ${this.keyPath} exists` +
            ` (both are written at the first open): records may have been deleted or rewritten`,
        );
      }
      if (chain.state.chainKey !== null) {
        throw await this.mismatch(
          `the checkpoint ${this.checkpointPath} is missing although the journal ${this.journalPath} is keyed` +
            ` (it is written at every open and commit): records may have been deleted`,
        );
      }
      if (chain.torn) {
        throw await this.mismatch(
          `the journal ${this.journalPath} ends in the middle of record ${last + 1} and there is no checkpoint` +
            ` to prove that record was never acknowledged`,
        );
      }
      if (last > 0) {
        this.logger.warn(
          `DNC store ${this.path}: the journal's ${last} records are unkeyed (written by 0.1.0); they are kept as` +
            ` they are and the chain continues keyed from the next record`,
        );
      }
      return;
    }
    const authentic = checkpointIsAuthentic(checkpoint, key);
    if (!authentic && checkpoint.keyId === key.id) {
      throw await this.mismatch(
        `the checkpoint ${this.checkpointPath} was altered: its MAC does not match this store's audit key`,
        this.checkpointPath,
      );
    }
    // A checkpoint naming another key cannot be checked: it may be forged as easily as a lost key's.
    // Fail closed unless the operator accepted exactly that key's loss.
    if (!authentic && this.acceptKeyChange !== checkpoint.keyId) {
      throw await this.mismatch(
        `the checkpoint ${this.checkpointPath} was written with audit key ${checkpoint.keyId}, not this store's` +
          ` key ${key.id}, so the journal's head cannot be proven. If the key was lost or replaced, restore it` +
          ` (the key file ${this.keyPath} or the DNC labels node's audit key) from a backup; or accept the change` +
          ` explicitly (dncAcceptAuditKeyChange: '${checkpoint.keyId}' in Node-RED's settings.js; see the README,` +
          ` "The audit key")`,
        this.checkpointPath,
      );
    }
    if (checkpoint.seq > last) {
      throw await this.mismatch(
        `the journal ${this.journalPath} ends at record ${last} but the checkpoint ${this.checkpointPath}` +
          ` says ${checkpoint.seq} records were acknowledged: records were deleted`,
      );
    }
    if (chain.reported?.hash !== checkpoint.hash || chain.reported.chainKey !== checkpoint.chainKey) {
      throw await this.mismatch(
        `the journal ${this.journalPath} does not hold the record ${checkpoint.seq} the checkpoint ${this.checkpointPath}` +
          ` names: the chain was rewritten`,
      );
    }
    const unverifiable = chain.state.unverifiable;
    if (unverifiable !== undefined && unverifiable.to > checkpoint.seq) {
      throw await this.mismatch(
        `records ${Math.max(unverifiable.from, checkpoint.seq + 1)}..${unverifiable.to} of the journal ${this.journalPath}` +
          ` follow the checkpoint but are not MACed with this store's audit key: they were not written by this store`,
      );
    }
    if (!authentic) {
      this.logger.warn(
        `DNC store ${this.path}: the checkpoint was written with audit key ${checkpoint.keyId}, not this store's` +
          ` key ${key.id}; accepted by acceptAuditKeyChange: the chain continues with key ${key.id} and` +
          ` verify() reports the records keyed with ${checkpoint.keyId} as unverifiable`,
      );
    }
  }

  /** The journal line ending at the snapshot's offset must be the record the snapshot says is its head. */
  private async checkSnapshotContinuity(snapshot: SnapshotData): Promise<void> {
    const handle = await open(this.journalPath, 'r');
    let lastLine: string | undefined;
    try {
      for (let window = 64 * 1024; lastLine === undefined; window *= 4) {
        const from = Math.max(0, snapshot.offset - window);
        const buffer = Buffer.alloc(snapshot.offset - from);
        await handle.read(buffer, 0, buffer.length, from);
        if (buffer[buffer.length - 1] !== 10) break;
        const previousNewline = buffer.lastIndexOf(10, buffer.length - 2);
        if (previousNewline >= 0 || from === 0)
          lastLine = buffer.toString('utf8', previousNewline + 1, buffer.length - 1);
      }
    } finally {
      await handle.close();
    }
    let record: Partial<AuditRecord> | undefined;
    try {
      record = lastLine === undefined ? undefined : (JSON.parse(lastLine) as Partial<AuditRecord>);
    } catch {
      record = undefined;
    }
    if (record?.seq !== snapshot.seq || record.hash !== snapshot.head) {
      throw await this.mismatch(
        `the journal ${this.journalPath} does not continue the snapshot ${this.path}: the record at byte ${snapshot.offset}` +
          ` is not record ${snapshot.seq} with the snapshot's head hash`,
      );
    }
  }

  private async mismatch(detail: string, ...alsoCopy: string[]): Promise<DncError> {
    let copies = (await this.keepCopy(this.path)) + (await this.keepCopy(this.journalPath));
    for (const file of alsoCopy) copies += await this.keepCopy(file);
    return new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: ${detail}.${copies} Restore the journal and the checkpoint beside it together from one backup, or, if the journal is` +
        ` the right one, remove the snapshot so the state is rebuilt from the journal.`,
    );
  }

  /** Folds the journal after the snapshot into the index, up to `end` (verified already by the open's walk). */
  private async replay(end: number): Promise<void> {
    let seq = this.seq;
    let head = this.head;
    let profileCount = this.profileCount;
    const view: StateView = this.index;
    await scanLines(this.journalPath, this.journalSize, end, (line) => {
      const record = JSON.parse(line.text) as AuditRecord;
      profileCount += foldChange(view, recordToChange(record), this.interner).profileDelta;
      seq = record.seq;
      head = record.hash;
    });
    this.profileCount = profileCount;
    this.seq = seq;
    this.head = head;
    this.journalSize = end;
  }

  /**
   * A final line without its newline is a write that a crash cut short: its fsync never completed, so it
   * was never acknowledged. Keep its bytes in a side file and cut it off, so new records start on a line.
   */
  private async setTornLineAside(start: number, end: number): Promise<void> {
    const handle = await openPrivate(this.journalPath, 'r+');
    try {
      const bytes = Buffer.alloc(end - start);
      await handle.read(bytes, 0, bytes.length, start);
      const tornPath = `${this.journalPath}.torn-${timestampForFileName()}`;
      const tornFile = await openPrivate(tornPath, 'wx');
      try {
        await tornFile.write(bytes);
        await tornFile.sync();
      } finally {
        await tornFile.close();
      }
      await handle.truncate(start);
      await handle.sync();
      this.logger.warn(
        `DNC store: set aside a torn final journal line (${bytes.length} bytes, never acknowledged) in ${tornPath}`,
      );
    } finally {
      await handle.close();
    }
    await fsyncDirectory(this.journalPath);
  }

  /** Copies a bad file aside (never moving or rewriting the original); returns a sentence for the error. */
  private async keepCopy(file: string): Promise<string> {
    const copy = `${file}.corrupt-${timestampForFileName()}`;
    try {
      await copyFile(file, copy, fsConstants.COPYFILE_EXCL);
      // copyFile gives the copy the original's mode: owner-only whatever that was.
      await chmod(copy, PRIVATE_FILE_MODE);
      return ` A copy was kept at ${copy}.`;
    } catch {
      return '';
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
    const end = this.journalSize;
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
      let end = this.journalSize;
      const index = await AuditIndex.build(this.journalPath, end);
      while (end < this.journalSize) {
        const next = this.journalSize;
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

  /**
   * Incremental: the records written since the last check are verified from the remembered head; the
   * whole chain is walked again (in a worker thread, off the event loop that answers checks) at most
   * once per `fullVerifyEvery`, and the first time after open. Concurrent calls share one run. A
   * failure, once found, is reported by every later call until the store is reopened.
   */
  async verify(): Promise<AuditVerification> {
    this.assertReady();
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
    const state = this.verified!.state;
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

  private async runVerify(): Promise<void> {
    if (this.verifyFailure || !this.key || !this.verified) return;
    const end = this.journalSize;
    const expected = { seq: this.seq, head: this.head };
    const full = Date.now() - this.lastFullVerify >= this.fullVerifyEvery;
    if (!full && end === this.verified.offset) {
      // Nothing written since the last check and no full walk due: no file to open. One turn of the
      // event loop all the same, so that a caller polling verify() in a loop never starves checks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return;
    }
    const snapshotSeq = this.snapshotSeq;
    const snapshotHead = this.snapshotHead;
    const walk: ChainWalk = full
      ? {
          path: this.journalPath,
          start: 0,
          end,
          state: GENESIS_STATE,
          key: this.key.export(),
          ...(snapshotSeq > 0 ? { reportSeq: snapshotSeq } : {}),
        }
      : {
          path: this.journalPath,
          start: this.verified.offset,
          end,
          state: this.verified.state,
          key: this.key.export(),
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
    return new Promise<ChangeResult>((resolve, reject) => {
      this.queue.push({ change: foldable, resolve, reject });
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.writer) return;
    this.writer = this.runWriter().finally(() => {
      this.writer = undefined;
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
    let seq = this.seq;
    let head = this.head;
    let chainKey = this.chainKey;
    while (this.queue.length > 0 || inFlight.length > 0) {
      // Acknowledge what is already durable before preparing more: the first acks of a flood do not
      // wait for the next batch's preparation.
      while (inFlight.length > 0 && inFlight[0].durable === true) {
        const durable = inFlight.shift()!;
        if (!(await this.commitOrFail(durable, inFlight))) return;
      }
      const journal = this.journal;
      if (this.queue.length > 0 && inFlight.length < MAX_IN_FLIGHT && this.state === 'ready' && journal) {
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
        const error =
          this.error ?? new DncError('DNC_STORE_UNAVAILABLE', `DNC store ${this.path} is ${this.state}`);
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
    const key = this.key!;
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
    this.checkpoint?.update(batch.seq, batch.head, batch.chainKey);
    const unsynced = this.unsynced;
    for (const [key, state] of batch.overlay) {
      this.index.set(key, state);
      if (unsynced.get(key) === state) unsynced.delete(key);
    }
    this.profileCount += batch.profileDelta;
    this.seq = batch.seq;
    this.head = batch.head;
    this.chainKey = batch.chainKey;
    const { items, results } = batch;
    if (this.auditIndex) {
      for (let i = 0; i < results.length; i++) {
        this.auditIndex.add(results[i].record.keys, this.journalSize + batch.lineOffsets[i]);
      }
    }
    this.journalSize += batch.bytes.length;
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
    if (this.seq - this.snapshotSeq >= this.snapshotEvery && !this.snapshotRunning) void this.startSnapshot();
  }

  /**
   * A write or fdatasync failed: disk and memory may now disagree (part of a batch may be on disk), so
   * the store fails closed until reopened. Batches written before the failing one whose fdatasync still
   * completes are durable and are acknowledged; the failing batch and everything after it is rejected,
   * once the journal is cut back to the end of the last acknowledged batch.
   */
  private async failWrites(
    error: unknown,
    inFlight: Batch[],
    failed: Batch,
    file = `the journal ${this.journalPath}`,
  ): Promise<void> {
    this.state = 'unavailable';
    this.error = new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: writing ${file} failed (${(error as Error).message}).` +
        ` Fix the disk problem and reopen the store (redeploy or restart).`,
      { cause: error },
    );
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
      await this.truncateJournal(this.journalSize);
    } catch (truncateError) {
      this.error = new DncError(
        'DNC_STORE_UNAVAILABLE',
        `DNC store unavailable: writing the journal ${this.journalPath} failed (${(error as Error).message}),` +
          ` and cutting it back to the last acknowledged record (${this.journalSize} bytes) failed too` +
          ` (${(truncateError as Error).message}): the journal may hold records of changes that were reported` +
          ` as not saved, and reopening will apply them. Fix the disk problem, truncate the journal to` +
          ` ${this.journalSize} bytes, and reopen the store (redeploy or restart).`,
        { cause: error },
      );
    }
    for (const batch of rejected) for (const pending of batch.items) pending.reject(failure);
    for (const pending of this.queue.splice(0)) pending.reject(this.error);
    this.unsynced.clear();
  }

  /**
   * Cuts the journal back to `end` bytes and fsyncs it, through a handle of its own (the writer's may be
   * the one that failed). Never extends: a journal already shorter is left as it is (reopen reports it).
   */
  private async truncateJournal(end: number): Promise<void> {
    const handle = await openPrivate(this.journalPath, 'r+');
    try {
      const { size } = await handle.stat();
      if (size > end) {
        await handle.truncate(end);
        await handle.sync();
      }
    } finally {
      await handle.close();
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
      seq: this.seq,
      offset: this.journalSize,
      head: this.head,
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
    if (this.seq > this.snapshotSeq) await this.startSnapshot();
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
    try {
      await this.openPromise?.catch(() => undefined);
      while (this.writer) await this.writer;
      await this.snapshotRunning;
      if (this.state === 'ready' && this.seq > this.snapshotSeq) await this.startSnapshot();
      await this.journal?.close();
      if (this.checkpoint && this.state === 'ready')
        await this.checkpoint.flush(this.seq, this.head, this.chainKey);
      await this.checkpoint?.close();
      await this.attemptLog.close();
    } finally {
      this.journal = undefined;
      this.checkpoint = undefined;
      this.auditIndex = undefined;
      this.auditIndexBuilding = undefined;
      this.verified = undefined;
      this.db = undefined;
      this.index = new KeyIndex();
      this.profileCount = 0;
      this.state = 'closed';
      this.openPromise = undefined;
      this.closing = false;
    }
  }
}

/** The labels asked for (distinct, in order) that needed no change. */
function unchangedLabels(requested: readonly string[] | null, changed: readonly string[]): string[] {
  if (requested === null) return [];
  if (requested.length === 1)
    return changed.length === 1 && changed[0] === requested[0] ? [] : [requested[0]];
  return [...new Set(requested)].filter((label) => !changed.includes(label));
}

function recordContent(
  seq: number,
  prev: string,
  change: FoldableChange,
  changed: readonly string[],
  keyId: string | undefined,
): Omit<AuditRecord, 'hash'> {
  return change.op === 'add'
    ? {
        seq,
        at: iso(change.at),
        op: 'add',
        keys: change.keys,
        labels: change.labels ?? [],
        changed,
        expiresAt: change.expiresAt.map((time) => (time === null ? null : iso(time))),
        source: change.source,
        actor: change.actor,
        ...principalOf(change),
        reason: change.reason,
        campaign: change.campaign,
        channel: change.channel,
        ...(keyId === undefined ? {} : { keyId }),
        prev,
      }
    : {
        seq,
        at: iso(change.at),
        op: 'remove',
        keys: change.keys,
        labels: change.labels ?? ['*'],
        changed,
        source: change.source,
        actor: change.actor,
        ...principalOf(change),
        reason: change.reason,
        ...(keyId === undefined ? {} : { keyId }),
        prev,
      };
}

/** A record names its principal only when the change has one (so records without one hash as in 0.1.0). */
function principalOf(change: FoldableChange): { principal?: string } {
  return change.principal === null ? {} : { principal: change.principal };
}

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', message, { field });
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(`${field} must be a string or null`, field);
  return value;
}

/** Any text without control characters (an admin's user name may be in any script), not blank. */
const PRINCIPAL_PATTERN = /^(?=.*\S)[^\p{Cc}]{1,200}$/u;

function principalText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !PRINCIPAL_PATTERN.test(value)) {
    throw invalid('principal must be 1 to 200 characters of text without control characters', 'principal');
  }
  return value;
}

function time(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_TIME) {
    throw invalid(`${field} must be a time in epoch milliseconds`, field);
  }
  // Whole milliseconds: the journal stores ISO 8601 with millisecond precision, replay must give the same number.
  return Math.trunc(value);
}

/** Checks a change's shape and turns it into the form the journal records (whole-ms times, nulls). */
function normaliseChange(change: LabelChange): FoldableChange {
  const raw = change as unknown as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object') throw invalid('a change must be an object', 'change');
  if (raw.op !== 'add' && raw.op !== 'remove') throw invalid('op must be "add" or "remove"', 'op');
  const keys = raw.keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => typeof key === 'string' && key !== '')
  ) {
    throw invalid('keys must be a non-empty list of contact keys', 'keys');
  }
  if (typeof raw.source !== 'string' || raw.source === '')
    throw invalid('source must be a non-empty string', 'source');
  const common = {
    keys: [...new Set(keys as string[])],
    at: time(raw.at, 'at'),
    source: raw.source,
    actor: optionalText(raw.actor, 'actor'),
    principal: principalText(raw.principal),
    reason: optionalText(raw.reason, 'reason'),
  };
  if (raw.op === 'add') {
    const labels = raw.labels;
    if (!Array.isArray(labels) || labels.length === 0)
      throw invalid('labels must be a non-empty list', 'labels');
    const names: string[] = [];
    const expiries: (number | null)[] = [];
    labels.forEach((entry: unknown, index) => {
      const item = entry as { label?: unknown; expiresAt?: unknown } | null;
      if (
        item === null ||
        typeof item !== 'object' ||
        typeof item.label !== 'string' ||
        !LABEL_NAME_PATTERN.test(item.label)
      ) {
        throw invalid('each label needs a valid label name', `labels[${index}].label`);
      }
      names.push(item.label);
      expiries.push(
        item.expiresAt === null || item.expiresAt === undefined
          ? null
          : time(item.expiresAt, `labels[${index}].expiresAt`),
      );
    });
    return {
      op: 'add',
      ...common,
      labels: names,
      expiresAt: expiries,
      campaign: optionalText(raw.campaign, 'campaign'),
      channel: optionalText(raw.channel, 'channel'),
    };
  }
  const labels = raw.labels;
  if (labels === 'all')
    return { op: 'remove', ...common, labels: null, expiresAt: [], campaign: null, channel: null };
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    // Label names only: the journal writes remove-all as ["*"], so "*" as a name would be a no-op
    // now and remove every label on replay.
    !labels.every((l) => typeof l === 'string' && LABEL_NAME_PATTERN.test(l))
  ) {
    throw invalid('labels must be a non-empty list of label names, or "all"', 'labels');
  }
  return {
    op: 'remove',
    ...common,
    labels: labels as string[],
    expiresAt: [],
    campaign: null,
    channel: null,
  };
}
