/**
 * What makes a file registry reload: its files changing (fs.watch on the file's folder or the source
 * folder, debounced), a poll of the files' sizes and mtimes (it catches what the watcher misses, e.g.
 * network shares, or a watcher that failed), and an optional schedule that re-parses whatever changed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  AS_OF_SUFFIX,
  isDataFileName,
  listRegistrySources,
  sameListing,
  type SourceFile,
} from './source-files';

export interface SourceWatchOptions {
  /** The registry's file or folder. */
  source: string;
  /** Reload when the files change (default true). */
  watch?: boolean;
  /** Wait this long after the last change event before reloading (default 2000 ms). */
  debounceMs?: number;
  /** Compare the files' sizes and mtimes this often and reload on a difference (default 60000; 0: off). */
  pollIntervalMs?: number;
  /** Re-parse the sources from text this often, whatever changed (default 0: off). */
  reloadIntervalMs?: number;
  now: () => number;
  /** Starts a load (force: re-parse the text); resolves when it is done. */
  reload: (force: boolean) => Promise<unknown>;
  /** The files the last load attempt found, null before any. */
  lastAttempt: () => readonly SourceFile[] | null;
}

export class SourceWatch {
  private watcher: FSWatcher | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: SourceWatchOptions) {}

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    for (const timer of [this.debounceTimer, this.pollTimer, this.reloadTimer])
      if (timer) clearTimeout(timer);
    this.debounceTimer = this.pollTimer = this.reloadTimer = null;
  }

  start(): void {
    const source = this.options.source.replace(/[\\/]+$/, '');
    if (this.options.watch ?? true) {
      this.startWatcher(source).catch(() => undefined);
    }
    const pollMs = this.options.pollIntervalMs ?? 60_000;
    if (pollMs > 0) {
      const poll = async (): Promise<void> => {
        try {
          const sources = await listRegistrySources(this.options.source, this.options.now());
          const last = this.options.lastAttempt();
          if (!last || !sameListing(last, sources)) await this.options.reload(false);
        } catch {
          // A missing source: the files coming back differ from the last attempt, which reloads them.
        }
        if (!this.closed) this.pollTimer = setTimeout(() => void poll(), pollMs).unref();
      };
      this.pollTimer = setTimeout(() => void poll(), pollMs).unref();
    }
    const reloadMs = this.options.reloadIntervalMs ?? 0;
    if (reloadMs > 0) {
      const scheduled = async (): Promise<void> => {
        await this.options.reload(true);
        if (!this.closed) this.reloadTimer = setTimeout(() => void scheduled(), reloadMs).unref();
      };
      this.reloadTimer = setTimeout(() => void scheduled(), reloadMs).unref();
    }
  }

  private async startWatcher(source: string): Promise<void> {
    const isFolder = (await stat(source)).isDirectory();
    if (this.closed) return;
    const folder = isFolder ? source : dirname(source);
    const fileName = isFolder ? null : basename(source);
    try {
      this.watcher = watch(folder, { persistent: false }, (_event, changed) => {
        const name = changed === null ? null : String(changed);
        const relevant =
          name === null ||
          (fileName ? name === fileName || name === `${fileName}${AS_OF_SUFFIX}` : isDataFileName(name)) ||
          (!fileName && name.endsWith(AS_OF_SUFFIX));
        if (!relevant) return;
        this.scheduleReload();
      });
      // Watchers fail on some file systems (or run out of handles): the poll still covers changes.
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null;
    }
  }

  private scheduleReload(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.options.reload(false);
    }, this.options.debounceMs ?? 2000).unref();
  }
}
