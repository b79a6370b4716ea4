/**
 * Attempt records for the embedded store: `<name>.attempts.ndjson` beside the journal, one
 * AttemptRecord per line, append-only, fsynced per batch (group commit), indexed in memory per key.
 *
 * Separate from the journal on purpose: attempts are operational data (many per contact, short-lived),
 * not DNC changes, so they stay out of the hash-chained audit trail and can be pruned: `prune(before)`
 * rewrites the file without the records no rule can need any more (write a temporary file, fsync,
 * rename over, fsync the directory), so a crash leaves either the old file or the new one.
 *
 * Its state is its own: an unreadable attempts file makes `attempts()` throw DNC_STORE_UNAVAILABLE (a
 * policy with caps then blocks, failing closed) without taking the DNC labels down with it. So does a
 * failed append (ENOSPC, EIO), until the file is cut back to its last acknowledged record and accepts
 * writes again: attempts made meanwhile may go uncounted, so no cap can be trusted. The cut is retried
 * on its own, with a growing pause, and at the next record.
 */
import { rename, rm, type FileHandle } from 'node:fs/promises';
import { DncError } from '../errors';
import { openPrivate } from '../private-files';
import {
  LaterFormatError,
  WRITE_RETRY_FIRST_MS,
  WRITE_RETRY_MAX_MS,
  fsyncDirectory,
  isLaterFormat,
  readTextIfExists,
  truncateTo,
} from './files';
import { isAttemptRndList, type AttemptRecord } from './types';

