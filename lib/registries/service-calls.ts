/**
 * What every registry source that asks a service over HTTP shares (the wash services of service-source.ts
 * and the Reassigned Numbers Database of reassigned-numbers.ts): one exchange with a timeout, the status
 * codes read as "ask again" or "give up", retries with a doubling backoff and Retry-After, the circuit
 * breaker, a concurrency limit, and close(), which aborts what is in flight and wakes what waits.
 *
 * Every failure is an AttemptError (the source answers REGISTRY_UNAVAILABLE with its message) or, once
 * closed, a ClosedError: the sources fail closed whatever goes wrong here.
 */
import { CircuitBreaker, type CircuitState } from './circuit-breaker';

/** Why one attempt failed, and whether another attempt may help. */
export class AttemptError extends Error {
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

export class ClosedError extends Error {
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

/**
 * A response's status as the failure of its attempt, null for 2xx. 429 and 503 may carry Retry-After;
 * 408, 429 and 5xx are worth another attempt; any other status (a wrong key, URL or account: 400, 401,
 * 403, 404) is not. `detail` says what the service said, for the message.
 */
export function statusFailure(response: Response, now: number, detail: () => string): AttemptError | null {
  const status = response.status;
  if (status >= 200 && status < 300) return null;
  if (status === 429) {
    const wait = parseRetryAfter(response.headers.get('retry-after'), now);
    return new AttemptError('HTTP 429 Too Many Requests', true, status, wait, false);
  }
  if (status === 408 || status >= 500) {
    const wait = status === 503 ? parseRetryAfter(response.headers.get('retry-after'), now) : null;
    return new AttemptError(`HTTP ${status}`, true, status, wait);
  }
  return new AttemptError(`HTTP ${status}: ${detail()}`, false, status);
}

/** How a source calls its service. */
export interface CallPolicy {
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** First backoff, doubled per retry, capped at maxBackoffMs. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** A Retry-After longer than this ends the retries: the caller should not wait that long. */
  readonly maxRetryAfterMs: number;
  /** Calls at once; more wait their turn. */
  readonly concurrency: number;
  readonly breakerThreshold: number;
  readonly breakerCooldownMs: number;
  readonly now: () => number;
  readonly fetch: typeof fetch;
}

/** One source's calls to its service. */
export class ServiceCalls {
  private readonly breaker: CircuitBreaker;
  private readonly controllers = new Set<AbortController>();
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private isClosed = false;
  /** The last failure's message (a close is not one). */
  lastError: string | null = null;
  /** When a call last succeeded (ms). */
  lastSuccessAt: number | null = null;

  constructor(private readonly policy: CallPolicy) {
    this.breaker = new CircuitBreaker(policy.breakerThreshold, policy.breakerCooldownMs, policy.now);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get circuit(): CircuitState {
    return this.breaker.state;
  }

  get consecutiveFailures(): number {
    return this.breaker.consecutiveFailures;
  }

  /** What a source's status says of it. */
  get state(): 'ready' | 'unavailable' | 'closed' {
    return this.isClosed ? 'closed' : this.breaker.state === 'open' ? 'unavailable' : 'ready';
  }

  /** Aborts the requests in flight and the waits between attempts: they, and every later call, reject with ClosedError. */
  close(): void {
    this.isClosed = true;
    for (const controller of this.controllers) controller.abort(new ClosedError());
    for (const entry of this.sleeping) {
      clearTimeout(entry.timer);
      entry.reject(new ClosedError());
    }
    this.sleeping.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }

  /**
   * Runs `attempt` (one exchange with the service) in turn under the concurrency limit, again after a
   * retryable failure, while the breaker admits it. `progress` hears the attempt number and the HTTP
   * status of each. Rejects with the last AttemptError (kept as lastError) or a ClosedError.
   */
  async call<T>(
    attempt: (onStatus: (status: number | null) => void) => Promise<T>,
    progress: (attempts: number, status: number | null) => void,
  ): Promise<T> {
    if (this.isClosed) throw new ClosedError();
    await this.acquire();
    try {
      const answer = await this.withRetries(attempt, progress);
      this.lastSuccessAt = this.policy.now();
      return answer;
    } catch (err) {
      if (!(err instanceof ClosedError)) this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      this.release();
    }
  }

  /**
   * One HTTP request and its body as text, within the timeout; close() aborts it. A network failure or
   * the timeout is a retryable AttemptError; `onStatus` hears the status before the body is read.
   */
  async fetchText(
    url: string,
    init: Omit<RequestInit, 'signal'>,
    onStatus: (status: number) => void,
  ): Promise<{ response: Response; text: string }> {
    if (this.isClosed) throw new ClosedError();
    const controller = new AbortController();
    this.controllers.add(controller);
    const timeoutMs = this.policy.timeoutMs;
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    try {
      const response = await this.policy.fetch(url, { ...init, signal: controller.signal });
      onStatus(response.status);
      return { response, text: await response.text() };
    } catch (err) {
      if (this.isClosed) throw new ClosedError();
      const reason = controller.signal.aborted ? (controller.signal.reason as unknown) : err;
      const timedOut = reason instanceof Error && reason.message === 'timeout';
      throw new AttemptError(
        timedOut
          ? `no answer within ${timeoutMs} ms`
          : `request failed: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
        true,
        null,
      );
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private async withRetries<T>(
    attempt: (onStatus: (status: number | null) => void) => Promise<T>,
    progress: (attempts: number, status: number | null) => void,
  ): Promise<T> {
    const { retries, backoffMs, maxBackoffMs, maxRetryAfterMs } = this.policy;
    for (let n = 0; ; n++) {
      if (this.isClosed) throw new ClosedError();
      const admission = this.breaker.admit();
      if (admission === 'refused') {
        throw new AttemptError(
          `circuit open after ${this.breaker.consecutiveFailures} consecutive failures (last: ${this.lastError ?? 'unknown'})`,
          false,
          null,
          null,
          false,
        );
      }
      const probe = admission === 'probe';
      let error: AttemptError;
      try {
        const answer = await attempt((status) => progress(n + 1, status));
        this.breaker.succeeded(probe);
        return answer;
      } catch (err) {
        if (err instanceof ClosedError) throw err;
        error =
          err instanceof AttemptError
            ? err
            : new AttemptError(err instanceof Error ? err.message : String(err), false, null);
        this.breaker.failed(probe, error.breaker);
        this.lastError = error.message;
      }
      if (!error.retryable || n >= retries) throw error;
      let wait = Math.min(maxBackoffMs, backoffMs * 2 ** n);
      if (error.retryAfterMs !== null) {
        if (error.retryAfterMs > maxRetryAfterMs) {
          throw new AttemptError(
            `${error.message}; Retry-After asks for ${Math.round(error.retryAfterMs / 1000)} s, more than ${Math.round(maxRetryAfterMs / 1000)} s`,
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
          this.sleeping.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleeping.add(entry);
    });
  }

  private async acquire(): Promise<void> {
    while (this.active >= this.policy.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.isClosed) throw new ClosedError();
    }
    this.active += 1;
  }

  private release(): void {
    this.active -= 1;
    this.waiting.shift()?.();
  }
}
