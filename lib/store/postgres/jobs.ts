/**
 * The HTTP API's import jobs in the PostgreSQL store's database (migration 3, `import_jobs`), so that
 * every instance answers for every job and a restart keeps them.
 *
 * The upload is a file on the instance that received it, so that instance runs the job (lib/api/
 * imports.ts, ImportJobs) and saves it here: at each change of state and about every second while it is
 * queued or running (progress, and a heartbeat: `updated_at`, the database's clock). Reads, from any
 * instance, first report as failed (DNC_IMPORT_INTERRUPTED) the jobs whose heartbeat is older than
 * `staleAfter`: their instance stopped (crash, kill, lost its database) without saying so. A runner that
 * finds its job so reported stops it (`save` answers `gone`), so the report stays true.
 * Cancelling sets `cancel_requested`, which the running instance reads at its next save: a cancel works
 * from any instance, within about a second.
 */
import type { QueryResultRow } from 'pg';
import { DncError } from '../../errors';
import {
  ImportJobs,
  jobView,
  type ImportJob,
  type ImportJobData,
  type ImportJobRegistry,
  type ImportJobView,
  type JobState,
  type RowError,
  type SaveOutcome,
} from '../../api/imports';
import type { ImportFormat } from '../../api/import-rows';
import { IMPORT_INTERRUPTED } from '../../api/errors';
import { quoteSchema } from './schema';
import type { PostgresStore } from './store';

/** How often a queued or running job is saved (ms). */
export const JOB_SAVE_INTERVAL = 1_000;
/**
 * A queued or running job whose last save is older than this is reported interrupted (ms). Thirty
 * heartbeats: a pause of the runner's event loop or a short database outage does not end a job.
 */
export const JOB_STALE_AFTER = 30_000;

interface JobRow extends QueryResultRow {
  id: string;
  state: JobState;
  format: ImportFormat;
  dry_run: boolean;
  principal: string;
  bytes_total: string;
  bytes_read: string;
  rows_read: string;
  applied: string;
  unchanged: string;
  failed: string;
  errors: RowError[];
  error: { code: string; message: string } | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS =
  'id, state, format, dry_run, principal, bytes_total, bytes_read, rows_read, applied, unchanged, failed,' +
  ' errors, error, created_at, started_at, finished_at';

/** The part of the store this registry uses (a query on its pool, its schema and instance name). */
export type JobStore = Pick<PostgresStore, 'query' | 'schema' | 'instance'>;

export class PostgresJobRegistry implements ImportJobRegistry {
  private readonly s: string;
  readonly saveInterval: number;
  private readonly staleAfter: number;
  /** Row errors already written, per job: the list is written again only when it grew. */
  private readonly errorsSaved = new WeakMap<ImportJob, number>();

  constructor(
    private readonly store: JobStore,
    /** The configuration (config node id) the jobs belong to. */
    private readonly config: string,
    options: { saveInterval?: number; staleAfter?: number } = {},
  ) {
    this.s = quoteSchema(store.schema);
    this.saveInterval = options.saveInterval ?? JOB_SAVE_INTERVAL;
    this.staleAfter = options.staleAfter ?? JOB_STALE_AFTER;
  }

