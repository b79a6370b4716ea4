/**
 * CRC-32 (the zip and PNG polynomial) for zip entries and the binary index's checksum.
 * Node's `zlib.crc32` is native and fast but only exists from Node 20.15 / 22.2; the package
 * supports Node 18, so older runtimes get this table-driven version with the same answers.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Int32Array | undefined;

function crcTable(): Int32Array {
  if (table) return table;
  table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** The portable version (exported for the test that holds it to zlib's answers). */
export function crc32Portable(data: Uint8Array, value = 0): number {
  const t = crcTable();
  let crc = ~value;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

export const crc32: Crc32 = typeof native === 'function' ? native : crc32Portable;