/** `dnc-store.json` -> `dnc-store.attempts.ndjson`. */
export function attemptsPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.attempts.ndjson`;
}

/**
 * The file's format, named by its first line in files this version creates (or rewrites when pruning);
 * a file written by 0.1.0 has no such line and is read as this format.
 */
export const ATTEMPTS_FORMAT = 'dnc-store-attempts/1';
export const ATTEMPTS_HEADER = `${JSON.stringify({ format: ATTEMPTS_FORMAT })}\n`;

/**
 * The records of an attempts file's text, in file order, up to its last complete line (a torn final line
 * was never acknowledged), and that line's byte length. Throws LaterFormatError for a file a later
 * version wrote, and an Error naming the line for anything else that is not a record.
 */
export function parseAttempts(text: string, file: string): { records: AttemptRecord[]; end: number } {
  const complete = text.lastIndexOf('\n') + 1;
  const records: AttemptRecord[] = [];
  let lineNo = 0;
  for (const line of text.slice(0, complete).split('\n')) {
    lineNo++;
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`line ${lineNo} is not an attempt record`);
    }
    if (lineNo === 1 && parsed !== null && typeof parsed === 'object' && 'format' in parsed) {
      const format = parsed.format;
      if (format === ATTEMPTS_FORMAT) continue;
      if (isLaterFormat(format, 'dnc-store-attempts', [ATTEMPTS_FORMAT]))
        throw new LaterFormatError(file, format, [ATTEMPTS_FORMAT]);
    }
    try {
      records.push(checkRecord(parsed));
    } catch {
      throw new Error(`line ${lineNo} is not an attempt record`);
    }
  }
  return { records, end: Buffer.byteLength(text.slice(0, complete)) };
}

const EMPTY: readonly AttemptRecord[] = Object.freeze([]);
const MAX_BATCH = 5000;

interface Pending {
  readonly record: AttemptRecord;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function checkRecord(value: unknown): AttemptRecord {
  const r = value as Record<string, unknown>;
  const text = (v: unknown) => v === null || typeof v === 'string';
  if (
    typeof r !== 'object' ||
    r === null ||
    !Array.isArray(r.keys) ||
    r.keys.length === 0 ||
    !r.keys.every((k) => typeof k === 'string') ||
    typeof r.at !== 'number' ||
    !Number.isFinite(r.at) ||
    typeof r.attempt !== 'boolean' ||
    !text(r.outcome) ||
    !text(r.channel) ||
    !text(r.campaign) ||
    typeof r.source !== 'string' ||
    (r.principal !== undefined && typeof r.principal !== 'string') ||
    (r.rnd !== undefined && !isAttemptRndList(r.rnd))
  ) {
    throw new DncError('DNC_INVALID_INPUT', 'not a valid attempt record', { field: 'attempt' });
  }
  return {
    keys: r.keys,
    at: r.at,
    attempt: r.attempt,
    outcome: r.outcome,
    channel: r.channel,
    campaign: r.campaign,
    source: r.source,
    // Records of 0.1.0 have none.
    ...(r.principal === undefined ? {} : { principal: r.principal }),
    ...(r.rnd === undefined ? {} : { rnd: r.rnd }),
  };
}

export class AttemptLog {
  private readonly byKey = new Map<string, AttemptRecord[]>();
  private handle: FileHandle | undefined;
  private state: 'closed' | 'opening' | 'ready' | 'unavailable' = 'closed';
  private error: Error | undefined;
  private openPromise: Promise<void> | undefined;
  private readonly queue: Pending[] = [];
  private writer: Promise<void> | undefined;
  private jobs: Promise<unknown> = Promise.resolve();
  private count = 0;
  /** Bytes of the acknowledged records: a failed append is cut back to here. */
  private end = 0;
  /** A failed append not yet cut back: attempts() cannot be trusted, appends wait for the cut. */
  private failure: DncError | undefined;
  private repairTimer: NodeJS.Timeout | undefined;
  private repairDelay = WRITE_RETRY_FIRST_MS;
  private closing = false;

  constructor(
    readonly path: string,
    private readonly openAfter?: Promise<unknown>,
  ) {}

  get size(): number {
    return this.count;
  }

  open(): Promise<void> {
    this.openPromise ??= this.load();
    return this.openPromise;
  }

  private async load(): Promise<void> {
    this.state = 'opening';
    try {
      await this.openAfter?.catch(() => undefined);
      const text = (await readTextIfExists(this.path)) ?? '';
      const parsed = parseAttempts(text, `the attempt records ${this.path}`);
      this.end = parsed.end;
      for (const record of parsed.records) this.index(record);
      // A torn final line (a write that was never acknowledged) is cut off so appends stay whole lines.
      // The file itself is created by the first record.
      if (text !== '') {
        this.handle = await openPrivate(this.path, 'a+');
        if (this.end < Buffer.byteLength(text)) {
          await this.handle.truncate(this.end);
          await this.handle.sync(); // the cut must be durable before records are appended after it
        }
      }
      this.state = 'ready';
    } catch (err) {
      this.state = 'unavailable';
      this.error = new DncError(
        'DNC_STORE_UNAVAILABLE',
        `attempt records unavailable: ${this.path}: ${(err as Error).message}`,
        { cause: err },
      );
      throw this.error;
    }
  }

  private index(record: AttemptRecord): void {
    this.count++;
    for (const key of new Set(record.keys)) {
      let list = this.byKey.get(key);
      if (list === undefined) {
        list = [];
        this.byKey.set(key, list);
      }
      // Records arrive nearly in time order; keep each list sorted.
      let i = list.length;
      while (i > 0 && list[i - 1].at > record.at) i--;
      list.splice(i, 0, record);
    }
  }

  private assertReady(): void {
    if (this.state !== 'ready') {
      throw (
        this.error ?? new DncError('DNC_STORE_UNAVAILABLE', `attempt records are ${this.state}: ${this.path}`)
      );
    }
  }

  attempts(key: string, since: number): readonly AttemptRecord[] {
    this.assertReady();
    if (this.failure !== undefined) throw this.failure;
    const list = this.byKey.get(key);
    if (list === undefined) return EMPTY;
    if (list.length === 0 || list[0].at >= since) return list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].at < since) lo = mid + 1;
      else hi = mid;
    }
    return list.slice(lo);
  }

  /** Resolves once the record is durable; it is visible to attempts() from then on. */
  record(record: AttemptRecord): Promise<void> {
    if (this.state === 'opening' && this.openPromise !== undefined) {
      return this.openPromise.then(() => this.record(record));
    }
    let checked: AttemptRecord;
    try {
      this.assertReady();
      checked = checkRecord(record);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record: checked, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writer !== undefined) return;
    this.writer = this.drain().finally(() => {
      this.writer = undefined;
      // A record queued after drain() saw an empty queue but before this ran must not be stranded.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      await this.exclusive(async () => {
        try {
          if (this.state !== 'ready') throw new Error(`the attempts file is ${this.state}`);
          if (this.failure !== undefined) await this.repair();
          const fresh = this.handle === undefined && this.end === 0;
          const handle = this.handle ?? (await this.create());
          // A file this version starts names its format first, in the same append as its first records.
          const lines = batch.map((p) => `${JSON.stringify(p.record)}\n`).join('');
          const bytes = Buffer.from(fresh ? ATTEMPTS_HEADER + lines : lines, 'utf8');
          await handle.appendFile(bytes);
          await handle.datasync();
          this.end += bytes.length;
          for (const pending of batch) this.index(pending.record);
          for (const pending of batch) pending.resolve();
        } catch (err) {
          const message = (err as Error).message;
          const error = new DncError('DNC_STORE_ERROR', `recording the attempt failed: ${message}`, {
            cause: err,
          });
          // Part of the batch may be in the file: cut back to the acknowledged records before the next append.
          if (this.failure === undefined) {
            this.failure = new DncError(
              'DNC_STORE_UNAVAILABLE',
              `attempt records cannot be written (${message}): caps and cooling-off cannot be counted` +
                ` until the file accepts writes again (retried on its own)`,
              { cause: err },
            );
            await this.handle?.close().catch(() => undefined);
            this.handle = undefined;
            this.scheduleRepair();
          }
          for (const pending of batch) pending.reject(error);
        }
      });
    }
  }

  /** Cuts the file back to its acknowledged records after a failed append; throws while the disk refuses. */
  private async repair(): Promise<void> {
    try {
      await truncateTo(this.path, this.end);
    } catch (err) {
      // No file: the failed append was the first record's, nothing to cut.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.failure = undefined;
    this.repairDelay = WRITE_RETRY_FIRST_MS;
    clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
  }

  private scheduleRepair(): void {
    if (this.repairTimer !== undefined || this.state !== 'ready' || this.closing) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      if (this.failure === undefined || this.state !== 'ready') return;
      this.exclusive(() => (this.failure === undefined ? Promise.resolve() : this.repair())).catch(() => {
        this.repairDelay = Math.min(this.repairDelay * 2, WRITE_RETRY_MAX_MS);
        this.scheduleRepair();
      });
    }, this.repairDelay);
    this.repairTimer.unref();
  }

  /**
   * Opens the file for the first record (creating it) and fsyncs the directory: a new file's entry is
   * only durable once its directory is, so an acknowledged record could otherwise vanish in a crash.
   */
  private async create(): Promise<FileHandle> {
    const handle = await openPrivate(this.path, 'a+');
    try {
      await fsyncDirectory(this.path);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    this.handle = handle;
    return handle;
  }

  /** Runs file work one job at a time (appends and prunes never interleave). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.jobs.then(work, work);
    this.jobs = run.catch(() => undefined);
    return run;
  }

  /** Drops records older than `before` from memory and from the file. */
  prune(before: number): Promise<number> {
    try {
      this.assertReady();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.exclusive(async () => {
      const kept = new Set<AttemptRecord>();
      for (const [key, list] of this.byKey) {
        const rest = list.filter((r) => r.at >= before);
        if (rest.length === 0) this.byKey.delete(key);
        else if (rest.length !== list.length) this.byKey.set(key, rest);
        for (const r of rest) kept.add(r);
      }
      const dropped = this.count - kept.size;
      if (dropped === 0) return 0;
      const ordered = [...kept].sort((a, b) => a.at - b.at);
      const text = ATTEMPTS_HEADER + ordered.map((r) => `${JSON.stringify(r)}\n`).join('');
      const temporary = `${this.path}.tmp`;
      const out = await openPrivate(temporary, 'w');
      try {
        await out.writeFile(text, 'utf8');
        await out.sync();
      } finally {
        await out.close();
      }
      await this.handle?.close();
      this.handle = undefined;
      try {
        await rename(temporary, this.path);
        // The file is now these records only, whole: a failed append before is gone with the old file.
        this.end = Buffer.byteLength(text);
        this.failure = undefined;
        await fsyncDirectory(this.path);
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      } finally {
        this.handle = await openPrivate(this.path, 'a+');
      }
      this.count = kept.size;
      return dropped;
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
    await this.openPromise?.catch(() => undefined);
    while (this.writer) await this.writer;
    await this.jobs;
    await this.handle?.close();
    this.handle = undefined;
    this.byKey.clear();
    this.count = 0;
    this.state = 'closed';
    this.openPromise = undefined;
    this.error = undefined;
    this.failure = undefined;
    this.end = 0;
    this.closing = false;
  }
}