  private async query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.store.query<R>(text, values)).rows;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async create(job: ImportJob): Promise<void> {
    await this.query(
      `INSERT INTO ${this.s}.import_jobs (id, config, state, format, dry_run, principal, bytes_total, instance, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        job.id,
        this.config,
        job.state,
        job.format,
        job.dryRun,
        job.principal,
        job.bytesTotal,
        this.store.instance,
        new Date(job.createdAt),
      ],
    );
    this.errorsSaved.set(job, 0);
    // The list shows the last KEEP; older finished jobs go (a later create retries a failed prune).
    await this.query(
      `DELETE FROM ${this.s}.import_jobs WHERE config = $1 AND state NOT IN ('queued', 'running')
         AND id NOT IN (SELECT id FROM ${this.s}.import_jobs WHERE config = $1 ORDER BY created_at DESC, id LIMIT $2)`,
      [this.config, ImportJobs.KEEP],
    ).catch(() => undefined);
  }

  async save(job: ImportJob): Promise<SaveOutcome> {
    const errorsChanged = this.errorsSaved.get(job) !== job.errors.length;
    const errorCount = job.errors.length;
    const rows = await this.query<{ cancel_requested: boolean }>(
      `UPDATE ${this.s}.import_jobs SET state = $3, started_at = $4, finished_at = $5, bytes_read = $6,
         rows_read = $7, applied = $8, unchanged = $9, failed = $10, errors = COALESCE($11::json, errors),
         error = $12::json, updated_at = now()
       WHERE id = $1 AND instance = $2 AND state IN ('queued', 'running')
       RETURNING cancel_requested`,
      [
        job.id,
        this.store.instance,
        job.state,
        job.startedAt === null ? null : new Date(job.startedAt),
        job.finishedAt === null ? null : new Date(job.finishedAt),
        job.bytesRead,
        job.rowsRead,
        job.applied,
        job.unchanged,
        job.failed,
        errorsChanged ? JSON.stringify(job.errors.slice(0, errorCount)) : null,
        job.failure === null ? null : JSON.stringify(job.failure),
      ],
    );
    if (rows.length === 0) return 'gone';
    this.errorsSaved.set(job, errorCount);
    return rows[0].cancel_requested ? 'cancel' : 'continue';
  }

  /** Reports as failed, INTERRUPTED, this configuration's jobs whose instance stopped saving them. */
  private async interruptStale(): Promise<void> {
    await this.query(
      `UPDATE ${this.s}.import_jobs SET state = 'failed', error = $2::json, finished_at = updated_at
       WHERE config = $1 AND state IN ('queued', 'running')
         AND updated_at < now() - $3::double precision * interval '1 millisecond'`,
      [this.config, JSON.stringify(IMPORT_INTERRUPTED), this.staleAfter],
    );
  }

  async get(id: string): Promise<ImportJobView | undefined> {
    await this.interruptStale();
    const rows = await this.query<JobRow>(
      `SELECT ${COLUMNS} FROM ${this.s}.import_jobs WHERE id = $1 AND config = $2`,
      [id, this.config],
    );
    return rows.length === 0 ? undefined : jobView(fromRow(rows[0]));
  }

  async list(): Promise<ImportJobView[]> {
    await this.interruptStale();
    const rows = await this.query<JobRow>(
      `SELECT ${COLUMNS} FROM (SELECT * FROM ${this.s}.import_jobs WHERE config = $1
         ORDER BY created_at DESC, id DESC LIMIT $2) recent ORDER BY created_at, id`,
      [this.config, ImportJobs.KEEP],
    );
    const now = Date.now();
    return rows.map((row) => jobView(fromRow(row), now));
  }

  async cancel(id: string): Promise<ImportJobView | undefined> {
    await this.query(
      `UPDATE ${this.s}.import_jobs SET cancel_requested = true
       WHERE id = $1 AND config = $2 AND state IN ('queued', 'running')`,
      [id, this.config],
    );
    return this.get(id);
  }
}

function fromRow(row: JobRow): ImportJobData {
  return {
    id: row.id,
    state: row.state,
    format: row.format,
    dryRun: row.dry_run,
    principal: row.principal,
    createdAt: row.created_at.getTime(),
    startedAt: row.started_at === null ? null : row.started_at.getTime(),
    finishedAt: row.finished_at === null ? null : row.finished_at.getTime(),
    bytesRead: Number(row.bytes_read),
    bytesTotal: Number(row.bytes_total),
    rowsRead: Number(row.rows_read),
    applied: Number(row.applied),
    unchanged: Number(row.unchanged),
    failed: Number(row.failed),
    errors: row.errors,
    failure: row.error,
  };
}

function unavailable(error: unknown): DncError {
  if (error instanceof DncError) return error;
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `import jobs unavailable: PostgreSQL did not answer: ${(error as Error).message}`,
    { cause: error },
  );
}
