/**
 * The PostgreSQL store: several Node-RED instances share one DNC state.
 *
 * Each instance keeps the embedded store's in-memory view (KeyIndex of immutable profiles) so that
 * checks stay synchronous and never wait on the database; the database holds the audit trail, which is
 * the source of truth, exactly as the embedded journal is:
 * - **Writes** (writer.ts) group concurrent changes into one transaction that locks the chain head,
 *   first folds in whatever other instances committed, then appends the batch's sealed records; a change
 *   is acknowledged only once its transaction committed (synchronous commit).
 * - **Following**: a listening connection is woken by NOTIFY at every commit and reads the trail by
 *   `seq` from where the view stands; a poll every `pollInterval` catches up when a notification is lost
 *   (a reconnect, a dropped connection). Records are checked against the chain as they are folded.
 * - **Staleness**: when the view has not been confirmed current for `maxStaleness` (the database is
 *   unreachable), lookups throw DNC_STORE_UNAVAILABLE (checks block) until it has caught up again.
 *
 * The audit chain, its key handling and `verify()` are the embedded store's (audit-hash.ts, ChainVerifier).
 */
import { hostname } from 'node:os';
import { Client, Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg';
import { DncError } from '../../errors';
import type {
  AttemptGuard,
  AttemptRecord,
  AuditQuery,
  AuditRecord,
  AuditVerification,
  ChangeListener,
  ChangeResult,
  ContactState,
  DncStore,
  LabelChange,
  StoreState,
  StoreStatus,
} from '../types';
import { KeyIndex } from '../key-index';
import { AuditKey, GENESIS_HASH } from '../audit-hash';
import { ChainVerifier, GENESIS_STATE, type ChainState } from '../journal';
import { readKeyFile, writePendingKeyFile, installPendingKeyFile } from '../key-file';
import { foldChange, StringInterner, type FoldableChange, type StateView } from '../state';
import { normaliseChange, recordContent, recordToChange, unchangedLabels } from '../changes';
import type { StoreLogger } from '../embedded';
import { DEFAULT_SCHEMA, migrate, quoteSchema, readHead } from './schema';
import { PostgresWriter, type WriterHead } from './writer';
import { PostgresAttempts } from './attempts';
import { chainVerification } from '../verifier';
import { ChangeSpool } from './spool';
import {
  DEFAULT_SNAPSHOT_EVERY,
  MIN_SNAPSHOT_INTERVAL,
  loadSnapshot,
  writeSnapshot,
  type SnapshotCapture,
} from './snapshots';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (libpq URL); pg's PGHOST etc. apply when absent. */
  readonly connectionString?: string;
  /** More pool options as `pg` takes them: `max` (pool size), `ssl` (TLS), timeouts. */
  readonly pool?: PoolConfig;
  /** Default `dnc`. */
  readonly schema?: string;
  /** The audit key (base64 or hex): every instance sharing the database needs the same one. */
  readonly auditKey?: string;
  /** Without `auditKey`: the key file, created (0600) when the shared trail has no key yet. */
  readonly keyPath?: string;
  /** As the embedded store's: accept a trail keyed with this other key id, continuing under ours. */
  readonly acceptAuditKeyChange?: string;
  /** Names this instance in the records it writes (default `<host>:<pid>`). */
  readonly instance?: string;
  /** How long lookups answer from a view not confirmed current (ms, default 30 s); then they fail closed. */
  readonly maxStaleness?: number;
  /** How often the view is confirmed current without a notification (ms, default 1 s). */
  readonly pollInterval?: number;
  readonly logger?: StoreLogger;
  /** Do not connect before this settles (the registry passes the close of a previous instance). */
  readonly openAfter?: Promise<unknown>;
  /**
   * The local spool (a file in the user directory): changes made while PostgreSQL cannot be reached
   * are kept there and acknowledged as queued. Without one they are refused (DNC_STORE_UNAVAILABLE).
   */
  readonly spoolPath?: string;
  /** The leading instance writes a snapshot every this many records (default 50,000). */
  readonly snapshotEvery?: number;
  /** And at most once per this many ms (default 30 s), and never more than a tenth of the time. */
  readonly minSnapshotInterval?: number;
}

