/**
 * An import upload spooled to a temporary file: streamed to disk (at most the configured number of
 * bytes), hashed on the way (for Idempotency-Key), owner-only (0600 in a 0700 folder), and removed by
 * whoever holds it last (the route on a refusal, the job once it has run). Uploads a previous process
 * left behind are swept at start (sweepStaleUploads).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid } from './errors';
import { tooLarge } from './http';
import { PRIVATE_FILE_MODE } from '../private-files';

export interface Spooled {
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

/** Removes a spooled upload with its folder (once nothing will read it again). */
export async function discardUpload(upload: Spooled): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
}
