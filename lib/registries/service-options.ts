/**
 * The options of a wash or lookup service (ServiceRegistrySource), checked once and with every default
 * filled in, so that the source and its requests read one settled value instead of repeating the defaults.
 * Invalid options throw RangeError (the dnc-registry node's fields are checked before, in options.ts).
 */
import {
  checkRegistryId,
  DEFAULT_CALLING_CODES,
  isKnownRegistry,
  registryMaxAgeDays,
  registryState,
  type RegistryId,
} from './known-registries';

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
  /** The US state whose callees it answers for (USPS code; defaults per state list), as FileRegistry's. */
  state?: string | null;
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

/**
 * The options with their defaults: `callingCodes` null covers every number, `batchSize` is 1 when the URL
 * asks for one `{number}`, `body` is the template to send (POST / PUT).
 */
export interface ResolvedServiceOptions extends Required<
  Omit<ServiceSourceOptions, 'callingCodes' | 'trunkPrefix' | 'onRequest' | 'headers' | 'secrets' | 'state'>
> {
  callingCodes: readonly string[] | null;
  state: string | null;
  headers: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  trunkPrefix: string | undefined;
  onRequest: ((event: ServiceRequestEvent) => void) | undefined;
}

function positive(value: number | undefined, fallback: number, field: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${field} must be a number >= ${min}`);
  return value;
}

/** Checks a service source's options and fills in the defaults; throws RangeError on an invalid one. */
export function resolveServiceOptions(options: ServiceSourceOptions): ResolvedServiceOptions {
  checkRegistryId(options.id);
  const known = isKnownRegistry(options.id) ? options.id : null;
  const maxAgeDays = registryMaxAgeDays(options.id, options.maxAgeDays);
  if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url.trim())) {
    throw new RangeError(`registry ${options.id}: the service URL must start with http:// or https://`);
  }
  if (typeof options.mapResponse !== 'function') {
    throw new RangeError(`registry ${options.id}: a response mapper is needed`);
  }
  const batch = Math.floor(positive(options.batchSize, 100, 'batchSize'));
  return {
    id: options.id,
    name: options.name ?? options.id,
    url: options.url,
    method: options.method ?? 'POST',
    headers: options.headers ?? {},
    body: options.body ?? '{"numbers":{numbersJson}}',
    secrets: options.secrets ?? {},
    batchSize: options.url.includes('{number}') ? 1 : batch,
    numberFormat: options.numberFormat ?? 'e164',
    trunkPrefix: options.trunkPrefix,
    mapResponse: options.mapResponse,
    maxAgeDays,
    callingCodes: options.callingCodes ?? (known ? DEFAULT_CALLING_CODES[known] : null),
    state: registryState(options.id, options.state),
    timeoutMs: positive(options.timeoutMs, 10_000, 'timeoutMs'),
    retries: positive(options.retries, 2, 'retries', 0),
    backoffMs: options.backoffMs ?? 500,
    maxBackoffMs: options.maxBackoffMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    concurrency: positive(options.concurrency, 4, 'concurrency'),
    breakerThreshold: positive(options.breakerThreshold, 5, 'breakerThreshold'),
    breakerCooldownMs: options.breakerCooldownMs ?? 30_000,
    cacheMaxEntries: options.cacheMaxEntries ?? 1_000_000,
    now: options.now ?? Date.now,
    fetch: options.fetch ?? globalThis.fetch,
    onRequest: options.onRequest,
  };
}
