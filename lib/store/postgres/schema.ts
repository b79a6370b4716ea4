/**
 * The PostgreSQL store's schema: versioned, forward-only migrations, recorded in `schema_migrations`
 * of the store's schema (default `dnc`) and applied at open under an advisory lock, so that several
 * instances starting together apply each migration once. A role that may not create objects gets a
 * refusal naming the migrations its schema owner must run (`npx dncflow schema` prints their SQL), and
 * the store stays unavailable (checks fail closed) until they are applied. A schema newer than this
 * version of the package is refused too: a downgrade must never write into tables it does not know.
 */
import type { PoolClient } from 'pg';
import { DncError } from '../../errors';

/** A schema name the package accepts: a plain lower-case SQL identifier, so quoting is never ambiguous. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export const DEFAULT_SCHEMA = 'dnc';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, for schema `s` (already a quoted identifier). */
  readonly sql: (s: string) => string;
}

/**
 * The audit trail keeps each record's exact text (`line`, the JSON the hash covers, members in journal
 * order) so that verification and replay read what was hashed; the other columns are indexes over it.
 * `chain_head` is the one row every writer locks: it serialises appends across instances, which is what
 * makes `seq` gapless and its order the commit order that followers read in.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit trail, chain head, attempts',
    sql: (s) => `
CREATE TABLE ${s}.audit (
  seq bigint PRIMARY KEY,
  change_id text UNIQUE,
  line text NOT NULL,
  keys text[] NOT NULL,
  labels text[] NOT NULL,
  source text NOT NULL,
  at timestamptz NOT NULL,
  instance text NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_keys ON ${s}.audit USING gin (keys);
CREATE INDEX audit_at ON ${s}.audit (at);
CREATE TABLE ${s}.chain_head (
  id smallint PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL,
  chain_key text
);
INSERT INTO ${s}.chain_head VALUES (1, 0, '${'0'.repeat(64)}', NULL);
CREATE FUNCTION ${s}.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the DNC audit trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON ${s}.audit
  FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_audit_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${s}.audit
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_audit_change();
CREATE TABLE ${s}.attempts (
  seq bigint PRIMARY KEY,
  keys text[] NOT NULL,
  at bigint NOT NULL,
  attempt boolean NOT NULL,
  outcome text,
  channel text,
  campaign text,
  source text NOT NULL,
  principal text,
  instance text NOT NULL
);
CREATE INDEX attempts_at ON ${s}.attempts (at);
CREATE TABLE ${s}.attempt_head (id smallint PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL);
INSERT INTO ${s}.attempt_head VALUES (1, 0);
`,
  },
  {
    version: 2,
    name: 'snapshots of the folded state',
    // A snapshot is the state folded up to `seq`, in the embedded store's snapshot format, split into
    // parts of a bounded size (no single value near PostgreSQL's 1 GB limit, and a reader decodes part
    // after part). `mac` is an HMAC with the audit key over the header and every part: only an instance
    // holding the key can write one that others accept. Old snapshots are deleted by the instance that
    // writes a newer one: they are a cache of the trail, never evidence.
    sql: (s) => `
CREATE TABLE ${s}.snapshots (
  seq bigint PRIMARY KEY,
  head text NOT NULL,
  chain jsonb NOT NULL,
  contacts bigint NOT NULL,
  parts integer NOT NULL,
  key_id text NOT NULL,
  mac text NOT NULL,
  instance text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE ${s}.snapshot_parts (
  seq bigint NOT NULL REFERENCES ${s}.snapshots (seq) ON DELETE CASCADE,
  part integer NOT NULL,
  data text NOT NULL,
  PRIMARY KEY (seq, part)
);
`,
  },
  {
    version: 3,
    name: 'import jobs and idempotency keys',
    // What the HTTP API keeps per configuration, shared by the instances (lib/store/postgres/jobs.ts,
    // idempotency.ts). A job is run by the instance that received its upload (`instance`), which writes
    // its progress about every second (`updated_at`, the database's clock, is its heartbeat); `errors`
    // holds the first 1,000 row errors. An idempotency key is pending while `status` is NULL; `scope` is a
    // hash of (configuration, caller, route); `body` and `headers` are json, not jsonb, so a replay sends
    // the first answer's members in their order.
    sql: (s) => `
CREATE TABLE ${s}.import_jobs (
  id text PRIMARY KEY,
  config text NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  format text NOT NULL,
  dry_run boolean NOT NULL,
  principal text NOT NULL,
  bytes_total bigint NOT NULL,
  bytes_read bigint NOT NULL DEFAULT 0,
  rows_read bigint NOT NULL DEFAULT 0,
  applied bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  errors json NOT NULL DEFAULT '[]',
  error json,
  cancel_requested boolean NOT NULL DEFAULT false,
  instance text NOT NULL,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_jobs_config ON ${s}.import_jobs (config, created_at);
CREATE TABLE ${s}.idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  token text NOT NULL,
  status integer,
  body json,
  headers json,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  instance text NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires ON ${s}.idempotency_keys (expires_at);
`,
  },
  {
    version: 4,
    name: 'reassigned numbers answers on attempts',
    // The Reassigned Numbers Database answers a check relied on, kept with the attempt it allowed
    // (AttemptRecord.rnd): NULL on every earlier row and whenever none was asked.
    sql: (s) => `
ALTER TABLE ${s}.attempts ADD COLUMN rnd jsonb;
`,
  },
];

/** The newest schema version this package knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Quotes a schema name checked against SCHEMA_NAME_PATTERN. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME_PATTERN.test(schema)) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `postgresSchema must be a lower-case SQL name (letters, digits, _; at most 63): "${schema}"`,
      { field: 'postgresSchema' },
    );
  }
  return `"${schema}"`;
}

/** The SQL of the given migrations for a schema, as the schema owner runs it (`npx dncflow schema`). */
export function migrationSql(schema: string, from = 1): string {
  const s = quoteSchema(schema);
  const parts = [`CREATE SCHEMA IF NOT EXISTS ${s};`, migrationsTable(s)];
  for (const migration of MIGRATIONS.filter((m) => m.version >= from)) {
    parts.push(
      `-- migration ${migration.version}: ${migration.name}\nBEGIN;${migration.sql(s)}` +
        `INSERT INTO ${s}.schema_migrations (version, name) VALUES (${migration.version}, '${migration.name}');\nCOMMIT;`,
    );
  }
  return `${parts.join('\n')}\n`;
}

