/**
 * A file-backed national Do-Not-Call registry: where its data comes from (a file or a folder), how fresh
 * it must be, and lookups that fail closed.
 *
 * Loading. On start the registry loads from its binary index (index-file.ts) when that index was built from
 * exactly the source files now present (names, sizes, mtimes) with the same layout; otherwise it parses the
 * text and writes a new binary index. When the only difference is new change lists (additions / deletions)
 * after the ones already applied, they are merged into the current index instead of re-parsing everything.
 * Reloads happen when the files change (fs.watch, debounced; a poll of the files' sizes and mtimes catches
 * what the watcher misses, e.g. network shares), on an optional schedule, and on request. A reload builds a
 * complete new index and then replaces the reference to the current one in one assignment: a lookup (and a
 * whole batch, which takes the reference once) sees the old data or the new, never a mix. A failed reload
 * (unreadable file, damaged zip, a file changing while read, or a file where too many lines do not parse,
 * typically the wrong layout) keeps the previous data and is reported; it never installs a partial index.
 *
 * Empty or shrunken data is refused: a load whose full data set holds no numbers, or fewer than
 * minRetainedRatio of the numbers it replaces, keeps the previous data (a truncated download or an emptied
 * file would otherwise answer "not listed" for every number).
 *
 * Freshness. The data's as-of date is, most explicit first: a date a flow gives with a load, the registry's
 * setting, a sidecar `<file>.asof`, a date in the file name (`..._2026-03-01.txt`), the file's mtime. A bad
 * explicit date is refused, never ignored. With several full-list files the registry is as old as the
 * oldest; a change list brings it forward to the change list's date. Past maxAgeDays the registry is stale.
 *
 * Lookups fail closed: not loaded (or never loaded successfully) is `unavailable`, stale is `stale`, never
 * `not-listed`; stale data that lists a number answers `listed` (flagged `stale`). The one `not-listed` that needs no data is a number outside the registry's calling codes
 * (a UK number is not on the US list, loaded or not).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  IndexFileError,
  readIndexFile,
  readIndexFileHeader,
  writeIndexFile,
  type IndexFileHeader,
  type SourceFingerprint,
} from './index-file';
import { e164ToKey, mergeIndex, NumberIndex, NumberIndexBuilder } from './number-index';
import {
  dateFromFileName,
  parseLineFile,
  parseLineStream,
  type LayoutOptions,
  type MalformedLine,
  type ParseReport,
} from './parsers';
import { readZipDirectory, readZipEntry } from './zip';

export type KnownRegistryId = 'US_NDNC' | 'CA_DNCL' | 'UK_TPS' | 'UK_CTPS' | 'AU_DNCR' | 'SG_DNC';
/** A known registry, or a custom one (any other id). */
export type RegistryId = KnownRegistryId | (string & {});

export const KNOWN_REGISTRIES: readonly KnownRegistryId[] = [
  'US_NDNC',
  'CA_DNCL',
  'UK_TPS',
  'UK_CTPS',
  'AU_DNCR',
  'SG_DNC',
];

/**
 * Days the data may be old before lookups fail as stale, per registry's rule (COMPLIANCE.md): US and Canada
 * 31 (data no more than 31 days old when calling), UK 28 (screen at least every 28 days), Australia 30 (a wash
 * is a defence for 30 days), Singapore 21 (results valid 21 days).
 */
export const DEFAULT_MAX_AGE_DAYS: Readonly<Record<KnownRegistryId, number>> = {
  US_NDNC: 31,
  CA_DNCL: 31,
  UK_TPS: 28,
  UK_CTPS: 28,
  AU_DNCR: 30,
  SG_DNC: 21,
};

/** File layout each known registry is delivered in (overridable). AU and SG files are wash/check results. */
export const DEFAULT_LAYOUTS: Readonly<Record<KnownRegistryId, LayoutOptions>> = {
  US_NDNC: { layout: 'nanp' },
  CA_DNCL: { layout: 'nanp' },
  UK_TPS: { layout: 'uk-fixed' },
  UK_CTPS: { layout: 'uk-fixed' },
  // National numbers are read with libphonenumber-js's national-prefix rules for the calling code.
  AU_DNCR: { layout: 'lines', callingCode: '61' },
  SG_DNC: { layout: 'lines', callingCode: '65' },
};

/** Calling codes whose numbers each known registry can list; numbers outside are simply not on it. */
export const DEFAULT_CALLING_CODES: Readonly<Record<KnownRegistryId, readonly string[]>> = {
  US_NDNC: ['1'],
  CA_DNCL: ['1'],
  UK_TPS: ['44'],
  UK_CTPS: ['44'],
  AU_DNCR: ['61'],
  SG_DNC: ['65'],
};

/** Each known registry's freshness rule, as COMPLIANCE.md states it (named in the errors that enforce it). */
export const REGISTRY_RULES: Readonly<Record<KnownRegistryId, string>> = {
  US_NDNC: 'FTC (US National DNC Registry): data no more than 31 days old when calling',
  CA_DNCL: 'CRTC (Canada National DNCL): data no more than 31 days old',
  UK_TPS: 'TPS: screen at least every 28 days',
  UK_CTPS: 'CTPS: screen at least every 28 days',
  AU_DNCR: 'ACMA (Australia Do Not Call Register): a wash is a defence for 30 days',
  SG_DNC: 'Singapore DNC Registry: results valid 21 days',
};

