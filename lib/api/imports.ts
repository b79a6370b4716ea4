/**
 * Bulk import of labels from CSV or JSON lines, as a background job.
 *
 * The upload is streamed to a temporary file (hashed on the way, for Idempotency-Key: upload-spool.ts),
 * the header is checked before the job is accepted (a wrong file is a 400, not a failed job), then the
 * job reads the file as a stream (import-rows.ts: the row formats) and applies rows in batches of BATCH
 * rows: one group commit per batch, memory bounded by the batch, not by the file. Progress (bytes, rows,
 * applied, unchanged, failed) is readable at any time.
 *
 * Re-importing a file changes nothing: a row whose labels the contact already carries (active), or whose
 * labels to remove it does not carry, is skipped before the store is asked, so it writes no audit record
 * either. (An import therefore never extends the expiry of a label already there.)
 * Good rows are applied, bad rows are reported with their line number; a store failure stops the job.
 */
import { randomUUID } from 'node:crypto';
import { activeLabels } from '../decide';
import { DncError } from '../errors';
import type { DncService, PreparedChange } from '../service';
import { isoOrNull, isoTime } from '../time';
import { ApiError, invalid } from './errors';
import {
  RowFailure,
  checkCsvHeader,
  prepareRow,
  readRows,
  type ImportFormat,
  type PreparedRow,
} from './import-rows';
import { discardUpload, type Spooled } from './upload-spool';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface RowError {
  readonly line: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export interface ImportJobView {
  readonly id: string;
  readonly state: JobState;
  readonly format: ImportFormat;
  readonly dryRun: boolean;
  /** Who submitted the job; its rows are recorded as `import:<principal>`. */
  readonly principal: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** 0..1, by bytes read. */
  readonly progress: number;
  readonly bytes: { readonly read: number; readonly total: number };
  readonly rows: {
    readonly read: number;
    /** Rows applied (dry run: that would be applied). */
    readonly applied: number;
    /** Rows that needed no change (labels already there, or not there to remove). */
    readonly unchanged: number;
    readonly failed: number;
  };
  readonly rowsPerSecond: number;
  /** The first MAX_ERRORS row errors. */
  readonly errors: readonly RowError[];
  readonly errorsTruncated: boolean;
  /** Why the job stopped, when it failed. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

export const MAX_ERRORS = 1000;
const BATCH = 2000;
/** A job with its counters; the runner updates it, the route reads `view()`. */
export class ImportJob {
  readonly id = randomUUID();
  state: JobState = 'queued';
  readonly createdAt = Date.now();
  startedAt: number | null = null;
  finishedAt: number | null = null;
  bytesRead = 0;
  rowsRead = 0;
  applied = 0;
  unchanged = 0;
  failed = 0;
  readonly errors: RowError[] = [];
  failure: { code: string; message: string } | null = null;
  cancelled = false;
  /** For Idempotency-Key: what the upload was. */
  readonly fingerprint: string;

  constructor(
    readonly format: ImportFormat,
    readonly dryRun: boolean,
    readonly upload: Spooled,
    fingerprint: string,
    /** Who submitted it (the caller's principal). */
    readonly principal: string = 'system',
  ) {
    this.fingerprint = fingerprint;
  }

  rowError(line: number, err: unknown): void {
    this.failed += 1;
    if (this.errors.length >= MAX_ERRORS) return;
    if (err instanceof RowFailure || err instanceof DncError || err instanceof ApiError) {
      const field = (err as { field?: string }).field;
      this.errors.push({
        line,
        code: (err as { code: string }).code,
        message: err.message,
        ...(field === undefined ? {} : { field }),
      });
    } else {
      this.errors.push({ line, code: 'DNC_INVALID_INPUT', message: (err as Error).message ?? String(err) });
    }
  }

  view(): ImportJobView {
    const total = this.upload.bytes;
    const seconds = this.startedAt === null ? 0 : ((this.finishedAt ?? Date.now()) - this.startedAt) / 1000;
    return {
      id: this.id,
      state: this.state,
      format: this.format,
      dryRun: this.dryRun,
      principal: this.principal,
      createdAt: isoTime(this.createdAt),
      startedAt: isoOrNull(this.startedAt),
      finishedAt: isoOrNull(this.finishedAt),
      progress:
        this.state === 'done'
          ? 1
          : total === 0
            ? 0
            : Math.min(1, Math.floor((this.bytesRead / total) * 1000) / 1000),
      bytes: { read: this.bytesRead, total },
      rows: { read: this.rowsRead, applied: this.applied, unchanged: this.unchanged, failed: this.failed },
      rowsPerSecond: seconds > 0 ? Math.round(this.rowsRead / seconds) : 0,
      errors: this.errors,
      errorsTruncated: this.failed > this.errors.length,
      error: this.failure,
    };
  }
}

export interface ImportHost {
  readonly service: DncService;
  /** Keeps the store open until the work settles (the config node drains on redeploy). */
  readonly track?: <T>(work: Promise<T>) => Promise<T>;
  readonly now?: () => number;
}

/** The jobs of one configuration: run one at a time, the last KEEP kept for reading. */
export class ImportJobs {
  private readonly jobs = new Map<string, ImportJob>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  static readonly KEEP = 50;

  constructor(private readonly host: ImportHost) {}

  get(id: string): ImportJob | undefined {
    return this.jobs.get(id);
  }

  list(): ImportJob[] {
    return [...this.jobs.values()];
  }

  findByFingerprint(fingerprint: string): ImportJob | undefined {
    for (const job of this.jobs.values()) if (job.fingerprint === fingerprint) return job;
    return undefined;
  }

  /** Checks the header, then queues the job. On a 4xx the upload is deleted. */
  async submit(
    format: ImportFormat,
    dryRun: boolean,
    upload: Spooled,
    fingerprint: string,
    principal = 'system',
  ): Promise<ImportJob> {
    try {
      if (this.closed) throw new ApiError(503, 'DNC_NOT_CONFIGURED', 'the configuration is being redeployed');
      if (upload.bytes === 0) throw invalid('the upload is empty', 'body');
      if (format === 'csv') await checkCsvHeader(upload.file);
    } catch (err) {
      await discardUpload(upload);
      throw err;
    }
    const job = new ImportJob(format, dryRun, upload, fingerprint, principal);
    this.jobs.set(job.id, job);
    for (const old of this.jobs.values()) {
      if (this.jobs.size <= ImportJobs.KEEP) break;
      if (old.state !== 'queued' && old.state !== 'running') this.jobs.delete(old.id);
    }
    const run = this.queue.then(() => this.run(job));
    this.queue = run.catch(() => undefined);
    void (this.host.track ? this.host.track(run) : run).catch(() => undefined);
    return job;
  }

  cancel(job: ImportJob): void {
    if (job.state === 'queued' || job.state === 'running') job.cancelled = true;
  }

  /** Cancels every job (redeploy); resolves once the running one has stopped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) this.cancel(job);
    await this.queue;
  }

  private async run(job: ImportJob): Promise<void> {
    if (job.cancelled) {
      job.state = 'cancelled';
      job.finishedAt = Date.now();
      await discardUpload(job.upload);
      return;
    }
    job.state = 'running';
    job.startedAt = Date.now();
    try {
      await this.process(job);
      job.state = job.cancelled ? 'cancelled' : 'done';
    } catch (err) {
      job.state = 'failed';
      const e = err as { code?: unknown; message?: unknown };
      job.failure = {
        code: typeof e.code === 'string' && e.code.startsWith('DNC_') ? e.code : 'DNC_STORE_ERROR',
        message: typeof e.message === 'string' ? e.message : String(err),
      };
    } finally {
      job.finishedAt = Date.now();
      await discardUpload(job.upload);
    }
  }

  /** True when applying the row would change nothing (so it is skipped and writes no audit record). */
  private isNoOp(change: PreparedChange, now: number): boolean {
    const profiles = this.host.service.profiles(change.keys);
    const labels = change.labels as readonly string[];
    if (change.op === 'remove') {
      return !profiles.some((p) => p.labels.some((l) => labels.includes(l.label)));
    }
    // An add that would link identifiers not yet linked is a change even when the labels are there.
    if (profiles.length !== 1 || !change.keys.every((k) => profiles[0].keys.includes(k))) return false;
    const active = activeLabels(profiles, now);
    return labels.every((name) => active.some((a) => a.label === name));
  }

  private async process(job: ImportJob): Promise<void> {
    const service = this.host.service;
    const now = this.host.now ?? Date.now;
    if (!job.dryRun) await service.whenReady();
    const principal = `import:${job.principal}`;
    // Two batches in flight: rows are read and checked while the previous batch is on its way to disk.
    let batch: Promise<void>[] = [];
    let previous: Promise<unknown> = Promise.resolve();
    const batchKeys = new Set<string>();
    const previousKeys = new Set<string>();
    const rotate = async () => {
      await previous;
      const next = Promise.all(batch);
      next.catch(() => undefined); // observed by the next await; never an unhandled rejection meanwhile
      previous = next;
      batch = [];
      previousKeys.clear();
      for (const k of batchKeys) previousKeys.add(k);
      batchKeys.clear();
    };
    const flush = async () => {
      await rotate();
      await previous;
      previousKeys.clear();
    };
    const rows = readRows(job.upload.file, job.format, (bytes) => {
      job.bytesRead += bytes;
    });
    for await (const row of rows) {
      if (job.cancelled) break;
      job.rowsRead += 1;
      let prepared: PreparedRow;
      try {
        prepared = prepareRow(service, row, principal);
      } catch (err) {
        job.rowError(row.line, err);
        continue;
      }
      // The same contact twice in one batch: let the first land before deciding about the second.
      if (prepared.change.keys.some((k) => batchKeys.has(k) || previousKeys.has(k))) await flush();
      if (job.dryRun) {
        // Dry run: decided against the store as it is (rows repeating within the file count each time).
        try {
          if (this.isNoOp(prepared.change, now())) job.unchanged += 1;
          else job.applied += 1;
        } catch (err) {
          throw err instanceof DncError ? err : new DncError('DNC_STORE_UNAVAILABLE', String(err));
        }
        continue;
      }
      if (this.isNoOp(prepared.change, now())) {
        job.unchanged += 1;
        continue;
      }
      for (const k of prepared.change.keys) batchKeys.add(k);
      // Dated when it is written (after any wait for the batch before), as it always was.
      const write = service.applyChange(prepared.change, now());
      batch.push(
        write.then(
          (outcome) => {
            if (outcome.changed.length > 0) job.applied += 1;
            else job.unchanged += 1;
          },
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            if (
              code === 'DNC_STORE_UNAVAILABLE' ||
              code === 'DNC_STORE_ERROR' ||
              !(err instanceof DncError)
            ) {
              throw err;
            }
            job.rowError(prepared.line, err);
          },
        ),
      );
      if (batch.length >= BATCH) await rotate();
    }
    await flush();
  }
}
