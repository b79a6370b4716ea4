/**
 * Bulk import of labels from CSV or JSON lines, as a background job.
 *
 * The upload is streamed to a temporary file (hashed on the way, for Idempotency-Key), the header is
 * checked before the job is accepted (a wrong file is a 400, not a failed job), then the job reads the
 * file as a stream and applies rows in batches of BATCH rows: one group commit per batch, memory bounded
 * by the batch, not by the file. Progress (bytes, rows, applied, unchanged, failed) is readable at any time.
 *
 * Rows:
 * - CSV with a header. Contact: `contact`, or `phone` / `whatsapp` / `email` / `id` columns. Labels:
 *   `labels` (several separated by `|`, `;` or `,`) or `label`. Optional: `action` (`add`, the default, or
 *   `remove`), `source` (default `import`), `actor`, `reason`, `campaign`, `channel`. The export's other
 *   columns (`keys`, `active`, `appliedAt`, `expiresAt`, `principal`) are accepted and ignored, so an export
 *   re-imports. Rows are recorded under the principal `import:<who submitted the job>`, never one from the
 *   file: who applied a label is the package's to say.
 * - JSON lines: one object per line with the same fields (`labels` may be a list of names or of objects
 *   with a `label`); blank lines are skipped.
 *
 * Re-importing a file changes nothing: a row whose labels the contact already carries (active), or whose
 * labels to remove it does not carry, is skipped before the store is asked, so it writes no audit record
 * either. (An import therefore never extends the expiry of a label already there.)
 * Good rows are applied, bad rows are reported with their line number; a store failure stops the job.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { activeLabels } from '../decide';
import { DncError } from '../errors';
import type { LabelCatalog } from '../labels';
import type { DncService, PrepareOptions, PreparedChange } from '../service';
import { ApiError, invalid } from './errors';
import { unescapeFormula } from './csv';
import { assertPlainJson, tooLarge } from './http';
import { PRIVATE_FILE_MODE } from '../private-files';
import { isoTime } from '../time';
import { HINTS, RULES, assertValue, textValue } from '../values';

export type ImportFormat = 'csv' | 'jsonl';
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
const CSV_COLUMNS = new Set([
  'contact',
  'phone',
  'whatsapp',
  'email',
  'id',
  'label',
  'labels',
  'action',
  'source',
  'actor',
  'reason',
  'campaign',
  'channel',
  // Export columns, ignored on import.
  'keys',
  'active',
  'appliedAt',
  'expiresAt',
  'principal',
]);
const JSON_FIELDS = new Set([...CSV_COLUMNS]);

interface Spooled {
  readonly dir: string;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

const UPLOAD_PREFIX = 'dnc-import-';
/** 0.1.0 named uploads without the process id: those are removed once this old (no import runs a day). */
const LEGACY_UPLOAD_AGE_MS = 24 * 60 * 60 * 1000;

/** Whether a process with this id runs (signal 0 tests without signalling; EPERM: it runs as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Removes uploads a previous process left in the temporary folder (killed mid-import, crashed): those
 * whose process no longer runs, and 0.1.0's unnamed ones older than a day. Uploads of this process and
 * of other running processes are kept. Returns the folders removed.
 */
export async function sweepStaleUploads(folder: string = tmpdir(), now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(UPLOAD_PREFIX)) continue;
    const dir = join(folder, name);
    const owner = /^(\d+)-/.exec(name.slice(UPLOAD_PREFIX.length));
    let stale: boolean;
    if (owner !== null) {
      const pid = Number(owner[1]);
      stale = pid !== process.pid && !processRuns(pid);
    } else {
      const info = await stat(dir).catch(() => null);
      stale = info !== null && info.isDirectory() && now - info.mtimeMs > LEGACY_UPLOAD_AGE_MS;
    }
    if (!stale) continue;
    await rm(dir, { recursive: true, force: true }).then(
      () => removed.push(dir),
      () => undefined,
    );
  }
  return removed;
}

