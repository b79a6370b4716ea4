/**
 * The PostgreSQL store's group-commit writer. Changes queue while a transaction runs; the next
 * transaction takes all of them (up to MAX_BATCH):
 *
 *   BEGIN; lock the chain head; fold in the records other instances committed since the view's seq;
 *   fold, seal and INSERT the batch's records; move the head; NOTIFY; COMMIT
 *
 * Locking the head serialises appends across instances, so `seq` is gapless and in commit order, and a
 * batch always folds on top of everything committed before it (a label another instance added a moment
 * ago is "unchanged" here, as on one store). Only once COMMIT returned (synchronous commit: on disk) is
 * the batch merged into the view and acknowledged. A failed transaction rejects its changes and leaves
 * the view as it was; when COMMIT's outcome is unknown (the connection dropped), following reads the
 * records back if they were committed after all, so the view never disagrees with the database.
 *
 * When PostgreSQL cannot be reached and the store has a local spool (spool.ts), a batch is spooled
 * instead of refused: acknowledged as queued once on disk, and written first, in order, when the
 * database answers again (a later change never overtakes a spooled one). Every record carries its
 * change id (`audit.change_id`): a spooled change whose earlier COMMIT did go through is not written twice.
 */
import type { Pool, PoolClient } from 'pg';
import { DncError } from '../../errors';
import type { ChangeResult, ContactState } from '../types';
import type { KeyIndex } from '../key-index';
import { sealRecord, type AuditKey } from '../audit-hash';
import { foldChange, type FoldableChange, type StateView, type StringInterner } from '../state';
import { recordContent, unchangedLabels } from '../changes';
import { auditRow, insertAuditRowsSql, type AuditRow } from './rows';
import { newChangeId, type ChangeSpool } from './spool';

/** Changes per transaction: large enough that a flood commits in few round trips, small enough to ack early. */
const MAX_BATCH = 512;
/** Records read with the lock in the same round trip; more (a long absence) are read page by page. */
const FOLD_PAGE = 1_000;
/** After the database was found unreachable, spool at once for this long before trying it again. */
const RETRY_AFTER_UNREACHABLE_MS = 2_000;

/** The record the next append chains onto, as the view knows it. */
export interface WriterHead {
  seq: number;
  hash: string;
  chainKey: string | null;
}

interface PendingChange {
  /** The change id its audit row carries. */
  readonly id: string;
  readonly change: FoldableChange;
  readonly resolve: (result: ChangeResult) => void;
  readonly reject: (error: unknown) => void;
}

/** What became of a transaction: committed, or not (the database could not be reached, or it refused). */
type BatchOutcome = 'committed' | 'unreachable' | 'failed';

/**
 * Whether an error means the database could not be reached (rather than that it refused the change):
 * connection exceptions (SQLSTATE class 08), a server shutting down or starting (57P01-57P03), and the
 * socket errors of a host that cannot be reached.
 */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'ETIMEDOUT',
        'EHOSTUNREACH',
        'ENETUNREACH',
        'EPIPE',
        'ENOTFOUND',
        'EAI_AGAIN',
      ].includes(code)
    ) {
      return true;
    }
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(
    message,
  );
}

export interface PostgresWriterHost {
  /** Runs a task while nothing else moves the view. */
  serialised<T>(task: () => Promise<T>): Promise<T>;
  /** Folds records committed by other instances, up to `until`, through this client's transaction. */
  foldCommitted(client: PoolClient, until: number): Promise<void>;
  /** Folds committed records already read (their lines, in seq order, from the view's seq on). */
  foldLines(lines: readonly string[]): void;
  /** A batch committed and was merged into the view (head already moved). */
  committed(results: readonly ChangeResult[], profileDelta: number): void;
  /** Changes just spooled (durable locally): folded into the pending view; their queued results. */
  spooled(changes: readonly FoldableChange[]): ChangeResult[];
  /** Spooled changes were written: the pending view is rebuilt from what is left. */
  spoolFlushed(): void;
  /** The database refuses the spooled changes: the store fails closed with this error. */
  failClosed(error: unknown): void;
  writable(): boolean;
  notWritable(): Error;
}

export interface PostgresWriterOptions {
  readonly pool: Pool;
  /** The quoted schema name. */
  readonly schema: string;
  readonly channel: string;
  readonly instance: string;
  readonly key: AuditKey;
  /** A key id the operator accepted to continue from (acceptAuditKeyChange). */
  readonly acceptedKeyId?: string;
  readonly index: KeyIndex;
  readonly interner: StringInterner;
  readonly head: WriterHead;
  readonly host: PostgresWriterHost;
  /** Where changes go while the database cannot be reached; without one they are refused. */
  readonly spool?: ChangeSpool;
}

export class PostgresWriter {
  private readonly queue: PendingChange[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly options: PostgresWriterOptions) {}

