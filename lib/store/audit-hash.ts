/**
 * The audit trail's hash chain: `hash = sha256(prev + '\n' + canonicalJson(record without hash))`.
 * Canonical JSON sorts object keys and drops undefined members, so any writer (this store, a later
 * PostgreSQL adapter, an auditor's script) computes the same hash from the same record.
 */
import * as crypto from 'node:crypto';
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
  'principal',
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
    r.principal,
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

/** sha256 as hex: the one-shot crypto.hash (Node >= 20.12) is several times cheaper than a Hash object. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** The hash a record must carry, computed from everything but its own `hash`. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  return sha256Hex(`${record.prev}\n${canonicalRecordContent(record as unknown as Record<string, unknown>)}`);
}

/** A record ready for the journal: the record with its hash, and its journal line (with the newline). */
export interface SealedRecord {
  readonly record: AuditRecord;
  readonly line: string;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Hashes a record the store writes and renders its journal line, serialising each member once: the
 * canonical text (for the hash) and the line (JSON.stringify's member order, as the record is built)
 * are two concatenations of the same pieces. The write path spends most of its time here, once per
 * change. Gives exactly `computeRecordHash(content)` and `JSON.stringify({...content, hash})`; the
 * members must be the ones the store writes: an add has campaign, channel and expiresAt, a remove has
 * none of them (test/embedded-store.test.ts checks both against the generic forms).
 */
export function sealRecord(content: Omit<AuditRecord, 'hash'>): SealedRecord {
  const seq = JSON.stringify(content.seq);
  const at = JSON.stringify(content.at);
  const op = JSON.stringify(content.op);
  const keys = JSON.stringify(content.keys);
  const labels = JSON.stringify(content.labels);
  const changed = sameStrings(content.changed, content.labels) ? labels : JSON.stringify(content.changed);
  const source = JSON.stringify(content.source);
  const actor = JSON.stringify(content.actor);
  const reason = JSON.stringify(content.reason);
  const prev = JSON.stringify(content.prev);
  // Absent (0.1.0 records, changes naming none): no member, so such records hash as they always did.
  // In both forms it comes just before "reason" (sorted order in the canonical text; after actor in the line).
  const principal =
    content.principal === undefined ? '' : `"principal":${JSON.stringify(content.principal)},`;
  let canonical: string;
  let line: string;
  if (content.op === 'add') {
    const expiresAt = JSON.stringify(content.expiresAt);
    const campaign = JSON.stringify(content.campaign);
    const channel = JSON.stringify(content.channel);
    canonical =
      `{"actor":${actor},"at":${at},"campaign":${campaign},"changed":${changed},"channel":${channel},` +
      `"expiresAt":${expiresAt},"keys":${keys},"labels":${labels},"op":${op},"prev":${prev},` +
      `${principal}"reason":${reason},"seq":${seq},"source":${source}}`;
    line =
      `{"seq":${seq},"at":${at},"op":${op},"keys":${keys},"labels":${labels},"changed":${changed},` +
      `"expiresAt":${expiresAt},"source":${source},"actor":${actor},${principal}"reason":${reason},` +
      `"campaign":${campaign},"channel":${channel},"prev":${prev}`;
  } else {
    canonical =
      `{"actor":${actor},"at":${at},"changed":${changed},"keys":${keys},"labels":${labels},"op":${op},` +
      `"prev":${prev},${principal}"reason":${reason},"seq":${seq},"source":${source}}`;
    line =
      `{"seq":${seq},"at":${at},"op":${op},"keys":${keys},"labels":${labels},"changed":${changed},` +
      `"source":${source},"actor":${actor},${principal}"reason":${reason},"prev":${prev}`;
  }
  const hash = sha256Hex(`${content.prev}\n${canonical}`);
  return { record: { ...content, hash }, line: `${line},"hash":"${hash}"}\n` };
}
