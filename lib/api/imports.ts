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
import { ApiError, IMPORT_INTERRUPTED, invalid } from './errors';
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

/** What a job's view is computed from: the runner's job, or a job as a registry stored it. */
export interface ImportJobData {
  readonly id: string;
  readonly state: JobState;
  readonly format: ImportFormat;
  readonly dryRun: boolean;
  readonly principal: string;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly rowsRead: number;
  readonly applied: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly errors: readonly RowError[];
  readonly failure: { readonly code: string; readonly message: string } | null;
}

/** The view the API answers with. */
export function jobView(job: ImportJobData, now: number = Date.now()): ImportJobView {
  const total = job.bytesTotal;
  const seconds = job.startedAt === null ? 0 : ((job.finishedAt ?? now) - job.startedAt) / 1000;
  return {
    id: job.id,
    state: job.state,
    format: job.format,
    dryRun: job.dryRun,
    principal: job.principal,
    createdAt: isoTime(job.createdAt),
    startedAt: isoOrNull(job.startedAt),
    finishedAt: isoOrNull(job.finishedAt),
    progress:
      job.state === 'done'
        ? 1
        : total === 0
          ? 0
          : Math.min(1, Math.floor((job.bytesRead / total) * 1000) / 1000),
    bytes: { read: job.bytesRead, total },
    rows: { read: job.rowsRead, applied: job.applied, unchanged: job.unchanged, failed: job.failed },
    rowsPerSecond: seconds > 0 ? Math.round(job.rowsRead / seconds) : 0,
    errors: job.errors,
    errorsTruncated: job.failed > job.errors.length,
    error: job.failure,
  };
}

/** A job with its counters, run by this process; the route reads its `view()`. */
export class ImportJob implements ImportJobData {
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
  /** Stopped because this process stops with it (not a caller's cancel): it ends failed, INTERRUPTED. */
  interrupted = false;
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

  get bytesTotal(): number {
    return this.upload.bytes;
  }

  get active(): boolean {
    return this.state === 'queued' || this.state === 'running';
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
    return jobView(this);
  }
}

/** What a registry's `save` learnt about the job from where it is kept. */
export type SaveOutcome =
  /** Nothing new: go on. */
  | 'continue'
  /** A caller asked (perhaps on another instance) to cancel it. */
  | 'cancel'
  /** It is no longer this process's to run: reported interrupted meanwhile (its heartbeat was late). */
  | 'gone';

/**
 * Where the jobs of one configuration are kept and read. The runner (ImportJobs) runs its own jobs and
 * saves them here; reads may see other processes' jobs (a shared registry).
 */
export interface ImportJobRegistry {
  /** Records a new (queued) job; rejects when it cannot (then the job is not accepted). */
  create(job: ImportJob): Promise<void>;
  /** Writes the job's state and progress (a heartbeat too); says whether it was cancelled meanwhile. */
  save(job: ImportJob): Promise<SaveOutcome>;
  get(id: string): Promise<ImportJobView | undefined>;
  /** The last KEEP jobs, oldest first. */
  list(): Promise<ImportJobView[]>;
  /** Asks a queued or running job to stop; its view (undefined: no such job). */
  cancel(id: string): Promise<ImportJobView | undefined>;
  /** How often a job is saved while it is queued or running (ms); 0: reads see the live job, no saves. */
  readonly saveInterval: number;
}

/** The jobs in this process's memory, the last KEEP of them (the embedded store: one process). */
export class MemoryJobRegistry implements ImportJobRegistry {
  private readonly jobs = new Map<string, ImportJob>();
  readonly saveInterval = 0;

  create(job: ImportJob): Promise<void> {
    this.jobs.set(job.id, job);
    for (const old of this.jobs.values()) {
      if (this.jobs.size <= ImportJobs.KEEP) break;
      if (!old.active) this.jobs.delete(old.id);
    }
    return Promise.resolve();
  }

  save(job: ImportJob): Promise<SaveOutcome> {
    return Promise.resolve(job.cancelled ? 'cancel' : 'continue');
  }

  get(id: string): Promise<ImportJobView | undefined> {
    return Promise.resolve(this.jobs.get(id)?.view());
  }

  list(): Promise<ImportJobView[]> {
    return Promise.resolve([...this.jobs.values()].map((job) => job.view()));
  }

  cancel(id: string): Promise<ImportJobView | undefined> {
    const job = this.jobs.get(id);
    if (job?.active) job.cancelled = true;
    return Promise.resolve(job?.view());
  }
}

export interface ImportHost {
  readonly service: DncService;
  /** Keeps the store open until the work settles (the config node drains on redeploy). */
  readonly track?: <T>(work: Promise<T>) => Promise<T>;
  readonly now?: () => number;
}

