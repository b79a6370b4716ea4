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
function isFlat(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) if (item !== null && typeof item === 'object') return false;
  return true;
}

/**
 * canonicalJson(record without hash), fast path: replaying a million records spends most of its time
 * here, and a record with only the known members and flat values needs no sorting or recursion
 * (JSON.stringify of a primitive or an array of primitives is already canonical). Anything else (a
 * record edited to carry extra members, nested objects) goes through the generic canonicalJson.
 */
function canonicalRecordContent(record: Readonly<Record<string, unknown>>): string {
  // Named loads (not record[member]) keep this monomorphic and fast.
  const r = record as unknown as AuditRecord;
  const values: unknown[] = [
    r.actor,
    r.at,
    r.campaign,
    r.changed,
    r.channel,
    r.expiresAt,
    r.keys,
    r.labels,
    r.op,
    r.prev,
    r.reason,
    r.seq,
    r.source,
  ];
  let defined = r.hash === undefined ? 0 : 1;
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === undefined) continue;
    if (!isFlat(value)) return genericContent(record);
    defined++;
    text += `${text.length > 1 ? ',' : ''}"${RECORD_MEMBERS[i]}":${JSON.stringify(value)}`;
  }
  // A member outside the known set (an edited record): only the generic form covers it.
  if (Object.keys(record).length !== defined) return genericContent(record);
  return `${text}}`;
}

function genericContent(record: Readonly<Record<string, unknown>>): string {
  const content: Record<string, unknown> = { ...record };
  delete content.hash;
  return canonicalJson(content);
}

/** The hash a record must carry, computed from everything but its own `hash`. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  return createHash('sha256')
    .update(`${record.prev}\n${canonicalRecordContent(record as unknown as Record<string, unknown>)}`)
    .digest('hex');
}
