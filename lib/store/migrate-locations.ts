/**
 * A migration's two places (`--from`, `--to`): parsed, shown to the user (a URL's password masked),
 * refused, and what both directions need of them: an embedded store's files, the connection settings of
 * the PostgreSQL side, the target compared with the source once written. Both directions
 * (migrate-to-postgres.ts, migrate-to-embedded.ts) build on this module, and migrate.ts on all three.
 */
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import { DncError } from '../errors';
import type { AuditVerification } from './types';
import type { AuditKey } from './audit-hash';
import { journalPathFor } from './journal';
import { checkpointPathFor } from './checkpoint';
import { keyPathFor, pendingKeyPathFor } from './key-file';
import { attemptsPathFor } from './attempts';
import { quoteSchema } from './postgres/schema';

/** The store file in a user directory, as the DNC labels node names it by default. */
export const DEFAULT_STORE_FILE = 'dnc-store.json';

export type StoreLocation =
  | { readonly kind: 'embedded'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };
export type EmbeddedLocation = Extract<StoreLocation, { kind: 'embedded' }>;
export type PostgresLocation = Extract<StoreLocation, { kind: 'postgres' }>;

/** The audit key given with `--key`, and the file it came from (when it did). */
export interface GivenKey {
  readonly key: AuditKey;
  readonly file?: string;
}

/** Records per INSERT, and journal lines per page read. */
export const PAGE = 5_000;
/** How migrated rows name their instance (the `instance` column). */
export const MIGRATE_INSTANCE = `dncflow migrate@${hostname()}`;

export function refused(message: string, field?: string): DncError {
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

export function display(location: StoreLocation): string {
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

/** The files of an embedded store, beside its snapshot. */
export function embeddedFiles(path: string): string[] {
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

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** Whether the schema holds a store's tables (without creating anything). */
export async function hasStoreTables(client: PoolClient, schema: string): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS exists`,
    [`"${schema}".chain_head`, `"${schema}".attempt_head`],
  );
  return result.rows[0].exists;
}

export function connectionConfig(url: string): {
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

/** Checks the target's verify() and contact count against the source's. */
export function compareWithSource(
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