/**
 * The least privilege the instances' role needs once the schema owner has run the migrations: read and
 * append the trail (never UPDATE or DELETE it: the triggers refuse those even to its owner), move the
 * chain heads, record and prune attempts, write and replace snapshots, keep the API's import jobs and
 * idempotency keys (written as they progress, pruned). For `dncflow schema --grant <role>` and the README.
 */
export function grantSql(schema: string, role: string): string {
  const s = quoteSchema(schema);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(role)) {
    throw new DncError('DNC_INVALID_INPUT', `the role must be a plain SQL name, not "${role}"`, {
      field: 'role',
    });
  }
  const r = `"${role}"`;
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r};`,
    `GRANT SELECT ON ${s}.schema_migrations TO ${r};`,
    `GRANT SELECT, INSERT ON ${s}.audit TO ${r};`,
    `GRANT SELECT, UPDATE ON ${s}.chain_head, ${s}.attempt_head TO ${r};`,
    `GRANT SELECT, INSERT, DELETE ON ${s}.attempts TO ${r};`,
    `GRANT SELECT, INSERT, DELETE ON ${s}.snapshots, ${s}.snapshot_parts TO ${r};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${s}.import_jobs, ${s}.idempotency_keys TO ${r};`,
    '',
  ].join('\n');
}

function migrationsTable(s: string): string {
  return `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`;
}

/** SQLSTATE of "permission denied". */
const INSUFFICIENT_PRIVILEGE = '42501';

function refusal(schema: string, missing: readonly Migration[], cause?: unknown): DncError {
  const list = missing.map((m) => `${m.version} (${m.name})`).join(', ');
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `DNC store unavailable: the database role may not create the DNC tables in schema "${schema}";` +
      ` migration${missing.length === 1 ? '' : 's'} ${list} must be run by the schema's owner` +
      ` (\`npx dncflow schema --schema ${schema}\` prints the SQL; README "PostgreSQL store")`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Brings the schema to SCHEMA_VERSION: creates it when missing and applies the missing migrations, each
 * in its own transaction, under a transaction-level advisory lock on the schema's name.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  const applied = await appliedVersions(client, schema);
  const missing = MIGRATIONS.filter((m) => !applied.has(m.version));
  const newest = Math.max(0, ...applied);
  if (newest > SCHEMA_VERSION) {
    throw new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: schema "${schema}" is at version ${newest}, newer than this package knows` +
        ` (${SCHEMA_VERSION}): upgrade @dncflow/node-red-dnc on this instance`,
    );
  }
  if (missing.length === 0) return;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dncflow:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(migrationsTable(s));
    await client.query('COMMIT');
    for (const migration of missing) {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dncflow:${schema}`]);
      const done = await client.query(`SELECT 1 FROM ${s}.schema_migrations WHERE version = $1`, [
        migration.version,
      ]);
      if (done.rowCount === 0) {
        await client.query(migration.sql(s));
        await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
      await client.query('COMMIT');
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((error as { code?: string }).code === INSUFFICIENT_PRIVILEGE) {
      throw refusal(schema, missing, error);
    }
    throw error;
  }
}

async function appliedVersions(client: PoolClient, schema: string): Promise<Set<number>> {
  const exists = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
    `"${schema}".schema_migrations`,
  ]);
  if (!exists.rows[0].exists) return new Set();
  const rows = await client.query<{ version: number }>(
    `SELECT version FROM ${quoteSchema(schema)}.schema_migrations`,
  );
  return new Set(rows.rows.map((row) => Number(row.version)));
}

/** The chain head every writer locks. */
export async function readHead(
  client: PoolClient,
  s: string,
  lock = false,
): Promise<{ seq: number; hash: string; chainKey: string | null }> {
  const row = await client.query<{ seq: string; hash: string; chain_key: string | null }>(
    `SELECT seq, hash, chain_key FROM ${s}.chain_head WHERE id = 1${lock ? ' FOR UPDATE' : ''}`,
  );
  const head = row.rows[0];
  return { seq: Number(head.seq), hash: head.hash, chainKey: head.chain_key };
}
