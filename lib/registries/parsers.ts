/**
 * Streaming parsers for registry files in their real layouts. Files are read in 4 MB chunks and scanned as
 * bytes (a 250-million-line list is never one string, and no line becomes a JS string unless it is
 * malformed and kept as an example). Every line that is not a number is counted and reported with its line
 * number; blank lines are counted apart. Keys go straight into a NumberIndexBuilder.
 *
 * Layouts (see docs/registries.md):
 * - `nanp`: US National DNC Registry and Canada DNCL: `201,5551234` or `2015551234` per line (area code and
 *   exchange must start with 2-9, as the NANP numbering plan requires);
 * - `uk-fixed`: UK TPS / CTPS fixed width, both layouts, recognised line by line: dialling code in 5 characters
 *   left-justified then the rest in 7 right-justified (`0207 3787244`), or the whole number in 12 characters
 *   left-justified (`02073787244 `); national numbers of 10-11 digits with the leading 0;
 * - `lines`: one number per line, E.164 (`+442073787244`) or national with a configured calling code (its
 *   national prefix, per libphonenumber-js's metadata for that code, is dropped: `0412...` in Australia,
 *   nothing in Italy, where `06...` keeps its 0); spaces, dots, dashes and parentheses are ignored;
 * - `csv`: a CSV file (RFC 4180 quoting, via csv-parse) and a chosen column (index or header name), each
 *   cell read as in `lines`.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import { nationalNumberReader } from './national';
import { MAX_KEY, MIN_KEY } from './number-keys';

export type RegistryLayout = 'nanp' | 'uk-fixed' | 'lines' | 'csv';

export interface LayoutOptions {
  layout: RegistryLayout;
  /** `lines` and `csv`: calling code for numbers written without `+` (e.g. `44`). */
  callingCode?: string;
  /**
   * `lines` and `csv`: a fixed national trunk prefix stripped before the calling code is added. Leave it
   * out (the default) to use libphonenumber-js's national-prefix rules for the calling code (`0` in
   * Australia and the UK, none in Italy or Singapore); `''` keeps every digit.
   */
  trunkPrefix?: string;
  /** `csv`: the column holding the number: 0-based index, or a header name (the first line is then a header). */
  column?: number | string;
  /** `csv`: field delimiter (default `,`). */
  delimiter?: string;
}

/** Something that takes parsed keys (a NumberIndexBuilder does). */
export interface KeySink {
  add(key: number): void;
}

export interface MalformedLine {
  /** File (and zip entry, `file!entry`) the line is in. */
  source: string;
  /** 1-based line number within that file or entry. */
  line: number;
  /** The line as read (cut to 80 characters). */
  text: string;
  reason: string;
}

/** What one file (or zip entry) gave. */
export interface ParseReport {
  source: string;
  layout: RegistryLayout;
  lines: number;
  numbers: number;
  blankLines: number;
  malformedLines: number;
  /** The first few malformed lines (see maxExamples). */
  malformed: MalformedLine[];
}

export interface ParseProgress {
  source: string;
  lines: number;
  bytesRead: number;
  totalBytes: number;
}

export interface ParseOptions {
  /** How many malformed lines to keep as examples (default 20); all are counted. */
  maxExamples?: number;
  /** Called after each chunk. */
  onProgress?: (progress: ParseProgress) => void;
}

const CHUNK_BYTES = 4 << 20;
const DEFAULT_MAX_EXAMPLES = 20;

// Per-line outcomes other than a key (keys are >= MIN_KEY > 0).
const BLANK = -1;
const MALFORMED_SHAPE = -2;
const MALFORMED_AREA_CODE = -3;
const MALFORMED_EXCHANGE = -4;
const MALFORMED_LENGTH = -5;
const MALFORMED_NO_CALLING_CODE = -6;

