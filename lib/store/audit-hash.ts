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

/** The hash a record must carry, computed from everything but its own `hash`. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const content: Partial<AuditRecord> = { ...record };
  delete content.hash;
  return createHash('sha256')
    .update(`${content.prev}\n${canonicalJson(content)}`)
    .digest('hex');
}
