/**
 * What a node does with an existing `msg.dnc`, the same rule for every node: it merges its result in.
 * - The fields the node owns are replaced. An owned field that does not apply this time is removed, so no
 *   stale value survives (a second check's allowed decision keeps no `nextAllowedAt` of the first; a
 *   single check after a list check keeps no `summary`).
 * - Fields other nodes put there are kept: detect opt-out's `intent` and `confirmation` travel through
 *   add contact label and check DNC, record attempt's `attempt` through a later check.
 * - A msg.dnc that is not an object (absent, null, an array, text) is replaced by the result.
 * - `error` (a failure, nodes/shared/errors.ts) is every node's: a node's result removes an earlier one.
 * A node owns every field it may write, whether for one contact or a list (README, "msg.dnc").
 */
import type { NodeMessage } from 'node-red';

/** The fields of msg.dnc a node owns. */
export type OwnedFields = ReadonlySet<string>;

/** The owned fields, from the key lists of the result shapes the node writes. */
export function ownedFields(...keys: ReadonlyArray<readonly string[]>): OwnedFields {
  return new Set(keys.flat());
}

/** The keys of a type, listed once: the compiler checks that `fields` names every key and no other. */
export function keysOf<T>(fields: { readonly [K in keyof Required<T>]: true }): string[] {
  return Object.keys(fields);
}

/**
 * Merges `result` into `msg.dnc` by the rule above and returns what msg.dnc now holds. With no object
 * there (the usual case) the result itself is put there, without a copy.
 */
export function putResult(msg: NodeMessage, owned: OwnedFields, result: object): object {
  const previous: unknown = msg.dnc;
  if (
    previous === undefined ||
    previous === null ||
    typeof previous !== 'object' ||
    Array.isArray(previous)
  ) {
    msg.dnc = result;
    return result;
  }
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(previous)) {
    if (!owned.has(key) && key !== 'error') merged[key] = (previous as Record<string, unknown>)[key];
  }
  Object.assign(merged, result);
  msg.dnc = merged;
  return merged;
}
