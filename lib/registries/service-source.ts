/**
 * A registry answered by a wash or lookup service rather than a downloaded file: Australia's Do Not Call
 * Register (a wash is a defence for 30 days), Singapore's DNC check service (results valid 21 days) and
 * commercial scrub services.
 *
 * A request carries up to `batchSize` numbers (URL template, method, headers, body template); the service's
 * answer is handed to a response mapper (a function: the Node-RED node builds it from a JSONata expression)
 * that says, per number, listed or not. Around that: a timeout per attempt (AbortController), retries with
 * exponential backoff that honour `Retry-After` (seconds or an HTTP date), a limit on requests in flight, a
 * circuit breaker (open after `breakerThreshold` consecutive failed attempts, a half-open probe after
 * `breakerCooldownMs`), and a result cache whose lifetime is the registry's validity (`maxAgeDays`).
 *
 * Lookups fail closed and have the file registry's shape ({ registry, result, asOf, reason, detail }):
 * - the service cannot answer (down, timeouts, circuit open, malformed answer): `unavailable` with reason
 *   REGISTRY_UNAVAILABLE; or `stale` (REGISTRY_STALE) when an expired "not listed" for the number is all
 *   there is; an expired "listed" answers `listed` with `stale: true` (a listing blocks, stale or not);
 * - a number missing from an otherwise good answer (a partial answer) is `unavailable`, never `not-listed`;
 * - a number outside the registry's calling codes is `not-listed` (OUTSIDE_REGISTRY) without a request;
 * - `asOf` is when the number was washed (the service's answer), which is what the validity counts from.
 *
 * The parts: the options and their defaults are service-options.ts, one request (templates, timeout, status
 * codes, reading the answer) service-request.ts, the breaker circuit-breaker.ts; the batching, the cache,
 * the concurrency limit and the retries are here.
 *
 * No Node-RED and no JSONata here: lib stays framework-free.
 */
import { performance } from 'node:perf_hooks';
import type { CircuitState } from './circuit-breaker';
import type { RegistryId } from './known-registries';
import type { SourceLookupResult, SourceReasonCode } from './lookup-result';
import { e164ToKey } from './number-keys';
import {
  resolveServiceOptions,
  type ResolvedServiceOptions,
  type ServiceSourceOptions,
} from './service-options';
import { AttemptError, ServiceCalls } from './service-calls';
import { ServiceClient } from './service-request';

const DAY_MS = 86_400_000;

export interface ServiceSourceStatus {
  registry: RegistryId;
  name: string;
  kind: 'service';
  state: 'ready' | 'unavailable' | 'closed';
  circuit: CircuitState;
  consecutiveFailures: number;
  inFlight: number;
  queued: number;
  cached: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  maxAgeDays: number;
}

interface CacheEntry {
  listed: boolean;
  at: number;
}

export class ServiceRegistrySource {
  /** Lookups return promises: callers take the async path. */
  readonly async = true as const;
  readonly kind = 'service' as const;
  readonly id: RegistryId;
  readonly name: string;
  readonly maxAgeDays: number;
  readonly callingCodes: readonly string[] | null;
  /** The state whose callees it answers for (USPS code), or null for every callee. */
  readonly state: string | null;
  readonly batchSize: number;
  private readonly options: ResolvedServiceOptions;
  private readonly now: () => number;
  private readonly client: ServiceClient;
  private readonly calls: ServiceCalls;
  private readonly cache = new Map<string, CacheEntry>();
  /** Numbers being washed now: a second asker waits for the same answer. */
  private readonly pending = new Map<string, Promise<SourceLookupResult>>();

  constructor(options: ServiceSourceOptions) {
    const resolved = resolveServiceOptions(options);
    this.id = resolved.id;
    this.name = resolved.name;
    this.maxAgeDays = resolved.maxAgeDays;
    this.callingCodes = resolved.callingCodes;
    this.state = resolved.state;
    this.batchSize = resolved.batchSize;
    this.options = resolved;
    this.now = resolved.now;
    this.calls = new ServiceCalls(resolved);
    this.client = new ServiceClient(resolved, this.calls);
  }

  /** Nothing to load: resolves at once (the same life cycle as a file registry). */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Aborts requests in flight; every pending lookup answers `unavailable`. The cache is dropped. */
  async close(): Promise<void> {
    this.calls.close();
    await Promise.allSettled([...this.pending.values()]);
    this.cache.clear();
  }

  /** Whether the registry can list this E.164 number at all (by calling code). */
  covers(e164: string): boolean {
    const codes = this.callingCodes;
    if (!codes) return true;
    for (const code of codes) if (e164.startsWith(code, 1)) return true;
    return false;
  }

  status(): ServiceSourceStatus {
    const calls = this.calls;
    return {
      registry: this.id,
      name: this.name,
      kind: 'service',
      state: calls.state,
      circuit: calls.circuit,
      consecutiveFailures: calls.consecutiveFailures,
      inFlight: calls.inFlight,
      queued: calls.queued,
      cached: this.cache.size,
      lastError: calls.lastError,
      lastSuccessAt: calls.lastSuccessAt === null ? null : new Date(calls.lastSuccessAt).toISOString(),
      maxAgeDays: this.maxAgeDays,
    };
  }

  /** Forgets cached results (all, or those of the given numbers). */
  forget(numbers?: readonly string[]): void {
    if (numbers === undefined) this.cache.clear();
    else for (const n of numbers) this.cache.delete(n);
  }

