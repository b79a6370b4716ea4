/**
 * `dncflow migrate` from an embedded store to PostgreSQL: the source opened and verified on a private
 * copy of its files, the target schema checked empty, the journal's lines and the attempts inserted in
 * one transaction under both heads' locks, and the advice on the audit key the instances now share.
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { DncError } from '../errors';
import type { AttemptRecord, AuditVerification } from './types';
import type { AuditKey } from './audit-hash';
import { ChainVerifier, GENESIS_STATE, journalPathFor, scanLines } from './journal';
import { keyPathFor, readKeyFile } from './key-file';
import { attemptsPathFor, parseAttempts } from './attempts';
import { StoreLock, lockPathFor } from './lock';
import { EmbeddedStore, type StoreLogger } from './embedded';
import { PostgresStore } from './postgres/store';
import { migrate, quoteSchema, readHead } from './postgres/schema';
import { attemptRow, auditRow, insertAttemptRows, insertAuditRows } from './postgres/rows';
import type { MigrationReport } from './migrate';
import {
  MIGRATE_INSTANCE,
  PAGE,
  compareWithSource,
  connectionConfig,
  display,
  embeddedFiles,
  exists,
  hasStoreTables,
  refused,
  type EmbeddedLocation,
  type GivenKey,
  type PostgresLocation,
} from './migrate-locations';

interface EmbeddedSource {
  readonly verification: AuditVerification;
  readonly contacts: number;
  readonly seq: number;
  /** The copy's journal and attempts file, read after the copy store closed. */
  readonly journalPath: string;
  readonly attemptsPath: string;
  readonly key: AuditKey;
}

