/**
 * The PostgreSQL store's settings as the DNC labels node holds them (strings from the editor), checked
 * and turned into PostgresStore options. A setting that cannot be used is refused with its field named,
 * never replaced by a guess: the store then stays closed and every check fails closed.
 */
import { DncError } from '../../errors';
import { DEFAULT_SCHEMA, SCHEMA_NAME_PATTERN } from './schema';
import { DEFAULT_MAX_STALENESS, type PostgresStoreOptions } from './store';

/** The environment variable read when the node's `postgresUrl` credential is blank. */
export const POSTGRES_URL_ENV = 'DNC_POSTGRES_URL';

export const DEFAULT_POOL_SIZE = 10;
const MAX_POOL_SIZE = 100;
const MAX_STALENESS_SECONDS = 3600;

/** TLS to the server: as the URL says (`sslmode`), required (encrypted, any certificate), or verified. */
export type PostgresTls = 'url' | 'require' | 'verify';

export interface PostgresSettingsInput {
  readonly postgresUrl?: unknown;
  /** process.env[POSTGRES_URL_ENV], used when postgresUrl is blank. */
  readonly envUrl?: unknown;
  readonly postgresSchema?: unknown;
  readonly postgresPoolSize?: unknown;
  readonly postgresTls?: unknown;
  /** Seconds. */
  readonly maxStaleness?: unknown;
}

export type PostgresSettings = Required<
  Pick<PostgresStoreOptions, 'connectionString' | 'schema' | 'pool' | 'maxStaleness'>
>;

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', message, { field });
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

function wholeNumber(value: unknown, field: string, fallback: number, min: number, max: number): number {
  const raw = text(value);
  if (raw === '') return fallback;
  const number = Number(raw);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max}, not "${raw}"`, field);
  }
  return number;
}

export function postgresSettings(input: PostgresSettingsInput): PostgresSettings {
  const url = text(input.postgresUrl) || text(input.envUrl);
  if (url === '') {
    throw invalid(
      `the PostgreSQL store needs a connection: give the connection URL or set ${POSTGRES_URL_ENV}`,
      'postgresUrl',
    );
  }
  if (!/^postgres(ql)?:\/\/./i.test(url)) {
    // The URL may hold a password: the message never repeats it.
    throw invalid(
      'the PostgreSQL connection must be a URL: postgres://user:password@host:port/database',
      'postgresUrl',
    );
  }
  const schema = text(input.postgresSchema) || DEFAULT_SCHEMA;
  if (!SCHEMA_NAME_PATTERN.test(schema)) {
    throw invalid(
      `the PostgreSQL schema must be a lower-case SQL name (letters, digits, _), not "${schema}"`,
      'postgresSchema',
    );
  }
  const max = wholeNumber(input.postgresPoolSize, 'postgresPoolSize', DEFAULT_POOL_SIZE, 2, MAX_POOL_SIZE);
  const tls = text(input.postgresTls) || 'url';
  if (tls !== 'url' && tls !== 'require' && tls !== 'verify') {
    throw invalid(`postgresTls must be url, require or verify, not "${tls}"`, 'postgresTls');
  }
  const seconds = wholeNumber(
    input.maxStaleness,
    'maxStaleness',
    DEFAULT_MAX_STALENESS / 1000,
    1,
    MAX_STALENESS_SECONDS,
  );
  return {
    connectionString: url,
    schema,
    pool: {
      max,
      ...(tls === 'url' ? {} : { ssl: { rejectUnauthorized: tls === 'verify' } }),
    },
    maxStaleness: seconds * 1000,
  };
}
