/**
 * One error type for the whole package. Every failure a flow or an HTTP client can act on carries a
 * stable `code`: a Catch node gets it as `msg.dnc.error.code` (and `msg.error.code` on Node-RED 4+),
 * the HTTP API returns it as `{ code, message, field }`. Codes never change meaning once released.
 */
export type DncErrorCode =
  /** The contact could not be parsed into a phone number, email address or id. */
  | 'DNC_INVALID_CONTACT'
  /** A label name that the label configuration does not define. */
  | 'DNC_UNKNOWN_LABEL'
  /** A label definition (or list of definitions) that is not valid. */
  | 'DNC_INVALID_LABEL'
  /** A request whose shape is wrong (missing labels, wrong types, bad option values). */
  | 'DNC_INVALID_INPUT'
  /** The store could not be opened or read, or is not open: nothing can be decided or written. */
  | 'DNC_STORE_UNAVAILABLE'
  /** A write to the store failed; the change was not made. */
  | 'DNC_STORE_ERROR';

export class DncError extends Error {
  readonly code: DncErrorCode;
  /** The input field the error is about, when there is one (`contact`, `labels`, `labels[2].name`...). */
  readonly field: string | undefined;

  constructor(code: DncErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DncError';
    this.code = code;
    this.field = options.field;
  }

  toJSON(): { code: DncErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export function isDncError(value: unknown): value is DncError {
  return value instanceof DncError;
}

/** Wrap anything thrown into a DncError with the given code, keeping a DncError's own code. */
export function asDncError(value: unknown, code: DncErrorCode, prefix: string): DncError {
  if (value instanceof DncError) return value;
  const detail = value instanceof Error ? value.message : String(value);
  return new DncError(code, `${prefix}: ${detail}`, { cause: value });
}