function reasonOf(code: number): string {
  switch (code) {
    case MALFORMED_AREA_CODE:
      return 'area code must be 3 digits starting 2-9';
    case MALFORMED_EXCHANGE:
      return 'exchange must start 2-9';
    case MALFORMED_LENGTH:
      return 'wrong number of digits';
    case MALFORMED_NO_CALLING_CODE:
      return 'national number but no calling code configured';
    default:
      return 'not a number in this layout';
  }
}

type LineParser = (bytes: Uint8Array, start: number, end: number) => number;

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 9;
}

/** `201,5551234` / `2015551234` (surrounding spaces tolerated) -> 1 followed by the ten digits. */
function parseNanpLine(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && isSpace(bytes[start])) start++;
  while (end > start && isSpace(bytes[end - 1])) end--;
  const length = end - start;
  if (length === 0) return BLANK;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    const digit = byte - 48;
    if (digit >= 0 && digit <= 9) {
      value = value * 10 + digit;
      digits++;
    } else if (byte === 44 /* , */ && digits === 3 && i === start + 3) {
      // the area code separator
    } else {
      return MALFORMED_SHAPE;
    }
  }
  if (digits !== 10) return MALFORMED_LENGTH;
  if (value < 2_000_000_000) return MALFORMED_AREA_CODE;
  if ((value / 10_000) % 1000 < 200) return MALFORMED_EXCHANGE;
  return 10_000_000_000 + value;
}

/** UK fixed width, either layout -> 44 followed by the national significant number (leading 0 dropped). */
function parseUkFixedLine(bytes: Uint8Array, start: number, end: number): number {
  while (end > start && isSpace(bytes[end - 1])) end--;
  const length = end - start;
  if (length === 0) return BLANK;
  let nsn = 0;
  let nsnDigits: number;
  if (bytes[start] !== 48 /* 0 */) return MALFORMED_SHAPE;
  const isDigitAt = (i: number): boolean => bytes[i] >= 48 && bytes[i] <= 57;
  let wholeDigits = 0;
  while (wholeDigits < length && isDigitAt(start + wholeDigits)) wholeDigits++;
  if (wholeDigits === length && length <= 12) {
    // The whole number, left-justified (its trailing spaces already trimmed).
    for (let i = start + 1; i < end; i++) nsn = nsn * 10 + (bytes[i] - 48);
    nsnDigits = length - 1;
  } else if (length === 12 && wholeDigits >= 3) {
    // Dialling code left-justified in 5 characters, the rest right-justified in 7.
    for (let i = wholeDigits; i < 5; i++) if (!isSpace(bytes[start + i])) return MALFORMED_SHAPE;
    let rest = 5;
    while (rest < 12 && isSpace(bytes[start + rest])) rest++;
    if (rest === 12 || wholeDigits > 5) return MALFORMED_SHAPE;
    for (let i = rest; i < 12; i++) if (!isDigitAt(start + i)) return MALFORMED_SHAPE;
    for (let i = 1; i < wholeDigits; i++) nsn = nsn * 10 + (bytes[start + i] - 48);
    for (let i = rest; i < 12; i++) nsn = nsn * 10 + (bytes[start + i] - 48);
    nsnDigits = wholeDigits - 1 + 12 - rest;
  } else {
    return MALFORMED_SHAPE;
  }
  if (nsnDigits < 9 || nsnDigits > 10) return MALFORMED_LENGTH;
  if (nsn < 10 ** (nsnDigits - 1)) return MALFORMED_SHAPE; // `00...`: an international prefix, not a UK number
  return 44 * 10 ** nsnDigits + nsn;
}