/** Streams the request body into a temporary file (at most `limit` bytes), hashing it on the way. */
export async function spool(req: IncomingMessage, limit: number): Promise<Spooled> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  // The process id in the name lets a later start tell an orphan (its process is gone) from an upload
  // another running Node-RED is still using (see sweepStaleUploads).
  const dir = await mkdtemp(join(tmpdir(), `${UPLOAD_PREFIX}${process.pid}-`));
  const file = join(dir, 'upload');
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      // mkdtemp made the folder 0700; the upload (contacts) is owner-only too, whatever the umask.
      const out = createWriteStream(file, { flags: 'wx', mode: PRIVATE_FILE_MODE });
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        req.unpipe(out);
        req.resume();
        out.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limit) fail(tooLarge(limit));
        else hash.update(chunk);
      });
      req.on('error', () => fail(invalid('the upload could not be read')));
      // A client that goes away mid-upload: no 'end' will come.
      req.on('close', () => {
        if (!req.complete) fail(invalid('the upload was interrupted'));
      });
      out.on('error', (err) => fail(err));
      out.on('finish', () => {
        if (!failed) resolve();
      });
      req.pipe(out);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, file, bytes, sha256: hash.digest('hex') };
}

/** Reads the first line and checks the CSV header (400 before a job is created). */
async function checkCsvHeader(file: string): Promise<void> {
  const handle = await open(file, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    text = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await handle.close();
  }
  const end = text.search(/\r?\n/);
  const first = (end === -1 ? text : text.slice(0, end)).trim();
  if (first === '')
    throw invalid('the CSV file is empty: it needs a header line (contact,labels,...)', 'body');
  const columns = first.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const unknown = columns.filter((c) => !CSV_COLUMNS.has(c));
  if (unknown.length > 0) {
    throw invalid(
      `unknown CSV column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')}: use contact (or phone, whatsapp, email, id), labels, action, source, actor, reason, campaign, channel`,
      'header',
    );
  }
  if (new Set(columns).size !== columns.length) throw invalid('a CSV column is named twice', 'header');
  if (!columns.some((c) => ['contact', 'phone', 'whatsapp', 'email', 'id'].includes(c))) {
    throw invalid('the CSV header needs a contact column (contact, phone, whatsapp, email or id)', 'header');
  }
  if (!columns.includes('labels') && !columns.includes('label')) {
    throw invalid('the CSV header needs a labels (or label) column', 'header');
  }
}

interface Row {
  readonly line: number;
  readonly fields: Record<string, unknown>;
}

class RowFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A row validated into a change (the service's), with the line it came from. */
interface PreparedRow {
  readonly line: number;
  readonly change: PreparedChange;
}

/**
 * A CSV record as its values were before the export made them formula-safe (lib/api/csv.ts): every
 * column, so an export re-imports unchanged. JSON lines are never escaped, so never unescaped.
 */
function unescapeRecord(record: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value === 'string') record[key] = unescapeFormula(value);
  }
  return record;
}

function labelList(value: unknown): unknown {
  if (typeof value === 'string') return value.split(/[|;,]/);
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v: unknown): unknown =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { label?: unknown }).label : v,
    );
  }
  return value;
}

/** A row's labels (`labels`, else `label`): names separated by `|`, `;` or `,`, or a list; at least one. */
function rowLabels(value: unknown, catalog: LabelCatalog): string[] {
  if (value === undefined || value === '' || value === null) {
    throw new RowFailure('DNC_INVALID_INPUT', 'the row names no label', 'labels');
  }
  const labels = catalog.resolveNames(labelList(value), 'labels');
  if (labels.length === 0) throw new RowFailure('DNC_INVALID_INPUT', 'the row names no label', 'labels');
  return labels;
}

/** How the service reads an import row: its own label syntax, `import` when it names no source. */
const ROW_OPTIONS: PrepareOptions = { defaultSource: 'import', labels: rowLabels };

