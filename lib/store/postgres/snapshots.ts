/**
 * Snapshots of the folded state in the database, so that an instance starts by reading one snapshot and
 * the records after it instead of reading, verifying and folding the whole trail (the embedded store's
 * snapshot file, shared).
 *
 * A snapshot is the profiles at record `seq` in the embedded snapshot format (snapshot.ts), split into
 * parts of PART_CONTACTS contacts, each part a complete snapshot text. The header keeps the chain's state
 * at `seq` (head hash, key, unkeyed and unverifiable ranges) and an HMAC with the audit key over the
 * header and every part. An instance uses a snapshot only when:
 * - it was written with the instance's audit key and its MAC verifies (a row edited by hand, or written
 *   by someone without the key, is not used);
 * - the trail's record `seq` is the record the snapshot says it continues (same hash);
 * - every part decodes and the contact count matches.
 * Otherwise it says why and tries the previous snapshot, then the whole trail: a snapshot is a cache of
 * the trail, never evidence, and a bad one costs start-up time, never correctness.
 *
 * The records before the snapshot are still verified: the store walks the whole chain once it is ready
 * (store.ts), and fails closed if that walk finds a record altered.
 */
import type { Pool, PoolClient } from 'pg';
import type { AuditKey } from '../audit-hash';
import type { ChainState } from '../journal';
import type { ContactState } from '../types';
import { KeyIndex } from '../key-index';
import { SNAPSHOT_FORMAT, decodeSnapshotText, encodeSnapshotText } from '../snapshot';
import type { StringInterner } from '../state';

/** Records between snapshots, as the embedded store's default. */
export const DEFAULT_SNAPSHOT_EVERY = 50_000;
/** At most one snapshot per this many ms: a busy trail must not keep the leader encoding. */
export const MIN_SNAPSHOT_INTERVAL = 30_000;
/** Contacts per part: a few MB of text each, far below PostgreSQL's 1 GB per value. */
export const PART_CONTACTS = 50_000;
/** Snapshots kept: the newest, and the one before in case the newest cannot be used. */
const KEEP = 2;

/** What a snapshot is taken of: the chain at a seq and the profiles folded up to it (immutable). */
export interface SnapshotCapture {
  readonly chain: ChainState;
  readonly profiles: readonly ContactState[];
}

export interface LoadedSnapshot {
  readonly chain: ChainState;
  readonly index: KeyIndex;
  readonly contacts: number;
}

interface HeaderRow {
  seq: string;
  head: string;
  chain: ChainState;
  contacts: string;
  parts: number;
  key_id: string;
  mac: string;
}

/** The chain state in a fixed member order (jsonb does not keep the order it was given). */
function canonicalChain(chain: ChainState): string {
  const unverifiable = chain.unverifiable;
  return JSON.stringify([
    chain.seq,
    chain.head,
    chain.chainKey,
    chain.legacy,
    unverifiable === undefined ? null : [unverifiable.from, unverifiable.to, unverifiable.keyId],
  ]);
}

/** The snapshot's MAC, fed part after part (a reader need not keep every part's text). */
function snapshotMac(
  key: AuditKey,
  schema: string,
  chain: ChainState,
  contacts: number,
  partCount: number,
): { add(part: string): void; digest(): string } {
  const hmac = key.hmac();
  hmac.update(`dncflow-snapshot/1\n${schema}\n${canonicalChain(chain)}\n${contacts}\n${partCount}\n`);
  let next = 0;
  return {
    add(part) {
      hmac.update(`${next++}:${part.length}\n`);
      hmac.update(part);
    },
    digest: () => hmac.digest('hex'),
  };
}

/**
 * Encodes and writes a snapshot, then deletes all but the newest KEEP. `stop` is asked between parts:
 * a store that is closing abandons the snapshot (nothing is written) and gets false. A snapshot at that
 * seq written already (by another instance leading at the same moment) counts as written.
 */