export function isKnownRegistry(id: string): id is KnownRegistryId {
  return (KNOWN_REGISTRIES as readonly string[]).includes(id);
}

/**
 * The validity (days) a registry's data or results may be used for: the given value, else the known
 * registry's rule. A known registry may not be given more than its rule allows (RangeError naming the rule);
 * custom registries must give a positive value.
 */
export function registryMaxAgeDays(id: string, maxAgeDays: number | undefined): number {
  const known = isKnownRegistry(id) ? id : null;
  const days = maxAgeDays ?? (known ? DEFAULT_MAX_AGE_DAYS[known] : undefined);
  if (days === undefined || !(days > 0) || !Number.isFinite(days)) {
    throw new RangeError(`registry ${id}: maxAgeDays must be a positive number of days`);
  }
  if (known && days > DEFAULT_MAX_AGE_DAYS[known]) {
    throw new RangeError(
      `registry ${id}: valid for ${days} days is more than the rule allows (${DEFAULT_MAX_AGE_DAYS[known]} days; ${REGISTRY_RULES[known]})`,
    );
  }
  return days;
}

const DAY_MS = 86_400_000;

export type RegistryResult = 'listed' | 'not-listed' | 'unavailable' | 'stale';

export type RegistryReasonCode =
  /** The number is on the registry. */
  | 'LISTED'
  /** The registry's current data does not list the number. */
  | 'NOT_LISTED'
  /** The number is outside the registry's calling codes (a UK number and the US registry). */
  | 'OUTSIDE_REGISTRY'
  /** The data is older than maxAgeDays. */
  | 'REGISTRY_STALE'
  /** No data yet (still loading, or every load so far failed). */
  | 'REGISTRY_NOT_LOADED'
  /** Not E.164 (`+` and 7-15 digits). */
  | 'INVALID_NUMBER';

export interface RegistryLookupResult {
  registry: RegistryId;
  result: RegistryResult;
  /** As-of date of the data consulted (ISO 8601), null when there is none. */
  asOf: string | null;
  reason: RegistryReasonCode;
  /**
   * Set on a `listed` answer from data past its validity: stale data that lists a number is still a
   * listing (the number is blocked); only the absence of an answer may be relaxed.
   */
  stale?: true;
  /** Human-readable detail (why it is unavailable, how stale). */
  detail?: string;
}

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

export interface RegistryLoadProgress {
  registry: RegistryId;
  phase: 'reading-index' | 'parsing' | 'building' | 'writing-index';
  /** The file (or `zip!entry`) being read. */
  source: string;
  linesRead: number;
  bytesRead: number;
  totalBytes: number;
  /** 0-100 over the whole load (parsing is most of it). */
  percent: number;
}

export interface RegistryLoadOutcome {
  registry: RegistryId;
  ok: boolean;
  /** How the data was obtained (`as-of`: same data, a new as-of date). */
  via?: 'binary-index' | 'parsed' | 'change-lists' | 'unchanged' | 'as-of';
  error?: Error;
  count?: number;
  asOf?: string;
  asOfSource?: AsOfSource;
  durationMs: number;
  /** Lines that did not parse (counted over every source), with the first examples. */
  malformedLines?: number;
  malformed?: MalformedLine[];
  /** Non-fatal problems (the binary index could not be written, a damaged one was rebuilt...). */
  warnings: string[];
}

export interface FileRegistryOptions {
  id: RegistryId;
  /** A display name (defaults to the id). */
  name?: string;
  /** A file, or a folder of files (full lists, change lists, zips of per-area-code files). */
  source: string;
  /** Defaults to the registry's layout; required for custom registries. */
  layout?: LayoutOptions;
  /** Defaults to the registry's rule; required (> 0) for custom registries. */
  maxAgeDays?: number;
  /** Calling codes the registry covers (defaults per registry; custom registries: all). */
  callingCodes?: readonly string[];
  /** Where the binary index is kept; default beside the source. null: keep none. */
  indexPath?: string | null;
  /** Reload when the files change (default true). */
  watch?: boolean;
  /** Wait this long after the last change event before reloading (default 2000 ms). */
  debounceMs?: number;
  /** Compare the files' sizes and mtimes this often and reload on a difference (default 60000; 0: off). */
  pollIntervalMs?: number;
  /** Re-parse the sources from text this often, whatever changed (default 0: off). */
  reloadIntervalMs?: number;
  /**
   * The as-of date of the data (ISO date `2026-03-01` or date-time), when it is known better than from the
   * files (the registry's setting). Blank, unparseable or future dates are refused (RangeError).
   */
  asOf?: string;
  /**
   * A load whose full data set holds fewer than this share of the numbers of the data it replaces is
   * refused, the previous data kept (default 0.5; 0: no such check). A load with no numbers at all is
   * always refused.
   */
  minRetainedRatio?: number;
  /** A load fails when more than this share of a file's lines do not parse (default 0.01). */
  maxMalformedRatio?: number;
  /** Malformed lines kept as examples (default 20). */
  maxMalformedExamples?: number;
  onProgress?: (progress: RegistryLoadProgress) => void;
  /** Called after every load attempt, successful or not. */
  onLoad?: (outcome: RegistryLoadOutcome) => void;
  /** Clock (tests). */
  now?: () => number;
}

