/**
 * Reading the audit trail without walking it: an index from contact key to the byte offsets of the
 * records that name it (so a per-contact query reads a few lines, not the journal), and a reader of
 * the last lines (the newest records, what an unfiltered query with a limit asks for).
 *
 * The index costs memory (a Map entry per key, about 100 bytes), so it is built only at the first
 * per-contact query, by one scan of the journal, and kept up to date by the writer after that.
 */
import { open } from 'node:fs/promises';
import { scanLines } from './journal';

export class AuditIndex {
  /** One offset (most contacts have one record) or a list, ascending. */
  private readonly offsets = new Map<string, number | number[]>();

  add(keys: readonly string[], offset: number): void {
    for (const key of keys) {
      const known = this.offsets.get(key);
      if (known === undefined) this.offsets.set(key, offset);
      else if (typeof known === 'number') {
        if (known !== offset) this.offsets.set(key, [known, offset]);
      } else if (known[known.length - 1] !== offset) known.push(offset);
    }
  }

  /** The offsets of every record naming any of these keys, ascending, each once. */
  lookup(keys: Iterable<string>): number[] {
    const found = new Set<number>();
    for (const key of keys) {
      const known = this.offsets.get(key);
      if (known === undefined) continue;
      if (typeof known === 'number') found.add(known);
      else for (const offset of known) found.add(offset);
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Indexes the journal's first `end` bytes. */
  static async build(path: string, end: number): Promise<AuditIndex> {
    const index = new AuditIndex();
    if (end <= 0) return index;
    await scanLines(path, 0, end, (line) => {
      const record = JSON.parse(line.text) as { keys: readonly string[] };
      index.add(record.keys, line.start);
    });
    return index;
  }
}

/** The lines starting at these byte offsets (ascending, each before `end`), each without its newline. */
export async function readLinesAt(path: string, offsets: readonly number[], end: number): Promise<string[]> {
  const handle = await open(path, 'r');
  const lines: string[] = [];
  try {
    let buffer = Buffer.allocUnsafe(4096);
    for (const offset of offsets) {
      let length = 0;
      let newline = -1;
      while (newline < 0 && offset + length < end) {
        if (length === buffer.length) {
          const larger = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(larger, 0, 0, length);
          buffer = larger;
        }
        const want = Math.min(buffer.length - length, end - offset - length);
        const { bytesRead } = await handle.read(buffer, length, want, offset + length);
        if (bytesRead === 0) break;
        newline = buffer.subarray(length, length + bytesRead).indexOf(10);
        if (newline >= 0) newline += length;
        length += bytesRead;
      }
      lines.push(buffer.toString('utf8', 0, newline >= 0 ? newline : length));
    }
  } finally {
    await handle.close();
  }
  return lines;
}

/** The last `count` complete lines before byte `end` (which follows a newline), oldest first. */
export async function readLastLines(path: string, end: number, count: number): Promise<string[]> {
  if (count <= 0 || end <= 0) return [];
  const handle = await open(path, 'r');
  try {
    const lines: string[] = [];
    let position = end;
    let carry: Buffer = Buffer.alloc(0);
    const chunkSize = 256 * 1024;
    while (position > 0 && lines.length < count) {
      const from = Math.max(0, position - chunkSize);
      const chunk = Buffer.allocUnsafe(position - from);
      await handle.read(chunk, 0, chunk.length, from);
      position = from;
      let data: Buffer = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
      // Lines end at each newline; the text before the first newline may continue further back.
      let lineEnd = data.length;
      if (data[lineEnd - 1] === 10) lineEnd--;
      for (;;) {
        const newline = data.lastIndexOf(10, lineEnd - 1);
        if (newline < 0) break;
        lines.push(data.toString('utf8', newline + 1, lineEnd));
        if (lines.length === count) break;
        lineEnd = newline;
      }
      carry = Buffer.from(data.subarray(0, lineEnd));
      data = carry;
    }
    if (lines.length < count && position === 0 && carry.length > 0) lines.push(carry.toString('utf8'));
    return lines.reverse();
  } finally {
    await handle.close();
  }
}
