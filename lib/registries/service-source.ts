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
 * No Node-RED and no JSONata here: lib stays framework-free.
 */
import { performance } from 'node:perf_hooks';
import { nationalPrefixOf } from './national';
import { e164ToKey } from './number-keys';
import {
  checkRegistryId,
  DEFAULT_CALLING_CODES,
  isKnownRegistry,
  registryMaxAgeDays,
  type RegistryId,
} from './known-registries';
import type { RegistryLookupResult, RegistryReasonCode } from './lookup-result';

const DAY_MS = 86_400_000;

/** The file registry's codes plus REGISTRY_UNAVAILABLE: the service could not answer for this number. */
export type SourceReasonCode = RegistryReasonCode | 'REGISTRY_UNAVAILABLE';

/** A lookup result from any registry source (file or service). */
export interface SourceLookupResult extends Omit<RegistryLookupResult, 'reason'> {
  reason: SourceReasonCode;
}

/**
 * What a response mapper may return, per requested number: true (listed) or false (not listed).
 * - a Map or a plain object keyed by number;
 * - an array of `{ number, listed }` objects.
 * Keys may be written as sent, as E.164, or as E.164 digits without `+`. Any number missing, or with a value
 * that is not a boolean (nor "listed" / "not-listed"), is `unavailable` for that number.
 */
export type ResponseMapping =
  | ReadonlyMap<string, unknown>
  | Readonly<Record<string, unknown>>
  | readonly { number?: unknown; listed?: unknown }[];

/** Maps a parsed response body to listed / not listed per number. May throw or reject: the batch fails. */
export type ResponseMapper = (
  responseBody: unknown,
  requestedNumbers: readonly string[],
  context: { sent: readonly string[]; status: number; headers: Headers },
) => ResponseMapping | Promise<ResponseMapping>;

/** How numbers are written in requests: `+61412345678`, `61412345678` or national `0412345678`. */
export type NumberFormat = 'e164' | 'digits' | 'national';

export interface ServiceSourceOptions {
  id: RegistryId;
  name?: string;
  /**
   * URL template. Placeholders: `{numbers}` (the batch, comma-separated, URL-encoded), `{number}` (one
   * number: the batch size is then 1), `{registry}`, and `{name}` for each secret (`{apiKey}`), URL-encoded.
   */
  url: string;
  /** Default POST. */
  method?: 'GET' | 'POST' | 'PUT';
  /** Header values may use the secrets' placeholders (`Authorization: Bearer {apiKey}`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Body template for POST / PUT (default `{"numbers":{numbersJson}}`, sent as application/json unless a
   * Content-Type header says otherwise). Placeholders: `{numbersJson}` (a JSON array), `{numbers}`
   * (comma-separated), `{registry}`, and the secrets.
   */
  body?: string;
  /** Secrets (from Node-RED credentials), substituted where their `{name}` appears. Never logged. */
  secrets?: Readonly<Record<string, string>>;
  /** Numbers per request (default 100). */
  batchSize?: number;
  numberFormat?: NumberFormat;
  /** Trunk prefix for the `national` format (default: the calling code's national prefix, `0` in AU, none in SG). */
  trunkPrefix?: string;
  mapResponse: ResponseMapper;
  /** How long a result is good for (the registry's validity); defaults per registry, required for custom. */
  maxAgeDays?: number;
  /** Calling codes the registry covers (defaults per registry; custom: all). */
  callingCodes?: readonly string[];
  /** Per attempt (default 10000 ms). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  retries?: number;
  /** First backoff (default 500 ms), doubled per retry, capped at maxBackoffMs (default 30000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A Retry-After longer than this ends the retries (default 60000 ms): the caller should not wait. */
  maxRetryAfterMs?: number;
  /** Requests in flight at most (default 4). */
  concurrency?: number;
  /** Consecutive failed attempts that open the circuit (default 5). */
  breakerThreshold?: number;
  /** Time the circuit stays open before one probe request (default 30000 ms). */
  breakerCooldownMs?: number;
  /** Results kept at most (default 1,000,000; the oldest are dropped first). */
  cacheMaxEntries?: number;
  /** Clock (tests). */
  now?: () => number;
  /** fetch (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Called after every request (for status and logs): ok, the HTTP status, numbers, attempts, error. */
  onRequest?: (event: ServiceRequestEvent) => void;
}

