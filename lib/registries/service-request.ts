/**
 * One request to a wash or lookup service: the numbers written in the service's format, the URL, headers
 * and body from their templates (secrets substituted, never logged), a timeout per attempt
 * (AbortController), and the answer read into listed / not listed per E.164 number by the response mapper.
 * Every way an attempt can fail becomes an AttemptError that says whether another attempt may help; the
 * retries, the circuit breaker and the cache are the source's (service-source.ts).
 */
import { nationalPrefixOf } from './national';
import type { ResolvedServiceOptions, ResponseMapping } from './service-options';

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

function substitute(template: string, values: Readonly<Record<string, string>>, encode: boolean): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name)
      ? encode
        ? encodeURIComponent(values[name])
        : values[name]
      : whole,
  );
}

/** Sends a service source's requests; close() aborts those in flight. */
export class ServiceClient {
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: ResolvedServiceOptions) {}

  /** Aborts the requests in flight: they reject with ClosedError, and so does every later one. */
  close(): void {
    this.closed = true;
    for (const controller of this.controllers) controller.abort(new ClosedError());
  }

  /**
   * One attempt for a batch of E.164 numbers: listed / not listed per number the service answered for.
   * Rejects with AttemptError, or ClosedError once closed; `onStatus` hears the HTTP status first.
   */
  async send(
    numbers: readonly string[],
    onStatus: (status: number | null) => void,
  ): Promise<Map<string, boolean>> {
    const sent = numbers.map((n) => this.format(n));
    const secrets = this.options.secrets;
    const values: Record<string, string> = {
      ...secrets,
      registry: this.options.id,
      numbers: sent.join(','),
      number: sent[0] ?? '',
      numbersJson: JSON.stringify(sent),
    };
    const url = substitute(this.options.url.trim(), values, true);
    const method = this.options.method;
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.options.headers)) {
      headers.set(name, substitute(value, secrets, false));
    }
    let body: string | undefined;
    if (method !== 'GET') {
      body = substitute(this.options.body, values, false);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    if (!headers.has('accept')) headers.set('accept', 'application/json');

    const controller = new AbortController();
    this.controllers.add(controller);
    const timeoutMs = this.options.timeoutMs;
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    let response: Response;
    let text: string;
    try {
      try {
        response = await this.options.fetch(url, { method, headers, body, signal: controller.signal });
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
        parseRetryAfter(response.headers.get('retry-after'), this.options.now()),
        false,
      );
    }
    if (status === 408 || status >= 500) {
      throw new AttemptError(
        `HTTP ${status}`,
        true,
        status,
        status === 503 ? parseRetryAfter(response.headers.get('retry-after'), this.options.now()) : null,
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
    return readMapping(mapping, numbers, sent);
  }

  private format(e164: string): string {
    const format = this.options.numberFormat;
    if (format === 'e164') return e164;
    if (format === 'digits') return e164.slice(1);
    const code = this.options.callingCodes?.find((c) => e164.startsWith(c, 1));
    if (code === undefined) return e164;
    // The calling code's own national prefix (libphonenumber-js metadata): `0` in Australia, none in Italy
    // or Singapore, where the national number is written as it follows the calling code.
    return `${this.options.trunkPrefix ?? nationalPrefixOf(code)}${e164.slice(1 + code.length)}`;
  }
}

/** The mapper's answer, keyed by the E.164 numbers asked for; anything unrecognised is left out. */
function readMapping(
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