  write(change: FoldableChange): Promise<ChangeResult> {
    return new Promise<ChangeResult>((resolve, reject) => {
      this.queue.push({ id: newChangeId(), change, resolve, reject });
      this.start();
    });
  }

  /** The database answers again: write what is spooled (a no-op when nothing is). */
  kick(): void {
    this.unreachableAt = undefined;
    if ((this.options.spool?.size ?? 0) > 0) this.start();
  }

  /** When a transaction last found the database unreachable (cleared when it answers again). */
  private unreachableAt: number | undefined;

  private recentlyUnreachable(): boolean {
    return this.unreachableAt !== undefined && Date.now() - this.unreachableAt < RETRY_AFTER_UNREACHABLE_MS;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private start(): void {
    if (this.running) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.start();
    });
  }

  private async run(): Promise<void> {
    // Let every apply() of the current tick join the first batch.
    await Promise.resolve();
    const { host, spool } = this.options;
    for (;;) {
      if (!host.writable()) {
        const error = host.notWritable();
        for (const pending of this.queue.splice(0)) pending.reject(error);
        return;
      }
      if (spool !== undefined && spool.size > 0) {
        // What was spooled goes first: a later change must not overtake it. While the database was found
        // unreachable a moment ago, new changes join the spool at once rather than each waiting for a
        // connection attempt to time out; the store's next successful catch-up kicks the writer.
        const flushed = this.recentlyUnreachable()
          ? 'unreachable'
          : await host.serialised(() => this.flushSpool(spool));
        if (flushed === 'committed') continue;
        if (flushed === 'failed') {
          // Reachable, but it refuses the spooled changes (another instance's audit key, a trail that
          // fails verification): fail closed; the spool keeps them for after the fix.
          host.failClosed(this.lastError);
          continue;
        }
        if (this.queue.length > 0) await this.spoolItems(this.queue.splice(0));
        return;
      }
      if (this.queue.length === 0) return;
      const items = this.queue.splice(0, MAX_BATCH);
      const outcome = await host.serialised(() => this.commitBatch(items));
      if (outcome === 'unreachable') {
        if (spool === undefined) {
          rejectAll(items, unreachable(this.lastError));
          continue;
        }
        await this.spoolItems(items);
      }
    }
  }

  private lastError: unknown;

  /** Spools changes the database could not take, and acknowledges them as queued once they are on disk. */
  private async spoolItems(items: PendingChange[]): Promise<void> {
    const spool = this.options.spool!;
    try {
      await spool.append(items.map(({ id, change }) => ({ id, change })));
    } catch (error) {
      rejectAll(items, error);
      return;
    }
    const results = this.options.host.spooled(items.map((item) => item.change));
    for (let i = 0; i < items.length; i++) items[i].resolve(results[i]);
  }

  /** Writes the spooled changes, oldest first, a batch per transaction; drops each batch once committed. */
  private async flushSpool(spool: ChangeSpool): Promise<BatchOutcome> {
    while (spool.size > 0) {
      const batch = spool.pending().slice(0, MAX_BATCH);
      const items: PendingChange[] = batch.map(({ id, change }) => ({
        id,
        change,
        // Their callers were answered (queued) when they were spooled.
        resolve: () => undefined,
        reject: () => undefined,
      }));
      const outcome = await this.commitBatch(items, true);
      if (outcome !== 'committed') return outcome;
      await spool.drop(batch.length);
      this.options.host.spoolFlushed();
    }
    return 'committed';
  }

  /**
   * One transaction for `items`. `fromSpool`: the items may have been committed already (a COMMIT whose
   * answer was lost): those whose change id is in the trail are skipped.
   */
  private async commitBatch(items: PendingChange[], fromSpool = false): Promise<BatchOutcome> {
    const { pool, schema: s, key, index, head, host } = this.options;
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      this.lastError = error;
      this.unreachableAt = Date.now();
      return 'unreachable';
    }
    const overlay = new Map<string, ContactState>();
    const results: ChangeResult[] = [];
    let profileDelta = 0;
    let next: WriterHead;
    let broken: unknown;
    try {
      // One round trip: begin, take the chain-head lock (waiting for another instance's transaction),
      // then read what it committed. The lock is held until COMMIT, so every round trip under it
      // costs every instance's writes.
      const opened = (await client.query(
        `BEGIN; SELECT seq, hash, chain_key FROM ${s}.chain_head WHERE id = 1 FOR UPDATE;` +
          ` SELECT seq, line FROM ${s}.audit WHERE seq > ${Math.trunc(head.seq)} ORDER BY seq LIMIT ${FOLD_PAGE}`,
      )) as unknown as [
        unknown,
        { rows: { seq: string; hash: string; chain_key: string | null }[] },
        { rows: { line: string }[] },
      ];
      const headRow = opened[1].rows[0];
      const locked = { seq: Number(headRow.seq), hash: headRow.hash, chainKey: headRow.chain_key };
      const committed = opened[2].rows;
      if (committed.length > 0) host.foldLines(committed.map((row) => row.line));
      if (locked.seq > head.seq) await host.foldCommitted(client, locked.seq);
      if (locked.seq !== head.seq || locked.hash !== head.hash) {
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the shared trail's head (record ${locked.seq}) does not match the records` +
            ` this instance read (up to ${head.seq}): records were deleted or altered`,
        );
      }
      if (
        head.chainKey !== null &&
        head.chainKey !== key.id &&
        head.chainKey !== this.options.acceptedKeyId
      ) {
        // Another instance keys the shared trail with another key (each made its own key file): writing
        // here would switch the chain back and forth, leaving each key's records unprovable to the other.
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: another instance keys the shared audit trail with audit key ${head.chainKey},` +
            ` this instance has key ${key.id}: give every instance the same key (the DNC labels node's` +
            ' credentials, or copy the key file), then restart this one',
        );
      }
      if (fromSpool) {
        const done = await client.query<{ change_id: string }>(
          `SELECT change_id FROM ${s}.audit WHERE change_id = ANY($1::text[])`,
          [items.map((item) => item.id)],
        );
        if (done.rows.length > 0) {
          const committed = new Set(done.rows.map((row) => row.change_id));
          items = items.filter((item) => !committed.has(item.id));
        }
      }
      const view: StateView = {
        get: (k) => overlay.get(k) ?? index.get(k),
        set: (k, state) => overlay.set(k, state),
      };
      const rows: AuditRow[] = [];
      next = { ...head };
      try {
        for (const { change } of items) {
          const fold = foldChange(view, change, this.options.interner);
          const seq = next.seq + 1;
          // The first record this key MACs names it: the switch-over record.
          const keyId = next.chainKey === key.id ? undefined : key.id;
          const sealed = sealRecord(recordContent(seq, next.hash, change, fold.changed, keyId), key);
          next = { seq, hash: sealed.record.hash, chainKey: key.id };
          profileDelta += fold.profileDelta;
          const record = sealed.record;
          rows.push(auditRow(record, sealed.line.slice(0, -1), items[rows.length].id));
          results.push({
            record,
            changed: fold.changed,
            unchanged: unchangedLabels(change.labels, fold.changed),
            contact: fold.contact,
          });
        }
      } catch (error) {
        throw new DncError(
          'DNC_STORE_ERROR',
          `DNC store: the change could not be prepared: ${String(error)}`,
          {
            cause: error,
          },
        );
      }
      // Append, move the head, notify and commit in one round trip: the chain-head lock is held from
      // the open above until this COMMIT, and every round trip under it delays every instance's writes.
      // The simple query protocol takes no parameters, so values go in as escaped literals; it stops at
      // the first failing statement (the transaction is then rolled back below, COMMIT never ran).
      const literal = (value: string): string => client!.escapeLiteral(value);
      await client.query(
        `${insertAuditRowsSql(s, rows, this.options.instance, literal)};` +
          ` UPDATE ${s}.chain_head SET seq = ${Math.trunc(next.seq)}, hash = ${literal(next.hash)},` +
          ` chain_key = ${next.chainKey === null ? 'NULL' : literal(next.chainKey)} WHERE id = 1;` +
          ` SELECT pg_notify(${literal(this.options.channel)}, ${literal(String(next.seq))}); COMMIT`,
      );
    } catch (error) {
      broken = error;
      await client.query('ROLLBACK').catch(() => undefined);
      this.lastError = error;
      if (!(error instanceof DncError) && isUnreachable(error)) {
        this.unreachableAt = Date.now();
        return 'unreachable';
      }
      rejectAll(
        items,
        error instanceof DncError
          ? error
          : new DncError(
              'DNC_STORE_ERROR',
              `DNC store: the change was not saved: ${(error as Error).message}`,
              {
                cause: error,
              },
            ),
      );
      return 'failed';
    } finally {
      // A client whose connection failed is discarded, not returned to the pool.
      client.release(broken instanceof Error && !(broken instanceof DncError) ? broken : undefined);
    }
    for (const [k, state] of overlay) index.set(k, state);
    head.seq = next.seq;
    head.hash = next.hash;
    head.chainKey = next.chainKey;
    host.committed(results, profileDelta);
    for (let i = 0; i < items.length; i++) items[i].resolve(results[i]);
    return 'committed';
  }
}

function rejectAll(items: readonly PendingChange[], error: unknown): void {
  for (const pending of items) pending.reject(error);
}

function unreachable(error: unknown): DncError {
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `DNC store unavailable: PostgreSQL cannot be reached: ${(error as Error).message}`,
    { cause: error },
  );
}