/**
 * The jobs of one configuration: this process runs the ones it accepted, one at a time (the upload is a
 * file here); the registry keeps them for reading, the last KEEP. A registry with a save interval gets
 * each queued or running job written at that pace (its progress, and a heartbeat other instances read:
 * a job whose heartbeat stops is reported interrupted), and at every change of state.
 */
export class ImportJobs {
  /** This process's jobs still to save: queued, running, or finished but not yet written. */
  private readonly local = new Map<string, ImportJob>();
  private readonly saving = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  static readonly KEEP = 50;

  constructor(
    private readonly host: ImportHost,
    private readonly registry: ImportJobRegistry = new MemoryJobRegistry(),
  ) {}

  get(id: string): Promise<ImportJobView | undefined> {
    return this.registry.get(id);
  }

  list(): Promise<ImportJobView[]> {
    return this.registry.list();
  }

  /** This process's queued and running jobs (health). */
  counts(): { running: number; queued: number } {
    let running = 0;
    let queued = 0;
    for (const job of this.local.values()) {
      if (job.state === 'running') running++;
      else if (job.state === 'queued') queued++;
    }
    return { running, queued };
  }

  /** Checks the header, records the job, then queues it. On a 4xx (or no registry) the upload is deleted. */
  async submit(
    format: ImportFormat,
    dryRun: boolean,
    upload: Spooled,
    fingerprint: string,
    principal = 'system',
  ): Promise<ImportJob> {
    const job = new ImportJob(format, dryRun, upload, fingerprint, principal);
    try {
      if (this.closed) throw new ApiError(503, 'DNC_NOT_CONFIGURED', 'the configuration is being redeployed');
      if (upload.bytes === 0) throw invalid('the upload is empty', 'body');
      if (format === 'csv') await checkCsvHeader(upload.file);
      // Recorded before it is accepted: the 202's Location must answer on every instance.
      await this.registry.create(job);
    } catch (err) {
      await discardUpload(upload);
      throw err;
    }
    this.local.set(job.id, job);
    this.heartbeat();
    const run = this.queue.then(() => this.run(job));
    this.queue = run.catch(() => undefined);
    void (this.host.track ? this.host.track(run) : run).catch(() => undefined);
    return job;
  }

  /** Asks a job to stop after the current batch; any instance's job when the registry is shared. */
  async cancel(id: string): Promise<ImportJobView | undefined> {
    const job = this.local.get(id);
    if (job?.active) job.cancelled = true;
    return this.registry.cancel(id);
  }

  /**
   * Stops every job of this process (redeploy, stop): they end failed, DNC_IMPORT_INTERRUPTED (their
   * rows so far are applied; a shared registry keeps saying so after this process is gone). Resolves
   * once the running one has stopped and been saved.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.local.values()) {
      if (!job.active) continue;
      job.cancelled = true;
      job.interrupted = true;
    }
    await this.queue;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Saves the job now, after any save in flight (saves of one job never overtake each other). */
  private save(job: ImportJob): Promise<void> {
    const previous = this.saving.get(job.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const wasActive = job.active;
      try {
        const outcome = await this.registry.save(job);
        if (outcome === 'cancel' && job.active) job.cancelled = true;
        if (outcome === 'gone' && job.active) {
          // Already reported interrupted (a late heartbeat): stop, so what it says stays true.
          job.cancelled = true;
          job.interrupted = true;
        }
        if (!wasActive) this.local.delete(job.id);
      } catch {
        // The registry cannot be written (the database away): the next beat tries again.
      }
    });
    this.saving.set(job.id, next);
    void next.finally(() => {
      if (this.saving.get(job.id) === next) this.saving.delete(job.id);
    });
    return next;
  }

  /** Saves this process's jobs every saveInterval while it has any to save. */
  private heartbeat(): void {
    const interval = this.registry.saveInterval;
    if (interval <= 0) {
      for (const [id, job] of this.local) if (!job.active) this.local.delete(id);
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.local.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      // A beat in flight for a job is not queued behind by another: a slow database gets one at a time.
      for (const job of this.local.values()) if (!this.saving.has(job.id)) void this.save(job);
    }, interval);
    this.timer.unref();
  }

  /** How a stopped job ends: interrupted (this process stops), cancelled (a caller), or done. */
  private static stopped(job: ImportJob): void {
    if (job.interrupted) {
      job.state = 'failed';
      job.failure = { ...IMPORT_INTERRUPTED };
    } else {
      job.state = job.cancelled ? 'cancelled' : 'done';
    }
  }

  private async run(job: ImportJob): Promise<void> {
    if (job.cancelled) {
      ImportJobs.stopped(job);
      job.finishedAt = Date.now();
      await discardUpload(job.upload);
      await this.save(job);
      this.heartbeat();
      return;
    }
    job.state = 'running';
    job.startedAt = Date.now();
    void this.save(job);
    try {
      await this.process(job);
      ImportJobs.stopped(job);
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
      // Written before the run settles (the store stays open for it); when it cannot be, the beat retries.
      await this.save(job);
      this.heartbeat();
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
