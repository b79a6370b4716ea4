/**
 * Small file helpers the store's modules share: reading a file that may not exist yet (a first open, a
 * store written by an older version), fsyncing a folder after a file was created or renamed in it, and
 * cutting an append-only file back to its last acknowledged byte after a failed write.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { openPrivate } from '../private-files';

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

/**
 * After a failed write the store's files are retried on their own, without a restart: first after
 * this pause, doubling up to WRITE_RETRY_MAX_MS while the disk still refuses (a full disk is usually
 * freed by hand, within minutes).
 */
export const WRITE_RETRY_FIRST_MS = 500;
export const WRITE_RETRY_MAX_MS = 30_000;

/**
 * Cuts the file back to `end` bytes and fsyncs it, through a handle of its own (the writer's may be the
 * one that failed). Never extends: a file already shorter is left as it is (its reader reports it).
 * After a failed append, what follows `end` is a record, whole or in part, whose writer was told it was
 * not saved: it must not be read back.
 */
export async function truncateTo(path: string, end: number): Promise<void> {
  const handle = await openPrivate(path, 'r+');
  try {
    const { size } = await handle.stat();
    if (size > end) {
      await handle.truncate(end);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
}

/**
 * A store file whose format tag names a later version of its format than this version of the package
 * reads (`dnc-store-checkpoint/2` where it knows `/1`): the store refuses to open, and says so, rather
 * than misread it or set it aside as corrupt. Each tag is `<family>/<n>`.
 */
export class LaterFormatError extends Error {
  constructor(file: string, found: string, known: readonly string[]) {
    super(
      `${file} has the format "${found}", written by a later version of @dncflow/node-red-dnc (this one` +
        ` reads ${known.map((k) => `"${k}"`).join(' and ')}): upgrade the package again, or restore a` +
        ` backup made by this version`,
    );
  }
}

/** Whether `tag` is of `family` (`dnc-store-checkpoint`) but none of the `known` tags. */
export function isLaterFormat(tag: unknown, family: string, known: readonly string[]): tag is string {
  return typeof tag === 'string' && tag.startsWith(`${family}/`) && !known.includes(tag);
}
