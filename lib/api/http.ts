/**
 * Framework-free HTTP plumbing for the API: it runs on Node's own request/response objects, so it works
 * under Node-RED's express apps (httpAdmin, httpNode), a bare `http.createServer` (tests, benchmarks) or
 * any host that passes `(req, res, next)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseInstant } from '../time';
import { ApiError, invalid } from './errors';

/** What the API reads from a request: Node's IncomingMessage, plus what express's body-parser may have set. */
export type ApiRequest = IncomingMessage & {
  /** Set by body-parser (Node-RED's admin app parses JSON bodies before any route runs). */
  body?: unknown;
  _body?: boolean;
  /** The path below the mount point, when the host strips it (express's `app.use(path, fn)`). */
  originalUrl?: string;
};
export type ApiResponse = ServerResponse;
export type Next = (err?: unknown) => void;

/** Keys that are never accepted anywhere in a JSON body: they mean prototype pollution, not data. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 32;

/** Rejects `__proto__`, `constructor` and `prototype` keys at any depth, and absurd nesting. */
export function assertPlainJson(value: unknown, path = 'body', depth = 0): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_DEPTH) throw invalid(`${path} is nested too deeply`, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertPlainJson(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key))
      throw invalid(`the key "${key}" is not allowed (in ${path})`, `${path}.${key}`);
    assertPlainJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}

/** Rejects fields a route does not know (a typo must not silently do nothing). */
export function assertKnownFields(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      throw invalid(`unknown field "${key}": this request takes ${known.join(', ')}`, key);
    }
  }
}

function mediaType(req: IncomingMessage): string {
  const header = req.headers['content-type'];
  return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

export function contentType(req: IncomingMessage): string {
  return mediaType(req);
}

/** The `charset` parameter of the Content-Type, lower case, or '' when there is none. */
function charsetOf(req: IncomingMessage): string {
  const header = req.headers['content-type'];
  if (typeof header !== 'string') return '';
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(header);
  return match === null ? '' : match[1].toLowerCase();
}

/**
 * Bodies are read as UTF-8 without a content coding: another charset or a `Content-Encoding` (gzip,
 * deflate, br) would be decoded wrongly or not at all, so it is refused (415) before a byte is read.
 */
export function assertPlainBody(req: IncomingMessage): void {
  const charset = charsetOf(req);
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(
      415,
      'DNC_UNSUPPORTED_MEDIA_TYPE',
      'the request body must be UTF-8 (charset=utf-8, or no charset)',
    );
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity') {
    throw new ApiError(
      415,
      'DNC_UNSUPPORTED_MEDIA_TYPE',
      'send the request body without a Content-Encoding (no gzip, deflate or br)',
    );
  }
}

/** The JSON media types a JSON body may be sent as: `application/json` and `application/*+json`. */
function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The declared body length, or null (chunked). A declared length over `limit` is refused before reading. */
function declaredLength(req: IncomingMessage, limit: number): number | null {
  const header = req.headers['content-length'];
  if (header === undefined) return null;
  const length = Number(header);
  if (!Number.isFinite(length) || length < 0) throw invalid('Content-Length is not a number');
  if (length > limit) throw tooLarge(limit);
  return length;
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'DNC_BODY_TOO_LARGE', `the request body is larger than ${formatBytes(limit)}`);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${Math.round(bytes / (1 << 20))} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/** Reads the raw body up to `limit` bytes (then 413, and the rest is discarded). */
export function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    const unreadable = () => {
      if (failed || ended) return;
      failed = true;
      chunks.length = 0;
      reject(invalid('the request body could not be read'));
    };
    req.on('error', unreadable);
    // A client that goes away mid-body: settle instead of waiting for an end that never comes.
    req.on('close', unreadable);
  });
}

/**
 * The JSON body as an object: parsed here, or taken from body-parser when the host parsed it already.
 * Checks the size (413), the media type (415), the syntax and the keys (400).
 */
export async function readJsonObject(req: ApiRequest, limit: number): Promise<Record<string, unknown>> {
  const length = declaredLength(req, limit);
  // Only a JSON media type: a browser may send text/plain, a form or no type cross-site without asking
  // (no CORS preflight), so accepting those would let any web page write through an operator's browser.
  if (!isJsonType(mediaType(req))) throw unsupported('application/json');
  let value: unknown;
  if (req._body === true) {
    // body-parser read (and decoded) it already, under the host's own (larger) limit.
    value = req.body;
  } else {
    assertPlainBody(req);
    const raw = await readRaw(req, limit);
    if (raw.length === 0) throw invalid('the request needs a JSON body');
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw invalid('the request body is not valid JSON');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('the request body must be a JSON object');
  }
  // Depth first: it bounds the nesting, so measuring the size below cannot overflow the stack.
  assertPlainJson(value);
  if (req._body === true && length === null && Buffer.byteLength(JSON.stringify(value)) > limit) {
    // Chunked: body-parser read it under the host's limit; enforce ours on what it read.
    throw tooLarge(limit);
  }
  return value as Record<string, unknown>;
}

