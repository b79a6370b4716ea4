/**
 * Export of the contacts and their labels, streamed: written in chunks of about 64 KiB, waiting for the
 * socket to drain, so the rendered output never piles up in memory whatever the store size.
 *
 * Pass a list taken up front (an array of the store's profiles), not the store's lazy contacts() walk:
 * the export awaits between chunks, and a write linking two profiles meanwhile can move the merged
 * profile behind the walk's position, silently leaving a blocked contact out. Profiles are immutable,
 * so the array (one reference per contact) is a consistent picture as of the start.
 *
 * - CSV: one row per contact and label, formula-safe (lib/api/csv.ts); re-importable as it is.
 * - JSON lines (`jsonl`): one object per contact.
 * - JSON (`json`): the same objects in one array.
 *
 * The export is the state when it started: changes landing while it runs are not in it.
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ContactState } from '../store/types';
import { exportedLabel, type ExportedLabel } from '../contact-view';
import { csvLine } from './csv';
import { startStream, write } from './http';

export type ExportFormat = 'csv' | 'json' | 'jsonl';

export interface ExportOptions {
  readonly format: ExportFormat;
  /** Only contacts carrying this label (and only that label's rows). */
  readonly label?: string;
  /** Include expired labels (kept in the store until removed, inert); default: active labels only. */
  readonly includeExpired?: boolean;
  readonly now: number;
  readonly filename?: string;
}

export const CSV_COLUMNS = [
  'contact',
  'keys',
  'label',
  'active',
  'appliedAt',
  'expiresAt',
  'source',
  'actor',
  'reason',
  'campaign',
  'channel',
  // Last, so that a reader of 0.1.0 exports by column position keeps working.
  'principal',
] as const;

const CHUNK = 64 * 1024;

function labelsOf(profile: ContactState, options: ExportOptions): ExportedLabel[] {
  const out: ExportedLabel[] = [];
  for (const l of profile.labels) {
    if (options.label !== undefined && l.label !== options.label) continue;
    const active = l.expiresAt === null || options.now < l.expiresAt;
    if (!active && options.includeExpired !== true) continue;
    out.push(exportedLabel(l, active));
  }
  return out;
}

export interface ExportSummary {
  contacts: number;
  rows: number;
}

/** Streams the export to `res`. Resolves when done; rejects when the client goes away (the caller ends). */
export async function streamExport(
  contacts: readonly ContactState[],
  res: ServerResponse,
  options: ExportOptions,
): Promise<ExportSummary> {
  const type =
    options.format === 'csv'
      ? 'text/csv; charset=utf-8'
      : options.format === 'jsonl'
        ? 'application/x-ndjson; charset=utf-8'
        : 'application/json; charset=utf-8';
  const extension = options.format === 'jsonl' ? 'jsonl' : options.format;
  startStream(res, type, {
    'Content-Disposition': `attachment; filename="${options.filename ?? 'dnc-export'}.${extension}"`,
  });
  const summary: ExportSummary = { contacts: 0, rows: 0 };
  let buffer = options.format === 'csv' ? csvLine(CSV_COLUMNS) : options.format === 'json' ? '[' : '';
  let chunks = 0;
  const flush = async (): Promise<void> => {
    const pending = write(res, buffer);
    buffer = '';
    if (pending !== undefined) await pending;
    // A fast socket never pushes back: yield now and then so other requests are served meanwhile.
    else if (++chunks % 16 === 0) await yieldToLoop();
  };
  for (const profile of contacts) {
    const labels = labelsOf(profile, options);
    if (labels.length === 0) continue;
    summary.contacts += 1;
    const contact = profile.keys[0];
    if (options.format === 'csv') {
      const keys = profile.keys.join(' ');
      for (const l of labels) {
        buffer += csvLine([
          contact,
          keys,
          l.label,
          l.active,
          l.appliedAt,
          l.expiresAt,
          l.source,
          l.actor,
          l.reason,
          l.campaign,
          l.channel,
          l.principal,
        ]);
        summary.rows += 1;
      }
    } else {
      const line = JSON.stringify({ contact, keys: profile.keys, labels });
      buffer += options.format === 'json' ? `${summary.contacts === 1 ? '\n' : ',\n'}${line}` : `${line}\n`;
      summary.rows += 1;
    }
    if (buffer.length >= CHUNK) await flush();
  }
  if (options.format === 'json') buffer += summary.contacts === 0 ? ']\n' : '\n]\n';
  if (buffer.length > 0) await flush();
  res.end();
  return summary;
}