export type RegistryState = 'not-loaded' | 'ready' | 'stale';

export interface RegistryStatus {
  registry: RegistryId;
  name: string;
  state: RegistryState;
  loading: boolean;
  progress: RegistryLoadProgress | null;
  count: number;
  asOf: string | null;
  /** Where the as-of date came from, null without data. */
  asOfSource: AsOfSource | null;
  /** When the current data became stale or will become so (ISO). */
  staleAt: string | null;
  loadedAt: string | null;
  lastError: string | null;
  /** Why the last load was refused (no numbers, far fewer than before, a bad as-of date), else null. */
  refused: 'empty' | 'shrunk' | 'as-of' | null;
  malformedLines: number;
}

/** The data a registry answers from; replaced as a whole by a reload. */
interface Snapshot {
  readonly index: NumberIndex;
  readonly asOf: number;
  readonly asOfIso: string;
  readonly asOfSource: AsOfSource;
  readonly loadedAt: number;
  readonly sources: readonly SourceFingerprint[];
  readonly malformedLines: number;
  readonly malformed: readonly MalformedLine[];
  /** Per source: lines, numbers, malformed lines (persisted in the binary index). */
  readonly summary: readonly SourceSummary[];
}

type SourceSummary = IndexFileHeader['parseSummary'][number];

function summaryOf(reports: readonly ParseReport[]): SourceSummary[] {
  return reports.map((r) => ({
    source: r.source,
    lines: r.lines,
    numbers: r.numbers,
    malformedLines: r.malformedLines,
  }));
}

type SourceKind = 'full' | 'additions' | 'deletions';

interface SourceFile extends SourceFingerprint {
  path: string;
  kind: SourceKind;
  zip: boolean;
  /** The as-of date its sidecar `<file>.asof` states (ms), when there is one. */
  sidecarAsOf?: number;
}

const INDEX_SUFFIX = '.dncidx';
const AS_OF_SUFFIX = '.asof';
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
function isDataFileName(name: string): boolean {
  return (
    !name.startsWith('.') &&
    !name.endsWith(INDEX_SUFFIX) &&
    !name.endsWith(AS_OF_SUFFIX) &&
    !name.endsWith('.tmp') &&
    !name.endsWith('~')
  );
}

function kindOfFile(name: string): SourceKind {
  if (DELETIONS_NAME.test(name)) return 'deletions';
  if (ADDITIONS_NAME.test(name)) return 'additions';
  return 'full';
}

