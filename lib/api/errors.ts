/**
 * Errors of the HTTP API: every failure is JSON `{ code, message, field? }` with a status that says who
 * must act (4xx: the caller, 503: retry later, 500: us). Messages never carry a stack trace or a file path.
 */
import { DncError } from '../errors';

export type ApiErrorCode =
  | 'DNC_UNAUTHORIZED'
  | 'DNC_FORBIDDEN'
  | 'DNC_ORIGIN_NOT_ALLOWED'
  | 'DNC_NOT_FOUND'
  | 'DNC_METHOD_NOT_ALLOWED'
  | 'DNC_IDEMPOTENCY_CONFLICT'
  | 'DNC_BODY_TOO_LARGE'
  | 'DNC_UNSUPPORTED_MEDIA_TYPE'
  | 'DNC_RATE_LIMITED'
  | 'DNC_CONFIG_REQUIRED'
  | 'DNC_NOT_CONFIGURED'
  | 'DNC_INTERNAL';

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

/** An error with its HTTP status; `headers` go out with the response (Retry-After, WWW-Authenticate). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | DncError['code'],
    message: string,
    readonly field?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const DNC_STATUS: Record<DncError['code'], number> = {
  DNC_INVALID_CONTACT: 400,
  DNC_UNKNOWN_LABEL: 400,
  DNC_INVALID_LABEL: 400,
  DNC_INVALID_INPUT: 400,
  DNC_STORE_UNAVAILABLE: 503,
  DNC_STORE_ERROR: 503,
};

export interface HttpFailure {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** Anything thrown inside a route, as the response to send. Unknown errors become a bare 500. */
export function toHttpFailure(err: unknown): HttpFailure {
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: err.field === undefined ? { code: err.code, message: err.message } : { ...fields(err) },
      headers: err.headers,
    };
  }
  if (err instanceof DncError) {
    const status = DNC_STATUS[err.code] ?? 500;
    return { status, body: err.toJSON(), headers: status === 503 ? { 'Retry-After': '5' } : {} };
  }
  // body-parser's own errors (Node-RED's admin app parses JSON and forms before our routes run): mapped
  // by their `type`, never by their message (it names the parser's internals).
  const parserType = (err as { type?: unknown } | null)?.type;
  const parserFailure = typeof parserType === 'string' ? BODY_PARSER_FAILURES[parserType] : undefined;
  if (parserFailure !== undefined) return { ...parserFailure, headers: {} };
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status: 400,
      body: { code: 'DNC_INVALID_INPUT', message: 'the request could not be read' },
      headers: {},
    };
  }
  return {
    status: 500,
    body: { code: 'DNC_INTERNAL', message: INTERNAL_MESSAGE },
    headers: {},
  };
}

const INTERNAL_MESSAGE = 'internal error: the request was not completed (see the log)';

/** body-parser's error types (https://github.com/expressjs/body-parser#errors) as our answers. */
const BODY_PARSER_FAILURES: Record<string, { status: number; body: ErrorBody }> = {
  'entity.parse.failed': {
    status: 400,
    body: { code: 'DNC_INVALID_INPUT', message: 'the request body is not valid JSON' },
  },
  'entity.too.large': {
    status: 413,
    body: { code: 'DNC_BODY_TOO_LARGE', message: 'the request body is too large' },
  },
  'parameters.too.many': {
    status: 413,
    body: { code: 'DNC_BODY_TOO_LARGE', message: 'the request body has too many parameters' },
  },
  'charset.unsupported': {
    status: 415,
    body: {
      code: 'DNC_UNSUPPORTED_MEDIA_TYPE',
      message: 'the request body must be UTF-8 (charset=utf-8, or no charset)',
    },
  },
  'encoding.unsupported': {
    status: 415,
    body: { code: 'DNC_UNSUPPORTED_MEDIA_TYPE', message: 'the Content-Encoding is not supported' },
  },
  'request.aborted': {
    status: 400,
    body: { code: 'DNC_INVALID_INPUT', message: 'the request body could not be read' },
  },
  'request.size.invalid': {
    status: 400,
    body: { code: 'DNC_INVALID_INPUT', message: 'the request body does not match its Content-Length' },
  },
};