  lookup(e164: string): Promise<SourceLookupResult> {
    return this.lookupMany([e164]).then((results) => results[0]);
  }

  /**
   * Looks a batch up: cached results within their validity answer at once, the rest are washed in
   * requests of `batchSize`, at most `concurrency` at a time. Never rejects: failures are results.
   */
  async lookupMany(numbers: readonly string[]): Promise<SourceLookupResult[]> {
    const at = this.now();
    const results = new Array<SourceLookupResult | Promise<SourceLookupResult>>(numbers.length);
    const misses: string[] = [];
    const missSet = new Set<string>();
    for (let i = 0; i < numbers.length; i++) {
      const e164 = numbers[i];
      if (typeof e164 !== 'string' || Number.isNaN(e164ToKey(e164))) {
        results[i] = this.result('unavailable', 'INVALID_NUMBER', null, 'not an E.164 number');
        continue;
      }
      if (!this.covers(e164)) {
        results[i] = this.result('not-listed', 'OUTSIDE_REGISTRY', null);
        continue;
      }
      const cached = this.cache.get(e164);
      if (cached !== undefined && at - cached.at <= this.maxAgeDays * DAY_MS) {
        results[i] = this.fromCache(cached);
        continue;
      }
      const inFlight = this.pending.get(e164);
      if (inFlight !== undefined) {
        results[i] = inFlight;
        continue;
      }
      if (!missSet.has(e164)) {
        missSet.add(e164);
        misses.push(e164);
      }
    }
    if (misses.length > 0) {
      for (let start = 0; start < misses.length; start += this.batchSize) {
        const chunk = misses.slice(start, start + this.batchSize);
        const answer = this.washBatch(chunk);
        chunk.forEach((e164, j) => {
          const one = answer.then((list) => list[j]);
          this.pending.set(e164, one);
          void one.finally(() => {
            if (this.pending.get(e164) === one) this.pending.delete(e164);
          });
        });
      }
      for (let i = 0; i < numbers.length; i++) {
        if (results[i] === undefined) results[i] = this.pending.get(numbers[i])!;
      }
    }
    return Promise.all(results.map((r) => Promise.resolve(r)));
  }

  // ---------------------------------------------------------------------------------------------

  private result(
    result: SourceLookupResult['result'],
    reason: SourceReasonCode,
    asOf: string | null,
    detail?: string,
  ): SourceLookupResult {
    return detail === undefined
      ? { registry: this.id, result, asOf, reason }
      : { registry: this.id, result, asOf, reason, detail };
  }

  private fromCache(entry: CacheEntry): SourceLookupResult {
    const asOf = new Date(entry.at).toISOString();
    return entry.listed
      ? this.result('listed', 'LISTED', asOf)
      : this.result('not-listed', 'NOT_LISTED', asOf);
  }

  /** When the service cannot answer: the expired result when there is one (stale), else unavailable. */
  private failed(e164: string, why: string): SourceLookupResult {
    const expired = this.cache.get(e164);
    if (expired !== undefined) {
      const asOf = new Date(expired.at).toISOString();
      if (expired.listed) {
        // An expired "listed" is still a listing: it blocks even where failures are allowed.
        return {
          registry: this.id,
          result: 'listed',
          asOf,
          reason: 'LISTED',
          stale: true,
          detail: `listed by the result of ${asOf.slice(0, 10)}, older than ${this.maxAgeDays} days; the service cannot answer: ${why}`,
        };
      }
      return this.result(
        'stale',
        'REGISTRY_STALE',
        asOf,
        `the result of ${asOf.slice(0, 10)} is older than ${this.maxAgeDays} days and the service cannot answer: ${why}`,
      );
    }
    return this.result('unavailable', 'REGISTRY_UNAVAILABLE', null, why);
  }

  /** Washes one batch; never rejects. */
  private async washBatch(numbers: readonly string[]): Promise<SourceLookupResult[]> {
    const started = performance.now();
    let attempts = 0;
    let status: number | null = null;
    try {
      const answer = await this.calls.call(
        (onStatus) => this.client.send(numbers, onStatus),
        (n, s) => {
          attempts = n;
          status = s;
        },
      );
      const washedAt = this.now();
      const asOf = new Date(washedAt).toISOString();
      const out = numbers.map((e164) => {
        const listed = answer.get(e164);
        if (listed === undefined) {
          return this.failed(e164, 'the service did not answer for this number (partial answer)');
        }
        this.remember(e164, { listed, at: washedAt });
        return listed ? this.result('listed', 'LISTED', asOf) : this.result('not-listed', 'NOT_LISTED', asOf);
      });
      this.options.onRequest?.({
        registry: this.id,
        ok: true,
        numbers: numbers.length,
        attempts,
        status,
        durationMs: performance.now() - started,
      });
      return out;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.options.onRequest?.({
        registry: this.id,
        ok: false,
        numbers: numbers.length,
        attempts,
        status: err instanceof AttemptError ? err.status : status,
        error: why,
        durationMs: performance.now() - started,
      });
      return numbers.map((e164) => this.failed(e164, why));
    }
  }

  private remember(e164: string, entry: CacheEntry): void {
    const max = this.options.cacheMaxEntries;
    this.cache.delete(e164);
    this.cache.set(e164, entry);
    if (this.cache.size > max) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
