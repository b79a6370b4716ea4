/**
 * The rows of an import file, read as a stream and validated into prepared changes (the service's).
 *
 * - CSV with a header. Contact: `contact`, or `phone` / `whatsapp` / `email` / `id` columns. Labels:
 *   `labels` (several separated by `|`, `;` or `,`) or `label`. Optional: `action` (`add`, the default, or
 *   `remove`), `source` (default `import`), `actor`, `reason`, `campaign`, `channel`. The export's other
 *   columns (`keys`, `active`, `appliedAt`, `expiresAt`, `principal`) are accepted and ignored, so an export
 *   re-imports. Rows are recorded under the principal `import:<who submitted the job>`, never one from the
 *   file: who applied a label is the package's to say.
 * - JSON lines: one object per line with the same fields (`labels` may be a list of names or of objects
 *   with a `label`); blank lines are skipped.
 *
 * A row that cannot be read (malformed CSV, a line that is not a JSON object) is yielded with its error,
 * so it is reported with its line number like a row that fails validation.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import type { LabelCatalog } from '../labels';
import type { DncService, PrepareOptions, PreparedChange } from '../service';
import { HINTS, RULES, assertValue, textValue } from '../values';
import { unescapeFormula } from './csv';
import { invalid } from './errors';
import { assertPlainJson } from './http';

export type ImportFormat = 'csv' | 'jsonl';

const CSV_COLUMNS = new Set([
  'contact',
  'phone',
  'whatsapp',
  'email',
  'id',
  'label',
  'labels',
  'action',
  'source',
  'actor',
  'reason',
  'campaign',
  'channel',
  // Export columns, ignored on import.
  'keys',
  'active',
  'appliedAt',
  'expiresAt',
  'principal',
]);
const JSON_FIELDS = new Set([...CSV_COLUMNS]);

/** Reads the first line and checks the CSV header (400 before a job is created). */
export async function checkCsvHeader(file: string): Promise<void> {
  const handle = await open(file, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    text = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await handle.close();
  }
  const end = text.search(/\r?\n/);
  const first = (end === -1 ? text : text.slice(0, end)).trim();
  if (first === '')
    throw invalid('the CSV file is empty: it needs a header line (contact,labels,...)', 'body');
  const columns = first.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const unknown = columns.filter((c) => !CSV_COLUMNS.has(c));
  if (unknown.length > 0) {
    throw invalid(
      `unknown CSV column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')}: use contact (or phone, whatsapp, email, id), labels, action, source, actor, reason, campaign, channel`,
      'header',
    );
  }
  if (new Set(columns).size !== columns.length) throw invalid('a CSV column is named twice', 'header');
  if (!columns.some((c) => ['contact', 'phone', 'whatsapp', 'email', 'id'].includes(c))) {
    throw invalid('the CSV header needs a contact column (contact, phone, whatsapp, email or id)', 'header');
  }
  if (!columns.includes('labels') && !columns.includes('label')) {
    throw invalid('the CSV header needs a labels (or label) column', 'header');
  }
}

export interface Row {
  readonly line: number;
  readonly fields: Record<string, unknown>;
}

export class RowFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A row validated into a change (the service's), with the line it came from. */
export interface PreparedRow {
  readonly line: number;
  readonly change: PreparedChange;
}

/**
 * A CSV record as its values were before the export made them formula-safe (lib/api/csv.ts): every
 * column, so an export re-imports unchanged. JSON lines are never escaped, so never unescaped.
 */
function unescapeRecord(record: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value === 'string') record[key] = unescapeFormula(value);
  }
  return record;
}

function labelList(value: unknown): unknown {
  if (typeof value === 'string') return value.split(/[|;,]/);
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v: unknown): unknown =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { label?: unknown }).label : v,
    );
  }
  return value;
}

/** A row's labels (`labels`, else `label`): names separated by `|`, `;` or `,`, or a list; at least one. */
function rowLabels(value: unknown, catalog: LabelCatalog): string[] {
  if (value === undefined || value === '' || value === null) {
    throw new RowFailure('DNC_INVALID_INPUT', 'the row names no label', 'labels');
  }
  const labels = catalog.resolveNames(labelList(value), 'labels');
  if (labels.length === 0) throw new RowFailure('DNC_INVALID_INPUT', 'the row names no label', 'labels');
  return labels;
}