/**
 * What a public caller (a bearer token) may see of a failure: 4xx answers are about the request and go
 * out as they are; a 5xx (store unavailable, configuration invalid, internal) keeps its code and gets a
 * short fixed message, because the real one may name files, folders or other internals of the server.
 * Administrators (the admin mount) get the full message.
 */
export function forPublic(failure: HttpFailure): HttpFailure {
  if (failure.status < 500) return failure;
  return { ...failure, body: { code: failure.body.code, message: publicMessage(failure.body.code) } };
}

/**
 * The failure of an import job whose instance stopped (redeploy, restart, crash) before it finished.
 * Its message names nothing of the server, so public callers get it as it is.
 */
export const IMPORT_INTERRUPTED = {
  code: 'DNC_IMPORT_INTERRUPTED',
  message:
    'the import stopped with the Node-RED instance running it (stopped, redeployed or lost): the rows' +
    ' applied before are in the audit trail; submit the file again to finish (rows already applied change nothing)',
} as const;

const PUBLIC_MESSAGES: Record<string, string> = {
  DNC_IMPORT_INTERRUPTED: IMPORT_INTERRUPTED.message,
  DNC_STORE_UNAVAILABLE: 'the DNC store is not available: retry later',
  DNC_STORE_ERROR: 'the DNC store could not complete the request: retry later',
  DNC_NOT_CONFIGURED: 'the DNC configuration is not usable: ask its administrator',
};

/**
 * An absolute file path inside prose (`/var/lib/node-red/dnc-store.json`, `C:\\data\\x.zip`): at least one
 * folder and a name, starting after a space, quote, bracket or punctuation.
 */
const FILE_PATH = /(^|[\s"'(=:,])((?:[A-Za-z]:)?[\\/](?:[^\s"'()<>\\/]+[\\/])+[^\s"'()<>,;:]*)/g;

/** `text` with every absolute file path replaced by `<file>`. */
export function redactPaths(text: string): string {
  return text.replace(FILE_PATH, '$1<file>');
}

/**
 * A successful answer as a public caller may see it: decisions carry reason messages such as "the DNC
 * store cannot answer, so the contact is blocked: DNC store /var/lib/... is closing", and registry
 * failures name their files. Every `message` and `error` text loses its file paths; nothing else changes.
 */
export function redactBody(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactBody(item, depth + 1);
      if (redacted !== item) (copy ??= value.slice())[i] = redacted;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const redacted =
      typeof item === 'string'
        ? key === 'message' || key === 'error'
          ? redactPaths(item)
          : item
        : redactBody(item, depth + 1);
    if (redacted !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = redacted;
  }
  return copy ?? value;
}

/** Codes about the caller's own input: their messages say nothing about the server. */
const CLIENT_CODES = new Set([
  'DNC_INVALID_CONTACT',
  'DNC_UNKNOWN_LABEL',
  'DNC_INVALID_LABEL',
  'DNC_INVALID_INPUT',
]);

/** A failure recorded elsewhere (an import job's), as a public caller may see it. */
export function publicError(error: { code: string; message: string }): { code: string; message: string } {
  return CLIENT_CODES.has(error.code) ? error : { code: error.code, message: publicMessage(error.code) };
}

/** The short message a public caller gets for a server-side failure code. */
export function publicMessage(code: string): string {
  return PUBLIC_MESSAGES[code] ?? INTERNAL_MESSAGE;
}

function fields(err: ApiError): ErrorBody {
  return { code: err.code, message: err.message, field: err.field };
}

export const invalid = (message: string, field?: string): ApiError =>
  new ApiError(400, 'DNC_INVALID_INPUT', message, field);
