/**
 * `Idempotency-Key` on writes: a client that retries a request (a timeout, a lost answer) with the same
 * key and the same body gets the first response replayed and nothing is applied twice; the same key with
 * a different body is a 409. Keys are scoped by caller (admin user or API token) and configuration, kept
 * for 24 hours, at most `maxEntries` of them (the oldest go first). Held in memory: a restart forgets
 * them, which is safe for label changes (adding or removing a label twice changes nothing the second time).
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

export class IdempotencyCache {
  private readonly entries = new Map<string, Entry>();

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

  /**
   * Runs `work` once per (scope, key): a repeat with the same fingerprint replays the stored response,
   * a repeat with another fingerprint or while the first is still running is a 409.
   * Responses with status 5xx or 429 are not kept (the client should retry them for real).
   */
  async run(
    scope: string,
    key: string,
    fingerprint: string,
    work: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const id = `${scope}\u0000${key}`;
    const now = this.now();
    const held = this.entries.get(id);
    if (held !== undefined && held.expiresAt > now) {
      if (held.fingerprint !== fingerprint) {
        throw new ApiError(
          409,
          'DNC_IDEMPOTENCY_CONFLICT',
          'this Idempotency-Key was used with a different request: use a new key for a new request',
          'Idempotency-Key',
        );
      }
      if (held.response === null) {
        throw new ApiError(
          409,
          'DNC_IDEMPOTENCY_CONFLICT',
          'a request with this Idempotency-Key is still running: retry once it has finished',
          'Idempotency-Key',
          { 'Retry-After': '1' },
        );
      }
      return { ...held.response, replayed: true };
    }
    this.evict(now);
    const entry: Entry = { fingerprint, expiresAt: now + this.ttlMs, response: null };
    this.entries.set(id, entry);
    try {
      const response = await work();
      if (response.status >= 500 || response.status === 429) this.entries.delete(id);
      else entry.response = response;
      return { ...response, replayed: false };
    } catch (err) {
      // An error thrown (not answered) is not remembered: a retry runs again.
      this.entries.delete(id);
      throw err;
    }
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