/** Embedded -> PostgreSQL; `timings.total` is left to the caller. */
export async function embeddedToPostgres(
  from: EmbeddedLocation,
  to: PostgresLocation,
  given: GivenKey | undefined,
  logger: StoreLogger,
  workDir: string,
): Promise<MigrationReport> {
  const s = quoteSchema(to.schema);
  const pool = new Pool(connectionConfig(to.url));
  pool.on('error', () => undefined);
  const copyDir = await mkdtemp(join(workDir, 'dncflow-migrate-'));
  try {
    // The cheap refusal first: a target that holds a store is refused before the source is read.
    await assertPostgresEmpty(pool, to);
    const t0 = Date.now();
    const source = await readEmbeddedSource(from, given?.key, copyDir);
    const t1 = Date.now();
    let chainKey: string | null = null;
    let records = 0;
    let attempts = 0;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await migrate(client, to.schema);
      await client.query('BEGIN');
      // Locking both heads keeps any instance already pointed at the schema from writing meanwhile.
      const head = await readHead(client, s, true);
      await client.query(`SELECT seq FROM ${s}.attempt_head WHERE id = 1 FOR UPDATE`);
      if (
        head.seq !== 0 ||
        (await tableHasRows(client, `${s}.audit`)) ||
        (await tableHasRows(client, `${s}.attempts`))
      ) {
        throw refused(`${display(to)} already holds a DNC store: migrate only into an empty schema`, 'to');
      }
      const verifier = new ChainVerifier(GENESIS_STATE, source.key);
      await readLinePages(source.journalPath, async (lines) => {
        const rows = lines.map((line) => {
          const checked = verifier.next(line, true);
          if (checked.problem !== undefined) throw refused(`the source's journal: ${checked.problem}`);
          return auditRow(checked.record!, line);
        });
        await client.query(insertAuditRows(s, rows, MIGRATE_INSTANCE));
      });
      const state = verifier.state();
      if (state.seq !== source.seq) {
        throw refused(
          `the source's journal holds ${state.seq} records but the store opened with ${source.seq}`,
        );
      }
      records = state.seq;
      chainKey = state.chainKey;
      await client.query(`UPDATE ${s}.chain_head SET seq = $1, hash = $2, chain_key = $3 WHERE id = 1`, [
        state.seq,
        state.head,
        state.chainKey,
      ]);
      const attemptRecords = await readAttemptsFile(source.attemptsPath);
      for (let i = 0; i < attemptRecords.length; i += PAGE) {
        // Numbered from 1 in the attempts file's order, as the shared attempts number them.
        const rows = attemptRecords.slice(i, i + PAGE).map((record, j) => attemptRow(record, i + j + 1));
        await client.query(insertAttemptRows(s, rows, MIGRATE_INSTANCE));
      }
      attempts = attemptRecords.length;
      await client.query(`UPDATE ${s}.attempt_head SET seq = $1 WHERE id = 1`, [attempts]);
      // Instances already following the schema catch up at once.
      await client.query('SELECT pg_notify($1, $2)', [`dncflow_${to.schema}`, String(records)]);
      await client.query('COMMIT');
    } catch (error) {
      broken = error instanceof DncError ? undefined : (error as Error);
      await client.query('ROLLBACK').catch(() => undefined);
      throw error instanceof DncError
        ? error
        : new DncError(
            'DNC_STORE_ERROR',
            `migration: no record was written to ${display(to)}: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
    } finally {
      client.release(broken);
    }
    const t2 = Date.now();
    // The target as an instance opens it: the shared trail's key, its chain and head.
    const target = new PostgresStore({
      connectionString: to.url,
      schema: to.schema,
      auditKey: source.key.export(),
      instance: MIGRATE_INSTANCE,
      logger,
      pollInterval: 60_000,
    });
    let verification: AuditVerification;
    try {
      await target.open();
      verification = await target.verify();
      compareWithSource(
        verification,
        source.verification,
        target.status().contacts,
        source.contacts,
        display(to),
      );
    } finally {
      await target.close();
    }
    const t3 = Date.now();
    return {
      from: display(from),
      to: display(to),
      records,
      contacts: source.contacts,
      attempts,
      verification,
      keyId: chainKey,
      keyAdvice: keyAdviceForPostgres(chainKey, source.key, to.schema, given, from.path),
      timings: { source: t1 - t0, write: t2 - t1, check: t3 - t2, total: 0 },
    };
  } finally {
    await rm(copyDir, { recursive: true, force: true });
    await pool.end().catch(() => undefined);
  }
}

function keyAdviceForPostgres(
  chainKey: string | null,
  key: AuditKey,
  schema: string,
  given: GivenKey | undefined,
  sourcePath: string,
): string[] {
  const keyFile = `dnc-postgres-${schema}.key`;
  if (chainKey === null) {
    return [
      'Every record is unkeyed (written by 0.1.0): the first instance that writes keys the trail with its key.',
      `Give every instance the same key before they write: the same ${keyFile} in each user directory, or the same Audit key credential.`,
    ];
  }
  const where =
    given === undefined
      ? `copy ${keyPathFor(sourcePath)}`
      : given.file !== undefined
        ? `copy ${given.file}`
        : 'write the key you gave with --key';
  return [
    `The trail is keyed with audit key ${key.id}: every instance using schema "${schema}" needs this key.`,
    `On each instance, ${where} to ${keyFile} in its user directory (mode 0600, e.g. ${join(dirname(sourcePath), keyFile)} on this one),` +
      " or give the key in its DNC labels node's Audit key credential.",
    'An instance with another key or none is refused at start, naming both key ids.',
  ];
}

/**
 * Opens the embedded source on a private copy of its files, taken while holding the source's lock (so
 * no process writes it meanwhile, and a running one is refused): every open-time check runs on the copy,
 * and whatever opening writes (a key and checkpoint for a 0.1.0 store, a snapshot at close, a torn line
 * set aside, `.corrupt` copies) lands in the copy, never beside the source.
 */
async function readEmbeddedSource(
  from: EmbeddedLocation,
  givenKey: AuditKey | undefined,
  copyDir: string,
): Promise<EmbeddedSource> {
  const files = embeddedFiles(from.path);
  if (!(await exists(files[0])) && !(await exists(files[1]))) {
    throw refused(
      `there is no DNC store at ${from.path} (no ${basename(files[0])} or ${basename(files[1])})`,
      'from',
    );
  }
  const lock = await StoreLock.acquire(lockPathFor(from.path), () => undefined).catch((error: unknown) => {
    if (error instanceof DncError) throw refused(`the source is in use: ${error.message}`);
    // A store on a read-only file system (a mounted backup) cannot be written by anyone: no lock needed.
    if ((error as NodeJS.ErrnoException).code === 'EROFS') return undefined;
    throw refused(`cannot take the source's lock ${lockPathFor(from.path)}: ${(error as Error).message}`);
  });
  const copyPath = join(copyDir, basename(from.path));
  try {
    const copies = embeddedFiles(copyPath);
    for (let i = 0; i < files.length; i++) {
      // With --key the key file is not the store's key (the credential is): leave it out.
      if (givenKey !== undefined && (i === 3 || i === 4)) continue;
      await copyFile(files[i], copies[i], fsConstants.COPYFILE_FICLONE).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        },
      );
    }
  } finally {
    await lock?.release();
  }
  // Warnings about the copy (its temp path, a key created for a 0.1.0 store) would mislead: dropped.
  const store = new EmbeddedStore({
    path: copyPath,
    logger: { warn: () => undefined },
    // The copy's key may be generated here and discarded: no record may be keyed with it.
    recordUpgrade: false,
    ...(givenKey === undefined ? {} : { auditKey: givenKey.export() }),
  });
  try {
    await store.open().catch((error: unknown) => {
      throw refused(
        `the source ${from.path} does not open: ${aboutSource((error as Error).message, copyDir, from.path)}`,
      );
    });
    const verification = await store.verify();
    if (!verification.ok) {
      throw refused(
        `the source ${from.path} does not verify (record ${verification.badSeq ?? verification.unverifiable?.from}: ${verification.problem})`,
      );
    }
    try {
      store.attempts('', 0);
    } catch (error) {
      throw refused(
        `the source's attempt records are unreadable: ${aboutSource((error as Error).message, copyDir, from.path)}`,
      );
    }
    const { contacts, seq } = store.status();
    const key = givenKey ?? (await readKeyFile(keyPathFor(copyPath)));
    if (key === undefined) throw refused(`the source ${from.path} has no audit key`);
    return {
      verification,
      contacts,
      seq,
      journalPath: journalPathFor(copyPath),
      attemptsPath: attemptsPathFor(copyPath),
      key,
    };
  } finally {
    await store.close();
  }
}

