/**
 * Benchmark data shared by the suites: realistic, deterministic contacts and opt-out records.
 * Numbers are valid North American numbers (as libphonenumber's max metadata judges them), spread
 * over many area codes and exchanges, because a check enforces validity and the memo of valid
 * prefixes must not be flattered by a handful of ranges.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { isValidE164 } from '../lib/phone/e164-validity';
import { AuditKey, GENESIS_HASH, computeRecordHash, sealRecord } from '../lib/store/audit-hash';
import { createCheckpoint } from '../lib/store/checkpoint';
import type { AddLabelsChange, AuditRecord } from '../lib/store/types';
import { seededRandom } from './harness';

export const T0 = Date.UTC(2023, 0, 1);
export const LABELS = ['DNC_Sales', 'DNC_Marketing', 'DNC_All', 'DNC_SMS'];
export const SOURCES = ['ivr', 'bot', 'agent', 'api', 'import', 'keyword'];
export const CHANNELS = ['voice', 'sms', 'whatsapp', 'email'];
const REASONS = [
  'Customer asked not to be called again about sales offers',
  'Replied STOP to the marketing text message',
  'Requested removal during the renewal call, confirmed by the agent',
  'Pressed 9 in the IVR opt-out menu after the survey',
  'Complaint logged: repeated calls in one week, escalate to compliance',
  'Asked the chatbot to stop all promotional contact on every channel',
];

/**
 * `count` distinct valid NANP numbers in E.164, in a deterministic pseudo-random order. The first
 * numbers of the stream are the same whatever `count` is, so "stored" and "not stored" sets can be
 * cut from one stream.
 */
export function validNumbers(count: number, seed = 11): string[] {
  const random = seededRandom(seed);
  const seen = new Set<string>();
  const numbers: string[] = [];
  while (numbers.length < count) {
    const npa = 201 + Math.floor(random() * 789);
    const nxx = 200 + Math.floor(random() * 800);
    const line = Math.floor(random() * 10_000);
    const e164 = `+1${npa}${nxx}${String(line).padStart(4, '0')}`;
    if (seen.has(e164) || !isValidE164(e164)) continue;
    seen.add(e164);
    numbers.push(e164);
  }
  return numbers;
}

/** A national-format rendering of a NANP E.164 number, as an agent would type it: `(201) 555-0123`. */
export function nationalFormat(e164: string): string {
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}

/** The i-th generated opt-out for `key` (deterministic: one generator walked in order). */
export function makeChange(key: string, random: () => number): AddLabelsChange {
  const expires = random() < 0.3;
  const at = T0 + Math.floor(random() * 365 * 86_400_000);
  return {
    op: 'add',
    keys: [key],
    labels: [
      {
        label: LABELS[Math.floor(random() * LABELS.length)],
        expiresAt: expires ? at + 3 * 365 * 86_400_000 : null,
      },
    ],
    source: SOURCES[Math.floor(random() * SOURCES.length)],
    actor: `agent-${String(Math.floor(random() * 500)).padStart(4, '0')}`,
    reason: REASONS[Math.floor(random() * REASONS.length)],
    campaign: `campaign-${2023 + Math.floor(random() * 2)}-${String(Math.floor(random() * 60)).padStart(2, '0')}`,
    channel: CHANNELS[Math.floor(random() * CHANNELS.length)],
    at,
  };
}

/**
 * Writes the journal a store would have after one opt-out for each key (a valid hash chain, exactly
 * the records the store writes); returns the mean bytes per record. Far faster than applying a
 * million changes one by one, and the store still replays and verifies every record when it opens.
 * Without `key`: 0.1.0's unkeyed chain (a store written before the audit key, which opens unchanged).
 * With it: the keyed chain of today's store (call writeKeyedStoreExtras for its key file and checkpoint).
 */
export function writeJournal(path: string, keys: readonly string[], key?: AuditKey): number {
  const random = seededRandom(42);
  const fd = openSync(path, 'w');
  let prev = GENESIS_HASH;
  let bytes = 0;
  let lines: string[] = [];
  lastHead = GENESIS_HASH;
  for (let i = 0; i < keys.length; i++) {
    const change = makeChange(keys[i], random);
    const label = change.labels[0];
    const content: Omit<AuditRecord, 'hash'> = {
      seq: i + 1,
      at: new Date(change.at).toISOString(),
      op: 'add',
      keys: change.keys,
      labels: [label.label],
      changed: [label.label],
      expiresAt: [label.expiresAt === null ? null : new Date(label.expiresAt).toISOString()],
      source: change.source,
      actor: change.actor ?? null,
      reason: change.reason ?? null,
      campaign: change.campaign ?? null,
      channel: change.channel ?? null,
      prev,
    };
    if (key) {
      const sealed = sealRecord(i === 0 ? { ...content, keyId: key.id } : content, key);
      prev = sealed.record.hash;
      lines.push(sealed.line);
      lastHead = prev;
    } else {
      const full: AuditRecord = { ...content, hash: computeRecordHash(content) };
      prev = full.hash;
      lines.push(`${JSON.stringify(full)}\n`);
    }
    if (lines.length === 10_000 || i === keys.length - 1) {
      const chunk = Buffer.from(lines.join(''));
      writeSync(fd, chunk);
      bytes += chunk.length;
      lines = [];
    }
  }
  closeSync(fd);
  return bytes / keys.length;
}

let lastHead = GENESIS_HASH;

/** The key file and checkpoint of a store whose journal writeJournal just wrote with `key` (`count` records). */
export async function writeKeyedStoreExtras(
  snapshotPath: string,
  key: AuditKey,
  count: number,
): Promise<void> {
  const base = snapshotPath.replace(/\.json$/i, '');
  writeFileSync(`${base}.key`, `${key.export()}\n`, { mode: 0o600 });
  await createCheckpoint(`${base}.checkpoint`, key, count, lastHead, key.id);
}
