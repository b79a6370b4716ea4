/**
 * Moving a DNC store between the embedded files and PostgreSQL (`npx dncflow migrate`), in either
 * direction: contacts, labels, attempt records and the audit trail. The trail is copied verbatim (every
 * record's line, seq and hash as written, 0.1.0's unkeyed records included), so the state is whatever
 * the target folds from it, and `verify()` on the target gives the source's result.
 *
 * Refused, with nothing written: a target that already holds a store, a source that does not open or
 * verify, an embedded source held by a running process (its lock file), a PostgreSQL source that an
 * instance is following. The source is never modified: an embedded source is opened (so that every
 * open-time check runs) on a private copy of its files taken under its lock, because opening a store
 * may write (a checkpoint and key for a 0.1.0 store, a snapshot at close, a torn line set aside); a
 * PostgreSQL source is read in one read-only snapshot transaction.
 *
 * After writing, the target is opened with its own store class and verified, which proves that an
 * instance will accept it (the embedded open-time checks, the shared trail's key and chain head).
 */
import { copyFile, mkdtemp, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { constants as fsConstants, existsSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { DncError } from '../errors';
import { mkdirPrivateSync, openPrivate } from '../private-files';
import type { AttemptRecord, AuditRecord, AuditVerification } from './types';
import { AuditKey } from './audit-hash';
import { ChainVerifier, GENESIS_STATE, journalPathFor, scanLines } from './journal';
import { checkpointPathFor, createCheckpoint } from './checkpoint';
import {
  installPendingKeyFile,
  keyPathFor,
  pendingKeyPathFor,
  readKeyFile,
  writePendingKeyFile,
} from './key-file';
import { attemptsPathFor } from './attempts';
import { StoreLock, lockPathFor } from './lock';
import { fsyncDirectory } from './files';
import { EmbeddedStore, type StoreLogger } from './embedded';
import { PostgresStore } from './postgres/store';
import { DEFAULT_SCHEMA, migrate, quoteSchema, readHead } from './postgres/schema';

/** The store file in a user directory, as the DNC labels node names it by default. */
export const DEFAULT_STORE_FILE = 'dnc-store.json';

export type StoreLocation =
  | { readonly kind: 'embedded'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export interface MigrateOptions {
  /** A user directory (its dnc-store.json), a store .json file, or a postgres:// URL. */
  readonly from: string;
  readonly to: string;
  /** The PostgreSQL side's schema (default `dnc`). */
  readonly schema?: string;
  /**
   * The audit key: a key file or the key itself (base64 or hex). For an embedded source, when its DNC
   * labels node gives the key in its credentials (default: the key file beside the store). For a
   * PostgreSQL source, the shared trail's key (default: `dnc-postgres-<schema>.key` in the target's folder).
   */
  readonly key?: string;
  /** Warnings of the stores opened on the target. */
  readonly logger?: StoreLogger;
  /** Where the private copy of an embedded source is made (default: the system's temp folder). */
  readonly workDir?: string;
}

export interface MigrationReport {
  /** The source and target as shown to the user (a URL's password masked). */
  readonly from: string;
  readonly to: string;
  readonly records: number;
  readonly contacts: number;
  readonly attempts: number;
  /** verify() on the target once written: equal to the source's. */
  readonly verification: AuditVerification;
  /** The key the trail's keyed part continues with; null when every record is 0.1.0's (unkeyed). */
  readonly keyId: string | null;
  /** What the user must do with the audit key, one sentence per line. */
  readonly keyAdvice: readonly string[];
  /** Milliseconds: reading and checking the source, writing the target, opening and verifying it. */
  readonly timings: {
    readonly source: number;
    readonly write: number;
    readonly check: number;
    readonly total: number;
  };
}

/** Records per INSERT, and journal lines per page read. */
const PAGE = 5_000;
/** How migrated rows name their instance (the `instance` column). */
const MIGRATE_INSTANCE = `dncflow migrate@${hostname()}`;

function refused(message: string, field?: string): DncError {
  return new DncError(
    field === undefined ? 'DNC_STORE_UNAVAILABLE' : 'DNC_INVALID_INPUT',
    `migration refused: ${message}`,
    field === undefined ? {} : { field },
  );
}

/** A postgres:// URL with its password masked, for messages. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

function display(location: StoreLocation): string {
  return location.kind === 'embedded'
    ? location.path
    : `${displayUrl(location.url)} (schema "${location.schema}")`;
}

/** `--from`/`--to`: a postgres:// URL, a store .json file, or a user directory (its dnc-store.json). */
export function parseLocation(text: string, schema: string, field: 'from' | 'to'): StoreLocation {
  const value = text.trim();
  if (value === '') throw refused(`--${field} is empty`, field);
  if (/^postgres(ql)?:\/\//i.test(value)) {
    quoteSchema(schema);
    return { kind: 'postgres', url: value, schema };
  }
  if (/\.json$/i.test(value)) return { kind: 'embedded', path: value };
  return { kind: 'embedded', path: join(value, DEFAULT_STORE_FILE) };
}

/** `--key`: a key file, or the key itself. The value is never repeated in a message (it may be the secret). */
async function parseKeyOption(value: string): Promise<{ key: AuditKey; file?: string }> {
  if (existsSync(value)) {
    const key = await readKeyFile(value).catch(() => undefined);
    if (key === undefined)
      throw refused(
        `the key file given with --key does not hold a key (base64 or hex, at least 16 bytes)`,
        'key',
      );
    return { key, file: value };
  }
  const key = AuditKey.parse(value);
  if (key === undefined)
    throw refused('--key is neither a key file nor a key (base64 or hex, at least 16 bytes)', 'key');
  return { key };
}

/** The files of an embedded store, beside its snapshot. */
function embeddedFiles(path: string): string[] {
  const keyPath = keyPathFor(path);
  return [
    path,
    journalPathFor(path),
    checkpointPathFor(path),
    keyPath,
    pendingKeyPathFor(keyPath),
    attemptsPathFor(path),
  ];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

export async function migrateStore(options: MigrateOptions): Promise<MigrationReport> {
  const started = Date.now();
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const from = parseLocation(options.from, schema, 'from');
  const to = parseLocation(options.to, schema, 'to');
  if (from.kind === to.kind) {
    throw refused(
      `one side must be an embedded store (a user directory or a store .json file) and the other a postgres:// URL`,
      'to',
    );
  }
  const given = options.key === undefined ? undefined : await parseKeyOption(options.key);
  const logger = options.logger ?? { warn: (message: string) => console.warn(message) };
  try {
    const report =
      from.kind === 'embedded' && to.kind === 'postgres'
        ? await embeddedToPostgres(from, to, given, logger, options.workDir ?? tmpdir())
        : await postgresToEmbedded(
            from as Extract<StoreLocation, { kind: 'postgres' }>,
            to as Extract<StoreLocation, { kind: 'embedded' }>,
            given,
            logger,
          );
    return { ...report, timings: { ...report.timings, total: Date.now() - started } };
  } catch (error) {
    // Every failure carries a code (a file system or driver error does not).
    throw error instanceof DncError
      ? error
      : new DncError('DNC_STORE_ERROR', `migration failed: ${(error as Error).message}`, { cause: error });
  }
}

type Timings = MigrationReport['timings'];

/** Checks the target's verify() and contact count against the source's. */
function compareWithSource(
  target: AuditVerification,
  source: AuditVerification,
  targetContacts: number,
  sourceContacts: number,
  where: string,
): void {
  if (JSON.stringify(target) !== JSON.stringify(source) || targetContacts !== sourceContacts) {
    throw new DncError(
      'DNC_STORE_ERROR',
      `migration: the target ${where} was written but does not match the source: verify() gave` +
        ` ${JSON.stringify(target)} (source ${JSON.stringify(source)}), ${targetContacts} contacts` +
        ` (source ${sourceContacts}); do not use it`,
    );
  }
}

// -------------------------------------------------------------------- embedded -> PostgreSQL

interface EmbeddedSource {
  readonly verification: AuditVerification;
  readonly contacts: number;
  readonly seq: number;
  /** The copy's journal and attempts file, read after the copy store closed. */
  readonly journalPath: string;
  readonly attemptsPath: string;
  readonly key: AuditKey;
}

async function embeddedToPostgres(
  from: Extract<StoreLocation, { kind: 'embedded' }>,
  to: Extract<StoreLocation, { kind: 'postgres' }>,
  given: { key: AuditKey; file?: string } | undefined,
  logger: StoreLogger,
  workDir: string,
): Promise<Omit<MigrationReport, 'timings'> & { timings: Timings }> {
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
        await insertAuditRows(client, s, rows);
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
        await insertAttemptRows(client, s, attemptRecords.slice(i, i + PAGE), i);
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
  given: { key: AuditKey; file?: string } | undefined,
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
  from: Extract<StoreLocation, { kind: 'embedded' }>,
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
async function assertPostgresEmpty(
  pool: Pool,
  to: Extract<StoreLocation, { kind: 'postgres' }>,
): Promise<void> {
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

async function hasStoreTables(client: PoolClient, schema: string): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS exists`,
    [`"${schema}".chain_head`, `"${schema}".attempt_head`],
  );
  return result.rows[0].exists;
}

/** The row of `<schema>.audit` for a record, its columns derived as the writer (postgres/writer.ts) derives them. */
function auditRow(record: AuditRecord, line: string): Record<string, unknown> {
  return {
    seq: record.seq,
    line,
    keys: record.keys,
    labels: [...new Set([...record.labels, ...record.changed])],
    source: record.source,
    at: record.at,
  };
}

async function insertAuditRows(
  client: PoolClient,
  s: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  await client.query(
    `INSERT INTO ${s}.audit (seq, line, keys, labels, source, at, instance)
     SELECT (r->>'seq')::bigint, r->>'line',
            ARRAY(SELECT jsonb_array_elements_text(r->'keys')),
            ARRAY(SELECT jsonb_array_elements_text(r->'labels')),
            r->>'source', (r->>'at')::timestamptz, $2
       FROM jsonb_array_elements($1::jsonb) AS r`,
    [JSON.stringify(rows), MIGRATE_INSTANCE],
  );
}

/** Attempt rows numbered from `offset + 1`, in the attempts file's order, as postgres/attempts.ts writes them. */
async function insertAttemptRows(
  client: PoolClient,
  s: string,
  records: readonly AttemptRecord[],
  offset: number,
): Promise<void> {
  const rows = records.map((record, i) => ({
    seq: offset + i + 1,
    keys: record.keys,
    at: Math.trunc(record.at),
    attempt: record.attempt,
    outcome: record.outcome,
    channel: record.channel,
    campaign: record.campaign,
    source: record.source,
    principal: record.principal ?? null,
  }));
  await client.query(
    `INSERT INTO ${s}.attempts (seq, keys, at, attempt, outcome, channel, campaign, source, principal, instance)
     SELECT (r->>'seq')::bigint, ARRAY(SELECT jsonb_array_elements_text(r->'keys')), (r->>'at')::bigint,
            (r->>'attempt')::boolean, r->>'outcome', r->>'channel', r->>'campaign', r->>'source',
            r->>'principal', $2
       FROM jsonb_array_elements($1::jsonb) AS r`,
    [JSON.stringify(rows), MIGRATE_INSTANCE],
  );
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
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AttemptRecord);
}

// -------------------------------------------------------------------- PostgreSQL -> embedded

async function postgresToEmbedded(
  from: Extract<StoreLocation, { kind: 'postgres' }>,
  to: Extract<StoreLocation, { kind: 'embedded' }>,
  given: { key: AuditKey; file?: string } | undefined,
  logger: StoreLogger,
): Promise<Omit<MigrationReport, 'timings'> & { timings: Timings }> {
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
  from: Extract<StoreLocation, { kind: 'postgres' }>,
): Promise<{ seq: number; chainKey: string | null }> {
  const client = await pool.connect().catch((error: unknown) => {
    throw refused(`PostgreSQL cannot be reached at ${display(from)}: ${(error as Error).message}`);
  });
  try {
    if (!(await hasStoreTables(client, from.schema))) {
      throw refused(`there is no DNC store in schema "${from.schema}" of ${displayUrl(from.url)}`, 'from');
    }
    const head = await readHead(client, quoteSchema(from.schema));
    // Every instance keeps one connection named dncflow-follow whose only statement is LISTEN on the
    // schema's channel; a session of another role shows no statement, so it counts too (fail closed).
    const followers = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'dncflow-follow'
          AND (query = $1 OR query IS NULL OR query = '<insufficient privilege>')`,
      [`LISTEN "dncflow_${from.schema}"`],
    );
    const count = Number(followers.rows[0].n);
    if (count > 0) {
      throw refused(
        `the source is in use: ${count} DNC Flow instance${count === 1 ? '' : 's'} follow${count === 1 ? 's' : ''}` +
          ` schema "${from.schema}"; stop ${count === 1 ? 'it' : 'them'} first (changes made after the copy would be lost)`,
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
      const rows = await client.query<AttemptRow>(
        `SELECT seq, keys, at, attempt, outcome, channel, campaign, source, principal
           FROM ${s}.attempts WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${PAGE}`,
        [after, Number(attemptHead.rows[0].seq)],
      );
      attempts += rows.rows.length;
      const last = rows.rows.at(-1);
      return {
        text: rows.rows.map((row) => `${JSON.stringify(attemptFromRow(row))}\n`).join(''),
        next: last ? Number(last.seq) : undefined,
      };
    });
    return { seq: state.seq, head: state.head, chainKey: state.chainKey, attempts };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

interface AttemptRow {
  seq: string;
  keys: string[];
  at: string;
  attempt: boolean;
  outcome: string | null;
  channel: string | null;
  campaign: string | null;
  source: string;
  principal: string | null;
}

/** An attempt as the embedded attempts file holds it (lib/store/attempts.ts: members in this order). */
function attemptFromRow(row: AttemptRow): AttemptRecord {
  return {
    keys: row.keys,
    at: Number(row.at),
    attempt: row.attempt,
    outcome: row.outcome,
    channel: row.channel,
    campaign: row.campaign,
    source: row.source,
    ...(row.principal === null ? {} : { principal: row.principal }),
  };
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

function connectionConfig(url: string): {
  connectionString: string;
  application_name: string;
  options: string;
  connectionTimeoutMillis: number;
} {
  return {
    connectionString: url,
    application_name: 'dncflow-migrate',
    // Acknowledged means on disk, whatever the server's default (as the store's own connections).
    options: '-c synchronous_commit=on',
    connectionTimeoutMillis: 10_000,
  };
}

/** For the CLI: the report as the lines printed on stdout. */
export function describeMigration(report: MigrationReport): string[] {
  const v = report.verification;
  const seconds = (ms: number): string => (ms / 1000).toFixed(1);
  return [
    `Migrated ${report.records} audit records, ${report.contacts} contacts and ${report.attempts} attempt records`,
    `  from ${report.from}`,
    `  to   ${report.to}`,
    `verify() on the target: ${v.ok ? 'ok' : 'FAILED'}, ${v.records} records` +
      `${v.legacy ? ` (1..${v.legacy} unkeyed, written by 0.1.0)` : ''}, the same as the source.`,
    ...report.keyAdvice,
    `Time: ${seconds(report.timings.total)} s (source read and verified ${seconds(report.timings.source)} s,` +
      ` written ${seconds(report.timings.write)} s, target opened and verified ${seconds(report.timings.check)} s).`,
  ];
}