/** Parses one number as written in `lines` / `csv` files (see the module comment). */
function makeGenericParser(options: LayoutOptions): LineParser {
  const callingCode = options.callingCode?.replace(/^\+/, '') ?? '';
  if (callingCode !== '' && !/^[1-9]\d{0,2}$/.test(callingCode)) {
    throw new RangeError(`callingCode must be 1-3 digits: ${options.callingCode}`);
  }
  const trunk = options.trunkPrefix ?? '';
  if (!/^\d{0,2}$/.test(trunk)) throw new RangeError(`trunkPrefix must be 0-2 digits: ${trunk}`);
  const codeValue = callingCode === '' ? 0 : Number(callingCode);
  const trunkBytes = Array.from(trunk, (c) => c.charCodeAt(0));
  // Without an explicit trunkPrefix, national numbers are read with libphonenumber-js's knowledge of the
  // calling code's national prefix (none in Italy, where the leading 0 is part of the number).
  const readNational =
    callingCode !== '' && options.trunkPrefix === undefined ? nationalNumberReader(callingCode) : null;
  const fixedRule = makeFixedRuleParser(codeValue, callingCode.length, trunkBytes);
  if (readNational === null) return fixedRule;
  return (bytes, start, end) => {
    let i = start;
    while (i < end && isSpace(bytes[i])) i++;
    if (i < end && bytes[i] === 43 /* + */) return fixedRule(bytes, start, end);
    let digits = '';
    for (; i < end; i++) {
      const byte = bytes[i];
      if (byte >= 48 && byte <= 57) digits += String.fromCharCode(byte);
      else if (byte !== 32 && byte !== 9 && byte !== 45 && byte !== 46 && byte !== 40 && byte !== 41) {
        return MALFORMED_SHAPE;
      }
    }
    if (digits === '') return i === start ? BLANK : isBlank(bytes, start, end) ? BLANK : MALFORMED_SHAPE;
    const national = digits.length > 17 ? digits : readNational(digits);
    const length = national.length + callingCode.length;
    if (national === '' || length < 7 || length > 15) return MALFORMED_LENGTH;
    const value = codeValue * 10 ** national.length + Number(national);
    if (value < MIN_KEY || value > MAX_KEY) return MALFORMED_LENGTH;
    return value;
  };
}

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(bytes[i])) return false;
  return true;
}

/** A line read with a fixed trunk-prefix rule (E.164 lines, or an explicit `trunkPrefix`). */
function makeFixedRuleParser(codeValue: number, codeLength: number, trunkBytes: number[]): LineParser {
  return (bytes, start, end) => {
    while (start < end && isSpace(bytes[start])) start++;
    while (end > start && isSpace(bytes[end - 1])) end--;
    if (start === end) return BLANK;
    let international = false;
    if (bytes[start] === 43 /* + */) {
      international = true;
      start++;
    }
    let value = 0;
    let digits = 0;
    let skipTrunk = !international && trunkBytes.length > 0;
    let trunkAt = 0;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      const digit = byte - 48;
      if (digit >= 0 && digit <= 9) {
        if (skipTrunk) {
          if (byte === trunkBytes[trunkAt]) {
            if (++trunkAt === trunkBytes.length) skipTrunk = false;
            continue;
          }
          skipTrunk = false;
        }
        if (digits === 0 && digit === 0 && international) return MALFORMED_SHAPE;
        value = value * 10 + digit;
        digits++;
      } else if (byte !== 32 && byte !== 45 && byte !== 46 && byte !== 40 && byte !== 41) {
        return MALFORMED_SHAPE;
      }
    }
    if (digits === 0) return MALFORMED_SHAPE;
    if (!international) {
      if (codeValue === 0) return MALFORMED_NO_CALLING_CODE;
      value = codeValue * 10 ** digits + value;
      digits += codeLength;
    }
    if (digits < 7 || digits > 15 || value < MIN_KEY || value > MAX_KEY) return MALFORMED_LENGTH;
    return value;
  };
}

function lineParserFor(options: LayoutOptions): LineParser {
  switch (options.layout) {
    case 'nanp':
      return parseNanpLine;
    case 'uk-fixed':
      return parseUkFixedLine;
    case 'lines':
    case 'csv':
      return makeGenericParser(options);
    default:
      throw new RangeError(`unknown registry layout: ${String(options.layout)}`);
  }
}

