/**
 * Files that hold personal data (the journal, the snapshot, attempt records, their temp files and set-aside
 * copies, import uploads, registry index caches): owner read-write only (0600), folders the package creates
 * owner only (0700), whatever the process umask.
 *
 * A mode given to open() is only an upper bound (the umask removes bits, never adds them), and it applies
 * only when the call creates the file: an existing file written by version 0.1.0 (0644 under the usual
 * umask 022) keeps its mode. So every open for writing goes through `openPrivate`, which also fchmods the
 * handle, and a store tightens the files it finds when it opens (`tightenFiles`).
 */
import { mkdirSync, chmodSync } from 'node:fs';
import { chmod, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * The file is owned by another user (a store folder shared between accounts): the package cannot change
 * its mode, and refusing to open it would stop compliance checks. Such a file is left as it is.
 */
function notOurs(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'EACCES';
}

/** open(path, flags) creating the file 0600, and bringing an existing file down to 0600. */
export async function openPrivate(path: string, flags: string): Promise<FileHandle> {
  const handle = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
  } catch (err) {
    if (!notOurs(err)) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }
  return handle;
}

/** chmod 0600 when the file exists and is readable or writable by group or others. Never throws for that. */
export async function tightenFile(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (info.isFile() && (info.mode & 0o077) !== 0) await chmod(path, PRIVATE_FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !notOurs(err)) throw err;
  }
}

/**
 * Tightens every file in the folder of `paths` that is one of them or starts with one of them followed
 * by "." (their temp files, `.corrupt-*` and `.torn-*` copies). Other files in the folder are the user's.
 */
export async function tightenFiles(paths: readonly string[]): Promise<void> {
  const byFolder = new Map<string, string[]>();
  for (const path of paths) {
    const folder = dirname(path);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), basename(path)]);
  }
  for (const [folder, names] of byFolder) {
    let entries: string[];
    try {
      entries = await readdir(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const entry of entries) {
      if (names.some((name) => entry === name || entry.startsWith(`${name}.`))) {
        await tightenFile(join(folder, entry));
      }
    }
  }
}

/**
 * mkdir -p whose new folders are 0700 (a folder that already exists, such as Node-RED's user directory,
 * is the user's and keeps its mode).
 */
export function mkdirPrivateSync(path: string): void {
  const created = mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (created === undefined) return;
  const first = resolve(created);
  // mkdir's mode is filtered by the umask too: set it on each folder created, from the last up to the first.
  for (let folder = resolve(path); ; folder = dirname(folder)) {
    chmodSync(folder, PRIVATE_DIR_MODE);
    if (folder === first || dirname(folder) === folder) break;
  }
}