export const DEFAULT_MAX_STALENESS = 30_000;
const DEFAULT_POLL_INTERVAL = 1_000;
/** Records read per query while following. */
const FOLLOW_PAGE = 5_000;
/** Records per query of the background walk after an open from a snapshot: a few ms of hashing each. */
const PREFIX_PAGE = 1_000;
/**
 * Snapshots take at most 1/SNAPSHOT_DUTY of the leader's time: a 1M-contact snapshot costs a few
 * seconds of encoding, so under sustained writes the leader does not spend its time re-encoding.
 */
const SNAPSHOT_DUTY = 10;
const MAX_RECONNECT_DELAY = 10_000;
const REOPEN_FIRST_DELAY = 1_000;
const MAX_REOPEN_DELAY = 60_000;

/** A ChangeListener's extra argument on this store: whether the change was made through this instance. */
export type ChangeOrigin = 'local' | 'remote';

interface AuditRow {
  seq: string;
  line: string;
}

export class PostgresStore implements DncStore {
  readonly schema: string;
  readonly instance: string;
  private readonly s: string;
  private readonly options: PostgresStoreOptions;
  private readonly logger: StoreLogger;
  private readonly maxStaleness: number;
  private readonly pollInterval: number;
  private readonly interner = new StringInterner();
  private readonly listeners = new Set<ChangeListener>();

  private pool: Pool | undefined;
  private follower: Client | undefined;
  private key: AuditKey | undefined;
  private state: StoreState = 'closed';
  private error: Error | undefined;
  private openPromise: Promise<void> | undefined;
  private closing = false;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Holds the session-level advisory lock that makes this instance the one that emits expiries. */
  private leader = false;
  private leading = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = 250;

