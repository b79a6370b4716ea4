/**
 * One process per embedded store. Two Node-RED processes pointed at one store file would both append
 * to its journal and rewrite its checkpoint, corrupting both; the store registry prevents that only
 * within one process. `<name>.lock` beside the store names its holder (pid, host, a random token) and is
 * refreshed every HEARTBEAT_MS while held. Another process finding it:
 * - same host, holder alive (or our own pid holding it in this process): refused, naming the holder;
 * - same host, holder gone (a crash, SIGKILL), or our own pid from an earlier life (a container's
 *   PID 1 after a restart): stale, taken over;
 * - another host (a shared folder): stale once not refreshed for STALE_AFTER_MS, refused until then.
 * The heartbeat also checks that the file still holds our token: a lock taken over behind our back
 * (a race between two takeovers, or someone deleting it) is reported, and the store fails closed.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DncError } from '../errors';

export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 30_000;

/** `dnc-store.json` -> `dnc-store.lock`. */
export function lockPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.lock`;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

/** Tokens of the locks this process holds: our own pid in a lock file is ours only if listed here. */
const held = new Set<string>();

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.token === 'string' &&
      typeof value.since === 'string'
    ) {
      return value as Holder;
    }
  } catch {
    // a lock file cut short by a crash while it was written
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(path: string, holder: Holder, detail: string): DncError {
  return new DncError(
    'DNC_STORE_UNAVAILABLE',
    `DNC store unavailable: the store is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}),` +
      ` ${detail}. One store file serves one Node-RED process: give each its own store file, or use the` +
      ` PostgreSQL store to share one state (lock file ${path})`,
  );
}

export class StoreLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    readonly path: string,
    private readonly token: string,
    private readonly onLost: (error: DncError) => void,
  ) {}

  /** Takes the lock or throws DNC_STORE_UNAVAILABLE naming the holder. `onLost`: the lock was taken from us. */
  static async acquire(path: string, onLost: (error: DncError) => void): Promise<StoreLock> {
    const token = randomBytes(12).toString('hex');
    const holder: Holder = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
    const text = `${JSON.stringify(holder)}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, 'wx', 0o600);
        try {
          await handle.writeFile(text);
        } finally {
          await handle.close();
        }
        return StoreLock.held(path, token, onLost);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let existing: string;
      let age: number;
      try {
        existing = await readFile(path, 'utf8');
        age = Date.now() - (await stat(path)).mtimeMs;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw error;
      }
      const other = parseHolder(existing);
      if (other !== undefined && other.host === holder.host) {
        if (other.pid === process.pid ? held.has(other.token) : alive(other.pid)) {
          throw inUse(path, other, other.pid === process.pid ? 'this process' : 'which is running');
        }
      } else if (age < STALE_AFTER_MS) {
        if (other !== undefined) {
          throw inUse(
            path,
            other,
            `refreshed ${Math.round(age / 1000)} s ago (a lock from another host is taken over once` +
              ` not refreshed for ${STALE_AFTER_MS / 1000} s)`,
          );
        }
        throw new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: the lock file ${path} is being written by another process`,
        );
      }
      // Stale: replace it, unless someone replaced it since we read it.
      if ((await readFile(path, 'utf8').catch(() => '')) !== existing) continue;
      const temp = `${path}.${token}`;
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, path);
      if ((await readFile(path, 'utf8')) === text) return StoreLock.held(path, token, onLost);
    }
    throw new DncError(
      'DNC_STORE_UNAVAILABLE',
      `DNC store unavailable: another process keeps taking the lock ${path}`,
    );
  }

  private static held(path: string, token: string, onLost: (error: DncError) => void): StoreLock {
    held.add(token);
    const lock = new StoreLock(path, token, onLost);
    lock.timer = setInterval(() => void lock.heartbeat(), HEARTBEAT_MS);
    lock.timer.unref();
    return lock;
  }

  private async heartbeat(): Promise<void> {
    if (this.released) return;
    try {
      const holder = parseHolder(await readFile(this.path, 'utf8'));
      if (holder?.token !== this.token) {
        throw new Error(holder ? `process ${holder.pid} on ${holder.host} holds it now` : 'it is gone');
      }
      const now = new Date();
      await utimes(this.path, now, now);
    } catch (error) {
      if (this.released) return;
      this.stopHeartbeat();
      this.onLost(
        new DncError(
          'DNC_STORE_UNAVAILABLE',
          `DNC store unavailable: its lock ${this.path} was lost (${(error as Error).message}):` +
            ' another process may be writing the store. Stop the other process, then redeploy or restart',
        ),
      );
    }
  }

  private stopHeartbeat(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lock up (removes the file if it is still ours). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopHeartbeat();
    held.delete(this.token);
    const holder = parseHolder(await readFile(this.path, 'utf8').catch(() => ''));
    if (holder?.token === this.token) await unlink(this.path).catch(() => undefined);
  }
}
