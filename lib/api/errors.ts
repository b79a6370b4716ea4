/**
 * Errors of the HTTP API: every failure is JSON `{ code, message, field? }` with a status that says who
 * must act (4xx: the caller, 503: retry later, 500: us). Messages never carry a stack trace or a file path.
 */
import { DncError } from '../errors';

export type ApiErrorCode =
  | 'DNC_UNAUTHORIZED'
  | 'DNC_FORBIDDEN'
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
  // body-parser's own errors (Node-RED's admin app parses JSON before our routes run).
  const parserType = (err as { type?: unknown } | null)?.type;
  if (parserType === 'entity.too.large') {
    return {
      status: 413,
      body: { code: 'DNC_BODY_TOO_LARGE', message: 'the request body is too large' },
      headers: {},
    };
  }
  if (parserType === 'entity.parse.failed') {
    return {
      status: 400,
      body: { code: 'DNC_INVALID_INPUT', message: 'the request body is not valid JSON' },
      headers: {},
    };
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      body: { code: 'DNC_INVALID_INPUT', message: 'the request could not be read' },
      headers: {},
    };
  }
  return {
    status: 500,
    body: { code: 'DNC_INTERNAL', message: 'internal error: the request was not completed (see the log)' },
    headers: {},
  };
}

function fields(err: ApiError): ErrorBody {
  return { code: err.code, message: err.message, field: err.field };
}

export const invalid = (message: string, field?: string): ApiError =>
  new ApiError(400, 'DNC_INVALID_INPUT', message, field);
