/**
 * The checkpoint: the journal's head (seq, hash, and the key its part is keyed with) in a small file
 * beside it, MACed with the store's audit key. Rewritten in place with every group commit, before the
 * batch is acknowledged (a write to the page cache, no fsync of its own: the batch's fdatasync made the
 * records durable, and a checkpoint lost in a power cut is only older, never ahead), and fsynced at open
 * and close. At open it proves two things the journal alone cannot:
 *
 * - a journal that ends before the checkpointed seq lost acknowledged records (a deleted tail);
 * - a torn final line belongs to a record after the checkpoint, so it was never acknowledged.
 *
 * `<name>.checkpoint`, one JSON object padded with spaces to a fixed size, so that an in-place rewrite
 * never leaves the end of a longer previous version behind.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import type { AuditKey } from './audit-hash';
import { LaterFormatError, fsyncDirectory, isLaterFormat, readTextIfExists } from './files';

/**
 * The checkpoint's format, and with it the journal's: the checkpoint goes with the journal (a journal
 * without its checkpoint is refused), so a version that changes the journal's records changes this tag,
 * and an earlier version refuses the store (LaterFormatError) instead of misreading its records.
 */
export const CHECKPOINT_FORMAT = 'dnc-store-checkpoint/1';
const CHECKPOINT_BYTES = 512;

export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
  /** The keyId of the chain part record `seq` belongs to (null: 0.1.0's unkeyed part). */
  readonly chainKey: string | null;
  /** The id of the key that MACed this checkpoint. */
  readonly keyId: string;
  readonly mac: string;
}

/** `dnc-store.json` -> `dnc-store.checkpoint`. */
export function checkpointPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.checkpoint`;
}

function macInput(seq: number, hash: string, chainKey: string | null): string {
  return `${CHECKPOINT_FORMAT}\n${seq}\n${hash}\n${chainKey ?? ''}`;
}

/** Whether the checkpoint was MACed with this key (false also when it names another key). */
export function checkpointIsAuthentic(checkpoint: Checkpoint, key: AuditKey): boolean {
  return (
    checkpoint.keyId === key.id &&
    key.mac(macInput(checkpoint.seq, checkpoint.hash, checkpoint.chainKey)) === checkpoint.mac
  );
}

/**
 * The checkpoint, undefined when there is none (a store written by 0.1.0), 'empty' for a 0-byte file
 * (a crash while an earlier version created it: the caller decides whether that can be a first open);
 * throws when unreadable.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint | 'empty' | undefined> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  if (text.length === 0) return 'empty';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('not valid JSON');
  }
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    isLaterFormat(parsed.format, 'dnc-store-checkpoint', [CHECKPOINT_FORMAT])
  )
    throw new LaterFormatError(`the checkpoint ${path}`, parsed.format, [CHECKPOINT_FORMAT]);
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    parsed.format !== CHECKPOINT_FORMAT ||
    !Number.isSafeInteger(parsed.seq) ||
    (parsed.seq as number) < 0 ||
    typeof parsed.hash !== 'string' ||
    !(parsed.chainKey === null || typeof parsed.chainKey === 'string') ||
    typeof parsed.keyId !== 'string' ||
    typeof parsed.mac !== 'string'
  ) {
    throw new Error('not a checkpoint');
  }
  return {
    seq: parsed.seq as number,
    hash: parsed.hash,
    chainKey: parsed.chainKey,
    keyId: parsed.keyId,
    mac: parsed.mac,
  };
}

function renderCheckpoint(key: AuditKey, seq: number, hash: string, chainKey: string | null): Buffer {
  const text = JSON.stringify({
    format: CHECKPOINT_FORMAT,
    seq,
    hash,
    chainKey,
    keyId: key.id,
    mac: key.mac(macInput(seq, hash, chainKey)),
  });
  const buffer = Buffer.alloc(CHECKPOINT_BYTES, 32);
  buffer.write(text, 0, 'utf8');
  buffer[CHECKPOINT_BYTES - 1] = 10;
  return buffer;
}

/**
 * Creates (or replaces) the checkpoint atomically: a temp file (0600), fsynced, renamed over the name,
 * the folder fsynced. A crash leaves either no checkpoint or a whole one, never an empty file.
 */
export async function createCheckpoint(
  path: string,
  key: AuditKey,
  seq: number,
  hash: string,
  chainKey: string | null,
): Promise<void> {
  const temp = `${path}.tmp`;
  // 0600: it names the journal's head (no personal data, but the store's files are private).
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(renderCheckpoint(key, seq, hash, chainKey));
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temp, path);
  await fsyncDirectory(path);
}

/** Keeps the checkpoint file open and rewrites it in place. */
export class CheckpointWriter {
  private constructor(
    private readonly handle: FileHandle,
    private readonly key: AuditKey,
  ) {}

  /** Opens an existing checkpoint for rewriting (see createCheckpoint for a new one). */
  static async open(path: string, key: AuditKey): Promise<CheckpointWriter> {
    return new CheckpointWriter(await open(path, 'r+'), key);
  }

  private render(seq: number, hash: string, chainKey: string | null): Buffer {
    return renderCheckpoint(this.key, seq, hash, chainKey);
  }
  /** Rewrites the checkpoint synchronously (page cache only, microseconds): called before acknowledging. */
  update(seq: number, hash: string, chainKey: string | null): void {
    const buffer = this.render(seq, hash, chainKey);
    writeSync(this.handle.fd, buffer, 0, buffer.length, 0);
  }

  /** Rewrites and fsyncs it (open, close). */
  async flush(seq: number, hash: string, chainKey: string | null): Promise<void> {
    this.update(seq, hash, chainKey);
    await this.handle.truncate(CHECKPOINT_BYTES);
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
