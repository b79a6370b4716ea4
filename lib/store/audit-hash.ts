/**
 * The audit trail's hash chain, in two parts:
 *
 * - **Unkeyed** (every record written by 0.1.0): `hash = sha256(prev + '\n' + canonicalJson(record
 *   without hash))`. Canonical JSON sorts object keys and drops undefined members, so anyone computes
 *   the same hash from the same record. Anyone who can write the file can also recompute it, so these
 *   records are only checked, never written any more.
 * - **Keyed** (from the first record carrying `keyId`, the switch-over record, on):
 *   `hash = HMAC-SHA256(key, prev + '\n' + JSON.stringify(record without hash))`, the record's members
 *   in journal order: the MAC input is the journal line itself up to `,"hash":`, so verifying a
 *   million records needs no parse (bench/store.bench.ts). `keyId` names the key (see AuditKey.id);
 *   without the key nobody can forge a record, and the checkpoint (checkpoint.ts) anchors the head.
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

/** Bytes of secret in a generated audit key. */
export const AUDIT_KEY_BYTES = 32;

/**
 * The secret of the keyed chain. `id` is a fingerprint that names the key in the journal and the
 * checkpoint without revealing it, so a verifier can tell "keyed with a key I do not have" from "altered".
 */
export class AuditKey {
  readonly id: string;
  private readonly secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < 16) throw new Error('an audit key needs at least 16 bytes');
    this.secret = Buffer.from(secret);
    this.id = this.mac('dnc-audit-key-id').slice(0, 16);
  }

  /** HMAC-SHA256 of text, hex. */
  mac(text: string): string {
    return crypto.createHmac('sha256', this.secret).update(text).digest('hex');
  }

  /** An HMAC to feed in pieces (a snapshot of many parts), with the same key as mac(). */
  hmac(): crypto.Hmac {
    return crypto.createHmac('sha256', this.secret);
  }

  /** The secret as the key file and the config credential hold it (base64). */
  export(): string {
    return this.secret.toString('base64');
  }

  /** A key from its text: base64 (as exported) or hex, at least 16 bytes; undefined when it is neither. */
  static parse(text: string): AuditKey | undefined {
    const trimmed = text.trim();
    let secret: Buffer | undefined;
    if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 && trimmed.length >= 32) {
      secret = Buffer.from(trimmed, 'hex');
    } else if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
      secret = Buffer.from(trimmed, 'base64');
    }
    return secret !== undefined && secret.length >= 16 ? new AuditKey(secret) : undefined;
  }

  static generate(): AuditKey {
    return new AuditKey(crypto.randomBytes(AUDIT_KEY_BYTES));
  }
}

/** `,"hash":"<64 hex>"}`: how every journal line ends. */
const HASH_SUFFIX_LENGTH = 75;
const HASH_MEMBER = ',"hash":"';

/**
 * The MAC a keyed journal line must carry, from the line's text alone (no parse): undefined when the
 * line does not end with a hash member. `stored` is the hash the line carries.
 */
export function keyedLineHash(
  key: AuditKey,
  prev: string,
  text: string,
): { computed: string; stored: string } | undefined {
  const length = text.length;
  if (
    length <= HASH_SUFFIX_LENGTH ||
    text.charCodeAt(length - 1) !== 125 /* } */ ||
    text.charCodeAt(length - 2) !== 34 /* " */ ||
    !text.startsWith(HASH_MEMBER, length - HASH_SUFFIX_LENGTH)
  ) {
    return undefined;
  }
  return {
    computed: key.mac(`${prev}\n${text.slice(0, length - HASH_SUFFIX_LENGTH)}}`),
    stored: text.slice(length - 66, length - 2),
  };
}

/** The members of a journal line, in the order the store writes them (`hash` last, after these). */
export const JOURNAL_MEMBERS: readonly string[] = [
  'seq',
  'at',
  'op',
  'keys',
  'labels',
  'changed',
  'expiresAt',
  'source',
  'actor',
  'principal',
  'reason',
  'campaign',
  'channel',
  'keyId',
  'prev',
];

/**
 * The hash a keyed record must carry: the MAC of `prev`, a newline and the record's journal line
 * without its hash (its members in JOURNAL_MEMBERS order). What an auditor with the key recomputes.
 */
export function computeKeyedRecordHash(
  key: AuditKey,
  record: Omit<AuditRecord, 'hash'> | AuditRecord,
): string {
  return key.mac(`${record.prev}\n${JSON.stringify(record, JOURNAL_MEMBERS as string[])}`);
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

/** The hash an unkeyed (0.1.0) record must carry, computed from everything but its own `hash`. */
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
 * MACs a record the store writes and renders its journal line, serialising each member once. Gives
 * exactly `JSON.stringify({...content, hash})` with `hash = computeKeyedRecordHash(key, content)`; the
 * members must be the ones the store writes, in its order: an add has expiresAt, campaign and channel,
 * a remove has none of them, and `keyId` (the switch-over record only) comes just before `prev`
 * (test/embedded-store.test.ts checks both against the generic forms).
 */
export function sealRecord(content: Omit<AuditRecord, 'hash'>, key: AuditKey): SealedRecord {
  const labels = JSON.stringify(content.labels);
  const changed = sameStrings(content.changed, content.labels) ? labels : JSON.stringify(content.changed);
  let line =
    `{"seq":${JSON.stringify(content.seq)},"at":${JSON.stringify(content.at)},"op":${JSON.stringify(content.op)},` +
    `"keys":${JSON.stringify(content.keys)},"labels":${labels},"changed":${changed}`;
  if (content.op === 'add') line += `,"expiresAt":${JSON.stringify(content.expiresAt)}`;
  line +=
    `,"source":${JSON.stringify(content.source)},"actor":${JSON.stringify(content.actor)},` +
    // Absent (records of changes that name none): no member, as JSON.stringify renders it.
    (content.principal === undefined ? '' : `"principal":${JSON.stringify(content.principal)},`) +
    `"reason":${JSON.stringify(content.reason)}`;
  if (content.op === 'add') {
    line += `,"campaign":${JSON.stringify(content.campaign)},"channel":${JSON.stringify(content.channel)}`;
  }
  if (content.keyId !== undefined) line += `,"keyId":${JSON.stringify(content.keyId)}`;
  line += `,"prev":${JSON.stringify(content.prev)}`;
  const hash = key.mac(`${content.prev}\n${line}}`);
  return { record: { ...content, hash }, line: `${line},"hash":"${hash}"}\n` };
}
