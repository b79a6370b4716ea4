/**
 * The FCC Reassigned Numbers Database (RND): has this number been permanently disconnected since the date the
 * caller obtained consent (or last knew the consumer could be reached there)? 47 CFR 64.1200(m) gives a
 * caller who checked the database's most recent update and got a wrong "no" a safe harbour for the call.
 *
 * The database answers one of three things (FCC DA 21-1649, 2021-12-29, quoting the 2018 Reassigned Numbers
 * Order para. 19): "yes" (permanently disconnected on or after the date given), "no" (not since that date)
 * and "no data" (the database cannot tell: the date is before its data begins, 2021-01-27). Here:
 * - "yes" blocks: result `listed`, reason REASSIGNED (the consent given for the number is no longer the
 *   callee's);
 * - "no" allows: `not-listed`, NOT_REASSIGNED;
 * - "no data" blocks by default (`unavailable`, RND_NO_DATA: no safe harbour) or, with `noData: 'allow'`,
 *   allows (`not-listed`, RND_NO_DATA): the team's counsel decides, the default is the safe side;
 * - no consent date (neither the contact's `consentDate` nor the source's default), or one that is not a
 *   date or is in the future: `unavailable`, CONSENT_DATE_MISSING, and no query is made (a query needs a date);
 * - the service cannot answer (down, timeout, circuit open, an answer about another number or date, an
 *   error code): `unavailable`, REGISTRY_UNAVAILABLE, as for any registry.
 * Every answer carries the safe-harbour record (`rnd`: the answer, the consent date asked about and when
 * the query was made), which Check DNC puts into the decision and into the attempt it records.
 *
 * The FCC's own RND interface is open to its subscribers only (its API guide is not public). What is
 * published is the interface of services that query the RND for their customers; this source speaks one of
 * them, Twilio Lookup v2's Reassigned Number package (https://www.twilio.com/docs/lookup/v2-api/reassigned-number):
 * `GET {url}/v2/PhoneNumbers/{E.164}?Fields=reassigned_number&LastVerifiedDate=YYYYMMDD` with HTTP Basic
 * authentication (account SID or API key SID, and its secret), answering
 * `{ "phone_number": "+1...", "reassigned_number": { "last_verified_date", "is_number_reassigned", "error_code" } }`.
 * `is_number_reassigned` is "yes" or "no" (the RND's answers); anything else, or null without an error
 * code, is read as "no data"; an error code, or an answer about another number or date, is a failure.
 *
 * Answers are cached per number and consent date for `maxAgeDays` (default 1: the safe harbour needs the
 * database's most recent update, and the administrator takes disconnections in monthly, so one day keeps
 * every call within the update the query saw). Numbers outside the US (Canada and the other +1 countries by
 * their area codes, and every other calling code) are not in the database: `not-listed`, OUTSIDE_REGISTRY,
 * without a query; toll-free and other non-geographic +1 numbers are in it and are asked.
 *
 * No Node-RED here: lib stays framework-free.
 */
import { performance } from 'node:perf_hooks';
import type { AsyncRegistrySource } from './check';
import type { CircuitState } from './circuit-breaker';
import { checkRegistryId } from './known-registries';
import type { RndRecord, SourceLookupResult, SourceReasonCode } from './lookup-result';
import { e164ToKey } from './number-keys';
import { defaultStateOfNumber } from './number-state';
import { AttemptError, ServiceCalls, statusFailure } from './service-calls';
import type { ServiceRequestEvent } from './service-options';

const DAY_MS = 86_400_000;
/** The FCC's RND has disconnection data from this date (DA 21-1649): earlier consent dates get "no data". */
export const RND_DATA_START = '2021-01-27';
export const DEFAULT_RND_URL = 'https://lookups.twilio.com';

export type RndAnswer = RndRecord['answer'];

export interface ReassignedNumbersOptions {
  /** Default `US_RND`. */
  id?: string;
  name?: string;
  /** The service's base URL (default https://lookups.twilio.com). */
  url?: string;
  /** HTTP Basic user: the account SID or an API key SID. */
  accountSid: string;
  /** HTTP Basic password: the auth token or the API key's secret. Never logged. */
  authToken: string;
  /** The consent date (YYYY-MM-DD) of contacts that carry none; absent: such contacts are blocked. */
  consentDate?: string;
  /** What "no data" does: block (default) or allow. */
  noData?: 'block' | 'allow';
  /** Days an answer is reused (default 1). */
  maxAgeDays?: number;
  /** Per attempt (default 10000 ms). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  retries?: number;
  /** First backoff (default 500 ms), doubled per retry, capped at 30 s. */
  backoffMs?: number;
  /** Queries in flight at most (default 4). */
  concurrency?: number;
  /** Consecutive failed attempts that open the circuit (default 5). */
  breakerThreshold?: number;
  /** Time the circuit stays open before one probe (default 30000 ms). */
  breakerCooldownMs?: number;
  /** Answers kept at most (default 1,000,000; the oldest are dropped first). */
  cacheMaxEntries?: number;
  now?: () => number;
  fetch?: typeof fetch;
  onRequest?: (event: ServiceRequestEvent) => void;
}

