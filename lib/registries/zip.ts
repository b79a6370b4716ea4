/**
 * A small zip reader, enough for a registry delivered as a zip of per-area-code text files (Canada's DNCL):
 * it reads the central directory (zip64 included), then streams each entry through Node's zlib
 * (inflateRaw for deflate, as is for stored), checking each entry's CRC-32 and size. Encrypted entries,
 * multi-disk archives and other compression methods are refused with a clear error rather than misread.
 * The central directory is the authority for names and sizes (local headers may leave them blank when a
 * streaming zipper wrote them).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { crc32 } from './crc32';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

export class ZipFormatError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ZipFormatError';
  }
}

function readUInt64(buffer: Buffer, at: number): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip64 value too large');
  return Number(value);
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead !== length)
      throw new ZipFormatError(path, `truncated (wanted ${length} bytes at ${position})`);
    return buffer;
  } finally {
    await handle.close();
  }
}

/** Lists a zip's file entries (directories left out), in central-directory order. */
export async function readZipDirectory(path: string): Promise<ZipEntry[]> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  if (size < 22) throw new ZipFormatError(path, 'not a zip file (too short)');
  // The end-of-central-directory record is within the last 22 + 65535 (comment) bytes.
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await readAt(path, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError(path, 'not a zip file (no end of central directory)');
  if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0) {
    throw new ZipFormatError(path, 'multi-disk zip archives are not supported');
  }
  let entryCount = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locatorAt = eocd - 20;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR_SIGNATURE) {
      throw new ZipFormatError(path, 'zip64 archive without a zip64 locator');
    }
    const zip64At = readUInt64(tail, locatorAt + 8);
    const zip64 = await readAt(path, zip64At, 56);
    if (zip64.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
      throw new ZipFormatError(path, 'bad zip64 end record');
    entryCount = readUInt64(zip64, 32);
    directorySize = readUInt64(zip64, 40);
    directoryOffset = readUInt64(zip64, 48);
  }
  if (directoryOffset + directorySize > size)
    throw new ZipFormatError(path, 'central directory out of bounds');
  const directory = await readAt(path, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < entryCount; n++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw new ZipFormatError(path, `bad central directory entry ${n}`);
    }
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const crc = directory.readUInt32LE(at + 16);
    let compressedSize = directory.readUInt32LE(at + 20);
    let uncompressedSize = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    const nameEnd = at + 46 + nameLength;
    // Bit 11: UTF-8 names; otherwise CP437, which is ASCII for the digit-and-dot names registries use.
    const name = directory.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, nameEnd);
    // Zip64 extra field: the 8-byte values, in this order, for those fields that are 0xffffffff.
    for (let extra = nameEnd; extra + 4 <= nameEnd + extraLength;) {
      const id = directory.readUInt16LE(extra);
      const length = directory.readUInt16LE(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        if (uncompressedSize === 0xffffffff) {
          uncompressedSize = readUInt64(directory, field);
          field += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = readUInt64(directory, field);
          field += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = readUInt64(directory, field);
      }
      extra += 4 + length;
    }
    at = nameEnd + extraLength + commentLength;
    if (name.endsWith('/')) continue; // a directory
    if (flags & 0x1) throw new ZipFormatError(path, `${name}: encrypted entries are not supported`);
    if (method !== 0 && method !== 8) {
      throw new ZipFormatError(
        path,
        `${name}: compression method ${method} is not supported (only stored and deflate)`,
      );
    }
    entries.push({ name, method, compressedSize, uncompressedSize, crc32: crc, localHeaderOffset });
  }
  return entries;
}

/**
 * Streams one entry's uncompressed bytes. Throws (from the iteration) when the data's CRC-32 or size does
 * not match the central directory: a damaged download must fail the load, not yield a shorter list.
 */
export async function* readZipEntry(path: string, entry: ZipEntry): AsyncGenerator<Buffer> {
  const local = await readAt(path, entry.localHeaderOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL_SIGNATURE)
    throw new ZipFormatError(path, `${entry.name}: bad local header`);
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  let crc = 0;
  let size = 0;
  if (entry.compressedSize > 0) {
    const raw = createReadStream(path, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
    let stream: NodeJS.ReadableStream = raw;
    if (entry.method === 8) {
      const inflate = createInflateRaw();
      raw.on('error', (err) => inflate.destroy(err));
      stream = raw.pipe(inflate);
    }
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (chunk.length > 0) crc = crc32(chunk, crc); // crc32 of an empty view can return 0
      size += chunk.length;
      yield chunk;
    }
  }
  if (size !== entry.uncompressedSize) {
    throw new ZipFormatError(
      path,
      `${entry.name}: ${size} bytes, the directory says ${entry.uncompressedSize}`,
    );
  }
  if (crc >>> 0 !== entry.crc32 >>> 0) throw new ZipFormatError(path, `${entry.name}: CRC-32 mismatch`);
}
