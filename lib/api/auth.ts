/**
 * Bearer tokens and the rate limit of the public mount.
 *
 * Tokens are compared in constant time: the presented token and every configured token are hashed
 * (SHA-256, so lengths no longer matter) and compared with `timingSafeEqual`, and every configured token
 * is compared on every request, so neither the position of a match nor a common prefix shows in timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Access = 'read' | 'write';

export interface ApiToken {
  readonly token: string;
  readonly access: Access;
}

/** Shortest token accepted: 24 characters (a generated token is 43). */
export const MIN_TOKEN_LENGTH = 24;
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export interface TokenMatch {
  readonly access: Access;
  /** A stable, non-secret name for the token (rate-limit and idempotency scope, logs). */
  readonly id: string;
}

export class TokenSet {
  private readonly entries: { hash: Buffer; access: Access; id: string }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => {
      const hash = digest(t.token);
      return { hash, access: t.access, id: `token:${hash.toString('hex').slice(0, 12)}` };
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The matching token's access, or null. Compares against every token, always. */
  match(presented: string): TokenMatch | null {
    const hash = digest(presented);
    let found: TokenMatch | null = null;
    for (const entry of this.entries) {
      // Non-short-circuit: evaluate timingSafeEqual for every entry.
      const same = timingSafeEqual(hash, entry.hash);
      if (same && found === null) found = { access: entry.access, id: entry.id };
    }
    return found;
  }
}

/** Splits a credential field (tokens separated by spaces, commas or new lines) into tokens; rejects weak ones. */
export function parseTokens(text: unknown, access: Access): { tokens: ApiToken[]; problems: string[] } {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  if (typeof text !== 'string') return { tokens, problems };
  for (const token of text.split(/[\s,]+/)) {
    if (token === '') continue;
    if (token.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
      problems.push(
        `a ${access === 'write' ? 'read-write' : 'read-only'} token is ignored: tokens need at least ${MIN_TOKEN_LENGTH} printable characters`,
      );
      continue;
    }
    tokens.push({ token, access });
  }
  return { tokens, problems };
}

/** The token from `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}

/**
 * Token buckets per key (a token id, or a client address for failed authentications): `perMinute`
 * requests a minute on average, bursts up to `burst`. Memory is bounded: at most `maxKeys` buckets,
 * full buckets are dropped first.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly ratePerMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number = Math.max(1, Math.ceil(perMinute / 6)),
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** 0 when the request may go ahead, else the seconds to wait (for Retry-After). */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.ratePerMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000));
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.ratePerMs >= this.burst) this.buckets.delete(key);
    }
    // Still full (a flood of distinct keys): forget the oldest half.
    if (this.buckets.size >= this.maxKeys) {
      let drop = this.buckets.size / 2;
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