export function unsupported(expected: string): ApiError {
  return new ApiError(415, 'DNC_UNSUPPORTED_MEDIA_TYPE', `send the body as ${expected}`);
}

const COMMON_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function startStream(
  res: ServerResponse,
  type: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.statusCode = 200;
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', type);
}

/** Writes a chunk and waits for the socket to drain when its buffer is full (bounded memory). */
export function write(res: ServerResponse, chunk: string): Promise<void> | undefined {
  if (res.write(chunk)) return undefined;
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', done);
      reject(new Error('the client went away'));
    };
    res.on('drain', done);
    res.once('close', closed);
  });
}

/**
 * Origins allowed to call the admin mount besides the server's own (settings.js `dncApiAllowedOrigins`):
 * `https://crm.example.com`, or `*` for any. Entries that are not an origin are returned in `invalid`.
 */
export function allowedOriginsOf(value: unknown): { origins: ReadonlySet<string>; invalid: string[] } {
  const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const origins = new Set<string>();
  const rejected: string[] = [];
  for (const entry of list) {
    const text = typeof entry === 'string' ? entry.trim() : '';
    if (text === '*') {
      origins.add('*');
      continue;
    }
    try {
      const url = new URL(text);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text.replace(/\/$/, '')) {
        throw new Error('not an origin');
      }
      origins.add(url.origin);
    } catch {
      rejected.push(String(entry));
    }
  }
  return { origins, invalid: rejected };
}

/**
 * Whether a browser request may act here: no `Origin` header (not a cross-site browser request: curl, a
 * CRM, a same-origin navigation), an Origin naming this very server (the `Host` the browser connected
 * to; a browser never lets a page forge Host), or one of the allowed origins. `Origin: null` (sandboxed
 * frames, file: pages) is foreign. `X-Forwarded-Host` is not trusted: a page may set it.
 */
export function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has('*')) return true;
  const text = String(origin).trim();
  if (allowed.has(text.replace(/\/$/, ''))) return true;
  const host = req.headers.host;
  if (typeof host !== 'string' || host === '') return false;
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

export function foreignOrigin(): ApiError {
  return new ApiError(
    403,
    'DNC_ORIGIN_NOT_ALLOWED',
    'requests from another web site are refused: add its origin to dncApiAllowedOrigins in settings.js to allow it',
  );
}

/** Query parameters, each at most once (a repeated parameter is ambiguous: 400). */
export class Query {
  private readonly params: URLSearchParams;

  constructor(search: string) {
    this.params = new URLSearchParams(search);
  }

  assertKnown(known: readonly string[]): void {
    for (const key of new Set(this.params.keys())) {
      if (!known.includes(key)) {
        throw invalid(
          `unknown query parameter "${key}"${known.length ? `: this route takes ${known.join(', ')}` : ''}`,
          key,
        );
      }
      if (this.params.getAll(key).length > 1) throw invalid(`query parameter "${key}" is repeated`, key);
      // An empty value is neither the value nor its absence: say so rather than guess.
      if (this.params.get(key) === '') {
        throw invalid(`query parameter "${key}" is empty: give a value or leave it out`, key);
      }
    }
  }

  text(name: string): string | undefined {
    const value = this.params.get(name);
    return value === null || value === '' ? undefined : value;
  }

  flag(name: string): boolean {
    const value = this.params.get(name);
    if (value === null || value === '' || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    throw invalid(`${name} must be true or false`, name);
  }

  integer(name: string, min: number, max: number, fallback: number): number {
    const value = this.text(name);
    if (value === undefined) return fallback;
    // Decimal digits only: Number() would also take 1e2, 0x10 or " 5 ", which the document does not allow.
    const n = /^-?\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw invalid(`${name} must be a whole number from ${min} to ${max}`, name);
    }
    return n;
  }

  /**
   * An RFC 3339 date-time (lib/time parseInstant) as epoch ms. Strict: `2020` is not epoch ms and
   * `x 1` is not 2001-01-01, either would silently shift a window; an empty value is an error too.
   */
  instant(name: string): number | undefined {
    const value = this.params.get(name);
    if (value === null) return undefined;
    return parseInstant(value, name);
  }
}
