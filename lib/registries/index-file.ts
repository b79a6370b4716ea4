/**
 * The binary form of a NumberIndex, written beside a registry's source files so that a restart reads typed
 * arrays back instead of re-parsing hundreds of millions of text lines. The arrays are written as they are
 * in memory (little-endian, as every platform Node runs on) and read back into one ArrayBuffer, so a load
 * is a file read plus a CRC-32, with no per-number work.
 *
 *   0  "DNCIDX\r\n"                 magic (the CR/LF catch text-mode mangling)
 *   8  u32 format version
 *  12  u32 CRC-32 of bytes 16..end
 *  16  u32 length of the JSON header
 *  20  u32 0
 *  24  JSON header (IndexFileHeader), space-padded to a multiple of 8
 *      offsets  (Uint32 x header.offsetsLength), zero-padded to a multiple of 8
 *      prefixes (Float64 x header.prefixesLength)
 *      words    (Uint32 x header.wordsLength)
 * The file is written to a temporary name, synced, then renamed: a crash leaves the old file or the new one.
 */
import { open, rename, rm } from 'node:fs/promises';
import { openPrivate, tightenFile } from '../private-files';
import { crc32 } from './crc32';
import { NumberIndex, type DirectoryKind } from './number-index';

export const INDEX_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('DNCIDX\r\n', 'latin1');
const FIXED_HEADER_BYTES = 24;

/** A source file as it was when the index was built: a change to any of these invalidates the index. */
export interface SourceFingerprint {
  /** Path relative to the registry's source (the file name for a single-file source). */
  name: string;
  size: number;
  mtimeMs: number;
}

export interface IndexFileHeader {
  formatVersion: number;
  registry: string;
  /** What the sources were parsed as (layout options, as JSON): a different layout means a different index. */
  layoutKey: string;
  /** As-of date of the data (ms since the epoch). */
  asOf: number;
  builtAt: number;
  count: number;
  groupCount: number;
  directory: DirectoryKind;
  basePrefix: number;
  offsetsLength: number;
  prefixesLength: number;
  wordsLength: number;
  sources: SourceFingerprint[];
  /** Lines read and malformed lines, per source, as parsed (kept so a restart can still report them). */
  parseSummary: { source: string; lines: number; numbers: number; malformedLines: number }[];
  /** Where `asOf` came from (see AsOfSource in registry.ts); absent in indexes written by 0.1.0. */
  asOfSource?: string;
}

export class IndexFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'IndexFileError';
  }
}

function pad8(length: number): number {
  return (length + 7) & ~7;
}

