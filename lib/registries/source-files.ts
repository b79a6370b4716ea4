/**
 * A file registry's sources: the data files of its file or folder (full lists, change lists, zips), the
 * order they are applied in, their fingerprints (name, size, mtime) that tell a change, and the as-of date
 * of the data, most explicit first: a date a flow gives with a load, the registry's setting, a sidecar
 * `<file>.asof`, a date in the file name (`..._2026-03-01.txt`), the file's mtime. A bad explicit date is
 * refused, never ignored.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { SourceFingerprint } from './index-file';
import { dateFromFileName } from './parsers';

/**
 * Where a registry's as-of date came from, most explicit first: given with a load by a flow (`msg`), the
 * registry's setting, a sidecar `<file>.asof` file, a date in the file name, the file's modification time.
 */
export type AsOfSource = 'msg' | 'setting' | 'sidecar' | 'file-name' | 'mtime';

/** A load refused on purpose (the data would have answered "not listed" for numbers that are listed). */
export class RegistryLoadRefusedError extends Error {
  constructor(
    readonly refusal: 'empty' | 'shrunk' | 'as-of',
    message: string,
  ) {
    super(message);
    this.name = 'RegistryLoadRefusedError';
  }
}

export type SourceKind = 'full' | 'additions' | 'deletions';

export interface SourceFile extends SourceFingerprint {
  path: string;
  kind: SourceKind;
  zip: boolean;
  /** The as-of date its sidecar `<file>.asof` states (ms), when there is one. */
  sidecarAsOf?: number;
}

export const INDEX_SUFFIX = '.dncidx';
export const AS_OF_SUFFIX = '.asof';
/** A date-only as-of may be "today" anywhere on Earth: up to UTC+14 ahead of UTC midnight. */
const DATE_AHEAD_MS = 14 * 3_600_000;
/** A date-time as-of may be this far ahead of our clock (clock skew between machines). */
const DATE_TIME_AHEAD_MS = 5 * 60_000;

/**
 * An as-of date as a timestamp: `2026-03-01` (UTC midnight) or an ISO 8601 date-time with a zone.
 * Throws a RangeError naming `what` for anything blank, unparseable or in the future: a date that cannot be
 * trusted is not replaced by a guess (fail closed: the load or the configuration is refused).
 */
export function parseAsOf(value: unknown, what: string, now: number): number {
  const text = typeof value === 'string' ? value.trim() : value instanceof Date ? value.toISOString() : '';
  if (text === '') throw new RangeError(`${what}: the as-of date is blank`);
  let at: number;
  let ahead: number;
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    at = Date.UTC(y, m - 1, d);
    const back = new Date(at);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) at = NaN;
    ahead = DATE_AHEAD_MS;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    at = Date.parse(text);
    ahead = DATE_TIME_AHEAD_MS;
  } else {
    at = NaN;
    ahead = 0;
  }
  if (!Number.isFinite(at) || at < Date.UTC(2000, 0, 1)) {
    throw new RangeError(
      `${what}: "${text.slice(0, 40)}" is not an as-of date (YYYY-MM-DD or an ISO date-time with a zone)`,
    );
  }
  if (at > now + ahead) throw new RangeError(`${what}: the as-of date ${text.slice(0, 40)} is in the future`);
  return at;
}
const ADDITIONS_NAME = /(^|[^a-z])(add|adds|added|additions?)([^a-z]|$)/i;
const DELETIONS_NAME = /(^|[^a-z])(del|dels|deleted|deletions?|removals?|removed)([^a-z]|$)/i;

/** Whether a name in a source folder is registry data (not hidden, not an index or a temporary file). */
export function isDataFileName(name: string): boolean {
  return (
    !name.startsWith('.') &&
    !name.endsWith(INDEX_SUFFIX) &&
    !name.endsWith(AS_OF_SUFFIX) &&
    !name.endsWith('.tmp') &&
    !name.endsWith('~')
  );
}

export function kindOfFile(name: string): SourceKind {
  if (DELETIONS_NAME.test(name)) return 'deletions';
  if (ADDITIONS_NAME.test(name)) return 'additions';
  return 'full';
}