/** How the service reads an import row: its own label syntax, `import` when it names no source. */
const ROW_OPTIONS: PrepareOptions = { defaultSource: 'import', labels: rowLabels };

/** The rows of an uploaded file, in order; `onRead` is told how many bytes each chunk read was. */
export async function* readRows(
  file: string,
  format: ImportFormat,
  onRead: (bytes: number) => void,
): AsyncGenerator<Row> {
  const input = createReadStream(file, { highWaterMark: 256 * 1024 });
  input.on('data', (chunk) => {
    onRead(chunk.length);
  });
  try {
    if (format === 'jsonl') {
      const lines = createInterface({ input, crlfDelay: Infinity });
      let line = 0;
      for await (const raw of lines) {
        line += 1;
        const t = raw.trim();
        if (t === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(t);
        } catch {
          yield {
            line,
            fields: { __error: new RowFailure('DNC_INVALID_INPUT', 'the line is not valid JSON') },
          };
          continue;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          yield {
            line,
            fields: { __error: new RowFailure('DNC_INVALID_INPUT', 'each line must be a JSON object') },
          };
          continue;
        }
        yield { line, fields: value as Record<string, unknown> };
      }
      return;
    }
    // A fresh object per record without a prototype: a column can never reach Object.prototype.
    const parser = input.pipe(
      parseCsv({
        bom: true,
        columns: (header: string[]) => header.map((h) => h.trim()),
        skip_empty_lines: true,
        skip_records_with_error: true,
        trim: true,
        info: true,
        max_record_size: 64 * 1024,
      }),
    );
    const skipped: Row[] = [];
    parser.on('skip', (err: Error & { lines?: number }) => {
      skipped.push({
        line: err.lines ?? 0,
        fields: { __error: new RowFailure('DNC_INVALID_INPUT', `malformed CSV: ${err.message}`) },
      });
    });
    for await (const entry of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      while (skipped.length > 0) yield skipped.shift()!;
      yield { line: entry.info.lines, fields: unescapeRecord(entry.record) };
    }
    while (skipped.length > 0) yield skipped.shift()!;
  } finally {
    input.destroy();
  }
}

/** Validates a row into a change (throws RowFailure / DncError for a bad row). */
export function prepareRow(service: DncService, row: Row, principal: string): PreparedRow {
  const fields = row.fields;
  if (fields.__error instanceof RowFailure) throw fields.__error;
  if (Object.getPrototypeOf(fields) === Object.prototype || Object.getPrototypeOf(fields) === null) {
    assertPlainJson(fields, 'row');
  }
  for (const key of Object.keys(fields)) {
    if (!JSON_FIELDS.has(key)) throw new RowFailure('DNC_INVALID_INPUT', `unknown field "${key}"`, key);
  }
  const actionText = fields.action === undefined || fields.action === '' ? 'add' : fields.action;
  if (actionText !== 'add' && actionText !== 'remove') {
    throw new RowFailure('DNC_INVALID_INPUT', 'action must be add or remove', 'action');
  }
  let contact: unknown;
  if (fields.contact !== undefined && fields.contact !== '') {
    contact = fields.contact;
  } else {
    const parts: Record<string, string> = {};
    for (const name of ['phone', 'whatsapp', 'email', 'id'] as const) {
      const value = fields[name];
      if (value === undefined || value === '') continue;
      if (typeof value !== 'string') throw new RowFailure('DNC_INVALID_INPUT', `${name} must be text`, name);
      parts[name] = value;
    }
    if (Object.keys(parts).length === 0) {
      throw new RowFailure('DNC_INVALID_CONTACT', 'the row has no contact', 'contact');
    }
    contact = parts;
  }
  const change = service.prepareChange(
    actionText,
    {
      contact,
      labels: fields.labels !== undefined && fields.labels !== '' ? fields.labels : fields.label,
      source: fields.source,
      actor: fields.actor,
      reason: fields.reason,
      campaign: fields.campaign,
      channel: fields.channel,
    },
    principal,
    ROW_OPTIONS,
  );
  if (actionText === 'remove') {
    // Every row is checked alike: a removal records no campaign or channel, but a bad one is an error.
    assertValue(RULES.channel, fields.channel, 'channel', HINTS.channel);
    textValue(RULES.campaign, fields.campaign, 'campaign');
  }
  return { line: row.line, change };
}
