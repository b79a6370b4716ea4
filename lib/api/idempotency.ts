/**
 * `Idempotency-Key` on writes: a client that retries a request (a timeout, a lost answer) with the same
 * key and the same body gets the first response replayed and nothing is applied twice; the same key with
 * a different body is a 409. Keys are scoped by caller (admin user or API token) and configuration, kept
 * for 24 hours.
 *
 * Where the keys live is an IdempotencyStore: IdempotencyCache (below) holds them in this process's
 * memory, at most `maxEntries` of them (the oldest go first), for the embedded store (one process; a
 * restart forgets them, which is safe for label changes: adding or removing a label twice changes nothing
 * the second time). With the PostgreSQL store they live in the database (lib/store/postgres/idempotency.ts),
 * so a retry that reaches another instance, or the same one after a restart, is replayed too.
 * runIdempotent() holds the rules both share.
 */
import { createHash } from 'node:crypto';
import { ApiError, invalid } from './errors';

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Entry {
  readonly fingerprint: string;
  readonly expiresAt: number;
  /** Pending while the first request runs. */
  response: StoredResponse | null;
  /** The claim's: a late complete/forget of an older claim leaves a newer one alone. */
  readonly token: string;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function fingerprintOf(...parts: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(typeof part === 'string' ? part : part);
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

/** What claiming a key found. */
export type Claim =
  /** The key is this request's now: run it, then `complete` (or `forget`) with this token. */
  | { readonly kind: 'new'; readonly token: string }
  /** The same request was answered: send this again. */
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  /** The key was used with another request. */
  | { readonly kind: 'conflict' }
  /** The same request is still running (here or on another instance). */
  | { readonly kind: 'running' };

/** Where idempotency keys are kept: this process's memory, or the shared database. */
export interface IdempotencyStore {
  /** Claims (scope, key) for a request with this fingerprint; atomic (two claims: one gets `new`). */
  claim(scope: string, key: string, fingerprint: string): Promise<Claim>;
  /** Stores the answer of the claimed request (replayed until the key expires). */
  complete(scope: string, key: string, token: string, response: StoredResponse): Promise<void>;
  /** Gives the claim up: a retry runs the request again. */
  forget(scope: string, key: string, token: string): Promise<void>;
}

const STILL_RUNNING = 'a request with this Idempotency-Key is still running: retry once it has finished';

/**
 * Runs `work` once per (scope, key): a repeat with the same fingerprint replays the stored response,
 * a repeat with another fingerprint or while the first is still running is a 409.
 * Responses with status 5xx or 429 are not kept (the client should retry them for real), nor is an
 * error thrown (not answered). A store that cannot be asked (the database down) rejects before `work`
 * runs: nothing is applied without the guarantee.
 */
export async function runIdempotent(
  store: IdempotencyStore,
  scope: string,
  key: string,
  fingerprint: string,
  work: () => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const claim = await store.claim(scope, key, fingerprint);
  if (claim.kind === 'conflict') {
    throw new ApiError(
      409,
      'DNC_IDEMPOTENCY_CONFLICT',
      'this Idempotency-Key was used with a different request: use a new key for a new request',
      'Idempotency-Key',
    );
  }
  if (claim.kind === 'running') {
    throw new ApiError(409, 'DNC_IDEMPOTENCY_CONFLICT', STILL_RUNNING, 'Idempotency-Key', {
      'Retry-After': '1',
    });
  }
  if (claim.kind === 'replay') return { ...claim.response, replayed: true };
  let response: StoredResponse;
  try {
    response = await work();
  } catch (err) {
    await store.forget(scope, key, claim.token).catch(() => undefined);
    throw err;
  }
  // The work is done: its answer goes to the client even when it cannot be stored. The claim then stays
  // pending, and the store lets a retry run again once a pending claim is old enough to be abandoned.
  if (response.status >= 500 || response.status === 429) {
    await store.forget(scope, key, claim.token).catch(() => undefined);
  } else {
    await store.complete(scope, key, claim.token, response).catch(() => undefined);
  }
  return { ...response, replayed: false };
}

/** Keys in this process's memory (the embedded store: one process). */
export class IdempotencyCache implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private tokens = 0;

  constructor(
    private readonly ttlMs = 24 * 3_600_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Validates the header value: 1 to 255 printable ASCII characters. */
  static keyFrom(header: string | string[] | undefined): string | null {
    if (header === undefined) return null;
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw invalid('Idempotency-Key must be 1 to 255 printable ASCII characters', 'Idempotency-Key');
    }
    return header;
  }

  /** As runIdempotent() on this cache. */
  run(
    scope: string,
    key: string,
    fingerprint: string,
    work: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    return runIdempotent(this, scope, key, fingerprint, work);
  }

  claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    const id = `${scope}\u0000${key}`;
    const now = this.now();
    const held = this.entries.get(id);
    if (held !== undefined && held.expiresAt > now) {
      if (held.fingerprint !== fingerprint) return Promise.resolve({ kind: 'conflict' });
      if (held.response === null) return Promise.resolve({ kind: 'running' });
      return Promise.resolve({ kind: 'replay', response: held.response });
    }
    this.evict(now);
    const token = String(++this.tokens);
    this.entries.set(id, { fingerprint, expiresAt: now + this.ttlMs, response: null, token });
    return Promise.resolve({ kind: 'new', token });
  }

  complete(scope: string, key: string, token: string, response: StoredResponse): Promise<void> {
    const entry = this.entries.get(`${scope}\u0000${key}`);
    if (entry !== undefined && entry.token === token) entry.response = response;
    return Promise.resolve();
  }

  forget(scope: string, key: string, token: string): Promise<void> {
    const id = `${scope}\u0000${key}`;
    if (this.entries.get(id)?.token === token) this.entries.delete(id);
    return Promise.resolve();
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(id);
    }
    for (const [id, entry] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (entry.response !== null) this.entries.delete(id);
    }
  }
}
