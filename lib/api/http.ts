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
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(invalid(`the request body could not be read: ${err.message}`));
      }
    });
  });
}

/**
 * The JSON body as an object: parsed here, or taken from body-parser when the host parsed it already.
 * Checks the size (413), the media type (415), the syntax and the keys (400).
 */
export async function readJsonObject(req: ApiRequest, limit: number): Promise<Record<string, unknown>> {
  const length = declaredLength(req, limit);
  const type = mediaType(req);
  let value: unknown;
  if (req._body === true) {
    if (type !== 'application/json' && !type.endsWith('+json')) throw unsupported('application/json');
    value = req.body;
    // body-parser read it under the host's own (larger) limit: enforce ours on what it read.
    if (length === null && Buffer.byteLength(JSON.stringify(value)) > limit) throw tooLarge(limit);
  } else {
    if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
      throw unsupported('application/json');
    }
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
  assertPlainJson(value);
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
