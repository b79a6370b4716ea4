/**
 * Errors as a flow sees them: every failure reaches a Catch node through `done(err)` with an Error
 * carrying a stable `code`, and the message carries it as `msg.dnc.error = { code, message, field? }`.
 * Node-RED 4 and later also copy the code to `msg.error.code`; Node-RED 3.x does not (its Catch node
 * gets `msg.error.message` and `source` only), so `msg.dnc.error.code` is what a flow branches on.
 */
import type { NodeMessage } from 'node-red';
import { DncError, type DncErrorCode } from '../../lib/errors';
import { redactPaths } from '../../lib/api/errors';
import { ownedFields, putResult } from './result';

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

/** msg.dnc.error: the failure as every Node-RED version delivers it to a Catch node. */
export interface MessageError {
  readonly code: NodeErrorCode;
  readonly message: string;
  readonly field?: string;
}

const ERROR_FIELD = ownedFields(['error']);

/**
 * Puts the failure on the message (msg.dnc.error, merged into msg.dnc by the msg.dnc rule) before the
 * node hands it to `done(err)`: Node-RED clones that message for Catch nodes.
 */
export function putError(msg: NodeMessage, error: CodedError): void {
  const field = (error as { field?: unknown }).field;
  // A flow may answer an HTTP client with it (example 04): no file paths of the server.
  const message = redactPaths(error.message);
  const reported: MessageError =
    typeof field === 'string' ? { code: error.code, message, field } : { code: error.code, message };
  putResult(msg, ERROR_FIELD, { error: reported });
}