export function sameFingerprint(a: SourceFingerprint, b: SourceFingerprint): boolean {
  return a.name === b.name && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export function sameSources(a: readonly SourceFingerprint[], b: readonly SourceFingerprint[]): boolean {
  return a.length === b.length && a.every((source, i) => sameFingerprint(source, b[i]));
}

/** Same files and the same sidecar as-of dates. */
export function sameListing(a: readonly SourceFile[], b: readonly SourceFile[]): boolean {
  return sameSources(a, b) && a.every((source, i) => source.sidecarAsOf === b[i].sidecarAsOf);
}

/** The date a file's sidecar `<file>.asof` states, undefined without one; a bad sidecar throws. */
async function readSidecar(path: string, now: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`${path}${AS_OF_SUFFIX}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return parseAsOf(text, `${basename(path)}${AS_OF_SUFFIX}`, now);
  } catch (err) {
    throw new RegistryLoadRefusedError('as-of', `${(err as Error).message}; the load is refused`);
  }
}

/** The sources a registry reads (its file, or its folder's data files), in the order they are applied. */
export async function listRegistrySources(source: string, now: number = Date.now()): Promise<SourceFile[]> {
  const info = await stat(source);
  const describe = async (path: string, name: string, size: number, mtimeMs: number): Promise<SourceFile> => {
    const file: SourceFile = {
      path,
      name,
      size,
      mtimeMs,
      kind: kindOfFile(name),
      zip: extname(name).toLowerCase() === '.zip',
    };
    const sidecar = await readSidecar(path, now);
    if (sidecar !== undefined) file.sidecarAsOf = sidecar;
    else {
      // A date in the name that has not happened yet would keep the data "fresh" for that long.
      const named = dateFromFileName(name);
      if (named !== undefined && named > now + DATE_AHEAD_MS) {
        throw new RegistryLoadRefusedError(
          'as-of',
          `${name}: the date in the file name is in the future; the load is refused (give the date in ${name}${AS_OF_SUFFIX})`,
        );
      }
    }
    return file;
  };
  if (info.isFile()) return [await describe(source, basename(source), info.size, info.mtimeMs)];
  if (!info.isDirectory()) throw new Error(`${source} is neither a file nor a folder`);
  const files: SourceFile[] = [];
  for (const name of (await readdir(source)).sort()) {
    if (!isDataFileName(name)) continue;
    const path = join(source, name);
    const entry = await stat(path);
    if (entry.isFile()) files.push(await describe(path, name, entry.size, entry.mtimeMs));
  }
  // The order they are applied in: full lists first (by name), then change lists by date, and on one date
  // deletions before additions, so a number both deleted and added that day ends up listed (the safe side).
  const changes = files.filter((f) => f.kind !== 'full');
  const changeDate = (f: SourceFile): number => f.sidecarAsOf ?? dateFromFileName(f.name) ?? f.mtimeMs;
  changes.sort(
    (a, b) =>
      changeDate(a) - changeDate(b) ||
      (a.kind === b.kind ? 0 : a.kind === 'deletions' ? -1 : 1) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return [...files.filter((f) => f.kind === 'full'), ...changes];
}

export function fingerprintsOf(files: readonly SourceFile[]): SourceFingerprint[] {
  return files.map(({ name, size, mtimeMs }) => ({ name, size, mtimeMs }));
}

/**
 * As-of of a set of sources from the files themselves: oldest full list, brought forward by the newest
 * change list; each file dated by its sidecar, else the date in its name, else its mtime.
 */
export function asOfOf(files: readonly SourceFile[], now: number): { at: number; source: AsOfSource } {
  const dateOf = (file: SourceFile): { at: number; source: AsOfSource } => {
    if (file.sidecarAsOf !== undefined) return { at: file.sidecarAsOf, source: 'sidecar' };
    const named = dateFromFileName(file.name);
    if (named !== undefined) return { at: named, source: 'file-name' };
    // An mtime from a wrong clock (touch, an unzip keeping its archive's times, NFS skew) would keep the
    // data "fresh" until that date: refused like a future date in a file name.
    if (file.mtimeMs > now + DATE_TIME_AHEAD_MS) {
      throw new RegistryLoadRefusedError(
        'as-of',
        `${file.name}: the file's modification time (${new Date(file.mtimeMs).toISOString()}) is in the future; the load is refused (give the date in ${file.name}${AS_OF_SUFFIX} or the registry's as-of setting)`,
      );
    }
    return { at: Math.floor(file.mtimeMs), source: 'mtime' };
  };
  const full = files.filter((f) => f.kind === 'full').map(dateOf);
  const changes = files.filter((f) => f.kind !== 'full').map(dateOf);
  let asOf = (full.length > 0 ? full : changes).reduce((a, b) => (b.at < a.at ? b : a));
  if (changes.length > 0) {
    const newest = changes.reduce((a, b) => (b.at > a.at ? b : a));
    if (newest.at > asOf.at) asOf = newest;
  }
  return asOf;
}

/** Whether `now` is `before` plus change lists only (so they can be merged in). */
export function extendsSources(
  before: readonly SourceFingerprint[],
  now: readonly SourceFingerprint[],
): boolean {
  if (now.length < before.length) return false;
  for (let i = 0; i < before.length; i++) if (!sameFingerprint(before[i], now[i])) return false;
  for (let i = before.length; i < now.length; i++) if (kindOfFile(now[i].name) === 'full') return false;
  return true;
}
