/**
 * The snapshot: the state folded from the journal up to a seq, written through lowdb with a custom
 * adapter. lowdb's own JSONFile adapter would pretty-print a million label objects (~320 MB, seconds to
 * parse); this adapter stores each contact as one flat array and every repeated string once, in a table:
 *
 *   {"format":"dnc-store-snapshot/1","seq":N,"offset":B,"head":"<hash of record N>","createdAt":"...",
 *    "contacts":[[["+14155550123"],0,1700000000000,null,1,2,3,4,5], ...],
 *    "strings":["DNC_Sales","ivr",...]}
 *
 * A contact row is [keys, then 8 values per label: label, appliedAt, expiresAt, source, actor, reason,
 * campaign, channel], strings as indexes into `strings`, null as null. `offset` is the journal's byte
 * length at `seq`: replay continues from there.
 *
 * Writing: temp file, fdatasync, rename over the snapshot, fsync the directory, so a crash leaves either
 * the old or the new snapshot. The rows are serialised in chunks with a yield between them so that a
 * snapshot of a million contacts does not block writes and lookups for seconds.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Adapter } from 'lowdb' with { 'resolution-mode': 'import' };
import type { AppliedLabel, ContactState } from './types';
import { StoredContact, StoredLabel, type StringInterner } from './state';

export const SNAPSHOT_FORMAT = 'dnc-store-snapshot/1';
const LABEL_STRIDE = 8;
const ROWS_PER_CHUNK = 5000;
/**
 * Flush the temp file every this many bytes: one fsync of a 50 MB file at the end would stall the
 * journal's fsyncs (which share the disk and, on ext4, the file system journal) for a long moment.
 */
const SYNC_EVERY_BYTES = 8 * 1024 * 1024;

export interface SnapshotData {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly seq: number;
  readonly offset: number;
  readonly head: string;
  readonly createdAt: string;
  /** Every distinct profile, once. */
  readonly profiles: readonly ContactState[];
}

/** The snapshot file is unreadable: bad JSON, wrong format tag, malformed rows. */
export class SnapshotFormatError extends Error {}

export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(dirname(path), 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class SnapshotFileAdapter implements Adapter<SnapshotData> {
  constructor(
    readonly path: string,
    private readonly interner: StringInterner,
  ) {}

  async read(): Promise<SnapshotData | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new SnapshotFormatError(`not valid JSON (${(error as Error).message})`);
    }
    return decodeSnapshot(parsed, this.interner);
  }

  async write(data: SnapshotData): Promise<void> {
    const tempPath = `${this.path}.tmp`;
    const handle = await open(tempPath, 'w');
    try {
      const strings = new Map<string, number>();
      const index = (value: string | null): number | null => {
        if (value === null) return null;
        let position = strings.get(value);
        if (position === undefined) {
          position = strings.size;
          strings.set(value, position);
        }
        return position;
      };
      const header = {
        format: data.format,
        seq: data.seq,
        offset: data.offset,
        head: data.head,
        createdAt: data.createdAt,
      };
      await handle.write(`${JSON.stringify(header).slice(0, -1)},"contacts":[`);
      const profiles = data.profiles;
      let unsyncedBytes = 0;
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
          }
          parts.push(JSON.stringify(row));
        }
        const { bytesWritten } = await handle.write((from === 0 ? '' : ',') + parts.join(','));
        unsyncedBytes += bytesWritten;
        if (unsyncedBytes >= SYNC_EVERY_BYTES) {
          await handle.datasync();
          unsyncedBytes = 0;
        }
        // Let queued writes and lookups run between chunks.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await handle.write(`],"strings":${JSON.stringify([...strings.keys()])}}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, this.path);
    await fsyncDirectory(this.path);
  }
}

function decodeSnapshot(parsed: unknown, interner: StringInterner): SnapshotData {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SnapshotFormatError('not a snapshot object');
  }
  const raw = parsed as Record<string, unknown>;
  if (raw.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotFormatError(
      `unknown format tag ${JSON.stringify(raw.format)} (expected "${SNAPSHOT_FORMAT}")`,
    );
  }
  if (!Number.isSafeInteger(raw.seq) || (raw.seq as number) < 0) throw new SnapshotFormatError('bad seq');
  if (!Number.isSafeInteger(raw.offset) || (raw.offset as number) < 0)
    throw new SnapshotFormatError('bad offset');
  if (typeof raw.head !== 'string' || !/^[0-9a-f]{64}$/.test(raw.head))
    throw new SnapshotFormatError('bad head hash');
  if (!Array.isArray(raw.contacts) || !Array.isArray(raw.strings)) {
    throw new SnapshotFormatError('contacts or strings missing');
  }
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
  const rows = raw.contacts as unknown[];
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
  return {
    format: SNAPSHOT_FORMAT,
    seq: raw.seq as number,
    offset: raw.offset as number,
    head: raw.head,
    createdAt: typeof raw.createdAt === 'string' ? raw.createdAt : '',
    profiles,
  };
}