export interface ServiceRequestEvent {
  registry: RegistryId;
  ok: boolean;
  numbers: number;
  attempts: number;
  status: number | null;
  error?: string;
  durationMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

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

/** Why one attempt failed, and whether another attempt may help. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | null,
    /** ms to wait before retrying, from Retry-After. */
    readonly retryAfterMs: number | null = null,
    /** Counts toward the circuit breaker (429 does not: the service is alive and asking us to slow down). */
    readonly breaker = true,
  ) {
    super(message);
  }
}

class ClosedError extends Error {
  constructor() {
    super('the registry source is closed');
  }
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

function substitute(template: string, values: Readonly<Record<string, string>>, encode: boolean): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name)
      ? encode
        ? encodeURIComponent(values[name])
        : values[name]
      : whole,
  );
}

function positive(value: number | undefined, fallback: number, field: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${field} must be a number >= ${min}`);
  return value;
}

export class ServiceRegistrySource {
  /** Lookups return promises: callers take the async path. */
  readonly async = true as const;
  readonly kind = 'service' as const;
  readonly id: RegistryId;
  readonly name: string;
  readonly maxAgeDays: number;
  readonly callingCodes: readonly string[] | null;
  readonly batchSize: number;
  private readonly options: ServiceSourceOptions;
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly cache = new Map<string, CacheEntry>();
  /** Numbers being washed now: a second asker waits for the same answer. */
  private readonly pending = new Map<string, Promise<SourceLookupResult>>();
  private readonly controllers = new Set<AbortController>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private failures = 0;
  private circuit: CircuitState = 'closed';
  private openedAt = 0;
  private probing = false;
  private lastError: string | null = null;
  private lastSuccessAt: number | null = null;
  private closed = false;

  constructor(options: ServiceSourceOptions) {
    checkRegistryId(options.id);
    const known = isKnownRegistry(options.id) ? options.id : null;
    const maxAgeDays = registryMaxAgeDays(options.id, options.maxAgeDays);
    if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url.trim())) {
      throw new RangeError(`registry ${options.id}: the service URL must start with http:// or https://`);
    }
    if (typeof options.mapResponse !== 'function') {
      throw new RangeError(`registry ${options.id}: a response mapper is needed`);
    }
    this.id = options.id;
    this.name = options.name ?? options.id;
    this.maxAgeDays = maxAgeDays;
    this.callingCodes = options.callingCodes ?? (known ? DEFAULT_CALLING_CODES[known] : null);
    const batch = Math.floor(positive(options.batchSize, 100, 'batchSize'));
    this.batchSize = options.url.includes('{number}') ? 1 : batch;
    positive(options.timeoutMs, 10_000, 'timeoutMs');
    positive(options.retries, 2, 'retries', 0);
    positive(options.concurrency, 4, 'concurrency');
    positive(options.breakerThreshold, 5, 'breakerThreshold');
    this.options = options;
    this.now = options.now ?? Date.now;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  /** Nothing to load: resolves at once (the same life cycle as a file registry). */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Aborts requests in flight; every pending lookup answers `unavailable`. The cache is dropped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers) controller.abort(new ClosedError());
    for (const entry of this.timers) {
      clearTimeout(entry.timer);
      entry.reject(new ClosedError());
    }
    this.timers.clear();
    for (const wake of this.waiting.splice(0)) wake();
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
    this.refreshCircuit();
    return {
      registry: this.id,
      name: this.name,
      kind: 'service',
      state: this.closed ? 'closed' : this.circuit === 'open' ? 'unavailable' : 'ready',
      circuit: this.circuit,
      consecutiveFailures: this.failures,
      inFlight: this.active,
      queued: this.waiting.length,
      cached: this.cache.size,
      lastError: this.lastError,
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
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
      if (this.closed) throw new ClosedError();
      await this.acquire();
      try {
        const answer = await this.withRetries(numbers, (n, s) => {
          attempts = n;
          status = s;
        });
        const washedAt = this.now();
        this.lastSuccessAt = washedAt;
        const asOf = new Date(washedAt).toISOString();
        const out = numbers.map((e164) => {
          const listed = answer.get(e164);
          if (listed === undefined) {
            return this.failed(e164, 'the service did not answer for this number (partial answer)');
          }
          this.remember(e164, { listed, at: washedAt });
          return listed
            ? this.result('listed', 'LISTED', asOf)
            : this.result('not-listed', 'NOT_LISTED', asOf);
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
      } finally {
        this.release();
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (!(err instanceof ClosedError)) this.lastError = why;
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
    const max = this.options.cacheMaxEntries ?? 1_000_000;
    this.cache.delete(e164);
    this.cache.set(e164, entry);
    if (this.cache.size > max) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  // --- concurrency ------------------------------------------------------------------------------

  private async acquire(): Promise<void> {
    const limit = this.options.concurrency ?? 4;
    while (this.active >= limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.closed) throw new ClosedError();
    }
    this.active += 1;
  }

  private release(): void {
    this.active -= 1;
    const next = this.waiting.shift();
    if (next !== undefined) next();
  }

  // --- circuit breaker --------------------------------------------------------------------------

  private refreshCircuit(): void {
    const cooldown = this.options.breakerCooldownMs ?? 30_000;
    if (this.circuit === 'open' && this.now() - this.openedAt >= cooldown) this.circuit = 'half-open';
  }

  /** Throws when the circuit does not let an attempt through; returns whether this attempt is the probe. */
  private admit(): boolean {
    this.refreshCircuit();
    if (this.circuit === 'closed') return false;
    if (this.circuit === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    throw new AttemptError(
      `circuit open after ${this.failures} consecutive failures (last: ${this.lastError ?? 'unknown'})`,
      false,
      null,
      null,
      false,
    );
  }

  private succeeded(probe: boolean): void {
    if (probe) this.probing = false;
    this.failures = 0;
    this.circuit = 'closed';
  }

  private attemptFailed(probe: boolean, err: AttemptError): void {
    if (probe) this.probing = false;
    if (!err.breaker) return;
    this.failures += 1;
    if (probe || this.failures >= (this.options.breakerThreshold ?? 5)) {
      this.circuit = 'open';
      this.openedAt = this.now();
    }
  }

  // --- requests ---------------------------------------------------------------------------------

  private async withRetries(
    numbers: readonly string[],
    progress: (attempts: number, status: number | null) => void,
  ): Promise<Map<string, boolean>> {
    const retries = this.options.retries ?? 2;
    const base = this.options.backoffMs ?? 500;
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    const maxRetryAfter = this.options.maxRetryAfterMs ?? 60_000;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new ClosedError();
      const probe = this.admit();
      let error: AttemptError;
      try {
        const answer = await this.attempt(numbers, (s) => progress(attempt + 1, s));
        this.succeeded(probe);
        return answer;
      } catch (err) {
        if (err instanceof ClosedError) throw err;
        error =
          err instanceof AttemptError
            ? err
            : new AttemptError(err instanceof Error ? err.message : String(err), false, null);
        this.attemptFailed(probe, error);
        this.lastError = error.message;
      }
      if (!error.retryable || attempt >= retries) throw error;
      let wait = Math.min(maxBackoff, base * 2 ** attempt);
      if (error.retryAfterMs !== null) {
        if (error.retryAfterMs > maxRetryAfter) {
          throw new AttemptError(
            `${error.message}; Retry-After asks for ${Math.round(error.retryAfterMs / 1000)} s, more than ${Math.round(maxRetryAfter / 1000)} s`,
            false,
            error.status,
          );
        }
        wait = Math.max(error.retryAfterMs, 0);
      }
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.timers.add(entry);
    });
  }

  private format(e164: string): string {
    const format = this.options.numberFormat ?? 'e164';
    if (format === 'e164') return e164;
    if (format === 'digits') return e164.slice(1);
    const code = this.callingCodes?.find((c) => e164.startsWith(c, 1));
    if (code === undefined) return e164;
    // The calling code's own national prefix (libphonenumber-js metadata): `0` in Australia, none in Italy
    // or Singapore, where the national number is written as it follows the calling code.
    return `${this.options.trunkPrefix ?? nationalPrefixOf(code)}${e164.slice(1 + code.length)}`;
  }

  private async attempt(
    numbers: readonly string[],
    onStatus: (status: number | null) => void,
  ): Promise<Map<string, boolean>> {
    const sent = numbers.map((n) => this.format(n));
    const secrets = this.options.secrets ?? {};
    const values: Record<string, string> = {
      ...secrets,
      registry: this.id,
      numbers: sent.join(','),
      number: sent[0] ?? '',
      numbersJson: JSON.stringify(sent),
    };
    const url = substitute(this.options.url.trim(), values, true);
    const method = this.options.method ?? 'POST';
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.options.headers ?? {})) {
      headers.set(name, substitute(value, secrets, false));
    }
    let body: string | undefined;
    if (method !== 'GET') {
      body = substitute(this.options.body ?? '{"numbers":{numbersJson}}', values, false);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    if (!headers.has('accept')) headers.set('accept', 'application/json');

    const controller = new AbortController();
    this.controllers.add(controller);
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    let response: Response;
    let text: string;
    try {
      try {
        response = await this.fetchImpl(url, { method, headers, body, signal: controller.signal });
        onStatus(response.status);
        text = await response.text();
      } catch (err) {
        if (this.closed) throw new ClosedError();
        const reason = controller.signal.aborted ? (controller.signal.reason as unknown) : err;
        const timedOut = reason instanceof Error && reason.message === 'timeout';
        throw new AttemptError(
          timedOut
            ? `no answer within ${timeoutMs} ms`
            : `request failed: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
          true,
          null,
        );
      }
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
    const status = response.status;
    if (status === 429) {
      throw new AttemptError(
        'HTTP 429 Too Many Requests',
        true,
        status,
        parseRetryAfter(response.headers.get('retry-after'), this.now()),
        false,
      );
    }
    if (status === 408 || status >= 500) {
      throw new AttemptError(
        `HTTP ${status}`,
        true,
        status,
        status === 503 ? parseRetryAfter(response.headers.get('retry-after'), this.now()) : null,
      );
    }
    if (status < 200 || status >= 300) {
      // 400, 401, 403, 404...: asking again will not help (a wrong key, a wrong URL).
      throw new AttemptError(`HTTP ${status}: ${text.slice(0, 200)}`, false, status);
    }
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      throw new AttemptError(`the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`, false, status);
    }
    let mapping: ResponseMapping;
    try {
      mapping = await this.options.mapResponse(parsed, numbers, { sent, status, headers: response.headers });
    } catch (err) {
      throw new AttemptError(
        `the response mapping failed: ${err instanceof Error ? err.message : String(err)}`,
        false,
        status,
      );
    }
    return this.readMapping(mapping, numbers, sent);
  }

  /** The mapper's answer, keyed by the E.164 numbers asked for; anything unrecognised is left out. */
  private readMapping(
    mapping: ResponseMapping,
    numbers: readonly string[],
    sent: readonly string[],
  ): Map<string, boolean> {
    const byName = new Map<string, string>();
    numbers.forEach((e164, i) => {
      byName.set(e164, e164);
      byName.set(e164.slice(1), e164);
      byName.set(sent[i], e164);
    });
    const out = new Map<string, boolean>();
    const take = (key: unknown, value: unknown) => {
      if (typeof key !== 'string' && typeof key !== 'number') return;
      const e164 = byName.get(String(key).replace(/[\s().-]/g, ''));
      if (e164 === undefined) return;
      const listed =
        value === true || value === 'listed'
          ? true
          : value === false || value === 'not-listed' || value === 'not listed'
            ? false
            : undefined;
      if (listed === undefined) return;
      // The same number answered twice, once each way: listed wins (the safe direction).
      out.set(e164, (out.get(e164) ?? false) || listed);
    };
    if (mapping instanceof Map) {
      for (const [key, value] of mapping) take(key, value);
    } else if (Array.isArray(mapping)) {
      for (const item of mapping as readonly unknown[]) {
        if (item !== null && typeof item === 'object') {
          const { number, listed } = item as { number?: unknown; listed?: unknown };
          take(number, listed);
        }
      }
    } else if (mapping !== null && typeof mapping === 'object') {
      for (const [key, value] of Object.entries(mapping)) take(key, value);
    } else {
      throw new AttemptError(
        'the response mapping must give an object, a Map or a list of { number, listed }',
        false,
        null,
      );
    }
    return out;
  }
}
