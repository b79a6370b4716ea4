/**
 * The event journal: NDJSON, one AuditRecord per line, append-only. It is the audit trail and the
 * source of truth; the snapshot is only a cache of the state folded from it.
 */
import { open } from 'node:fs/promises';
import type { AuditRecord } from './types';
import { computeRecordHash } from './audit-hash';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/** `dnc-store.json` -> `dnc-store.events.ndjson` (beside the snapshot). */
export function journalPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.events.ndjson`;
}

export interface JournalLine {
  readonly text: string;
  /** Byte offset of the line's first byte. */
  readonly start: number;
  /** Byte offset just after the line's newline (or after its last byte when incomplete). */
  readonly end: number;
  /** false for a final line without its newline (a torn write). */
  readonly complete: boolean;
}

/**
 * Calls onLine for every line between byte offsets start and end (end of file when omitted). Reads in
 * large chunks rather than through readline: replaying a million lines must take seconds, not minutes.
 * onLine returns false to stop early.
 */
export async function scanLines(
  path: string,
  start: number,
  end: number | undefined,
  onLine: (line: JournalLine) => boolean | void,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const limit = end ?? (await handle.stat()).size;
    let position = start;
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = start;
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    while (position < limit) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, limit - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data =
        carry.length > 0
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (;;) {
        const newline = data.indexOf(10, lineStart);
        if (newline < 0) break;
        const line: JournalLine = {
          text: data.toString('utf8', lineStart, newline),
          start: carryStart + lineStart,
          end: carryStart + newline + 1,
          complete: true,
        };
        if (onLine(line) === false) return;
        lineStart = newline + 1;
      }
      // Copy: the rest of `data` may live in `chunk`, which the next read overwrites.
      carry = Buffer.from(data.subarray(lineStart));
      carryStart += lineStart;
    }
    if (carry.length > 0) {
      onLine({
        text: carry.toString('utf8'),
        start: carryStart,
        end: carryStart + carry.length,
        complete: false,
      });
    }
  } finally {
    await handle.close();
  }
}

/** Parses and checks one journal line against the chain: returns the record or a description of what is wrong. */
export function checkJournalLine(
  text: string,
  expectedSeq: number,
  expectedPrev: string,
): { record: AuditRecord; problem?: undefined } | { record?: undefined; problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: `record ${expectedSeq} is not valid JSON` };
  }
  const shapeProblem = describeShapeProblem(parsed);
  if (shapeProblem) return { problem: `record ${expectedSeq} is malformed: ${shapeProblem}` };
  const record = parsed as AuditRecord;
  if (record.seq !== expectedSeq) {
    return {
      problem: `expected seq ${expectedSeq} but found seq ${record.seq} (a record was deleted, inserted or moved)`,
    };
  }
  if (record.prev !== expectedPrev) {
    return { problem: `record ${expectedSeq} does not link to the previous record's hash` };
  }
  if (computeRecordHash(record) !== record.hash) {
    return { problem: `record ${expectedSeq} was altered: its content does not match its hash` };
  }
  return { record };
}

function describeShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const record = value as Record<string, unknown>;
  if (!Number.isSafeInteger(record.seq)) return 'seq';
  if (typeof record.at !== 'string' || Number.isNaN(Date.parse(record.at))) return 'at';
  if (record.op !== 'add' && record.op !== 'remove') return 'op';
  if (!isStringArray(record.keys) || record.keys.length === 0) return 'keys';
  if (!isStringArray(record.labels)) return 'labels';
  if (!isStringArray(record.changed)) return 'changed';
  if (record.op === 'add') {
    const expiries = record.expiresAt;
    if (
      !Array.isArray(expiries) ||
      expiries.length !== record.labels.length ||
      !expiries.every((e) => e === null || (typeof e === 'string' && !Number.isNaN(Date.parse(e))))
    ) {
      return 'expiresAt';
    }
  }
  if (typeof record.source !== 'string') return 'source';
  if (record.principal !== undefined && typeof record.principal !== 'string') return 'principal';
  if (typeof record.prev !== 'string' || typeof record.hash !== 'string') return 'prev/hash';
  return undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
