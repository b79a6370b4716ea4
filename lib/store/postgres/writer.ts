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
 */
import type { Pool, PoolClient } from 'pg';
import { DncError } from '../../errors';
import type { ChangeResult, ContactState } from '../types';
import type { KeyIndex } from '../key-index';
import { sealRecord, type AuditKey } from '../audit-hash';
import { foldChange, type FoldableChange, type StateView, type StringInterner } from '../state';
import { recordContent, unchangedLabels } from '../changes';
import { readHead } from './schema';

/** Changes per transaction: large enough that a flood commits in few round trips, small enough to ack early. */
const MAX_BATCH = 512;

/** The record the next append chains onto, as the view knows it. */
export interface WriterHead {
  seq: number;
  hash: string;
  chainKey: string | null;
}

interface PendingChange {
  readonly change: FoldableChange;
  readonly resolve: (result: ChangeResult) => void;
  readonly reject: (error: unknown) => void;
}

export interface PostgresWriterHost {
  /** Runs a task while nothing else moves the view. */
  serialised<T>(task: () => Promise<T>): Promise<T>;
  /** Folds records committed by other instances, up to `until`, through this client's transaction. */
  foldCommitted(client: PoolClient, until: number): Promise<void>;
  /** A batch committed and was merged into the view (head already moved). */
  committed(results: readonly ChangeResult[], profileDelta: number): void;
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
}

export class PostgresWriter {
  private readonly queue: PendingChange[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly options: PostgresWriterOptions) {}

  write(change: FoldableChange): Promise<ChangeResult> {
    return new Promise<ChangeResult>((resolve, reject) => {
      this.queue.push({ change, resolve, reject });
      this.start();
    });
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
    const host = this.options.host;
    while (this.queue.length > 0) {
      if (!host.writable()) {
        const error = host.notWritable();
        for (const pending of this.queue.splice(0)) pending.reject(error);
        return;
      }
      const items = this.queue.splice(0, MAX_BATCH);
      await host.serialised(() => this.commitBatch(items));
    }
  }

  private async commitBatch(items: PendingChange[]): Promise<void> {
    const { pool, schema: s, key, index, head, host } = this.options;
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      rejectAll(items, unreachable(error));
      return;
    }
    const overlay = new Map<string, ContactState>();
    const results: ChangeResult[] = [];
    let profileDelta = 0;
    let next: WriterHead;
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const locked = await readHead(client, s, true);
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
      const view: StateView = {
        get: (k) => overlay.get(k) ?? index.get(k),
        set: (k, state) => overlay.set(k, state),
      };
      const rows: unknown[] = [];
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
          rows.push({
            seq,
            line: sealed.line.slice(0, -1),
            keys: record.keys,
            labels: [...new Set([...record.labels, ...record.changed])],
            source: record.source,
            at: record.at,
          });
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
      await client.query(
        `INSERT INTO ${s}.audit (seq, line, keys, labels, source, at, instance)
         SELECT (r->>'seq')::bigint, r->>'line',
                ARRAY(SELECT jsonb_array_elements_text(r->'keys')),
                ARRAY(SELECT jsonb_array_elements_text(r->'labels')),
                r->>'source', (r->>'at')::timestamptz, $2
           FROM jsonb_array_elements($1::jsonb) AS r`,
        [JSON.stringify(rows), this.options.instance],
      );
      await client.query(`UPDATE ${s}.chain_head SET seq = $1, hash = $2, chain_key = $3 WHERE id = 1`, [
        next.seq,
        next.hash,
        next.chainKey,
      ]);
      await client.query('SELECT pg_notify($1, $2)', [this.options.channel, String(next.seq)]);
      await client.query('COMMIT');
    } catch (error) {
      broken = error;
      await client.query('ROLLBACK').catch(() => undefined);
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
      return;
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
