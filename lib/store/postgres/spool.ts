/**
 * The local spool of a PostgreSQL-backed instance: label changes made while the database cannot be
 * reached. An opt-out heard then must be neither lost nor refused: it is appended here (fdatasync
 * before it is acknowledged, as `queued`), enforced at once by this instance's checks (the store folds
 * the spool on top of its view), and written to PostgreSQL in order when it answers again, before any
 * later change. Each entry keeps the change id it will carry in the trail, so a change whose COMMIT
 * outcome was unknown is never written twice.
 *
 * One NDJSON line per change, mode 0600, in the user directory. Entries leave the file only once their
 * transaction committed (the file is rewritten without them: temp file, fsync, rename, fsync folder).
 */
import { randomBytes } from 'node:crypto';
import { rename, type FileHandle } from 'node:fs/promises';
import { DncError } from '../../errors';
import { openPrivate } from '../../private-files';
import { fsyncDirectory, readTextIfExists } from '../files';
import type { FoldableChange } from '../state';

export interface SpooledChange {
  /** The id the change's audit row carries (`audit.change_id`): written at most once. */
  readonly id: string;
  readonly change: FoldableChange;
}

/** A new change id: unique across instances and restarts. */
export function newChangeId(): string {
  return randomBytes(16).toString('hex');
}

function parseEntry(line: string, number: number, path: string): SpooledChange {
  try {
    const entry = JSON.parse(line) as SpooledChange;
    if (
      typeof entry.id === 'string' &&
      entry.change &&
      (entry.change.op === 'add' || entry.change.op === 'remove')
    ) {
      return entry;
    }
  } catch {
    // reported below
  }
  throw new Error(`line ${number} of the spool ${path} is not a spooled change`);
}

export class ChangeSpool {
  private entries: SpooledChange[] = [];
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  get size(): number {
    return this.entries.length;
  }

  /** The changes waiting, oldest first. */
  pending(): readonly SpooledChange[] {
    return this.entries;
  }

  /**
   * Reads what an earlier run left (changes acknowledged as queued and not yet written). A torn last
   * line (a crash during its append, never acknowledged) is dropped; anything else unreadable refuses.
   */
  async open(): Promise<void> {
    const text = (await readTextIfExists(this.path)) ?? '';
    const complete = text.lastIndexOf('\n') + 1;
    this.entries = text
      .slice(0, complete)
      .split('\n')
      .filter((line) => line !== '')
      .map((line, i) => parseEntry(line, i + 1, this.path));
    if (complete < text.length) await this.rewrite(this.entries);
  }

  /** Appends changes and makes them durable; only then may they be acknowledged. */
  async append(entries: readonly SpooledChange[]): Promise<void> {
    if (entries.length === 0) return;
    this.handle ??= await openPrivate(this.path, 'a');
    try {
      await this.handle.write(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      await this.handle.datasync();
    } catch (error) {
      throw new DncError(
        'DNC_STORE_ERROR',
        `DNC store: PostgreSQL cannot be reached and the change could not be spooled locally either` +
          ` (${(error as Error).message}): it was not saved`,
        { cause: error },
      );
    }
    this.entries.push(...entries);
  }

  /** Drops the first `count` entries (their transaction committed). */
  async drop(count: number): Promise<void> {
    if (count <= 0) return;
    await this.rewrite(this.entries.slice(count));
  }

  private async rewrite(kept: SpooledChange[]): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const temp = `${this.path}.${newChangeId()}.tmp`;
    const handle = await openPrivate(temp, 'w');
    try {
      await handle.writeFile(kept.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
    await fsyncDirectory(this.path);
    this.entries = kept;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
