/**
 * Attempt records (frequency caps, cooling-off) on the PostgreSQL store: shared by every instance and
 * kept in memory per key, so that `attempts(key, since)` stays synchronous like the embedded store's.
 * Records are appended under a lock on `attempt_head`, which numbers them in commit order; each instance
 * follows the numbers (at every append, and at the store's poll) so it counts every instance's attempts.
 */
import type { Pool, PoolClient } from 'pg';
import { DncError } from '../../errors';
import type { AttemptGuard, AttemptRecord } from '../types';
import { ATTEMPT_COLUMNS, attemptFromRow, attemptRow, insertAttemptRows, type AttemptRowOut } from './rows';

const EMPTY: readonly AttemptRecord[] = Object.freeze([]);
const MAX_BATCH = 1000;

interface Pending {
  readonly record: AttemptRecord;
  readonly guard?: AttemptGuard;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class PostgresAttempts {
  private readonly byKey = new Map<string, AttemptRecord[]>();
  private pool: Pool | undefined;
  /** The last record folded into memory. */
  private seq = 0;
  private readonly queue: Pending[] = [];
  private writer: Promise<void> | undefined;
  /** Serialises following and appending (both move `seq`). */
  private jobs: Promise<unknown> = Promise.resolve();

  constructor(
    /** The quoted schema name. */
    private readonly s: string,
    private readonly instance: string,
  ) {}

  async open(pool: Pool): Promise<void> {
    this.pool = pool;
    this.byKey.clear();
    this.seq = 0;
    await this.follow();
  }

  close(): void {
    this.pool = undefined;
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.jobs.then(task, task);
    this.jobs = run.catch(() => undefined);
    return run;
  }

  /** Reads the records other instances appended since the last read. */
  follow(): Promise<void> {
    const pool = this.pool;
    if (!pool) return Promise.resolve();
    return this.serialised(async () => {
      const client = await pool.connect();
      try {
        await this.foldAfter(client);
      } finally {
        client.release();
      }
    });
  }

  private async foldAfter(client: PoolClient): Promise<void> {
    for (;;) {
      const rows = await client.query<AttemptRowOut>(
        `SELECT ${ATTEMPT_COLUMNS} FROM ${this.s}.attempts WHERE seq > $1 ORDER BY seq LIMIT 10000`,
        [this.seq],
      );
      for (const row of rows.rows) {
        this.index(attemptFromRow(row));
        this.seq = Number(row.seq);
      }
      if (rows.rows.length < 10000) return;
    }
  }

  private index(record: AttemptRecord): void {
    for (const key of record.keys) {
      const list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, [record]);
      else {
        // Oldest first: a record from an instance whose clock lags goes to its place.
        let at = list.length;
        while (at > 0 && list[at - 1].at > record.at) at--;
        list.splice(at, 0, record);
      }
    }
  }

  attempts(key: string, since: number): readonly AttemptRecord[] {
    const list = this.byKey.get(key);
    if (list === undefined) return EMPTY;
    let first = 0;
    while (first < list.length && list[first].at < since) first++;
    return first === 0 ? list : list.slice(first);
  }

  record(record: AttemptRecord, guard?: AttemptGuard): Promise<void> {
    if (
      record === null ||
      typeof record !== 'object' ||
      !Array.isArray(record.keys) ||
      record.keys.length === 0 ||
      typeof record.at !== 'number' ||
      !Number.isFinite(record.at) ||
      typeof record.source !== 'string'
    ) {
      return Promise.reject(
        new DncError('DNC_INVALID_INPUT', 'not a valid attempt record', { field: 'attempt' }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, guard, resolve, reject });
      this.writer ??= this.write().finally(() => (this.writer = undefined));
    });
  }

  private async write(): Promise<void> {
    await Promise.resolve();
    while (this.queue.length > 0) {
      const items = this.queue.splice(0, MAX_BATCH);
      await this.serialised(() => this.append(items));
    }
  }

  private async append(batch: Pending[]): Promise<void> {
    let items = batch;
    const pool = this.pool;
    if (!pool) {
      const error = new DncError('DNC_STORE_UNAVAILABLE', 'attempt records unavailable: the store is closed');
      for (const item of items) item.reject(error);
      return;
    }
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      for (const item of items) item.reject(unavailable(error));
      return;
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const head = await client.query<{ seq: string }>(
        `SELECT seq FROM ${this.s}.attempt_head WHERE id = 1 FOR UPDATE`,
      );
      // Others' records first, so this instance's view of every key stays complete and in order.
      if (Number(head.rows[0].seq) > this.seq) await this.foldAfter(client);
      // The guards, in order, against every attempt committed before (any instance) and the ones this
      // batch accepted before them: two instances racing for a cap's last attempt cannot both get it.
      const accepted: Pending[] = [];
      for (const item of items) {
        const refusal = item.guard?.((key, since) => {
          const earlier = accepted.filter((a) => a.record.at >= since && a.record.keys.includes(key));
          const known = this.attempts(key, since);
          return earlier.length === 0 ? known : [...known, ...earlier.map((a) => a.record)];
        });
        if (refusal === undefined) accepted.push(item);
        else item.reject(refusal);
      }
      items = accepted;
      const first = this.seq + 1;
      const rows = items.map(({ record }, i) => attemptRow(record, first + i));
      await client.query(insertAttemptRows(this.s, rows, this.instance));
      await client.query(`UPDATE ${this.s}.attempt_head SET seq = $1 WHERE id = 1`, [
        first + items.length - 1,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      for (const item of items)
        item.reject(
          new DncError('DNC_STORE_ERROR', `the attempt was not recorded: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      return;
    } finally {
      client.release(broken);
    }
    for (const { record } of items) this.index(record);
    this.seq += items.length;
    for (const item of items) item.resolve();
  }

  /** Drops records older than `before` here and in the database (any instance may prune). */
  async prune(before: number): Promise<number> {
    let dropped = 0;
    for (const [key, list] of this.byKey) {
      const kept = list.filter((record) => record.at >= before);
      dropped += list.length - kept.length;
      if (kept.length === 0) this.byKey.delete(key);
      else if (kept.length !== list.length) this.byKey.set(key, kept);
    }
    if (this.pool) await this.pool.query(`DELETE FROM ${this.s}.attempts WHERE at < $1`, [before]);
    return dropped;
  }
}

function unavailable(error: unknown): DncError {
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `attempt records unavailable: PostgreSQL cannot be reached: ${(error as Error).message}`,
    { cause: error },
  );
}