export async function writeSnapshot(
  pool: Pool,
  s: string,
  schema: string,
  key: AuditKey,
  instance: string,
  capture: SnapshotCapture,
  stop: () => boolean,
): Promise<boolean> {
  const { chain, profiles } = capture;
  const parts: string[] = [];
  const createdAt = new Date().toISOString();
  for (let from = 0; from === 0 || from < profiles.length; from += PART_CONTACTS) {
    if (stop()) return false;
    parts.push(
      await encodeSnapshotText({
        format: SNAPSHOT_FORMAT,
        seq: chain.seq,
        offset: 0,
        head: chain.head,
        createdAt,
        profiles: profiles.slice(from, from + PART_CONTACTS),
      }),
    );
  }
  const macOf = snapshotMac(key, schema, chain, profiles.length, parts.length);
  for (const part of parts) macOf.add(part);
  const mac = macOf.digest();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO ${s}.snapshots (seq, head, chain, contacts, parts, key_id, mac, instance)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (seq) DO NOTHING`,
      [chain.seq, chain.head, JSON.stringify(chain), profiles.length, parts.length, key.id, mac, instance],
    );
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      return true;
    }
    for (let i = 0; i < parts.length; i++) {
      if (stop()) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query(`INSERT INTO ${s}.snapshot_parts (seq, part, data) VALUES ($1, $2, $3)`, [
        chain.seq,
        i,
        parts[i],
      ]);
    }
    await client.query(
      `DELETE FROM ${s}.snapshots WHERE seq < (SELECT min(seq) FROM
         (SELECT seq FROM ${s}.snapshots ORDER BY seq DESC LIMIT ${KEEP}) AS kept)`,
    );
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The newest snapshot this instance can use at or before `headSeq`, read into a new KeyIndex; undefined
 * when there is none (each one passed over is reported through `passOver`, with why).
 */
export async function loadSnapshot(
  client: PoolClient,
  s: string,
  schema: string,
  key: AuditKey,
  headSeq: number,
  interner: StringInterner,
  passOver: (seq: number, why: string) => void,
): Promise<LoadedSnapshot | undefined> {
  const headers = await client.query<HeaderRow>(
    `SELECT seq, head, chain, contacts, parts, key_id, mac FROM ${s}.snapshots
      WHERE seq <= $1 ORDER BY seq DESC LIMIT ${KEEP}`,
    [headSeq],
  );
  for (const header of headers.rows) {
    try {
      return await readSnapshot(client, s, schema, key, header, interner);
    } catch (error) {
      passOver(Number(header.seq), (error as Error).message);
    }
  }
  return undefined;
}

async function readSnapshot(
  client: PoolClient,
  s: string,
  schema: string,
  key: AuditKey,
  header: HeaderRow,
  interner: StringInterner,
): Promise<LoadedSnapshot> {
  const seq = Number(header.seq);
  const contacts = Number(header.contacts);
  const stored = header.chain;
  // Rebuilt from the members the MAC covers, nothing else taken from the row.
  const chain: ChainState = {
    seq: stored?.seq,
    head: stored?.head,
    chainKey: stored?.chainKey ?? null,
    legacy: stored?.legacy,
    ...(stored?.unverifiable
      ? {
          unverifiable: {
            from: stored.unverifiable.from,
            to: stored.unverifiable.to,
            keyId: stored.unverifiable.keyId,
          },
        }
      : {}),
  };
  if (!Number.isSafeInteger(chain.legacy) || chain.legacy < 0)
    throw new Error('its chain state is malformed');
  if (header.key_id !== key.id) {
    throw new Error(`it was written with audit key ${header.key_id}, this instance has ${key.id}`);
  }
  if (chain?.seq !== seq || chain.head !== header.head) {
    throw new Error('its chain state does not match its header');
  }
  const record = await client.query<{ line: string }>(`SELECT line FROM ${s}.audit WHERE seq = $1`, [seq]);
  const line = record.rows[0]?.line;
  if (line === undefined || (JSON.parse(line) as { hash?: unknown }).hash !== header.head) {
    throw new Error(`the trail's record ${seq} is not the record it was taken at`);
  }
  const index = new KeyIndex(contacts);
  const macOf = snapshotMac(key, schema, chain, contacts, header.parts);
  let count = 0;
  for (let part = 0; part < header.parts; part++) {
    const row = await client.query<{ data: string }>(
      `SELECT data FROM ${s}.snapshot_parts WHERE seq = $1 AND part = $2`,
      [seq, part],
    );
    const text = row.rows[0]?.data;
    if (text === undefined) throw new Error(`part ${part} of ${header.parts} is missing`);
    const data = decodeSnapshotText(text, interner);
    if (data.seq !== seq || data.head !== header.head) throw new Error(`part ${part} is of another snapshot`);
    for (const profile of data.profiles) {
      for (const contactKey of profile.keys) index.set(contactKey, profile);
    }
    count += data.profiles.length;
    macOf.add(text);
  }
  if (count !== contacts) throw new Error(`it holds ${count} contacts, its header says ${contacts}`);
  if (macOf.digest() !== header.mac) throw new Error('its MAC does not verify with the audit key (altered)');
  return { chain, index, contacts };
}