function sameFingerprint(a: SourceFingerprint, b: SourceFingerprint): boolean {
  return a.name === b.name && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function sameSources(a: readonly SourceFingerprint[], b: readonly SourceFingerprint[]): boolean {
  return a.length === b.length && a.every((source, i) => sameFingerprint(source, b[i]));
}

/** Same files and the same sidecar as-of dates. */
function sameListing(a: readonly SourceFile[], b: readonly SourceFile[]): boolean {
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

function fingerprintsOf(files: readonly SourceFile[]): SourceFingerprint[] {
  return files.map(({ name, size, mtimeMs }) => ({ name, size, mtimeMs }));
}

/**
 * As-of of a set of sources from the files themselves: oldest full list, brought forward by the newest
 * change list; each file dated by its sidecar, else the date in its name, else its mtime.
 */
function asOfOf(files: readonly SourceFile[], now: number): { at: number; source: AsOfSource } {
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

/** The numbers a load replaces, for the shrink rule: the data in memory, or the previous run's index. */
interface CountBaseline {
  count: number;
  asOfIso: string;
  inMemory: boolean;
}

export class FileRegistry {
  readonly id: RegistryId;
  readonly name: string;
  readonly maxAgeDays: number;
  readonly layout: LayoutOptions;
  readonly callingCodes: readonly string[] | null;
  readonly indexPath: string | null;
  private readonly options: FileRegistryOptions;
  private readonly now: () => number;
  private snapshot: Snapshot | null = null;
  private lastError: Error | null = null;
  private loading: Promise<RegistryLoadOutcome> | null = null;
  private pending: { force: boolean } | null = null;
  /** The registry's as-of setting (ms), when given. */
  private readonly settingAsOf: number | undefined;
  /** An as-of given with a load (a flow's msg), bound to the files it was given for. */
  private msgAsOf: { at: number; sources: readonly SourceFingerprint[] | null } | null = null;
  private readonly minRetainedRatio: number;
  /** The as-of source the binary index file records (to rewrite it when that changes). */
  private persistedAsOfSource: AsOfSource | undefined;
  private progress: RegistryLoadProgress | null = null;
  private lastAttempt: readonly SourceFile[] | null = null;
  private watcher: FSWatcher | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: FileRegistryOptions) {
    const known = (KNOWN_REGISTRIES as readonly string[]).includes(options.id)
      ? (options.id as KnownRegistryId)
      : null;
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(options.id)) {
      throw new RangeError(
        `registry id must be letters, digits, _ and - (starting with a letter): ${options.id}`,
      );
    }
    const layout = options.layout ?? (known ? DEFAULT_LAYOUTS[known] : undefined);
    if (!layout) throw new RangeError(`registry ${options.id}: a custom registry needs a layout`);
    const maxAgeDays = registryMaxAgeDays(options.id, options.maxAgeDays);
    const ratio = options.minRetainedRatio ?? 0.5;
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new RangeError(`registry ${options.id}: minRetainedRatio must be between 0 and 1`);
    }
    this.minRetainedRatio = ratio;
    this.now = options.now ?? Date.now;
    this.settingAsOf =
      options.asOf === undefined ? undefined : parseAsOf(options.asOf, `registry ${options.id}`, this.now());
    this.id = options.id;
    this.name = options.name ?? options.id;
    this.layout = layout;
    this.maxAgeDays = maxAgeDays;
    this.callingCodes = options.callingCodes ?? (known ? DEFAULT_CALLING_CODES[known] : null);
    this.options = options;
    this.indexPath =
      options.indexPath === null
        ? null
        : (options.indexPath ?? `${options.source.replace(/[\\/]+$/, '')}${INDEX_SUFFIX}`);
  }

  /** First load, then watchers and timers. Resolves with the load's outcome (a failure does not throw). */
  async start(): Promise<RegistryLoadOutcome> {
    // An as-of a flow gave with an earlier load still holds for exactly those files (kept in the index).
    if (this.indexPath) {
      try {
        const header = await readIndexFileHeader(this.indexPath);
        if (header.registry === this.id && header.asOfSource === 'msg') {
          this.msgAsOf = { at: header.asOf, sources: header.sources };
        }
      } catch {
        // no index, or a damaged one: the load reports it
      }
    }
    const outcome = await this.reload();
    if (!this.closed) this.startWatching();
    return outcome;
  }

  /**
   * Loads the sources if they changed since the data in use (or always, with force: re-parse the text).
   * Concurrent calls share the running load; a call during a load queues one more load after it.
   * `asOf` (a flow loading a file it downloaded) dates the files the load finds, ahead of every other
   * source of the date; it throws a RangeError when blank, unparseable or in the future.
   */
  reload(options: { force?: boolean; asOf?: string } = {}): Promise<RegistryLoadOutcome> {
    const force = options.force ?? false;
    if (options.asOf !== undefined) {
      // Validated now (a RangeError to the caller); applies to the files the next load finds.
      this.msgAsOf = { at: parseAsOf(options.asOf, `registry ${this.id}`, this.now()), sources: null };
    }
    if (this.loading) {
      this.pending = { force: force || (this.pending?.force ?? false) };
      return this.loading;
    }
    const run = async (): Promise<RegistryLoadOutcome> => {
      let outcome = await this.load(force);
      while (this.pending && !this.closed) {
        const next = this.pending;
        this.pending = null;
        outcome = await this.load(next.force);
      }
      return outcome;
    };
    this.loading = run().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Stops watchers and timers; lookups keep answering from the data loaded. */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    for (const timer of [this.debounceTimer, this.pollTimer, this.reloadTimer])
      if (timer) clearTimeout(timer);
    this.debounceTimer = this.pollTimer = this.reloadTimer = null;
    await this.loading?.catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Lookups
  // ---------------------------------------------------------------------------------------------

  /** Whether the registry can list this E.164 number at all (by calling code). */
  covers(e164: string): boolean {
    const codes = this.callingCodes;
    if (!codes) return true;
    for (const code of codes) if (e164.startsWith(code, 1)) return true;
    return false;
  }

  /** Looks one E.164 number up. */
  lookup(e164: string, at: number = this.now()): RegistryLookupResult {
    return this.lookupIn(this.snapshot, e164, at);
  }

  /** Looks a batch up against one snapshot of the data (a reload mid-batch does not split it). */
  lookupMany(numbers: readonly string[], at: number = this.now()): RegistryLookupResult[] {
    const snapshot = this.snapshot;
    const results = new Array<RegistryLookupResult>(numbers.length);
    for (let i = 0; i < numbers.length; i++) results[i] = this.lookupIn(snapshot, numbers[i], at);
    return results;
  }

  /**
   * For bulk scrubs: the current index when it can answer (fresh), else why not. Use index.hasMany on
   * keys (E.164 digits as integers) or E.164 strings; numbers outside `callingCodes` are simply not in it.
   */
  view(
    at: number = this.now(),
  ):
    | { usable: true; index: NumberIndex; asOf: string }
    | { usable: false; result: 'unavailable' | 'stale'; reason: RegistryReasonCode; asOf: string | null } {
    const snapshot = this.snapshot;
    if (!snapshot) return { usable: false, result: 'unavailable', reason: 'REGISTRY_NOT_LOADED', asOf: null };
    if (this.isStale(snapshot, at)) {
      return { usable: false, result: 'stale', reason: 'REGISTRY_STALE', asOf: snapshot.asOfIso };
    }
    return { usable: true, index: snapshot.index, asOf: snapshot.asOfIso };
  }

  status(at: number = this.now()): RegistryStatus {
    const snapshot = this.snapshot;
    return {
      registry: this.id,
      name: this.name,
      state: !snapshot ? 'not-loaded' : this.isStale(snapshot, at) ? 'stale' : 'ready',
      loading: this.loading !== null,
      progress: this.progress,
      count: snapshot?.index.count ?? 0,
      asOf: snapshot?.asOfIso ?? null,
      asOfSource: snapshot?.asOfSource ?? null,
      staleAt: snapshot ? new Date(snapshot.asOf + this.maxAgeDays * DAY_MS).toISOString() : null,
      loadedAt: snapshot ? new Date(snapshot.loadedAt).toISOString() : null,
      lastError: this.lastError?.message ?? null,
      refused: this.lastError instanceof RegistryLoadRefusedError ? this.lastError.refusal : null,
      malformedLines: snapshot?.malformedLines ?? 0,
    };
  }

  /** Stale when strictly older than maxAgeDays: data exactly maxAgeDays old may still be used. */
  private isStale(snapshot: Snapshot, at: number): boolean {
    return at - snapshot.asOf > this.maxAgeDays * DAY_MS;
  }

  private lookupIn(snapshot: Snapshot | null, e164: string, at: number): RegistryLookupResult {
    const registry = this.id;
    const key = e164ToKey(e164);
    if (Number.isNaN(key)) {
      return { registry, result: 'unavailable', asOf: snapshot?.asOfIso ?? null, reason: 'INVALID_NUMBER' };
    }
    if (!this.covers(e164)) {
      return { registry, result: 'not-listed', asOf: snapshot?.asOfIso ?? null, reason: 'OUTSIDE_REGISTRY' };
    }
    if (!snapshot) {
      return {
        registry,
        result: 'unavailable',
        asOf: null,
        reason: 'REGISTRY_NOT_LOADED',
        detail: this.lastError ? `load failed: ${this.lastError.message}` : 'not loaded yet',
      };
    }
    if (this.isStale(snapshot, at)) {
      const detail = `data of ${snapshot.asOfIso.slice(0, 10)} is older than ${this.maxAgeDays} days`;
      // Old data that lists the number is still a listing: only a missing answer may be relaxed.
      return snapshot.index.has(key)
        ? { registry, result: 'listed', asOf: snapshot.asOfIso, reason: 'LISTED', stale: true, detail }
        : { registry, result: 'stale', asOf: snapshot.asOfIso, reason: 'REGISTRY_STALE', detail };
    }
    return snapshot.index.has(key)
      ? { registry, result: 'listed', asOf: snapshot.asOfIso, reason: 'LISTED' }
      : { registry, result: 'not-listed', asOf: snapshot.asOfIso, reason: 'NOT_LISTED' };
  }

  // ---------------------------------------------------------------------------------------------
  // Loading
  // ---------------------------------------------------------------------------------------------

  private async load(force: boolean): Promise<RegistryLoadOutcome> {
    const started = performance.now();
    const warnings: string[] = [];
    const finish = (outcome: Omit<RegistryLoadOutcome, 'registry' | 'durationMs' | 'warnings'>) => {
      const result: RegistryLoadOutcome = {
        registry: this.id,
        ...outcome,
        durationMs: performance.now() - started,
        warnings,
      };
      this.progress = null;
      try {
        this.options.onLoad?.(result);
      } catch {
        // a listener's failure is not the load's
      }
      return result;
    };
    try {
      const sources = await listRegistrySources(this.options.source, this.now());
      this.lastAttempt = sources;
      if (sources.length === 0) throw new Error(`${this.options.source}: no registry files`);
      const fingerprints = fingerprintsOf(sources);
      const asOf = this.resolveAsOf(sources, fingerprints);
      // The flow's date this load used (another may arrive while it runs, for the next load).
      const msgAsOfUsed = asOf.source === 'msg' ? this.msgAsOf : null;
      const current = this.snapshot;
      let loaded: { snapshot: Snapshot; via: NonNullable<RegistryLoadOutcome['via']>; persist: boolean };
      if (!force && current && sameSources(current.sources, sources)) {
        if (current.asOf === asOf.at && current.asOfSource === asOf.source) {
          return finish({
            ok: true,
            via: 'unchanged',
            count: current.index.count,
            asOf: current.asOfIso,
            asOfSource: current.asOfSource,
            malformedLines: current.malformedLines,
            malformed: [...current.malformed],
          });
        }
        // The same data with a new as-of date (a sidecar written, a flow's date): no parsing.
        const snapshot = this.makeSnapshot(current.index, asOf, current.sources, current.summary, [
          ...current.malformed,
        ]);
        loaded = { snapshot, via: 'as-of', persist: true };
      } else {
        loaded = await this.loadSnapshot(sources, asOf, force, warnings);
      }
      this.checkCount(loaded.snapshot, current ?? (await this.previousRunBaseline()));
      if (loaded.persist) await this.writeBinaryIndex(loaded.snapshot, warnings);
      // A file that changed while it was read gave a mix of old and new lines: do not install that.
      const after = await listRegistrySources(this.options.source, this.now());
      if (!sameListing(after, sources)) {
        this.pending = { force };
        throw new Error('the registry files changed while they were read; loading again');
      }
      this.snapshot = loaded.snapshot;
      this.lastError = null;
      if (msgAsOfUsed !== null && this.msgAsOf === msgAsOfUsed)
        this.msgAsOf = { at: asOf.at, sources: fingerprints };
      return finish({
        ok: true,
        via: loaded.via,
        count: loaded.snapshot.index.count,
        asOf: loaded.snapshot.asOfIso,
        asOfSource: loaded.snapshot.asOfSource,
        malformedLines: loaded.snapshot.malformedLines,
        malformed: [...loaded.snapshot.malformed],
      });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.lastError = error;
      return finish({ ok: false, error });
    }
  }

  /**
   * Where the data's as-of date comes from, most explicit first: a flow's date for these files, the
   * registry's setting, then the files themselves (sidecar, name, mtime).
   */
  private resolveAsOf(
    sources: readonly SourceFile[],
    fingerprints: readonly SourceFingerprint[],
  ): { at: number; source: AsOfSource } {
    const given = this.msgAsOf;
    if (given !== null) {
      if (given.sources === null || sameSources(given.sources, fingerprints)) {
        return { at: given.at, source: 'msg' };
      }
      // New files: the date a flow gave for the previous ones says nothing about them.
      this.msgAsOf = null;
    }
    if (this.settingAsOf !== undefined) return { at: this.settingAsOf, source: 'setting' };
    return asOfOf(sources, this.now());
  }

  /**
   * Refuses data that would answer "not listed" for numbers that are listed: a load with no numbers at all
   * (an empty or blank file, only unparseable lines, deletions that empty the list), or a full data set
   * with far fewer numbers than the data it replaces (a truncated download). The previous data is kept.
   */
  private checkCount(next: Snapshot, previous: Snapshot | CountBaseline | null): void {
    const count = next.index.count;
    const current: CountBaseline | null =
      previous === null
        ? null
        : 'index' in previous
          ? { count: previous.index.count, asOfIso: previous.asOfIso, inMemory: true }
          : previous;
    const kept = !current
      ? 'there is no previous data, so every lookup answers "could not check"'
      : current.inMemory
        ? `the previous data (${current.count} numbers as of ${current.asOfIso.slice(0, 10)}) is kept`
        : `the binary index of the previous data (${current.count} numbers as of ${current.asOfIso.slice(0, 10)}) is kept; until a load is accepted every lookup answers "could not check"`;
    if (count === 0) {
      const lines = next.summary.reduce((sum, s) => sum + s.lines, 0);
      const malformed = next.summary.reduce((sum, s) => sum + s.malformedLines, 0);
      throw new RegistryLoadRefusedError(
        'empty',
        `${this.options.source}: the data holds no numbers (${lines} line(s), ${malformed} that do not parse); load refused, ${kept}`,
      );
    }
    if (current && count < this.minRetainedRatio * current.count) {
      throw new RegistryLoadRefusedError(
        'shrunk',
        `${this.options.source}: the new data holds ${count} numbers, fewer than ${Math.round(this.minRetainedRatio * 100)}% of the ${current.count} it replaces; load refused, ${kept}`,
      );
    }
  }

  /**
   * With no data in memory (the first load after a restart or redeploy), the data a load replaces is the
   * one this registry's binary index holds: its header's count is the baseline of the shrink rule.
   */
  private async previousRunBaseline(): Promise<CountBaseline | null> {
    if (!this.indexPath) return null;
    try {
      const header = await readIndexFileHeader(this.indexPath);
      if (header.registry !== this.id || !(header.count > 0)) return null;
      const asOfIso = Number.isFinite(header.asOf) ? new Date(header.asOf).toISOString() : 'an unknown date';
      return { count: header.count, asOfIso, inMemory: false };
    } catch {
      return null; // no index (or a damaged one, already reported): nothing to compare with
    }
  }

  private layoutKey(): string {
    return JSON.stringify(this.layout);
  }

  private async loadSnapshot(
    sources: SourceFile[],
    asOf: { at: number; source: AsOfSource },
    force: boolean,
    warnings: string[],
  ): Promise<{ snapshot: Snapshot; via: NonNullable<RegistryLoadOutcome['via']>; persist: boolean }> {
    const ordered = sources;
    const fingerprints = fingerprintsOf(ordered);

    // 1. The data in memory or the binary index, when the sources are the same or only gained change lists.
    if (!force) {
      let base: {
        index: NumberIndex;
        sources: readonly SourceFingerprint[];
        malformed: MalformedLine[];
        summary: readonly SourceSummary[];
      } | null = null;
      let via: 'binary-index' | 'change-lists' = 'change-lists';
      const current = this.snapshot;
      if (current && this.extendsSources(current.sources, fingerprints)) {
        base = {
          index: current.index,
          sources: current.sources,
          malformed: [...current.malformed],
          summary: current.summary,
        };
      } else if (this.indexPath) {
        const fromFile = await this.readBinaryIndex(fingerprints, warnings);
        if (fromFile) {
          base = fromFile;
          via = 'binary-index';
        }
      }
      if (base) {
        const added = ordered.slice(base.sources.length);
        if (added.length === 0) {
          return {
            snapshot: this.makeSnapshot(base.index, asOf, fingerprints, base.summary, base.malformed),
            via,
            // The index file holds the as-of source too: rewrite it when that changed.
            persist: this.persistedAsOfSource !== asOf.source,
          };
        }
        const { index, reports } = await this.applyChangeLists(base.index, added, ordered);
        const malformed = [...base.malformed, ...reports.flatMap((r) => r.malformed)];
        const summary = [...base.summary, ...summaryOf(reports)];
        return {
          snapshot: this.makeSnapshot(index, asOf, fingerprints, summary, malformed),
          via: 'change-lists',
          persist: true,
        };
      }
    }

    // 2. Parse everything.
    const full = ordered.filter((f) => f.kind === 'full');
    const changes = ordered.filter((f) => f.kind !== 'full');
    const totalBytes = ordered.reduce((sum, f) => sum + f.size, 0);
    let bytesBefore = 0;
    const builder = new NumberIndexBuilder();
    const reports: ParseReport[] = [];
    for (const file of full) {
      reports.push(...(await this.parseSource(file, builder, bytesBefore, totalBytes)));
      bytesBefore += file.size;
    }
    this.report(
      { phase: 'building', source: this.options.source, linesRead: 0, bytesRead: bytesBefore, totalBytes },
      90,
    );
    let index = await builder.build(
      this.pauser((done, total) =>
        this.report(
          {
            phase: 'building',
            source: this.options.source,
            linesRead: 0,
            bytesRead: bytesBefore,
            totalBytes,
          },
          90 + (5 * done) / total,
        ),
      ),
    );
    if (changes.length > 0) {
      const applied = await this.applyChangeLists(index, changes, ordered);
      index = applied.index;
      reports.push(...applied.reports);
    }
    const summary = summaryOf(reports);
    const malformed = reports.flatMap((r) => r.malformed);
    return {
      snapshot: this.makeSnapshot(index, asOf, fingerprints, summary, malformed),
      via: 'parsed',
      persist: true,
    };
  }

  /** Whether `now` is `before` plus change lists only (so they can be merged in). */
  private extendsSources(before: readonly SourceFingerprint[], now: readonly SourceFingerprint[]): boolean {
    if (now.length < before.length) return false;
    for (let i = 0; i < before.length; i++) if (!sameFingerprint(before[i], now[i])) return false;
    for (let i = before.length; i < now.length; i++) if (kindOfFile(now[i].name) === 'full') return false;
    return true;
  }

  private makeSnapshot(
    index: NumberIndex,
    asOf: { at: number; source: AsOfSource },
    sources: readonly SourceFingerprint[],
    summary: readonly SourceSummary[],
    malformed: readonly MalformedLine[],
  ): Snapshot {
    return {
      index,
      asOf: asOf.at,
      asOfIso: new Date(asOf.at).toISOString(),
      asOfSource: asOf.source,
      loadedAt: this.now(),
      sources,
      malformedLines: summary.reduce((sum, s) => sum + s.malformedLines, 0),
      malformed: malformed.slice(0, this.options.maxMalformedExamples ?? 20),
      summary,
    };
  }

  private async readBinaryIndex(
    fingerprints: readonly SourceFingerprint[],
    warnings: string[],
  ): Promise<{
    index: NumberIndex;
    sources: SourceFingerprint[];
    malformed: MalformedLine[];
    summary: readonly SourceSummary[];
  } | null> {
    const path = this.indexPath!;
    let header: IndexFileHeader;
    try {
      header = await readIndexFileHeader(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        warnings.push(`ignored the binary index: ${(err as Error).message}`);
      return null;
    }
    if (
      header.registry !== this.id ||
      header.layoutKey !== this.layoutKey() ||
      !this.extendsSources(header.sources, fingerprints)
    ) {
      return null;
    }
    this.report({ phase: 'reading-index', source: path, linesRead: 0, bytesRead: 0, totalBytes: 0 }, 0);
    try {
      const { index } = await readIndexFile(path);
      this.persistedAsOfSource = header.asOfSource as AsOfSource | undefined;
      // The examples of malformed lines are not persisted, only the counts.
      return { index, sources: header.sources, malformed: [], summary: header.parseSummary };
    } catch (err) {
      if (!(err instanceof IndexFileError)) throw err;
      warnings.push(`rebuilt from the sources: ${err.message}`);
      return null;
    }
  }

  private async writeBinaryIndex(snapshot: Snapshot, warnings: string[]): Promise<void> {
    if (!this.indexPath) return;
    const { index, asOf, sources, summary } = snapshot;
    this.report(
      { phase: 'writing-index', source: this.indexPath, linesRead: 0, bytesRead: 0, totalBytes: 0 },
      97,
    );
    try {
      await writeIndexFile(this.indexPath, index, {
        registry: this.id,
        layoutKey: this.layoutKey(),
        asOf,
        builtAt: this.now(),
        sources: [...sources],
        parseSummary: [...summary],
        asOfSource: snapshot.asOfSource,
      });
      this.persistedAsOfSource = snapshot.asOfSource;
    } catch (err) {
      // The data is good; only the next restart will be slower.
      warnings.push(`could not write the binary index ${this.indexPath}: ${(err as Error).message}`);
    }
  }

  /** base + each change list in order; each is its own additions or deletions set. */
  private async applyChangeLists(
    base: NumberIndex,
    changes: readonly SourceFile[],
    all: readonly SourceFile[],
  ): Promise<{ index: NumberIndex; reports: ParseReport[] }> {
    const totalBytes = all.reduce((sum, f) => sum + f.size, 0);
    let bytesBefore = totalBytes - changes.reduce((sum, f) => sum + f.size, 0);
    let index = base;
    const reports: ParseReport[] = [];
    const empty = NumberIndex.empty();
    for (const file of changes) {
      const builder = new NumberIndexBuilder();
      reports.push(...(await this.parseSource(file, builder, bytesBefore, totalBytes)));
      bytesBefore += file.size;
      const change = await builder.build(this.pauser());
      index =
        file.kind === 'additions'
          ? await mergeIndex(index, change, empty, this.pauser())
          : await mergeIndex(index, empty, change, this.pauser());
    }
    return { index, reports };
  }

  /** Parses one file (or each entry of a zip) into the builder, checking the malformed share. */
  private async parseSource(
    file: SourceFile,
    builder: NumberIndexBuilder,
    bytesBefore: number,
    totalBytes: number,
  ): Promise<ParseReport[]> {
    const maxExamples = this.options.maxMalformedExamples ?? 20;
    const reports: ParseReport[] = [];
    if (file.zip) {
      const entries = await readZipDirectory(file.path);
      const compressedTotal = entries.reduce((sum, e) => sum + e.compressedSize, 0) || 1;
      let entryBase = 0;
      for (const entry of entries) {
        if (!isDataFileName(basename(entry.name)) || entry.name.startsWith('__MACOSX/')) continue;
        const source = `${file.path}!${entry.name}`;
        let uncompressed = 0;
        const share = entry.compressedSize / compressedTotal;
        const report = await parseLineStream(source, readZipEntry(file.path, entry), this.layout, builder, {
          maxExamples,
          onBytes: async (bytes, lines) => {
            uncompressed += bytes;
            const fraction = entryBase + share * Math.min(1, uncompressed / (entry.uncompressedSize || 1));
            this.reportThrottled(
              {
                phase: 'parsing',
                source,
                linesRead: lines,
                bytesRead: bytesBefore + fraction * file.size,
                totalBytes,
              },
              (90 * (bytesBefore + fraction * file.size)) / totalBytes,
            );
            await this.yieldNow();
          },
        });
        entryBase += share;
        this.checkReport(report);
        reports.push(report);
      }
      return reports;
    }
    const report = await parseLineFile(file.path, this.layout, builder, {
      maxExamples,
      onProgress: (progress) =>
        this.reportThrottled(
          {
            phase: 'parsing',
            source: file.path,
            linesRead: progress.lines,
            bytesRead: bytesBefore + progress.bytesRead,
            totalBytes,
          },
          (90 * (bytesBefore + progress.bytesRead)) / totalBytes,
        ),
    });
    this.checkReport(report);
    return [report];
  }

  private checkReport(report: ParseReport): void {
    const ratio = this.options.maxMalformedRatio ?? 0.01;
    const considered = report.numbers + report.malformedLines;
    if (considered > 0 && report.malformedLines > ratio * considered) {
      const first = report.malformed[0];
      throw new Error(
        `${report.source}: ${report.malformedLines} of ${considered} lines do not parse as ${report.layout}` +
          (first ? ` (line ${first.line}: "${first.text}": ${first.reason})` : '') +
          ' - wrong layout or a damaged file; the previous data is kept',
      );
    }
  }

  private lastProgressAt = 0;

  private report(progress: Omit<RegistryLoadProgress, 'registry' | 'percent'>, percent: number): void {
    this.progress = { registry: this.id, ...progress, percent: Math.min(100, Math.max(0, percent)) };
    this.lastProgressAt = performance.now();
    try {
      this.options.onProgress?.(this.progress);
    } catch {
      // a listener's failure is not the load's
    }
  }

  /** At most four progress reports a second. */
  private reportThrottled(
    progress: Omit<RegistryLoadProgress, 'registry' | 'percent'>,
    percent: number,
  ): void {
    if (performance.now() - this.lastProgressAt >= 250) this.report(progress, percent);
    else this.progress = { registry: this.id, ...progress, percent: Math.min(100, Math.max(0, percent)) };
  }

  private lastYieldAt = performance.now();

  /** Lets other work (lookups, the editor) run every ~20 ms of a long synchronous stretch. */
  private async yieldNow(): Promise<void> {
    if (performance.now() - this.lastYieldAt < 20) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYieldAt = performance.now();
  }

  private pauser(
    onStep?: (done: number, total: number) => void,
  ): (done: number, total: number) => Promise<void> {
    return async (done, total) => {
      onStep?.(done, total);
      await this.yieldNow();
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Watching
  // ---------------------------------------------------------------------------------------------

  private startWatching(): void {
    const source = this.options.source.replace(/[\\/]+$/, '');
    if (this.options.watch ?? true) {
      this.startWatcher(source).catch(() => undefined);
    }
    const pollMs = this.options.pollIntervalMs ?? 60_000;
    if (pollMs > 0) {
      const poll = async (): Promise<void> => {
        try {
          const sources = await listRegistrySources(this.options.source, this.now());
          if (!this.lastAttempt || !sameListing(this.lastAttempt, sources)) await this.reload();
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
        await this.reload({ force: true });
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
      void this.reload();
    }, this.options.debounceMs ?? 2000).unref();
  }
}
