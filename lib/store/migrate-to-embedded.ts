/**
 * `dncflow migrate` from PostgreSQL to an embedded store: the source schema inspected (it exists, no
 * instance follows it) and opened with its key, its trail and attempts read in one read-only snapshot
 * into the journal and attempts file, then the checkpoint and key file, in the order the embedded store
 * itself installs a key.
 */
import { rename, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Pool } from 'pg';
import { DncError } from '../errors';
import { mkdirPrivateSync, openPrivate } from '../private-files';
import type { AuditVerification } from './types';
import { AuditKey } from './audit-hash';
import { ChainVerifier, GENESIS_STATE, journalPathFor } from './journal';
import { checkpointPathFor, createCheckpoint } from './checkpoint';
import {
  installPendingKeyFile,
  keyPathFor,
  pendingKeyPathFor,
  readKeyFile,
  writePendingKeyFile,
} from './key-file';
import { ATTEMPTS_HEADER, attemptsPathFor } from './attempts';
import { StoreLock, lockPathFor } from './lock';
import { fsyncDirectory } from './files';
import { EmbeddedStore, type StoreLogger } from './embedded';
import { PostgresStore } from './postgres/store';
import { quoteSchema, readHead } from './postgres/schema';
import { ATTEMPT_COLUMNS, attemptFromRow, type AttemptRowOut } from './postgres/rows';
import type { MigrationReport } from './migrate';
import {
  MIGRATE_INSTANCE,
  PAGE,
  compareWithSource,
  connectionConfig,
  display,
  displayUrl,
  embeddedFiles,
  exists,
  hasStoreTables,
  refused,
  type EmbeddedLocation,
  type GivenKey,
  type PostgresLocation,
} from './migrate-locations';

