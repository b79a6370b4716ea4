/**
 * The audit trail's hash chain: `hash = sha256(prev + '\n' + canonicalJson(record without hash))`.
 * Canonical JSON sorts object keys and drops undefined members, so any writer (this store, a later
 * PostgreSQL adapter, an auditor's script) computes the same hash from the same record.
 */
import { createHash } from 'node:crypto';
import type { AuditRecord } from './types';

/** The `prev` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const object = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(object).sort()) {
    if (object[key] !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(object[key])}`);
  }
  return `{${members.join(',')}}`;
}

/** AuditRecord's members in canonical (sorted) order, `hash` excluded. */
const RECORD_MEMBERS = [
  'actor',
  'at',
  'campaign',
  'changed',
  'channel',
  'expiresAt',
  'keys',
  'labels',
  'op',
  'prev',
  'reason',
  'seq',
  'source',
] as const;
const KNOWN_MEMBERS = new Set<string>([...RECORD_MEMBERS, 'hash']);

function isFlat(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Array.isArray(value) && value.every((item) => item === null || typeof item !== 'object');
}

/**
 * canonicalJson(record without hash), fast path: replaying a million records spends most of its time
 * here, and a record with only the known members and flat values needs no sorting or recursion
 * (JSON.stringify of a primitive or an array of primitives is already canonical). Anything else (a
 * record edited to carry extra members, nested objects) goes through the generic canonicalJson.
 */
function canonicalRecordContent(record: Readonly<Record<string, unknown>>): string {
  for (const member in record) {
    if (!KNOWN_MEMBERS.has(member) || !isFlat(record[member])) {
      const content: Record<string, unknown> = { ...record };
      delete content.hash;
      return canonicalJson(content);
    }
  }
  let text = '{';
  for (const member of RECORD_MEMBERS) {
    const value = record[member];
    if (value === undefined) continue;
    if (text.length > 1) text += ',';
    text += `"${member}":${JSON.stringify(value)}`;
  }
  return `${text}}`;
}

/** The hash a record must carry, computed from everything but its own `hash`. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  return createHash('sha256')
    .update(`${record.prev}\n${canonicalRecordContent(record as unknown as Record<string, unknown>)}`)
    .digest('hex');
}
