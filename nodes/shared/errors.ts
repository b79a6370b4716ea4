/**
 * Errors as a flow sees them: every failure reaches a Catch node through `done(err)` with an Error
 * carrying a stable `code` (Node-RED copies it to `msg.error.code`).
 */
import { DncError, type DncErrorCode } from '../../lib/errors';

/** The codes a node can report: the library's codes plus the node-only DNC_NOT_CONFIGURED. */
export type NodeErrorCode = DncErrorCode | 'DNC_NOT_CONFIGURED';

export interface CodedError extends Error {
  readonly code: NodeErrorCode;
}

/** An Error with a code of its own (own property, so Node-RED copies it to msg.error.code). */
export function codedError(code: NodeErrorCode, message: string, cause?: unknown): CodedError {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & {
    code: NodeErrorCode;
  };
  err.name = 'DncError';
  err.code = code;
  return err;
}

/** Anything thrown, as an Error with a code: DncErrors keep theirs, anything else is DNC_STORE_ERROR. */
export function toCodedError(value: unknown, fallback: NodeErrorCode = 'DNC_STORE_ERROR'): CodedError {
  if (value instanceof DncError) return value;
  const code = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('DNC_')) return value as CodedError;
  const message = value instanceof Error ? value.message : String(value);
  return codedError(fallback, message, value);
}
