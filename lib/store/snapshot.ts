/**
 * The snapshot: the state folded from the journal up to a seq, written through lowdb with a custom
 * adapter. lowdb's own JSONFile adapter would pretty-print a million label objects (~320 MB, seconds to
 * parse); this adapter writes columns, so that JSON.parse builds a handful of large flat arrays rather
 * than millions of small ones (format 2, about 2x faster to parse than format 1):
 *
 *   {"format":"dnc-store-snapshot/2","seq":N,"offset":B,"head":"<hash of record N>","createdAt":"...",
 *    "contacts":C,
 *    "keys":"+14155550123\n+14155550124\n...",   every contact's keys, contact after contact, "\n"-joined
 *    "keyCounts":[1,1,2,...],                    keys per contact
 *    "labelCounts":[1,0,1,...],                  labels per contact
 *    "labels":[0,1,2,3,4,5, ...],                6 per label: label, source, actor, reason, campaign,
 *                                                channel, as indexes into `strings`, -1 for null
 *    "times":[1700000000000,9e15, ...],          2 per label: appliedAt, expiresAt (NEVER = 9e15 for
 *                                                null: outside the ECMAScript time range)
 *    "principals":[6,-1, ...],                   1 per label: who applied it (index into `strings`, -1
 *                                                for none); absent in snapshots written by 0.1.0
 *    "strings":["DNC_Sales","ivr",...]}
 *
 * Numbers stay unboxed (no null among them), so the two number columns parse into flat double arrays.
 * A store with a key containing "\n" (the contacts module never makes one) is written in format 1:
 *
 *   {"format":"dnc-store-snapshot/1", ...,"contacts":[[["+14155550123"],0,1700000000000,null,1,2,3,4,5], ...],
 *    "strings":[...]}
 *
 * a row per contact: [keys, then 8 values per label: label, appliedAt, expiresAt, source, actor, reason,
 * campaign, channel], and the same optional "principals" column (1 per label, in row order) beside them.
 * Both formats load; an unknown tag fails closed. A snapshot without "principals" (0.1.0) loads with no
 * principal on any label, and 0.1.0 reading a newer snapshot ignores the column. `offset` is the journal's byte
 * length at `seq`: replay continues from there.
 *
 * Writing: temp file, fdatasync, rename over the snapshot, fsync the directory, so a crash leaves either
 * the old or the new snapshot. Columns are serialised in chunks with a yield between them so that a
 * snapshot of a million contacts does not block writes and lookups for seconds.
 */
import { rename, type FileHandle } from 'node:fs/promises';
import type { Adapter } from 'lowdb' with { 'resolution-mode': 'import' };
import { openPrivate } from '../private-files';
import type { AppliedLabel, ContactState } from './types';
import { StoredContact, StoredLabel, type StringInterner } from './state';
import { LaterFormatError, fsyncDirectory, isLaterFormat, readTextIfExists } from './files';

export const SNAPSHOT_FORMAT = 'dnc-store-snapshot/2';
/** The row format, still read, and written when a key holds the "\n" format 2 joins keys with. */
export const SNAPSHOT_FORMAT_1 = 'dnc-store-snapshot/1';
const LABEL_STRIDE = 8;
const STRING_STRIDE = 6;
/** expiresAt null (never) in format 2's number column. */
const NEVER = 9e15;
const ROWS_PER_CHUNK = 5000;
/**
 * Flush the temp file every this many bytes: one fsync of a 50 MB file at the end would stall the
 * journal's fsyncs (which share the disk and, on ext4, the file system journal) for a long moment.
 */
const SYNC_EVERY_BYTES = 8 * 1024 * 1024;

export interface SnapshotData {
  /** The format read (either); the adapter chooses the format it writes. */
  readonly format: typeof SNAPSHOT_FORMAT | typeof SNAPSHOT_FORMAT_1;
  readonly seq: number;
  readonly offset: number;
  readonly head: string;
  readonly createdAt: string;
  /** Every distinct profile, once. */
  readonly profiles: readonly ContactState[];
}

