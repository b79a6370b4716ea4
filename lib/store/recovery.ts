/**
 * Recovery at open: the embedded store's files read back into the state the running store continues
 * from. The whole chain is verified in a worker thread while the snapshot parses; the snapshot, the
 * checkpoint and the audit key are checked against the chain; the journal after the snapshot is
 * replayed; a torn final line is set aside; a new audit key is installed around the first checkpoint.
 * Any inconsistency refuses the open (DNC_STORE_UNAVAILABLE), keeping copies of the files involved.
 */
import { chmod, copyFile, open, stat, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DncError } from '../errors';
import { PRIVATE_FILE_MODE, openPrivate, tightenFiles } from '../private-files';
import type { AuditRecord } from './types';
import { KeyIndex } from './key-index';
import { AuditKey, GENESIS_HASH, sealRecord } from './audit-hash';
import { SYSTEM_PRINCIPAL } from '../request-fields';
import {
  GENESIS_STATE,
  journalPathFor,
  scanLines,
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
import { attemptsPathFor } from './attempts';
import { SNAPSHOT_FORMAT, SnapshotFileAdapter, SnapshotFormatError, type SnapshotData } from './snapshot';
import { LaterFormatError, fsyncDirectory } from './files';
import { foldChange, type StateView, type StringInterner } from './state';
import { recordToChange } from './changes';
import type { StoreLogger } from './embedded';

export interface RecoveryOptions {
  /** The snapshot file; the journal, checkpoint and key file are beside it. */
  readonly path: string;
  readonly logger: StoreLogger;
  /** The audit key the config node's credentials give (base64 or hex); undefined: the key file's. */
  readonly configuredKey: string | undefined;
  /** The key id whose loss the operator accepted (EmbeddedStoreOptions.acceptAuditKeyChange). */
  readonly acceptKeyChange: string | undefined;
  readonly interner: StringInterner;
  /** Append the switch-over record to a journal that is still all 0.1.0 records (EmbeddedStoreOptions.recordUpgrade). */
  readonly recordUpgrade?: boolean;
}

/** The principal of the switch-over record: the package itself, not a person or a flow. */
export const UPGRADE_PRINCIPAL = SYSTEM_PRINCIPAL;
/** How the switch-over record's reason starts. */
export const UPGRADE_REASON_PREFIX = 'upgrade:';

/** The store as recovered: what the running store continues from. */
export interface RecoveredStore {
  readonly key: AuditKey;
  /** Every key to its profile, after the snapshot and the replay. */
  readonly index: KeyIndex;
  readonly profileCount: number;
  /** seq and hash of the last record, and the key part it belongs to. */
  readonly seq: number;
  readonly head: string;
  readonly chainKey: string | null;
  /** Journal bytes that hold whole, verified records. */
  readonly journalSize: number;
  readonly snapshotSeq: number;
  readonly snapshotHead: string;
  /** The lowdb database of the snapshot (its data emptied: the index holds the profiles). */
  readonly db: Low<SnapshotData>;
  /** The journal, open for appending. */
  readonly journal: FileHandle;
  readonly checkpoint: CheckpointWriter;
  /** The chain as verified at open: verify() continues from here. */
  readonly verified: { state: ChainState; offset: number };
}

export function emptySnapshot(): SnapshotData {
  return { format: SNAPSHOT_FORMAT, seq: 0, offset: 0, head: GENESIS_HASH, createdAt: '', profiles: [] };
}

function timestampForFileName(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** One open's recovery (an instance per open: the key-loading flags below belong to that open). */
export class StoreRecovery {
  private readonly path: string;
  private readonly journalPath: string;
  private readonly checkpointPath: string;
  private readonly keyPath: string;
  private readonly logger: StoreLogger;
  private readonly configuredKey: string | undefined;
  private readonly acceptKeyChange: string | undefined;
  private readonly interner: StringInterner;
  private readonly recordUpgrade: boolean;

  private key: AuditKey | undefined;
  /** A key generated at this open: its file is written once the open succeeds. */
  private keyToWrite: AuditKey | undefined;
  /** The key file was there before this open (so a checkpoint must be too). */
  private keyFileExisted = false;
  /** The pending key file `<key>.new` already holds keyToWrite (a crash after the first checkpoint). */
  private keyPending = false;

  private index = new KeyIndex();
  private profileCount = 0;
  private seq = 0;
  private head = GENESIS_HASH;
  private chainKey: string | null = null;
  private journalSize = 0;
  private snapshotSeq = 0;
  private snapshotHead = GENESIS_HASH;
  private db: Low<SnapshotData> | undefined;
  private journal: FileHandle | undefined;
  private checkpoint: CheckpointWriter | undefined;
  private verified: { state: ChainState; offset: number } | undefined;

  constructor(options: RecoveryOptions) {
    this.path = options.path;
    this.journalPath = journalPathFor(options.path);
    this.checkpointPath = checkpointPathFor(options.path);
    this.keyPath = keyPathFor(options.path);
    this.logger = options.logger;
    this.configuredKey = options.configuredKey;
    this.acceptKeyChange = options.acceptKeyChange;
    this.interner = options.interner;
    this.recordUpgrade = options.recordUpgrade === true;
  }

  /** Reads, checks and replays the files; on failure releases what it opened and rejects. */
  async open(): Promise<RecoveredStore> {
    try {
      // Files written by 0.1.0 were created 0644: personal data is owner-only from now on.
      await tightenFiles([
        this.path,
        this.journalPath,
        attemptsPathFor(this.path),
        this.keyPath,
        this.checkpointPath,
      ]);
      const checkpointRead = await readCheckpoint(this.checkpointPath).catch(async (error: unknown) => {
        if (error instanceof LaterFormatError)
          throw new DncError('DNC_STORE_UNAVAILABLE', `DNC store unavailable: ${error.message}.`);
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
        // Not corrupt: newer. Left as it is, for the version that wrote it.
        if (error instanceof LaterFormatError)
          throw new DncError('DNC_STORE_UNAVAILABLE', `DNC store unavailable: ${error.message}.`);
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
      if (this.recordUpgrade && this.chainKey === null && this.seq > 0) await this.appendSwitchOver(key);
      return {
        key,
        index: this.index,
        profileCount: this.profileCount,
        seq: this.seq,
        head: this.head,
        chainKey: this.chainKey,
        journalSize: this.journalSize,
        snapshotSeq: this.snapshotSeq,
        snapshotHead: this.snapshotHead,
        db: this.db,
        journal: this.journal,
        checkpoint: this.checkpoint,
        verified: this.verified,
      };
    } catch (error) {
      await this.journal?.close().catch(() => undefined);
      await this.checkpoint?.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The upgrade itself, in the audit trail: a journal still made only of 0.1.0's unkeyed records gets
   * the switch-over record that starts the keyed chain (it names the key with `keyId`), written by the
   * package (principal `system`, source `system`) with the reason `upgrade: ...`. It changes no
   * contact: a remove naming no key and no label (`keys`, `labels` and `changed` empty), so every
   * version that reads the journal folds it to nothing. Written after the checkpoint of the unkeyed
   * head: a crash before it is durable leaves the store as a first open after the upgrade finds it (the
   * record is written at the next open); a crash after it leaves a keyed record past the checkpoint,
   * MACed with the store's key, as any unacknowledged write does.
   */
  private async appendSwitchOver(key: AuditKey): Promise<void> {
    const legacy = this.seq;
    const sealed = sealRecord(
      {
        seq: legacy + 1,
        at: new Date().toISOString(),
        op: 'remove',
        keys: [],
        labels: [],
        changed: [],
        source: 'system',
        actor: null,
        principal: UPGRADE_PRINCIPAL,
        reason:
          `${UPGRADE_REASON_PREFIX} records 1..${legacy} were written by version 0.1.0 (sha256 chain, kept as they are);` +
          ` from this record on the audit trail is keyed (HMAC-SHA256, audit key ${key.id})`,
        keyId: key.id,
        prev: this.head,
      },
      key,
    );
    const bytes = Buffer.from(sealed.line, 'utf8');
    await this.journal!.write(bytes);
    await this.journal!.datasync();
    this.seq = sealed.record.seq;
    this.head = sealed.record.hash;
    this.chainKey = key.id;
    this.journalSize += bytes.length;
    await this.checkpoint!.flush(this.seq, this.head, this.chainKey);
    this.logger.warn(
      `DNC store ${this.path}: upgraded: record ${this.seq} of the audit trail records the switch to the keyed chain (audit key ${key.id})`,
    );
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
}