/** An instant as ISO 8601, or null when there is none (yet). */
function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

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
      await rm(upload.dir, { recursive: true, force: true });
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
      await rm(job.upload.dir, { recursive: true, force: true });
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
      await rm(job.upload.dir, { recursive: true, force: true });
    }
  }

  private async *rows(job: ImportJob): AsyncGenerator<Row> {
    const input = createReadStream(job.upload.file, { highWaterMark: 256 * 1024 });
    input.on('data', (chunk) => {
      job.bytesRead += chunk.length;
    });
    try {
      if (job.format === 'jsonl') {
        const lines = createInterface({ input, crlfDelay: Infinity });
        let line = 0;
        for await (const raw of lines) {
          line += 1;
          const t = raw.trim();
          if (t === '') continue;
          let value: unknown;
          try {
            value = JSON.parse(t);
          } catch {
            yield {
              line,
              fields: { __error: new RowFailure('DNC_INVALID_INPUT', 'the line is not valid JSON') },
            };
            continue;
          }
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            yield {
              line,
              fields: { __error: new RowFailure('DNC_INVALID_INPUT', 'each line must be a JSON object') },
            };
            continue;
          }
          yield { line, fields: value as Record<string, unknown> };
        }
        return;
      }
      // A fresh object per record without a prototype: a column can never reach Object.prototype.
      const parser = input.pipe(
        parseCsv({
          bom: true,
          columns: (header: string[]) => header.map((h) => h.trim()),
          skip_empty_lines: true,
          skip_records_with_error: true,
          trim: true,
          info: true,
          max_record_size: 64 * 1024,
        }),
      );
      const skipped: Row[] = [];
      parser.on('skip', (err: Error & { lines?: number }) => {
        skipped.push({
          line: err.lines ?? 0,
          fields: { __error: new RowFailure('DNC_INVALID_INPUT', `malformed CSV: ${err.message}`) },
        });
      });
      for await (const entry of parser as AsyncIterable<{
        record: Record<string, string>;
        info: { lines: number };
      }>) {
        while (skipped.length > 0) yield skipped.shift()!;
        yield { line: entry.info.lines, fields: unescapeRecord(entry.record) };
      }
      while (skipped.length > 0) yield skipped.shift()!;
    } finally {
      input.destroy();
    }
  }

  /** Validates a row into a change (throws RowFailure / DncError for a bad row). */
  private prepare(row: Row, principal: string): PreparedRow {
    const fields = row.fields;
    if (fields.__error instanceof RowFailure) throw fields.__error;
    if (Object.getPrototypeOf(fields) === Object.prototype || Object.getPrototypeOf(fields) === null) {
      assertPlainJson(fields, 'row');
    }
    for (const key of Object.keys(fields)) {
      if (!JSON_FIELDS.has(key)) throw new RowFailure('DNC_INVALID_INPUT', `unknown field "${key}"`, key);
    }
    const service = this.host.service;
    const actionText = fields.action === undefined || fields.action === '' ? 'add' : fields.action;
    if (actionText !== 'add' && actionText !== 'remove') {
      throw new RowFailure('DNC_INVALID_INPUT', 'action must be add or remove', 'action');
    }
    let contact: unknown;
    if (fields.contact !== undefined && fields.contact !== '') {
      contact = fields.contact;
    } else {
      const parts: Record<string, string> = {};
      for (const name of ['phone', 'whatsapp', 'email', 'id'] as const) {
        const value = fields[name];
        if (value === undefined || value === '') continue;
        if (typeof value !== 'string')
          throw new RowFailure('DNC_INVALID_INPUT', `${name} must be text`, name);
        parts[name] = value;
      }
      if (Object.keys(parts).length === 0) {
        throw new RowFailure('DNC_INVALID_CONTACT', 'the row has no contact', 'contact');
      }
      contact = parts;
    }
    const change = service.prepareChange(
      actionText,
      {
        contact,
        labels: fields.labels !== undefined && fields.labels !== '' ? fields.labels : fields.label,
        source: fields.source,
        actor: fields.actor,
        reason: fields.reason,
        campaign: fields.campaign,
        channel: fields.channel,
      },
      principal,
      ROW_OPTIONS,
    );
    if (actionText === 'remove') {
      // Every row is checked alike: a removal records no campaign or channel, but a bad one is an error.
      assertValue(RULES.channel, fields.channel, 'channel', HINTS.channel);
      textValue(RULES.campaign, fields.campaign, 'campaign');
    }
    return { line: row.line, change };
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
    for await (const row of this.rows(job)) {
      if (job.cancelled) break;
      job.rowsRead += 1;
      let prepared: PreparedRow;
      try {
        prepared = this.prepare(row, principal);
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