  private index = new KeyIndex();
  /**
   * The spooled changes folded on top of the view, by key; undefined while nothing is spooled (the
   * usual case: lookups then cost what they cost on the embedded store).
   */
  private pending: Map<string, ContactState> | undefined;
  private spool: ChangeSpool | undefined;
  private profileCount = 0;
  /** Where the view stands in the chain (every record up to `seq` folded in and checked). */
  private chain: ChainVerifier | undefined;
  private readonly head: WriterHead = { seq: 0, hash: GENESIS_HASH, chainKey: null };
  /** When the view was last confirmed current against the database (epoch ms). */
  private syncedAt = 0;
  /** Serialises what moves the view: the writer's transactions and catching up. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private catchingUp: Promise<void> | undefined;
  private writer: PostgresWriter | undefined;
  readonly attemptLog: PostgresAttempts;
  private readonly snapshotEvery: number;
  private readonly minSnapshotInterval: number;
  /** The seq of the newest snapshot this instance read or wrote. */
  private snapshotSeq = 0;
  private snapshotAt = 0;
  /** How long the last snapshot took (ms): the next waits SNAPSHOT_DUTY times that. */
  private snapshotCost = 0;
  private snapshotting: Promise<void> | undefined;
  /**
   * The walk of the whole trail that follows an open from a snapshot (the records before it were not
   * read): undefined once done, or when the open read the whole trail.
   */
  private prefixCheck: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.options = options;
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    this.s = quoteSchema(this.schema);
    this.instance = options.instance ?? `${hostname()}:${process.pid}`;
    this.logger = options.logger ?? { warn: (message) => console.warn(message) };
    this.maxStaleness = Math.max(0, options.maxStaleness ?? DEFAULT_MAX_STALENESS);
    this.pollInterval = Math.max(10, options.pollInterval ?? DEFAULT_POLL_INTERVAL);
    this.attemptLog = new PostgresAttempts(this.s, this.instance);
    this.snapshotEvery = Math.max(1, options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY);
    this.minSnapshotInterval = Math.max(0, options.minSnapshotInterval ?? MIN_SNAPSHOT_INTERVAL);
  }

  /** The NOTIFY channel of this schema (a quoted identifier: any schema name fits). */
  private get channel(): string {
    return `dncflow_${this.schema}`;
  }

  open(): Promise<void> {
    this.stopped = false;
    this.openPromise ??= this.load();
    return this.openPromise;
  }

  private async load(): Promise<void> {
    this.state = 'opening';
    this.error = undefined;
    // A reopen after a failed open starts again from nothing: what a half-done open folded is dropped.
    this.resetView();
    let fromSnapshot: boolean;
    try {
      await this.options.openAfter?.catch(() => undefined);
      const pool = new Pool(this.connectionConfig('dncflow'));
      // An idle client's error (the server restarted) must not crash Node-RED: the next query reconnects.
      pool.on('error', (error) => this.logger.warn(`DNC store (PostgreSQL): ${error.message}`));
      pool.on('connect', (client) => {
        // A checked-out client whose connection drops emits 'error' besides failing its query: without a
        // listener that would be an uncaught exception. The failed query reports it to its caller.
        client.on('error', () => undefined);
      });
      this.pool = pool;
      const client = await pool.connect();
      try {
        await migrate(client, this.schema);
        const head = await readHead(client, this.s);
        this.key = await this.resolveKey(head.chainKey);
        fromSnapshot = await this.loadSnapshot(client, head.seq);
      } finally {
        client.release();
      }
      if (this.options.spoolPath !== undefined) {
        this.spool = new ChangeSpool(this.options.spoolPath);
        // Changes acknowledged as queued before a restart: enforced from the start, written below.
        await this.spool.open();
      }
      this.writer = new PostgresWriter({
        spool: this.spool,
        pool,
        schema: this.s,
        channel: this.channel,
        instance: this.instance,
        key: this.key,
        acceptedKeyId: this.options.acceptAuditKeyChange?.trim() || undefined,
        index: this.index,
        interner: this.interner,
        head: this.head,
        host: this.writerHost,
      });
      await this.catchUp();
      this.rebuildPending();
      await this.attemptLog.open(pool);
      await this.listen();
      this.state = 'ready';
      this.schedulePoll();
      this.writer.kick();
      if (fromSnapshot) this.checkPrefix();
      this.maybeSnapshot();
    } catch (error) {
      this.state = 'unavailable';
      this.error = unavailable(error, `cannot open the PostgreSQL store (schema "${this.schema}")`);
      await this.release();
      // The database down at start, or a migration its owner has yet to run: try again, with backoff,
      // so that the instance recovers without a restart (checks fail closed meanwhile).
      this.scheduleReopen();
      throw this.error;
    }
    this.reopenDelay = REOPEN_FIRST_DELAY;
  }

  private resetView(): void {
    this.index = new KeyIndex();
    this.profileCount = 0;
    this.head.seq = 0;
    this.head.hash = GENESIS_HASH;
    this.head.chainKey = null;
    this.chain = undefined;
    this.snapshotSeq = 0;
  }

  /**
   * Starts the view from the newest usable snapshot (snapshots.ts says which are), or from nothing.
   * True when a snapshot was used. A snapshot that cannot be read is a slower start, not a failure.
   */
  private async loadSnapshot(client: PoolClient, headSeq: number): Promise<boolean> {
    const key = this.key!;
    let loaded;
    try {
      loaded = await loadSnapshot(client, this.s, this.schema, key, headSeq, this.interner, (seq, why) =>
        this.logger.warn(
          `DNC store (PostgreSQL): the snapshot at record ${seq} is not used: ${why}; reading the trail instead`,
        ),
      );
    } catch (error) {
      this.logger.warn(
        `DNC store (PostgreSQL): cannot read the snapshots (${(error as Error).message}); reading the whole trail`,
      );
      loaded = undefined;
    }
    this.chain = new ChainVerifier(loaded?.chain ?? GENESIS_STATE, key);
    if (loaded === undefined) return false;
    this.index = loaded.index;
    this.profileCount = loaded.contacts;
    this.head.seq = loaded.chain.seq;
    this.head.hash = loaded.chain.head;
    this.head.chainKey = loaded.chain.chainKey;
    this.snapshotSeq = loaded.chain.seq;
    return true;
  }

  /**
   * After an open from a snapshot, the records before it are walked once, in the background (checks are
   * answered meanwhile from the snapshot, whose MAC proves an instance holding the key wrote it). A
   * record found altered fails the store closed, as it would have failed the open.
   */
  private checkPrefix(): void {
    const run = this.walkTrail(PREFIX_PAGE)
      .then((result) => {
        if (result.badSeq !== undefined && !this.closing && this.state === 'ready') {
          const error = new DncError(
            'DNC_STORE_UNAVAILABLE',
            `DNC store unavailable: the shared audit trail fails verification at record ${result.badSeq}: ${result.problem}`,
          );
          this.logger.warn(error.message);
          this.failClosed(error);
        }
      })
      .catch((error: unknown) => {
        // The database went away during the walk: verify() walks again when asked.
        if (!this.closing)
          this.logger.warn(
            `DNC store (PostgreSQL): the check of the trail before the snapshot stopped: ${(error as Error).message}`,
          );
      })
      .finally(() => {
        if (this.prefixCheck === run) this.prefixCheck = undefined;
      });
    this.prefixCheck = run;
  }

  // ---------------------------------------------------------------- snapshots

  /** The leading instance writes a snapshot when enough records have come since the last one. */
  private maybeSnapshot(): void {
    if (
      !this.leader ||
      this.state !== 'ready' ||
      this.closing ||
      this.snapshotting !== undefined ||
      this.head.seq - this.snapshotSeq < this.snapshotEvery ||
      Date.now() - this.snapshotAt < Math.max(this.minSnapshotInterval, SNAPSHOT_DUTY * this.snapshotCost)
    ) {
      return;
    }
    const started = Date.now();
    this.snapshotAt = started;
    const run = this.writeSnapshotNow()
      .then(() => {
        this.snapshotCost = Date.now() - started;
      })
      .catch((error: unknown) => {
        if (!this.closing)
          this.logger.warn(`DNC store (PostgreSQL): writing a snapshot failed: ${(error as Error).message}`);
      })
      .finally(() => (this.snapshotting = undefined));
    this.snapshotting = run;
  }

  /**
   * Writes a snapshot at the current record now, whether or not this instance leads (tests, the bench,
   * an operator before a planned restart of every instance). True when the newest snapshot is then at
   * the record the view stood at.
   */
  async snapshot(): Promise<boolean> {
    await this.snapshotting;
    return this.writeSnapshotNow();
  }

  /** Resolves once the background walk of the trail after an open from a snapshot is over. */
  async trailChecked(): Promise<void> {
    await this.prefixCheck;
  }

  /** Resolves once no snapshot is being written (tests and the bench wait for the leader's). */
  async snapshotWritten(): Promise<void> {
    while (this.snapshotting !== undefined) await this.snapshotting;
  }

  private async writeSnapshotNow(): Promise<boolean> {
    // Taken between two moves of the view, so that the profiles are those of the chain state's seq.
    const capture = await this.serialised((): Promise<SnapshotCapture | undefined> => {
      if (this.state !== 'ready' || this.closing || this.chain === undefined)
        return Promise.resolve(undefined);
      const chain = this.chain.state();
      if (chain.seq !== this.head.seq || chain.seq === 0 || chain.seq === this.snapshotSeq)
        return Promise.resolve(undefined);
      return Promise.resolve({ chain, profiles: [...this.index.profiles()] });
    });
    if (capture === undefined) return this.snapshotSeq === this.head.seq && this.snapshotSeq > 0;
    const written = await writeSnapshot(
      this.pool!,
      this.s,
      this.schema,
      this.key!,
      this.instance,
      capture,
      () => this.closing,
    );
    if (written) this.snapshotSeq = capture.chain.seq;
    return written;
  }

  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenDelay = REOPEN_FIRST_DELAY;
  /** Set by close(): no reopening after it. */
  private stopped = false;

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer !== undefined) return;
    const delay = this.reopenDelay;
    this.reopenDelay = Math.min(MAX_REOPEN_DELAY, delay * 2);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.stopped) return;
      this.openPromise = this.load();
      this.openPromise.catch(() => undefined);
    }, delay);
    this.reopenTimer.unref();
  }

  /**
   * The connection settings: the pool options, the URL, and `synchronous_commit=on` at connection start:
   * acknowledged means committed to disk, whatever the server's or the role's default says.
   */
  private connectionConfig(applicationName: string): PoolConfig {
    const pool = this.options.pool ?? {};
    return {
      // A database that does not answer (a partition, not a refusal) must not hang a catch-up for minutes.
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      ...pool,
      ...(this.options.connectionString ? { connectionString: this.options.connectionString } : {}),
      application_name: applicationName,
      options: `${pool.options ?? ''} -c synchronous_commit=on`.trim(),
    };
  }

  /** The audit key: configured, or the key file's, or a new one when the shared trail has none yet. */
  private async resolveKey(chainKey: string | null): Promise<AuditKey> {
    let key: AuditKey | undefined;
    const configured = this.options.auditKey?.trim();
    if (configured) {
      key = AuditKey.parse(configured);
      if (key === undefined)
        throw new Error('the audit key given is not a key (base64 or hex, at least 16 bytes)');
    } else if (this.options.keyPath !== undefined) {
      key = await readKeyFile(this.options.keyPath);
      if (key === undefined && chainKey === null) {
        key = AuditKey.generate();
        await writePendingKeyFile(this.options.keyPath, key);
        await installPendingKeyFile(this.options.keyPath);
      }
    }
    if (key === undefined) {
      throw new Error(
        chainKey === null
          ? 'no audit key: give one (DNC labels node credentials) or a key file path'
          : `the shared audit trail is keyed with audit key ${chainKey} and this instance has no key:` +
              ' give every instance the same key (DNC labels node credentials, or copy the key file)',
      );
    }
    if (chainKey !== null && chainKey !== key.id && this.options.acceptAuditKeyChange?.trim() !== chainKey) {
      throw new Error(
        `the shared audit trail is keyed with audit key ${chainKey}, this instance has key ${key.id}:` +
          ' every instance sharing the database needs the same key (if that key is lost for good,' +
          ` accept the change with acceptAuditKeyChange "${chainKey}")`,
      );
    }
    return key;
  }

  status(): StoreStatus & {
    readonly type: 'postgres';
    readonly lag: number | null;
    readonly snapshotSeq: number;
  } {
    const stale = this.state === 'ready' && this.isStale();
    return {
      type: 'postgres',
      state: stale ? 'unavailable' : this.state,
      ...(this.error ? { error: this.error } : stale ? { error: this.staleError() } : {}),
      contacts: this.profileCount,
      keys: this.index.size,
      seq: this.head.seq,
      // The snapshot the view started from or last wrote (0: none).
      snapshotSeq: this.snapshotSeq,
      // How long ago the view was last confirmed current (the replication lag an operator watches).
      lag: this.state === 'ready' ? Math.max(0, Date.now() - this.syncedAt) : null,
    };
  }

  // ---------------------------------------------------------------- following

  private isStale(): boolean {
    return Date.now() - this.syncedAt > this.maxStaleness;
  }

  private staleError(): DncError {
    return new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: the PostgreSQL store has not been reachable for more than` +
        ` ${Math.round(this.maxStaleness / 1000)} s (maxStaleness): changes made on other instances may be missing`,
    );
  }

  /** Runs `task` alone: no other writer transaction or catch-up moves the view meanwhile. */
  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(task, task);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /** Reads and folds every record committed after the view's seq; concurrent calls share one run. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.serialised(async () => {
      const client = await this.pool!.connect();
      const before = this.head.seq;
      try {
        await this.foldCommitted(client, Infinity);
      } finally {
        client.release();
      }
      this.syncedAt = Date.now();
      if (this.head.seq !== before) this.rebuildPending();
    })
      .then(() => {
        this.writer?.kick();
        this.maybeSnapshot();
      })
      .finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  /**
   * Folds the committed records after the view's seq, up to `until`, checking each against the chain.
   * Must run serialised. Other instances' records are announced to the listeners as remote changes.
   */
  private async foldCommitted(client: PoolClient, until: number): Promise<void> {
    for (;;) {
      const rows = await client.query<AuditRow>(
        `SELECT seq, line FROM ${this.s}.audit WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${FOLLOW_PAGE}`,
        [this.head.seq, Number.isFinite(until) ? until : Number.MAX_SAFE_INTEGER],
      );
      for (const row of rows.rows) this.foldRecordLine(row.line);
      if (rows.rows.length < FOLLOW_PAGE) return;
    }
  }

  private foldRecordLine(line: string): void {
    const checked = this.chain!.next(line, true);
    if (checked.problem !== undefined) {
      const error = new DncError(
        'DNC_STORE_UNAVAILABLE',
        `DNC store unavailable: the shared audit trail fails verification: ${checked.problem}`,
      );
      this.failClosed(error);
      throw error;
    }
    const record = checked.record!;
    const view: StateView = {
      get: (key) => this.index.get(key),
      set: (key, state) => this.index.set(key, state),
    };
    const fold = foldChange(view, recordToChange(record), this.interner);
    this.profileCount += fold.profileDelta;
    const state: ChainState = this.chain!.state();
    this.head.seq = state.seq;
    this.head.hash = state.head;
    this.head.chainKey = state.chainKey;
    // Loading at open is not news: only what is followed once the store is ready is announced (as the
    // embedded store does not announce its replay).
    if (this.state === 'ready') this.announce(record, fold.contact, 'remote');
  }

  private announce(record: AuditRecord, contact: ContactState | undefined, origin: ChangeOrigin): void {
    for (const listener of this.listeners) {
      try {
        listener(record, contact, origin);
      } catch (error) {
        this.logger.warn(`DNC store: a change listener threw: ${String(error)}`);
      }
    }
  }

  private async listen(): Promise<void> {
    const client = new Client(this.connectionConfig('dncflow-follow'));
    client.on('error', (error) => {
      this.logger.warn(`DNC store (PostgreSQL): the change feed failed: ${error.message}`);
      this.dropFollower(client);
    });
    client.on('end', () => this.dropFollower(client));
    client.on('notification', () => this.wake());
    await client.connect();
    await client.query(`LISTEN "${this.channel}"`);
    this.follower = client;
    await this.tryLead(client);
    this.reconnectDelay = 250;
    // Anything committed between the last catch-up and LISTEN taking effect.
    this.wake();
  }

  /**
   * One instance leads: the one whose change-feed session holds the advisory lock. The lock goes with
   * the session, so a leader that dies or loses its connection hands over at the next poll of another.
   */
  private async tryLead(client: Client): Promise<void> {
    if (this.leader || this.leading) return;
    this.leading = true;
    try {
      await this.takeLead(client);
    } finally {
      this.leading = false;
    }
    this.maybeSnapshot();
  }

  private async takeLead(client: Client): Promise<void> {
    // The comment names the schema in pg_stat_activity, where `dncflow migrate` looks for instances
    // following a source (the bind parameter does not show there). The schema is a checked plain name.
    const row = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext($1)) AS locked /* dncflow:lead:${this.schema} */`,
      [`dncflow:lead:${this.schema}`],
    );
    this.leader = row.rows[0].locked;
  }

  private dropFollower(client: Client): void {
    if (this.follower !== client) return;
    this.leader = false;
    this.follower = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing || this.state === 'closed' || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(MAX_RECONNECT_DELAY, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().catch((error: unknown) => {
        this.logger.warn(`DNC store (PostgreSQL): reconnecting failed: ${(error as Error).message}`);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  /** A notification (or the poll): catch up, logging (not throwing) a database that cannot answer. */
  private wake(): void {
    if (this.state !== 'ready' && this.state !== 'opening') return;
    this.catchUp().catch((error: unknown) => {
      if (!this.closing)
        this.logger.warn(`DNC store (PostgreSQL): catching up failed: ${(error as Error).message}`);
    });
  }

  private schedulePoll(): void {
    this.pollTimer = setInterval(() => {
      this.wake();
      const follower = this.follower;
      if (follower !== undefined && !this.leader) this.tryLead(follower).catch(() => undefined);
      this.attemptLog.follow().catch(() => undefined);
    }, this.pollInterval);
    this.pollTimer.unref();
  }

  private failClosed(error: DncError): void {
    this.state = 'unavailable';
    this.error = error;
  }

  // ---------------------------------------------------------------- reads

  private assertReady(): void {
    if (this.state !== 'ready') {
      throw (
        this.error ??
        new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store (PostgreSQL, schema "${this.schema}") is ${this.state}`,
        )
      );
    }
    if (this.isStale()) throw this.staleError();
  }

  lookup(key: string): ContactState | undefined {
    this.assertReady();
    const pending = this.pending;
    return (pending !== undefined ? pending.get(key) : undefined) ?? this.index.get(key);
  }

  lookupAll(keys: readonly string[]): ContactState[] {
    this.assertReady();
    const pending = this.pending;
    const profiles: ContactState[] = [];
    for (const key of keys) {
      const profile = (pending !== undefined ? pending.get(key) : undefined) ?? this.index.get(key);
      if (profile !== undefined && !profiles.includes(profile)) profiles.push(profile);
    }
    return profiles;
  }

  *contacts(): IterableIterator<ContactState> {
    this.assertReady();
    const pending = this.pending;
    if (pending === undefined) {
      yield* this.index.profiles();
      return;
    }
    // The spooled profiles replace the committed ones they touch; each profile once.
    const seen = new Set<ContactState>();
    for (const profile of pending.values()) {
      if (!seen.has(profile)) {
        seen.add(profile);
        yield profile;
      }
    }
    for (const profile of this.index.profiles()) {
      if (!profile.keys.some((key) => pending.has(key))) yield profile;
    }
  }

  /** Folds the spooled changes on top of the committed view (none spooled: no overlay at all). */
  private rebuildPending(): void {
    const spooled = this.spool?.pending() ?? [];
    if (spooled.length === 0) {
      this.pending = undefined;
      return;
    }
    const overlay = new Map<string, ContactState>();
    const view: StateView = {
      get: (key) => overlay.get(key) ?? this.index.get(key),
      set: (key, state) => overlay.set(key, state),
    };
    for (const { change } of spooled) foldChange(view, change, this.interner);
    this.pending = overlay;
  }

  /** Spooled changes: folded on top of the pending view at once; their provisional (queued) results. */
  private foldSpooled(changes: readonly FoldableChange[]): ChangeResult[] {
    const overlay = this.pending ?? new Map<string, ContactState>();
    const view: StateView = {
      get: (key) => overlay.get(key) ?? this.index.get(key),
      set: (key, state) => overlay.set(key, state),
    };
    const results = changes.map((change) => {
      const fold = foldChange(view, change, this.interner);
      const record: AuditRecord = { ...recordContent(0, '', change, fold.changed, undefined), hash: '' };
      return {
        record,
        changed: fold.changed,
        unchanged: unchangedLabels(change.labels, fold.changed),
        contact: fold.contact,
        queued: true,
      };
    });
    this.pending = overlay;
    return results;
  }

  async audit(query: AuditQuery = {}): Promise<AuditRecord[]> {
    this.assertReady();
    const where: string[] = ['seq <= $1'];
    const values: unknown[] = [this.head.seq];
    const add = (condition: (n: string) => string, value: unknown): void => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (query.keys !== undefined) add((n) => `keys && ${n}::text[]`, [...query.keys]);
    if (query.label !== undefined) add((n) => `${n} = ANY(labels)`, query.label);
    if (query.source !== undefined) add((n) => `source = ${n}`, query.source);
    if (query.since !== undefined)
      add((n) => `at >= to_timestamp(${n}::double precision / 1000)`, query.since);
    if (query.until !== undefined)
      add((n) => `at <= to_timestamp(${n}::double precision / 1000)`, query.until);
    const limit =
      query.limit !== undefined && Number.isFinite(query.limit)
        ? ` LIMIT ${Math.max(0, Math.trunc(query.limit))}`
        : '';
    const rows = await this.pool!.query<AuditRow>(
      `SELECT seq, line FROM ${this.s}.audit WHERE ${where.join(' AND ')} ORDER BY seq DESC${limit}`,
      values,
    );
    return rows.rows.reverse().map((row) => JSON.parse(row.line) as AuditRecord);
  }

  /**
   * Walks the whole shared trail from the first record with the store's key, then checks that it ends
   * at the chain head every writer moves (a record deleted or cut off behind the triggers' back).
   */
  async verify(): Promise<AuditVerification> {
    this.assertReady();
    return this.walkTrail(FOLLOW_PAGE);
  }

  /** verify()'s walk, `page` records per query (smaller in the background: each page is hashed at once). */
  private async walkTrail(page: number): Promise<AuditVerification> {
    const key = this.key!;
    const verifier = new ChainVerifier(GENESIS_STATE, key);
    const client = await this.pool!.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const head = await readHead(client, this.s);
      let after = 0;
      for (;;) {
        if (this.closing) throw new Error('the store is closing');
        const rows = await client.query<AuditRow>(
          `SELECT seq, line FROM ${this.s}.audit WHERE seq > $1 ORDER BY seq LIMIT ${page}`,
          [after],
        );
        for (const row of rows.rows) {
          const checked = verifier.next(row.line, false);
          if (checked.problem !== undefined) {
            const records = verifier.state().seq;
            return { ok: false, records, badSeq: records + 1, problem: checked.problem };
          }
          after = Number(row.seq);
        }
        if (rows.rows.length < page) break;
      }
      const state = verifier.state();
      if (state.seq !== head.seq || state.head !== head.hash) {
        return {
          ok: false,
          records: state.seq,
          badSeq: state.seq + 1,
          problem: `the trail holds ${state.seq} valid records but the chain head says ${head.seq} were written (records deleted)`,
        };
      }
      return chainVerification(state);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  /** Listeners hear every instance's changes, with their origin (`local` or `remote`). */
  onChange(listener: ChangeListener): () => void {
    const entry: ChangeListener = (record, contact, origin) => listener(record, contact, origin);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /**
   * Changes are taken while the store is open, stale or not: the writer commits them, or spools them
   * when the database cannot be reached (without a spool it refuses them, DNC_STORE_UNAVAILABLE).
   */
  acceptsChanges(): boolean {
    return this.state === 'ready' && !this.closing;
  }

  /** Whether this instance holds the leader lock (one instance at a time emits label expiries). */
  leads(): boolean {
    return this.leader && this.state === 'ready';
  }

  // ---------------------------------------------------------------- writes

  apply(change: LabelChange): Promise<ChangeResult> {
    if (this.state !== 'ready' || this.closing) {
      return Promise.reject(
        this.error ??
          new DncError(
            'DNC_STORE_UNAVAILABLE',
            `DNC store (PostgreSQL) is ${this.closing ? 'closing' : this.state}`,
          ),
      );
    }
    try {
      return this.writer!.write(normaliseChange(change));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private readonly writerHost = {
    spooled: (changes: readonly FoldableChange[]) => this.foldSpooled(changes),
    spoolFlushed: () => this.rebuildPending(),
    failClosed: (error: unknown) =>
      this.failClosed(
        error instanceof DncError && error.code === 'DNC_STORE_UNAVAILABLE'
          ? error
          : unavailable(error, 'the changes spooled while PostgreSQL was unreachable cannot be written'),
      ),
    serialised: <T>(task: () => Promise<T>) => this.serialised(task),
    foldCommitted: (client: PoolClient, until: number) => this.foldCommitted(client, until),
    foldLines: (lines: readonly string[]) => {
      for (const line of lines) this.foldRecordLine(line);
    },
    committed: (results: readonly ChangeResult[], profileDelta: number) => {
      this.profileCount += profileDelta;
      this.syncedAt = Date.now();
      // Keep the follower's chain position in step with our own appends.
      this.chain = new ChainVerifier(
        { ...this.chain!.state(), seq: this.head.seq, head: this.head.hash, chainKey: this.head.chainKey },
        this.key!,
      );
      for (const result of results) this.announce(result.record, result.contact, 'local');
      if (this.pending !== undefined) this.rebuildPending();
      this.maybeSnapshot();
    },
    writable: () => this.state === 'ready' && !this.closing,
    notWritable: () =>
      this.error ?? new DncError('DNC_STORE_UNAVAILABLE', `DNC store (PostgreSQL) is ${this.state}`),
  };

  // ---------------------------------------------------------------- attempts

  recordAttempt(record: AttemptRecord, guard?: AttemptGuard): Promise<void> {
    if (this.state !== 'ready') return Promise.reject(this.notReady());
    return this.attemptLog.record(record, guard);
  }

  attempts(key: string, since: number): readonly AttemptRecord[] {
    this.assertReady();
    return this.attemptLog.attempts(key, since);
  }

  pruneAttempts(before: number): Promise<number> {
    return this.attemptLog.prune(before);
  }

  // ---------------------------------------------------------------- tables beside the trail

  /**
   * One statement on the store's pool, for the API's tables (import jobs, idempotency keys: jobs.ts,
   * idempotency.ts). Rejects with DNC_STORE_UNAVAILABLE unless the store is open (it owns the pool and
   * replaces it when it reopens); the caller maps the database's own errors.
   */
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    const pool = this.pool;
    if (pool === undefined || this.state !== 'ready') return Promise.reject(this.notReady());
    return pool.query<R>(text, values);
  }

  private notReady(): Error {
    return this.error ?? new DncError('DNC_STORE_UNAVAILABLE', `DNC store (PostgreSQL) is ${this.state}`);
  }

  // ---------------------------------------------------------------- close

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    this.closing = true;
    try {
      await this.openPromise?.catch(() => undefined);
      await this.writer?.idle();
      await this.exclusive;
      // A snapshot being written stops at its next part; the background walk at its next page.
      await this.snapshotting;
      await this.prefixCheck;
    } finally {
      await this.release();
      this.resetView();
      this.state = 'closed';
      this.openPromise = undefined;
      this.closing = false;
    }
  }

  private async release(): Promise<void> {
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    this.pollTimer = undefined;
    this.reconnectTimer = undefined;
    const follower = this.follower;
    this.follower = undefined;
    this.leader = false;
    if (follower) {
      follower.removeAllListeners();
      follower.on('error', () => undefined);
      await follower.end().catch(() => undefined);
    }
    const pool = this.pool;
    this.pool = undefined;
    this.writer = undefined;
    this.pending = undefined;
    await this.spool?.close();
    this.spool = undefined;
    this.attemptLog.close();
    if (pool) await pool.end().catch(() => undefined);
  }
}

function unavailable(error: unknown, what: string): DncError {
  if (error instanceof DncError && error.code === 'DNC_STORE_UNAVAILABLE') return error;
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `DNC store unavailable: ${what}: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}