/**
 * Parses a byte stream line by line (LF or CRLF; a last line without a newline counts). Push chunks in
 * order, then call end().
 */
export class LineScanner {
  readonly report: ParseReport;
  private readonly parseLine: LineParser;
  private readonly maxExamples: number;
  private carry: Uint8Array | null = null;

  constructor(
    source: string,
    private readonly layout: LayoutOptions,
    private readonly sink: KeySink,
    options: ParseOptions = {},
  ) {
    if (layout.layout === 'csv') throw new RangeError('csv files are parsed by parseCsvStream');
    this.parseLine = lineParserFor(layout);
    this.maxExamples = options.maxExamples ?? DEFAULT_MAX_EXAMPLES;
    this.report = {
      source,
      layout: layout.layout,
      lines: 0,
      numbers: 0,
      blankLines: 0,
      malformedLines: 0,
      malformed: [],
    };
  }

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carry) {
      const joined = new Uint8Array(this.carry.length + chunk.length);
      joined.set(this.carry);
      joined.set(chunk, this.carry.length);
      bytes = joined;
      this.carry = null;
    }
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(10, start);
      if (newline < 0) break;
      this.line(buffer, start, newline);
      start = newline + 1;
    }
    // Copied: the caller may reuse its chunk buffer for the next read.
    if (start < buffer.length) this.carry = Uint8Array.prototype.slice.call(buffer, start);
  }

  end(): ParseReport {
    if (this.carry) {
      const last = this.carry;
      this.carry = null;
      this.line(last, 0, last.length);
    }
    return this.report;
  }

  private line(bytes: Uint8Array, start: number, end: number): void {
    const report = this.report;
    report.lines++;
    if (end > start && bytes[end - 1] === 13) end--; // CRLF
    const key = this.parseLine(bytes, start, end);
    if (key > 0) {
      this.sink.add(key);
      report.numbers++;
    } else if (key === BLANK) {
      report.blankLines++;
    } else {
      report.malformedLines++;
      if (report.malformed.length < this.maxExamples) {
        report.malformed.push({
          source: report.source,
          line: report.lines,
          text: Buffer.from(bytes.subarray(start, Math.min(end, start + 80))).toString('latin1'),
          reason: reasonOf(key),
        });
      }
    }
  }
}

/** Parses a text file in a line layout. */
export async function parseLineFile(
  path: string,
  layout: LayoutOptions,
  sink: KeySink,
  options: ParseOptions = {},
): Promise<ParseReport> {
  if (layout.layout === 'csv') return parseCsvFile(path, layout, sink, options);
  const scanner = new LineScanner(path, layout, sink, options);
  const handle = await open(path, 'r');
  try {
    const totalBytes = (await handle.stat()).size;
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytesRead = 0;
    for (;;) {
      const { bytesRead: n } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      scanner.push(buffer.subarray(0, n));
      bytesRead += n;
      options.onProgress?.({ source: path, lines: scanner.report.lines, bytesRead, totalBytes });
    }
    return scanner.end();
  } finally {
    await handle.close();
  }
}

/** Parses a readable byte stream (a zip entry) in a line layout. */
export async function parseLineStream(
  source: string,
  stream: AsyncIterable<Uint8Array>,
  layout: LayoutOptions,
  sink: KeySink,
  options: ParseOptions & { onBytes?: (bytes: number, lines: number) => Promise<void> | void } = {},
): Promise<ParseReport> {
  const scanner = new LineScanner(source, layout, sink, options);
  for await (const chunk of stream) {
    scanner.push(chunk);
    await options.onBytes?.(chunk.length, scanner.report.lines);
  }
  return scanner.end();
}

