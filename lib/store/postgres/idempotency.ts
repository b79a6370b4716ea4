/**
 * The HTTP API's Idempotency-Keys in the PostgreSQL store's database (migration 3, `idempotency_keys`):
 * a retry that reaches another instance, or this one after a restart, is replayed, never run twice.
 *
 * Claiming is one INSERT ... ON CONFLICT: of two instances receiving the same key at the same moment,
 * one inserts (and runs the request), the other finds the row (409 still running, or the replay once
 * the first has answered). The rules are lib/api/idempotency.ts's (runIdempotent). Times are the
 * database's clock, so instances whose clocks differ agree on what has expired.
 * - A key is kept `ttl` (24 h) from its claim; expired rows are taken over by a new claim, and deleted
 *   by any instance at most once a minute (so the table does not grow without bound).
 * - A claim left pending (the instance died mid-request, or could not store the answer) does not block
 *   its key for a day: once it is `pendingLimit` old (2 min; a request holds its claim for as long as it
 *   runs, seconds at most) a new claim takes it over and the request runs again (a label change applied
 *   twice changes nothing the second time). A late answer of the old claim is then dropped (token).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { DncError } from '../../errors';
import type { Claim, IdempotencyStore, StoredResponse } from '../../api/idempotency';
import { quoteSchema } from './schema';
import type { PostgresStore } from './store';

export const IDEMPOTENCY_TTL = 24 * 3_600_000;
export const PENDING_LIMIT = 2 * 60_000;
const PRUNE_EVERY = 60_000;

interface KeyRow extends QueryResultRow {
  fingerprint: string;
  status: number | null;
  body: unknown;
  headers: Record<string, string> | null;
}

export class PostgresIdempotency implements IdempotencyStore {
  private readonly s: string;
  private readonly ttl: number;
  private readonly pendingLimit: number;
  private prunedAt = 0;

  constructor(
    private readonly store: Pick<PostgresStore, 'query' | 'schema' | 'instance'>,
    options: { ttl?: number; pendingLimit?: number } = {},
  ) {
    this.s = quoteSchema(store.schema);
    this.ttl = options.ttl ?? IDEMPOTENCY_TTL;
    this.pendingLimit = options.pendingLimit ?? PENDING_LIMIT;
  }

  private async query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.store.query<R>(text, values)).rows;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    this.prune();
    const id = scopeId(scope);
    // A row deleted between the INSERT that found it and the SELECT (its request failed: forgotten) is
    // claimed again; a row cannot vanish more than a few times in a row.
    for (let attempt = 0; attempt < 5; attempt++) {
      const token = randomUUID();
      const claimed = await this.query(
        `INSERT INTO ${this.s}.idempotency_keys AS k (scope, key, fingerprint, token, expires_at, instance)
         VALUES ($1, $2, $3, $4, now() + $5::double precision * interval '1 millisecond', $6)
         ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token,
           status = NULL, body = NULL, headers = NULL, claimed_at = now(), expires_at = EXCLUDED.expires_at,
           instance = EXCLUDED.instance
         WHERE k.expires_at <= now()
            OR (k.status IS NULL AND k.claimed_at <= now() - $7::double precision * interval '1 millisecond')
         RETURNING token`,
        [id, key, fingerprint, token, this.ttl, this.store.instance, this.pendingLimit],
      );
      if (claimed.length === 1) return { kind: 'new', token };
      const held = await this.query<KeyRow>(
        `SELECT fingerprint, status, body, headers FROM ${this.s}.idempotency_keys WHERE scope = $1 AND key = $2`,
        [id, key],
      );
      if (held.length === 0) continue;
      const row = held[0];
      if (row.fingerprint !== fingerprint) return { kind: 'conflict' };
      if (row.status === null) return { kind: 'running' };
      const response: StoredResponse = {
        status: row.status,
        body: row.body,
        ...(row.headers === null ? {} : { headers: row.headers }),
      };
      return { kind: 'replay', response };
    }
    return { kind: 'running' };
  }

  async complete(scope: string, key: string, token: string, response: StoredResponse): Promise<void> {
    await this.query(
      `UPDATE ${this.s}.idempotency_keys SET status = $4, body = $5::json, headers = $6::json
       WHERE scope = $1 AND key = $2 AND token = $3 AND status IS NULL`,
      [
        scopeId(scope),
        key,
        token,
        response.status,
        JSON.stringify(response.body ?? null),
        response.headers === undefined ? null : JSON.stringify(response.headers),
      ],
    );
  }

  async forget(scope: string, key: string, token: string): Promise<void> {
    await this.query(`DELETE FROM ${this.s}.idempotency_keys WHERE scope = $1 AND key = $2 AND token = $3`, [
      scopeId(scope),
      key,
      token,
    ]);
  }

  /** Deletes expired keys, at most once a minute from this instance; a failure waits for the next. */
  private prune(): void {
    const now = Date.now();
    if (now - this.prunedAt < PRUNE_EVERY) return;
    this.prunedAt = now;
    this.query(`DELETE FROM ${this.s}.idempotency_keys WHERE expires_at <= now()`, []).catch(() => undefined);
  }
}

/**
 * The scope (configuration, caller, route, separated by NUL, which PostgreSQL text cannot hold) as a
 * fixed-length hash: one column, and no user or token names in the table.
 */
function scopeId(scope: string): string {
  return createHash('sha256').update(scope).digest('hex');
}

function unavailable(error: unknown): DncError {
  if (error instanceof DncError) return error;
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `idempotency keys unavailable: PostgreSQL did not answer: ${(error as Error).message}`,
    { cause: error },
  );
}