/** One question: a number and the consent date of the contact that has it (undefined: none given). */
export interface RndQuery {
  readonly number: string;
  readonly consentDate?: string;
}

export interface ReassignedNumbersStatus {
  registry: string;
  name: string;
  kind: 'reassigned';
  state: 'ready' | 'unavailable' | 'closed';
  circuit: CircuitState;
  consecutiveFailures: number;
  inFlight: number;
  cached: number;
  lastError: string | null;
  lastSuccessAt: string | null;
  maxAgeDays: number;
  noData: 'block' | 'allow';
  consentDate: string | null;
}

interface CacheEntry {
  answer: RndAnswer;
  at: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A consent date as the RND takes it (YYYY-MM-DD), or why it cannot be used. ISO date-times are taken by
 * their date as written (the consumer's consent is dated by the day, not the instant).
 */
export function consentDateOf(value: string | undefined, now: number): string | Error {
  if (value === undefined || value.trim() === '')
    return new Error('no consent date is known for the contact');
  const text = value.trim();
  const day = /^\d{4}-\d{2}-\d{2}(?:[T ].*)?$/.test(text) ? text.slice(0, 10) : '';
  const match = DATE.exec(day);
  const date = match === null ? NaN : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (match === null || Number.isNaN(date) || new Date(date).toISOString().slice(0, 10) !== day) {
    return new Error(`the consent date ${JSON.stringify(text.slice(0, 40))} is not a date (YYYY-MM-DD)`);
  }
  // A day ahead of UTC's today is still today somewhere in the US' zones; later is a typo.
  if (date > now + DAY_MS) return new Error(`the consent date ${day} is in the future`);
  if (day < '2000-01-01') return new Error(`the consent date ${day} is before 2000`);
  return day;
}

function positive(value: number | undefined, fallback: number, field: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${field} must be a number >= ${min}`);
  return value;
}

export class ReassignedNumbersSource implements AsyncRegistrySource {
  readonly async = true as const;
  readonly kind = 'reassigned' as const;
  /** Check DNC asks it per number and consent date (lookupConsented), not per number. */
  readonly needsConsentDate = true as const;
  readonly id: string;
  readonly name: string;
  readonly state = null;
  readonly maxAgeDays: number;
  readonly noData: 'block' | 'allow';
  readonly defaultConsentDate: string | undefined;
  private readonly url: string;
  private readonly authorization: string;
  private readonly cacheMaxEntries: number;
  private readonly now: () => number;
  private readonly onRequest: ((event: ServiceRequestEvent) => void) | undefined;
  private readonly calls: ServiceCalls;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<SourceLookupResult>>();

  constructor(options: ReassignedNumbersOptions) {
    this.id = options.id ?? 'US_RND';
    checkRegistryId(this.id);
    this.name = options.name ?? 'FCC Reassigned Numbers Database';
    const url = (options.url ?? DEFAULT_RND_URL).trim().replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]/i.test(url)) {
      throw new RangeError(`registry ${this.id}: the service URL must start with http:// or https://`);
    }
    this.url = url;
    if (typeof options.accountSid !== 'string' || options.accountSid.trim() === '') {
      throw new RangeError(`registry ${this.id}: the account SID (or API key SID) is needed`);
    }
    if (typeof options.authToken !== 'string' || options.authToken === '') {
      throw new RangeError(`registry ${this.id}: the auth token (or API key secret) is needed`);
    }
    this.authorization = `Basic ${Buffer.from(`${options.accountSid.trim()}:${options.authToken}`).toString('base64')}`;
    this.now = options.now ?? Date.now;
    if (options.consentDate !== undefined && options.consentDate.trim() !== '') {
      const day = consentDateOf(options.consentDate, this.now());
      if (day instanceof Error) throw new RangeError(`registry ${this.id}: ${day.message}`);
      this.defaultConsentDate = day;
    }
    const noData = options.noData ?? 'block';
    if (noData !== 'block' && noData !== 'allow') {
      throw new RangeError(`registry ${this.id}: noData must be "block" or "allow"`);
    }
    this.noData = noData;
    this.maxAgeDays = positive(options.maxAgeDays, 1, 'maxAgeDays', 0.001);
    this.cacheMaxEntries = positive(options.cacheMaxEntries, 1_000_000, 'cacheMaxEntries');
    this.onRequest = options.onRequest;
    this.calls = new ServiceCalls({
      timeoutMs: positive(options.timeoutMs, 10_000, 'timeoutMs'),
      retries: Math.floor(positive(options.retries, 2, 'retries', 0)),
      backoffMs: positive(options.backoffMs, 500, 'backoffMs', 0),
      maxBackoffMs: 30_000,
      maxRetryAfterMs: 60_000,
      concurrency: Math.floor(positive(options.concurrency, 4, 'concurrency')),
      breakerThreshold: Math.floor(positive(options.breakerThreshold, 5, 'breakerThreshold')),
      breakerCooldownMs: options.breakerCooldownMs ?? 30_000,
      now: this.now,
      fetch: options.fetch ?? globalThis.fetch,
    });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.calls.close();
    await Promise.allSettled([...this.pending.values()]);
    this.cache.clear();
  }