/** PostgreSQL -> embedded; `timings.total` is left to the caller. */
export async function postgresToEmbedded(
  from: PostgresLocation,
  to: EmbeddedLocation,
  given: GivenKey | undefined,
  logger: StoreLogger,
): Promise<MigrationReport> {
  const s = quoteSchema(from.schema);
  await assertEmbeddedEmpty(to.path);
  const pool = new Pool(connectionConfig(from.url));
  pool.on('error', () => undefined);
  try {
    const t0 = Date.now();
    const head = await inspectPostgresSource(pool, from);
    // The key: --key, or the key file an instance kept in this user directory, or (a trail with no
    // keyed record yet) a new one for the embedded store's checkpoint.
    const defaultKeyFile = join(dirname(to.path), `dnc-postgres-${from.schema}.key`);
    let key = given?.key;
    let keySource = given?.file ?? (given ? '--key' : undefined);
    if (key === undefined && (await exists(defaultKeyFile))) {
      key = await readKeyFile(defaultKeyFile);
      keySource = defaultKeyFile;
    }
    let created = false;
    if (key === undefined) {
      if (head.chainKey !== null) {
        throw refused(
          `the trail is keyed with audit key ${head.chainKey}: give that key with --key (a key file, such as an` +
            ` instance's dnc-postgres-${from.schema}.key, or the key itself)`,
          'key',
        );
      }
      key = AuditKey.generate();
      created = true;
    }
    const source = new PostgresStore({
      connectionString: from.url,
      schema: from.schema,
      auditKey: key.export(),
      instance: MIGRATE_INSTANCE,
      logger: { warn: () => undefined },
      pollInterval: 60_000,
    });
    let verification: AuditVerification;
    let contacts: number;
    try {
      await source.open().catch((error: unknown) => {
        throw refused(`the source ${display(from)} does not open: ${(error as Error).message}`);
      });
      verification = await source.verify();
      contacts = source.status().contacts;
    } finally {
      await source.close();
    }
    if (!verification.ok) {
      throw refused(
        `the source ${display(from)} does not verify (record ${verification.badSeq ?? verification.unverifiable?.from}: ${verification.problem})`,
      );
    }
    const t1 = Date.now();

    if (!existsSync(dirname(to.path))) mkdirPrivateSync(dirname(to.path));
    const lock = await StoreLock.acquire(lockPathFor(to.path), () => undefined).catch((error: unknown) => {
      throw refused(`the target is in use: ${(error as Error).message}`, 'to');
    });
    const written: string[] = [];
    let records = 0;
    let attempts = 0;
    let chainKey: string | null = null;
    try {
      await assertEmbeddedEmpty(to.path);
      const keyPath = keyPathFor(to.path);
      const journalPath = journalPathFor(to.path);
      const attemptsPath = attemptsPathFor(to.path);
      // The order the embedded store itself installs a new key in (recovery.ts): pending key, data,
      // checkpoint, key file. Interrupted midway, what is left is refused at open (a keyed journal
      // without a checkpoint), never accepted as a store.
      written.push(pendingKeyPathFor(keyPath));
      await writePendingKeyFile(keyPath, key);
      const copied = await copyPostgresData(
        pool,
        s,
        key,
        verification.records,
        journalPath,
        attemptsPath,
        written,
      );
      records = copied.seq;
      attempts = copied.attempts;
      chainKey = copied.chainKey;
      written.push(checkpointPathFor(to.path));
      await createCheckpoint(checkpointPathFor(to.path), key, copied.seq, copied.head, copied.chainKey);
      written.push(keyPath);
      await installPendingKeyFile(keyPath);
      await fsyncDirectory(to.path);
    } catch (error) {
      for (const path of written.reverse()) await unlink(path).catch(() => undefined);
      await lock.release();
      throw error instanceof DncError
        ? error
        : new DncError(
            'DNC_STORE_ERROR',
            `migration: nothing was written to ${to.path}: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
    }
    await lock.release();
    const t2 = Date.now();
    // The target as Node-RED opens it: every open-time check, and the snapshot written at close.
    const target = new EmbeddedStore({ path: to.path, logger });
    let targetVerification: AuditVerification;
    try {
      await target.open();
      targetVerification = await target.verify();
      compareWithSource(targetVerification, verification, target.status().contacts, contacts, to.path);
    } finally {
      await target.close();
    }
    const t3 = Date.now();
    return {
      from: display(from),
      to: to.path,
      records,
      contacts,
      attempts,
      verification: targetVerification,
      keyId: chainKey,
      keyAdvice: [
        `The audit key ${key.id}${created ? ' (new: the trail had no keyed record)' : keySource ? ` (from ${keySource})` : ''}` +
          ` is in ${keyPathFor(to.path)} (mode 0600). Back it up apart from the store's files.`,
        "If this instance's DNC labels node gives an Audit key credential, it must hold this same key.",
      ],
      timings: { source: t1 - t0, write: t2 - t1, check: t3 - t2, total: 0 },
    };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** Refuses a target that holds any of an embedded store's files. */
async function assertEmbeddedEmpty(path: string): Promise<void> {
  for (const file of embeddedFiles(path)) {
    if (await exists(file)) {
      throw refused(
        `the target already holds a DNC store (${file} exists): migrate only into an empty place`,
        'to',
      );
    }
  }
}

/**
 * Checks the source schema before anything opens it: it exists (opening would create it) and no
 * instance follows it (its writes after the copy would be lost to the target). Returns its chain head.
 */
async function inspectPostgresSource(
  pool: Pool,
  from: PostgresLocation,
): Promise<{ seq: number; chainKey: string | null }> {
  const client = await pool.connect().catch((error: unknown) => {
    throw refused(`PostgreSQL cannot be reached at ${display(from)}: ${(error as Error).message}`);
  });
  try {
    if (!(await hasStoreTables(client, from.schema))) {
      throw refused(`there is no DNC store in schema "${from.schema}" of ${displayUrl(from.url)}`, 'from');
    }
    const head = await readHead(client, quoteSchema(from.schema));
    // Every instance keeps one connection named dncflow-follow whose statements are LISTEN on the
    // schema's channel and then its bid to lead (pg_try_advisory_lock, postgres/store.ts, with the
    // schema in a comment), repeated at its polls until it leads. pg_stat_activity shows the last
    // statement only. A session of another role shows no statement: it counts (fail closed), though it
    // may follow another schema of the same database.
    const followers = await client.query<{ sure: string; maybe: string }>(
      `SELECT count(*) FILTER (WHERE query = $1 OR query = $2) AS sure,
              count(*) FILTER (WHERE query IS NULL OR query = '<insufficient privilege>') AS maybe
         FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'dncflow-follow'`,
      [
        `LISTEN "dncflow_${from.schema}"`,
        `SELECT pg_try_advisory_lock(hashtext($1)) AS locked /* dncflow:lead:${from.schema} */`,
      ],
    );
    const sure = Number(followers.rows[0].sure);
    const count = sure + Number(followers.rows[0].maybe);
    if (count > 0) {
      throw refused(
        `the source is in use: ${count} DNC Flow instance${count === 1 ? '' : 's'} follow${count === 1 ? 's' : ''}` +
          ` schema "${from.schema}"${sure === count ? '' : ' (or another schema of this database: PostgreSQL does not say which)'};` +
          ` stop ${count === 1 ? 'it' : 'them'} first (changes made after the copy would be lost)`,
      );
    }
    return { seq: head.seq, chainKey: head.chainKey };
  } finally {
    client.release();
  }
}

/**
 * Reads the trail and the attempts in one read-only snapshot and writes the journal and attempts file
 * (temp files, fsynced, renamed). Each line is checked against the chain again as it is copied: the
 * store's verify() ran in an earlier transaction, and what is written must be what was verified.
 */
async function copyPostgresData(
  pool: Pool,
  s: string,
  key: AuditKey,
  verifiedRecords: number,
  journalPath: string,
  attemptsPath: string,
  written: string[],
): Promise<{ seq: number; head: string; chainKey: string | null; attempts: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const head = await readHead(client, s);
    if (head.seq !== verifiedRecords) {
      throw refused(
        `the source changed while it was read (${verifiedRecords} records verified, ${head.seq} now)`,
      );
    }
    const verifier = new ChainVerifier(GENESIS_STATE, key);
    await writeFileFromPages(journalPath, written, async (after) => {
      const rows = await client.query<{ seq: string; line: string }>(
        `SELECT seq, line FROM ${s}.audit WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${PAGE}`,
        [after, head.seq],
      );
      for (const row of rows.rows) {
        const checked = verifier.next(row.line, false);
        if (checked.problem !== undefined) throw refused(`the source's trail: ${checked.problem}`);
      }
      const last = rows.rows.at(-1);
      return {
        text: rows.rows.map((row) => `${row.line}\n`).join(''),
        next: last ? Number(last.seq) : undefined,
      };
    });
    const state = verifier.state();
    if (state.seq !== head.seq || state.head !== head.hash) {
      throw refused(
        `the source's trail holds ${state.seq} valid records but its chain head says ${head.seq}`,
      );
    }
    let attempts = 0;
    const attemptHead = await client.query<{ seq: string }>(`SELECT seq FROM ${s}.attempt_head WHERE id = 1`);
    await writeFileFromPages(attemptsPath, written, async (after) => {
      const rows = await client.query<AttemptRowOut>(
        `SELECT ${ATTEMPT_COLUMNS} FROM ${s}.attempts WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${PAGE}`,
        [after, Number(attemptHead.rows[0].seq)],
      );
      attempts += rows.rows.length;
      const last = rows.rows.at(-1);
      const lines = rows.rows.map((row) => `${JSON.stringify(attemptFromRow(row))}\n`).join('');
      return {
        // The file names its format first, as one the embedded store creates does.
        text: after === 0 && lines !== '' ? ATTEMPTS_HEADER + lines : lines,
        next: last ? Number(last.seq) : undefined,
      };
    });
    return { seq: state.seq, head: state.head, chainKey: state.chainKey, attempts };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * Writes `path` from pages (`page(after)` gives the text of the rows after seq `after` and the last
 * seq, undefined when there are no more): a temp file (0600), fsynced, renamed. A file with nothing to
 * hold is not created (an embedded store creates its attempts file at the first record).
 */
async function writeFileFromPages(
  path: string,
  written: string[],
  page: (after: number) => Promise<{ text: string; next: number | undefined }>,
): Promise<void> {
  const temp = `${path}.migrating`;
  written.push(temp);
  const handle = await openPrivate(temp, 'wx');
  let bytes = 0;
  try {
    for (let after = 0; ;) {
      const { text, next } = await page(after);
      if (text !== '') bytes += (await handle.write(text)).bytesWritten;
      if (next === undefined) break;
      after = next;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (bytes === 0) {
    await unlink(temp);
    return;
  }
  written.push(path);
  await rename(temp, path);
}
