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
 *
 * This module holds the command's options, the orchestration and the report; each direction is its own
 * module (migrate-to-postgres.ts, migrate-to-embedded.ts), and what both use of the two places (parsing,
 * refusals, the embedded store's files) is in migrate-locations.ts.
 */
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { DncError } from '../errors';
import type { AuditVerification } from './types';
import { AuditKey } from './audit-hash';
import { readKeyFile } from './key-file';
import type { StoreLogger } from './embedded';
import { DEFAULT_SCHEMA } from './postgres/schema';
import {
  parseLocation,
  refused,
  type EmbeddedLocation,
  type GivenKey,
  type PostgresLocation,
} from './migrate-locations';
import { embeddedToPostgres } from './migrate-to-postgres';
import { postgresToEmbedded } from './migrate-to-embedded';

export { DEFAULT_STORE_FILE, displayUrl, parseLocation, type StoreLocation } from './migrate-locations';

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

/** `--key`: a key file, or the key itself. The value is never repeated in a message (it may be the secret). */
async function parseKeyOption(value: string): Promise<GivenKey> {
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
        : await postgresToEmbedded(from as PostgresLocation, to as EmbeddedLocation, given, logger);
    return { ...report, timings: { ...report.timings, total: Date.now() - started } };
  } catch (error) {
    // Every failure carries a code (a file system or driver error does not).
    throw error instanceof DncError
      ? error
      : new DncError('DNC_STORE_ERROR', `migration failed: ${(error as Error).message}`, { cause: error });
  }
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
