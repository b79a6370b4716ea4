/**
 * Small file helpers the store's modules share: reading a file that may not exist yet (a first open, a
 * store written by an older version) and fsyncing a folder after a file was created or renamed in it.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file's text (UTF-8); undefined when there is no such file. Any other error is thrown. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Fsyncs the folder holding `path`: a new or renamed file's entry is durable only once its folder is,
 * so a crash cannot lose a file whose content was already fsynced.
 */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(dirname(path), 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