/**
 * A message of the store opened on the copy, about the source: the copy's folder named as the source's,
 * without the sentence about the `.corrupt` copy it kept (that copy is in the temp folder, removed).
 */
function aboutSource(message: string, copyDir: string, sourcePath: string): string {
  return message.replace(/ A copy was kept at [^ ]+\./g, '').replaceAll(copyDir, dirname(sourcePath));
}

async function tableHasRows(client: PoolClient, table: string): Promise<boolean> {
  const result = await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
  return (result.rowCount ?? 0) > 0;
}

/** Refuses a schema that holds records or attempts (read only: nothing is created here). */
async function assertPostgresEmpty(pool: Pool, to: PostgresLocation): Promise<void> {
  const s = quoteSchema(to.schema);
  const client = await pool.connect().catch((error: unknown) => {
    throw refused(`PostgreSQL cannot be reached at ${display(to)}: ${(error as Error).message}`);
  });
  try {
    if (!(await hasStoreTables(client, to.schema))) return;
    const head = await readHead(client, s);
    const attempts = await client.query<{ seq: string }>(`SELECT seq FROM ${s}.attempt_head WHERE id = 1`);
    if (
      head.seq !== 0 ||
      Number(attempts.rows[0]?.seq ?? 0) !== 0 ||
      (await tableHasRows(client, `${s}.audit`)) ||
      (await tableHasRows(client, `${s}.attempts`))
    ) {
      throw refused(
        `${display(to)} already holds a DNC store (${head.seq} audit records): migrate only into an empty schema`,
        'to',
      );
    }
  } finally {
    client.release();
  }
}

/** Calls `onPage` with the journal's lines, PAGE at a time; a final line without its newline is refused. */
async function readLinePages(path: string, onPage: (lines: string[]) => Promise<void>): Promise<void> {
  let position = 0;
  for (;;) {
    const lines: string[] = [];
    let next = position;
    let torn = false;
    await scanLines(path, position, undefined, (line) => {
      if (!line.complete) {
        torn = true;
        return false;
      }
      lines.push(line.text);
      next = line.end;
      return lines.length < PAGE;
    }).catch((error: NodeJS.ErrnoException) => {
      // A store that never wrote a record has no journal.
      if (error.code !== 'ENOENT') throw error;
    });
    if (lines.length > 0) await onPage(lines);
    if (torn) throw refused(`the source's journal ends in the middle of a record`);
    if (lines.length < PAGE) return;
    position = next;
  }
}

/**
 * The attempts file's records, in file order (the store opened it, so every complete line is a record;
 * a torn final line was never acknowledged and is left out, as the store itself does).
 */
async function readAttemptsFile(path: string): Promise<AttemptRecord[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return parseAttempts(text, `the attempt records ${path}`).records;
}