/** The snapshot file is unreadable: bad JSON, wrong format tag, malformed rows. */
export class SnapshotFormatError extends Error {}

export class SnapshotFileAdapter implements Adapter<SnapshotData> {
  constructor(
    readonly path: string,
    private readonly interner: StringInterner,
  ) {}

  async read(): Promise<SnapshotData | null> {
    const text = await readTextIfExists(this.path);
    if (text === undefined) return null;
    return decodeSnapshotText(text, this.interner);
  }

  async write(data: SnapshotData): Promise<void> {
    const tempPath = `${this.path}.tmp`;
    if (!(await writeTemp(tempPath, data, writeColumns))) await writeTemp(tempPath, data, writeRows);
    await rename(tempPath, this.path);
    await fsyncDirectory(this.path);
  }
}

/** Where a format writer puts its text, chunk after chunk. */
interface TextSink {
  write(text: string): Promise<void>;
}

/** Writes a file in chunks, flushing every SYNC_EVERY_BYTES and yielding between chunks. */
class ChunkWriter implements TextSink {
  private unsyncedBytes = 0;
  constructor(private readonly handle: FileHandle) {}

  async write(text: string): Promise<void> {
    const { bytesWritten } = await this.handle.write(text);
    this.unsyncedBytes += bytesWritten;
    if (this.unsyncedBytes >= SYNC_EVERY_BYTES) {
      await this.handle.datasync();
      this.unsyncedBytes = 0;
    }
    // Let queued writes and lookups run between chunks.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

type FormatWriter = (data: SnapshotData, out: TextSink) => Promise<boolean>;

/** Writes and fdatasyncs the temp file; false when the writer cannot represent the data. */
async function writeTemp(tempPath: string, data: SnapshotData, writer: FormatWriter): Promise<boolean> {
  const handle = await openPrivate(tempPath, 'w');
  try {
    if (!(await writer(data, new ChunkWriter(handle)))) return false;
    await handle.datasync();
    return true;
  } finally {
    await handle.close();
  }
}

/** Collects the text in memory, yielding between chunks as the file writer does. */
class StringSink implements TextSink {
  readonly chunks: string[] = [];
  async write(text: string): Promise<void> {
    this.chunks.push(text);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The snapshot as one text (the file's content), for a store that keeps it elsewhere than in a file:
 * the PostgreSQL store keeps a snapshot as parts, each one such text.
 */
export async function encodeSnapshotText(data: SnapshotData): Promise<string> {
  let sink = new StringSink();
  if (!(await writeColumns(data, sink))) {
    sink = new StringSink();
    await writeRows(data, sink);
  }
  return sink.chunks.join('');
}

/** Reads a text encodeSnapshotText wrote (or a snapshot file's content); SnapshotFormatError if it is not one. */
export function decodeSnapshotText(text: string, interner: StringInterner): SnapshotData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SnapshotFormatError(`not valid JSON (${(error as Error).message})`);
  }
  return decodeSnapshot(parsed, interner);
}

function stringTable(): { index: (value: string | null) => number | null; list: () => string[] } {
  const strings = new Map<string, number>();
  return {
    index: (value) => {
      if (value === null) return null;
      let position = strings.get(value);
      if (position === undefined) {
        position = strings.size;
        strings.set(value, position);
      }
      return position;
    },
    list: () => [...strings.keys()],
  };
}

function header(data: SnapshotData, format: string): string {
  const fields = {
    format,
    seq: data.seq,
    offset: data.offset,
    head: data.head,
    createdAt: data.createdAt,
  };
  return JSON.stringify(fields).slice(0, -1);
}

/** Format 2 (columns); false if a key holds "\n". */
async function writeColumns(data: SnapshotData, out: TextSink): Promise<boolean> {
  const profiles = data.profiles;
  const table = stringTable();
  const text = (value: string | null): number => table.index(value) ?? -1;
  await out.write(`${header(data, SNAPSHOT_FORMAT)},"contacts":${profiles.length},"keys":"`);
  for (let from = 0; from < profiles.length; from += ROWS_PER_CHUNK) {
    const to = Math.min(profiles.length, from + ROWS_PER_CHUNK);
    const keys: string[] = [];
    for (let i = from; i < to; i++) {
      for (const key of profiles[i].keys) {
        if (key.includes('\n')) return false;
        keys.push(key);
      }
    }
    // Each chunk escaped on its own: JSON escaping is per character, so the pieces join into one string.
    await out.write((from === 0 ? '' : '\\n') + JSON.stringify(keys.join('\n')).slice(1, -1));
  }
  const column = async (opening: string, values: (profile: ContactState, into: number[]) => void) => {
    await out.write(opening);
    for (let from = 0; from < profiles.length; from += ROWS_PER_CHUNK) {
      const to = Math.min(profiles.length, from + ROWS_PER_CHUNK);
      const numbers: number[] = [];
      for (let i = from; i < to; i++) values(profiles[i], numbers);
      if (numbers.length > 0) await out.write((from === 0 ? '' : ',') + numbers.join(','));
    }
    await out.write(']');
  };
  await column('","keyCounts":[', (profile, into) => into.push(profile.keys.length));
  await column(',"labelCounts":[', (profile, into) => into.push(profile.labels.length));
  await column(',"labels":[', (profile, into) => {
    for (const label of profile.labels) {
      into.push(
        text(label.label),
        text(label.source),
        text(label.actor),
        text(label.reason),
        text(label.campaign),
        text(label.channel),
      );
    }
  });
  await column(',"times":[', (profile, into) => {
    for (const label of profile.labels) into.push(label.appliedAt, label.expiresAt ?? NEVER);
  });
  await column(',"principals":[', (profile, into) => {
    for (const label of profile.labels) into.push(text(label.principal ?? null));
  });
  await out.write(`,"strings":${JSON.stringify(table.list())}}\n`);
  return true;
}

/** Format 1 (a row per contact). */
async function writeRows(data: SnapshotData, out: TextSink): Promise<boolean> {
  const profiles = data.profiles;
  const { index, list } = stringTable();
  const principals: number[] = [];
  await out.write(`${header(data, SNAPSHOT_FORMAT_1)},"contacts":[`);
  for (let from = 0; from < profiles.length; from += ROWS_PER_CHUNK) {
    const parts: string[] = [];
    const to = Math.min(profiles.length, from + ROWS_PER_CHUNK);
    for (let i = from; i < to; i++) {
      const profile = profiles[i];
      const row: unknown[] = [profile.keys];
      for (const label of profile.labels) {
        row.push(
          index(label.label),
          label.appliedAt,
          label.expiresAt,
          index(label.source),
          index(label.actor),
          index(label.reason),
          index(label.campaign),
          index(label.channel),
        );
        principals.push(index(label.principal ?? null) ?? -1);
      }
      parts.push(JSON.stringify(row));
    }
    await out.write((from === 0 ? '' : ',') + parts.join(','));
  }
  await out.write(`],"principals":[${principals.join(',')}],"strings":${JSON.stringify(list())}}\n`);
  return true;
}

function decodeSnapshot(parsed: unknown, interner: StringInterner): SnapshotData {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SnapshotFormatError('not a snapshot object');
  }
  const raw = parsed as Record<string, unknown>;
  if (isLaterFormat(raw.format, 'dnc-store-snapshot', [SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_1]))
    throw new LaterFormatError('the snapshot', raw.format, [SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_1]);
  if (raw.format !== SNAPSHOT_FORMAT && raw.format !== SNAPSHOT_FORMAT_1) {
    throw new SnapshotFormatError(
      `unknown format tag ${JSON.stringify(raw.format)} (expected "${SNAPSHOT_FORMAT}" or "${SNAPSHOT_FORMAT_1}")`,
    );
  }
  if (!Number.isSafeInteger(raw.seq) || (raw.seq as number) < 0) throw new SnapshotFormatError('bad seq');
  if (!Number.isSafeInteger(raw.offset) || (raw.offset as number) < 0)
    throw new SnapshotFormatError('bad offset');
  if (typeof raw.head !== 'string' || !/^[0-9a-f]{64}$/.test(raw.head))
    throw new SnapshotFormatError('bad head hash');
  if (!Array.isArray(raw.strings)) throw new SnapshotFormatError('strings missing');
  const strings = (raw.strings as unknown[]).map((value) => {
    if (typeof value !== 'string') throw new SnapshotFormatError('non-string in the string table');
    return interner.intern(value);
  });
  const text = (position: unknown): string | null => {
    if (position === null) return null;
    const value = typeof position === 'number' ? strings[position] : undefined;
    if (value === undefined) throw new SnapshotFormatError('bad string index');
    return value;
  };
  const profiles =
    raw.format === SNAPSHOT_FORMAT ? decodeColumns(raw, strings) : decodeRows(raw.contacts, text);
  if (raw.format === SNAPSHOT_FORMAT_1 && raw.principals !== undefined) {
    attachPrincipals(profiles, raw.principals, strings);
  }
  return {
    format: raw.format,
    seq: raw.seq as number,
    offset: raw.offset as number,
    head: raw.head,
    createdAt: typeof raw.createdAt === 'string' ? raw.createdAt : '',
    profiles,
  };
}

function isNumberArray(value: unknown, length: number): value is number[] {
  if (!Array.isArray(value) || value.length !== length) return false;
  for (let i = 0; i < length; i++) if (typeof value[i] !== 'number') return false;
  return true;
}

/** Format 2: no intermediate array per contact; each column is read in one pass. */
function decodeColumns(raw: Record<string, unknown>, strings: readonly string[]): ContactState[] {
  const count = raw.contacts;
  if (!Number.isSafeInteger(count) || (count as number) < 0)
    throw new SnapshotFormatError('bad contacts count');
  const contacts = count as number;
  if (typeof raw.keys !== 'string') throw new SnapshotFormatError('keys missing');
  const keys = raw.keys === '' ? [] : raw.keys.split('\n');
  const keyCounts = raw.keyCounts;
  const labelCounts = raw.labelCounts;
  if (!isNumberArray(keyCounts, contacts) || !isNumberArray(labelCounts, contacts)) {
    throw new SnapshotFormatError('keyCounts or labelCounts do not match the contacts count');
  }
  let totalKeys = 0;
  let totalLabels = 0;
  for (let r = 0; r < contacts; r++) {
    const k = keyCounts[r];
    const l = labelCounts[r];
    if (!Number.isInteger(k) || k < 1 || !Number.isInteger(l) || l < 0) {
      throw new SnapshotFormatError(`contact ${r} has a bad key or label count`);
    }
    totalKeys += k;
    totalLabels += l;
  }
  if (keys.length !== totalKeys) throw new SnapshotFormatError('keys do not match keyCounts');
  const labels = raw.labels;
  const times = raw.times;
  if (!isNumberArray(labels, totalLabels * STRING_STRIDE) || !isNumberArray(times, totalLabels * 2)) {
    throw new SnapshotFormatError('labels or times do not match labelCounts');
  }
  const stringCount = strings.length;
  for (let i = 0; i < labels.length; i++) {
    const position = labels[i];
    // label and source (the first two of each 6) are required.
    const required = i % STRING_STRIDE < 2;
    if (!Number.isInteger(position) || position >= stringCount || position < (required ? 0 : -1)) {
      throw new SnapshotFormatError(`bad string index in label ${Math.floor(i / STRING_STRIDE)}`);
    }
  }
  for (let i = 0; i < times.length; i++) {
    const time = times[i];
    if (!Number.isFinite(time) || (i % 2 === 0 && time === NEVER)) {
      throw new SnapshotFormatError(`bad time in label ${i >> 1}`);
    }
  }
  // Absent in snapshots written by 0.1.0: no label names a principal.
  const principals = raw.principals;
  if (principals !== undefined) {
    if (!isNumberArray(principals, totalLabels)) {
      throw new SnapshotFormatError('principals do not match labelCounts');
    }
    for (let i = 0; i < principals.length; i++) {
      const position = principals[i];
      if (!Number.isInteger(position) || position >= stringCount || position < -1) {
        throw new SnapshotFormatError(`bad principal index in label ${i}`);
      }
    }
  }
  const text = (position: number): string | null => (position < 0 ? null : strings[position]);
  const profiles = new Array<ContactState>(contacts);
  let k = 0;
  let s = 0;
  let t = 0;
  for (let r = 0; r < contacts; r++) {
    const keyCount = keyCounts[r];
    const contactKeys = keyCount === 1 ? [keys[k]] : keys.slice(k, k + keyCount);
    k += keyCount;
    const labelCount = labelCounts[r];
    const contactLabels = new Array<AppliedLabel>(labelCount);
    for (let j = 0; j < labelCount; j++, s += STRING_STRIDE, t += 2) {
      const expiresAt = times[t + 1];
      contactLabels[j] = new StoredLabel(
        strings[labels[s]],
        times[t],
        expiresAt === NEVER ? null : expiresAt,
        strings[labels[s + 1]],
        text(labels[s + 2]),
        text(labels[s + 3]),
        text(labels[s + 4]),
        text(labels[s + 5]),
        principals === undefined ? null : text(principals[t >> 1]),
      );
    }
    profiles[r] = new StoredContact(contactKeys, contactLabels);
  }
  return profiles;
}

/**
 * Format 1's optional "principals" column: one string index (or -1) per label, in row order. Labels are
 * rebuilt with it (format 1 is rare: format 2 reads the column as it builds the labels).
 */
function attachPrincipals(profiles: ContactState[], column: unknown, strings: readonly string[]): void {
  let total = 0;
  for (const profile of profiles) total += profile.labels.length;
  if (!isNumberArray(column, total)) throw new SnapshotFormatError('principals do not match the labels');
  let i = 0;
  for (let r = 0; r < profiles.length; r++) {
    const profile = profiles[r];
    let changed = false;
    const labels = profile.labels.map((label) => {
      const position = column[i++];
      if (!Number.isInteger(position) || position < -1 || position >= strings.length) {
        throw new SnapshotFormatError(`bad principal index in label ${i - 1}`);
      }
      if (position < 0) return label;
      changed = true;
      return new StoredLabel(
        label.label,
        label.appliedAt,
        label.expiresAt,
        label.source,
        label.actor,
        label.reason,
        label.campaign,
        label.channel,
        strings[position],
      );
    });
    if (changed) profiles[r] = new StoredContact(profile.keys, labels);
  }
}

/** Format 1: a row per contact. */
function decodeRows(contacts: unknown, text: (position: unknown) => string | null): ContactState[] {
  if (!Array.isArray(contacts)) throw new SnapshotFormatError('contacts missing');
  const rows = contacts as unknown[];
  const profiles: ContactState[] = new Array<ContactState>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || !Array.isArray(row[0]) || row.length % LABEL_STRIDE !== 1) {
      throw new SnapshotFormatError(`contact row ${r} is malformed`);
    }
    const keys = row[0] as unknown[];
    if (keys.length === 0 || !keys.every((key) => typeof key === 'string')) {
      throw new SnapshotFormatError(`contact row ${r} has bad keys`);
    }
    const labels: AppliedLabel[] = [];
    for (let i = 1; i < row.length; i += LABEL_STRIDE) {
      const appliedAt: unknown = row[i + 1];
      const expiresAt: unknown = row[i + 2];
      const label = text(row[i]);
      const source = text(row[i + 3]);
      if (
        label === null ||
        source === null ||
        typeof appliedAt !== 'number' ||
        (expiresAt !== null && typeof expiresAt !== 'number')
      ) {
        throw new SnapshotFormatError(`contact row ${r} has a malformed label`);
      }
      labels.push(
        new StoredLabel(
          label,
          appliedAt,
          expiresAt,
          source,
          text(row[i + 4]),
          text(row[i + 5]),
          text(row[i + 6]),
          text(row[i + 7]),
        ),
      );
    }
    profiles[r] = new StoredContact(keys, labels);
  }
  return profiles;
}