  /** US numbers only: +1 numbers whose area code is not another country's. */
  covers(e164: string): boolean {
    return e164.startsWith('+1') && defaultStateOfNumber(e164) !== null;
  }

  status(): ReassignedNumbersStatus {
    const calls = this.calls;
    return {
      registry: this.id,
      name: this.name,
      kind: 'reassigned',
      state: calls.state,
      circuit: calls.circuit,
      consecutiveFailures: calls.consecutiveFailures,
      inFlight: calls.inFlight,
      cached: this.cache.size,
      lastError: calls.lastError,
      lastSuccessAt: calls.lastSuccessAt === null ? null : new Date(calls.lastSuccessAt).toISOString(),
      maxAgeDays: this.maxAgeDays,
      noData: this.noData,
      consentDate: this.defaultConsentDate ?? null,
    };
  }

  /** Numbers alone: each is asked about the source's default consent date. */
  lookupMany(numbers: readonly string[]): Promise<SourceLookupResult[]> {
    return this.lookupConsented(numbers.map((number) => ({ number })));
  }

  /** One answer per query, in order; never rejects. The same number and date are asked once. */
  lookupConsented(queries: readonly RndQuery[]): Promise<SourceLookupResult[]> {
    const at = this.now();
    return Promise.all(
      queries.map((query): Promise<SourceLookupResult> => {
        const e164 = query.number;
        if (typeof e164 !== 'string' || Number.isNaN(e164ToKey(e164))) {
          return Promise.resolve(this.result('unavailable', 'INVALID_NUMBER', null, 'not an E.164 number'));
        }
        if (!this.covers(e164)) {
          return Promise.resolve(this.result('not-listed', 'OUTSIDE_REGISTRY', null, 'not a US number'));
        }
        const day = consentDateOf(query.consentDate ?? this.defaultConsentDate, at);
        if (day instanceof Error) {
          return Promise.resolve(this.result('unavailable', 'CONSENT_DATE_MISSING', null, day.message));
        }
        const key = `${e164}|${day}`;
        const cached = this.cache.get(key);
        if (cached !== undefined && at - cached.at <= this.maxAgeDays * DAY_MS) {
          return Promise.resolve(this.answered(cached.answer, day, cached.at));
        }
        const inFlight = this.pending.get(key);
        if (inFlight !== undefined) return inFlight;
        const asked = this.ask(e164, day, key);
        this.pending.set(key, asked);
        void asked.finally(() => {
          if (this.pending.get(key) === asked) this.pending.delete(key);
        });
        return asked;
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------

  private result(
    result: SourceLookupResult['result'],
    reason: SourceReasonCode,
    asOf: string | null,
    detail?: string,
    rnd?: RndRecord,
  ): SourceLookupResult {
    const out: SourceLookupResult = { registry: this.id, result, asOf, reason };
    if (detail !== undefined) out.detail = detail;
    if (rnd !== undefined) out.rnd = rnd;
    return out;
  }

  /** The result an RND answer gives, with its safe-harbour record. */
  private answered(answer: RndAnswer, consentDate: string, at: number): SourceLookupResult {
    const queriedAt = new Date(at).toISOString();
    const rnd: RndRecord = { answer, consentDate, queriedAt };
    if (answer === 'yes') {
      return this.result(
        'listed',
        'REASSIGNED',
        queriedAt,
        `permanently disconnected on or after ${consentDate}`,
        rnd,
      );
    }
    if (answer === 'no') return this.result('not-listed', 'NOT_REASSIGNED', queriedAt, undefined, rnd);
    const why =
      consentDate < RND_DATA_START
        ? `the database has no data before ${RND_DATA_START}, and the consent date is ${consentDate}`
        : 'the database has no data for this number and date';
    return this.noData === 'allow'
      ? this.result('not-listed', 'RND_NO_DATA', queriedAt, `${why}; allowed by this source's setting`, rnd)
      : this.result('unavailable', 'RND_NO_DATA', queriedAt, `${why}: no safe harbour`, rnd);
  }

  private async ask(e164: string, consentDate: string, key: string): Promise<SourceLookupResult> {
    const started = performance.now();
    let attempts = 0;
    let status: number | null = null;
    try {
      const answer = await this.calls.call(
        (onStatus) => this.query(e164, consentDate, onStatus),
        (n, s) => {
          attempts = n;
          status = s;
        },
      );
      const at = this.now();
      this.remember(key, { answer, at });
      this.onRequest?.({
        registry: this.id,
        ok: true,
        numbers: 1,
        attempts,
        status,
        durationMs: performance.now() - started,
      });
      return this.answered(answer, consentDate, at);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.onRequest?.({
        registry: this.id,
        ok: false,
        numbers: 1,
        attempts,
        status: err instanceof AttemptError ? err.status : status,
        error: why,
        durationMs: performance.now() - started,
      });
      return this.result('unavailable', 'REGISTRY_UNAVAILABLE', null, why);
    }
  }

  private remember(key: string, entry: CacheEntry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    if (this.cache.size > this.cacheMaxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /** One query: the RND's answer, or AttemptError / ClosedError. */
  private async query(
    e164: string,
    consentDate: string,
    onStatus: (s: number | null) => void,
  ): Promise<RndAnswer> {
    const url =
      `${this.url}/v2/PhoneNumbers/${encodeURIComponent(e164)}` +
      `?Fields=reassigned_number&LastVerifiedDate=${consentDate.replace(/-/g, '')}`;
    const { response, text } = await this.calls.fetchText(
      url,
      { method: 'GET', headers: { authorization: this.authorization, accept: 'application/json' } },
      onStatus,
    );
    const status = response.status;
    // 401 (wrong credentials), 403 (the package not enabled on the account), 404: asking again won't help.
    const failure = statusFailure(response, this.now(), () => serviceMessage(text));
    if (failure !== null) throw failure;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AttemptError('the answer is not JSON', false, status);
    }
    return readAnswer(body, e164, consentDate);
  }
}

/** A service error's own message (`{"code":20003,"message":"Authenticate"}`), short, or the start of the text. */
function serviceMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.message === 'string') {
      return `${body.message.slice(0, 120)}${typeof body.code === 'number' ? ` (code ${body.code})` : ''}`;
    }
  } catch {
    // not JSON
  }
  return text.slice(0, 120);
}

/** The RND answer in a Lookup response about `e164` and `consentDate`; AttemptError when it is not one. */
export function readAnswer(body: unknown, e164: string, consentDate: string): RndAnswer {
  const fail = (why: string) => new AttemptError(why, false, 200);
  if (body === null || typeof body !== 'object') throw fail('the answer is not an object');
  const { phone_number: phone, reassigned_number: info } = body as Record<string, unknown>;
  if (typeof phone === 'string' && phone !== e164) {
    throw fail(`the answer is about ${phone}, not the number asked`);
  }
  if (info === null || typeof info !== 'object') throw fail('the answer has no reassigned_number');
  const {
    is_number_reassigned: value,
    error_code: code,
    last_verified_date: date,
  } = info as Record<string, unknown>;
  if (code !== null && code !== undefined && code !== '') {
    const text =
      typeof code === 'string' || typeof code === 'number' ? String(code).slice(0, 20) : 'unreadable';
    throw fail(`the service could not query the database (error code ${text})`);
  }
  // The date the answer is about, when it says (YYYY-MM-DD or YYYYMMDD): it must be the one asked.
  if (typeof date === 'string' && date !== '' && date.replace(/-/g, '') !== consentDate.replace(/-/g, '')) {
    throw fail(`the answer is about the date ${date.slice(0, 10)}, not ${consentDate}`);
  }
  const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : typeof value === 'string' ? value : '';
  const answer = text.trim().toLowerCase();
  if (answer === 'yes' || answer === 'true') return 'yes';
  if (answer === 'no' || answer === 'false') return 'no';
  return 'no data';
}