function bytesOf(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export type IndexFileMetadata = Omit<
  IndexFileHeader,
  | 'formatVersion'
  | 'count'
  | 'groupCount'
  | 'directory'
  | 'basePrefix'
  | 'offsetsLength'
  | 'prefixesLength'
  | 'wordsLength'
>;

export async function writeIndexFile(
  path: string,
  index: NumberIndex,
  metadata: IndexFileMetadata,
): Promise<void> {
  const parts = index.parts();
  const header: IndexFileHeader = {
    formatVersion: INDEX_FORMAT_VERSION,
    ...metadata,
    count: parts.count,
    groupCount: parts.groupCount,
    directory: parts.directory,
    basePrefix: parts.basePrefix,
    offsetsLength: parts.offsets.length,
    prefixesLength: parts.prefixes.length,
    wordsLength: parts.words.length,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const jsonPadded = Buffer.alloc(pad8(json.length), 0x20);
  json.copy(jsonPadded);
  const offsets = bytesOf(parts.offsets);
  const offsetsPadding = Buffer.alloc(pad8(offsets.length) - offsets.length);
  const body = [jsonPadded, offsets, offsetsPadding, bytesOf(parts.prefixes), bytesOf(parts.words)];
  const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(INDEX_FORMAT_VERSION, 8);
  fixed.writeUInt32LE(json.length, 16);
  let checksum = crc32(fixed.subarray(16));
  // Empty pieces are skipped: zlib.crc32 of a view on a zero-length ArrayBuffer returns 0, not the running value.
  for (const piece of body) if (piece.length > 0) checksum = crc32(piece, checksum);
  fixed.writeUInt32LE(checksum >>> 0, 12);

  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await openPrivate(temporary, 'w');
  try {
    for (const piece of [fixed, ...body]) {
      // writev would do, but one write per piece keeps each call under the 2 GB per-call limit.
      for (let at = 0; at < piece.length;) {
        const { bytesWritten } = await handle.write(piece, at, Math.min(piece.length - at, 1 << 30));
        at += bytesWritten;
      }
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temporary, path);
}

/** Reads only the JSON header (cheap: for deciding whether the index still matches its sources). */
export async function readIndexFileHeader(path: string): Promise<IndexFileHeader> {
  // An index written by 0.1.0 was created 0644; the numbers in it are personal data.
  await tightenFile(path);
  const handle = await open(path, 'r');
  try {
    const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
    await handle.read(fixed, 0, FIXED_HEADER_BYTES, 0);
    checkFixedHeader(path, fixed);
    const json = Buffer.alloc(fixed.readUInt32LE(16));
    const { bytesRead } = await handle.read(json, 0, json.length, FIXED_HEADER_BYTES);
    if (bytesRead !== json.length) throw new IndexFileError(path, 'truncated header');
    return parseHeader(path, json);
  } finally {
    await handle.close();
  }
}

function checkFixedHeader(path: string, fixed: Buffer): void {
  if (!fixed.subarray(0, 8).equals(MAGIC)) throw new IndexFileError(path, 'not a registry index file');
  const version = fixed.readUInt32LE(8);
  if (version !== INDEX_FORMAT_VERSION) {
    throw new IndexFileError(path, `format version ${version}, this code reads ${INDEX_FORMAT_VERSION}`);
  }
}

function parseHeader(path: string, json: Buffer): IndexFileHeader {
  let header: IndexFileHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as IndexFileHeader;
  } catch {
    throw new IndexFileError(path, 'header is not JSON');
  }
  if (header.formatVersion !== INDEX_FORMAT_VERSION) throw new IndexFileError(path, 'header version differs');
  return header;
}

/** Reads and verifies (CRC-32, lengths) an index file. Throws IndexFileError when it is damaged. */
export async function readIndexFile(path: string): Promise<{ header: IndexFileHeader; index: NumberIndex }> {
  const handle = await open(path, 'r');
  let memory: ArrayBuffer;
  try {
    const size = (await handle.stat()).size;
    if (size < FIXED_HEADER_BYTES) throw new IndexFileError(path, 'truncated');
    memory = new ArrayBuffer(size);
    const bytes = new Uint8Array(memory);
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(bytes, at, Math.min(size - at, 1 << 30), at);
      if (bytesRead === 0) throw new IndexFileError(path, 'truncated');
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const file = Buffer.from(memory);
  checkFixedHeader(path, file);
  if (crc32(file.subarray(16)) >>> 0 !== file.readUInt32LE(12)) {
    throw new IndexFileError(path, 'checksum mismatch (the file is damaged)');
  }
  const jsonLength = file.readUInt32LE(16);
  const header = parseHeader(path, file.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + jsonLength));
  let at = FIXED_HEADER_BYTES + pad8(jsonLength);
  const offsetsAt = at;
  at += pad8(header.offsetsLength * 4);
  const prefixesAt = at;
  at += header.prefixesLength * 8;
  const wordsAt = at;
  at += header.wordsLength * 4;
  if (at !== memory.byteLength) throw new IndexFileError(path, 'section lengths do not match the file size');
  try {
    const index = new NumberIndex({
      count: header.count,
      groupCount: header.groupCount,
      directory: header.directory,
      basePrefix: header.basePrefix,
      offsets: new Uint32Array(memory, offsetsAt, header.offsetsLength),
      prefixes: new Float64Array(memory, prefixesAt, header.prefixesLength),
      words: new Uint32Array(memory, wordsAt, header.wordsLength),
    });
    return { header, index };
  } catch (err) {
    throw new IndexFileError(path, err instanceof Error ? err.message : String(err));
  }
}