/** Parses a CSV file, taking the number from `layout.column`. */
export async function parseCsvFile(
  path: string,
  layout: LayoutOptions,
  sink: KeySink,
  options: ParseOptions = {},
): Promise<ParseReport> {
  const totalBytes = (await stat(path)).size;
  const input = createReadStream(path);
  let bytesRead = 0;
  input.on('data', (chunk) => {
    bytesRead += chunk.length;
  });
  return parseCsvStream(path, input, layout, sink, {
    ...options,
    onRecords: (lines) => options.onProgress?.({ source: path, lines, bytesRead, totalBytes }),
  });
}

export async function parseCsvStream(
  source: string,
  input: NodeJS.ReadableStream,
  layout: LayoutOptions,
  sink: KeySink,
  options: ParseOptions & { onRecords?: (lines: number) => void } = {},
): Promise<ParseReport> {
  const parseNumber = makeGenericParser(layout);
  const column = layout.column ?? 0;
  const byName = typeof column === 'string';
  if (!byName && !(Number.isInteger(column) && column >= 0)) {
    throw new RangeError(`csv column must be a 0-based index or a header name: ${String(column)}`);
  }
  const maxExamples = options.maxExamples ?? DEFAULT_MAX_EXAMPLES;
  const report: ParseReport = {
    source,
    layout: 'csv',
    lines: 0,
    numbers: 0,
    blankLines: 0,
    malformedLines: 0,
    malformed: [],
  };
  const malformed = (line: number, text: string, reason: string): void => {
    report.malformedLines++;
    if (report.malformed.length < maxExamples) {
      report.malformed.push({ source, line, text: text.slice(0, 80), reason });
    }
  };
  const parser = parseCsv({
    delimiter: layout.delimiter ?? ',',
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: false,
    skip_records_with_error: true,
    on_skip: (err, raw) => {
      const line = (err as { lines?: number } | undefined)?.lines ?? parser.info.lines;
      malformed(line, raw ?? '', err?.message ?? 'CSV syntax error');
      return undefined;
    },
  });
  let columnIndex = byName ? -1 : column;
  let headerSeen = !byName;
  const cellBytes = new Uint8Array(64);
  input.pipe(parser);
  input.on('error', (err: Error) => parser.destroy(err));
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const { record, info } = item;
    const line = info.lines;
    report.lines = line;
    if (!headerSeen) {
      headerSeen = true;
      columnIndex = record.findIndex((name) => name.trim() === column);
      if (columnIndex < 0) throw new Error(`${source}: no column named "${String(column)}" in the header`);
      continue;
    }
    if (record.length === 1 && record[0] === '') {
      report.blankLines++;
      continue;
    }
    const cell = record[columnIndex];
    if (cell === undefined) {
      malformed(line, record.join(layout.delimiter ?? ','), `no column ${columnIndex}`);
      continue;
    }
    let key: number = MALFORMED_LENGTH;
    if (cell.length <= cellBytes.length) {
      let ascii = true;
      for (let i = 0; i < cell.length; i++) {
        const code = cell.charCodeAt(i);
        if (code > 127) ascii = false;
        cellBytes[i] = code;
      }
      key = ascii ? parseNumber(cellBytes, 0, cell.length) : MALFORMED_SHAPE;
    }
    if (key > 0) {
      sink.add(key);
      report.numbers++;
    } else if (key === BLANK) {
      malformed(line, record.join(layout.delimiter ?? ','), 'empty number cell');
    } else {
      malformed(line, cell, reasonOf(key));
    }
    if ((report.lines & 0xffff) === 0) options.onRecords?.(report.lines);
  }
  options.onRecords?.(report.lines);
  return report;
}

/**
 * The as-of date a file name states (`2026-03-01`, `20260301`, `2026_03_01`), as a UTC timestamp, or
 * undefined. A registry extract is as fresh as the day it was taken, so a date in the name wins over mtime.
 */
export function dateFromFileName(path: string): number | undefined {
  const match = /(?:^|[^0-9])(20\d\d)[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?![0-9])/.exec(
    basename(path),
  );
  if (!match) return undefined;
  const at = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return new Date(at).getUTCDate() === Number(match[3]) ? at : undefined;
}
