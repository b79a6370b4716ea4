/**
 * Changes, as any adapter needs them: an apply request checked and normalised (whole-ms times, nulls),
 * and the audit record's content built from it (or read back from a record, for replay).
 */
import { DncError } from '../errors';
import { LABEL_NAME_PATTERN } from '../labels';
import type { AuditRecord, LabelChange } from './types';
import type { FoldableChange } from './state';

/** Dates beyond this are not representable (ECMAScript time range). */
const MAX_TIME = 8.64e15;

/** An instant as an audit record writes it (ISO 8601, UTC, ms): the text the record's hash covers. */
function recordTime(time: number): string {
  return new Date(time).toISOString();
}

/** A remove-all's `labels` in an audit record (the change says `labels: 'all'`). */
const REMOVE_ALL_MARK = '*';

/** The labels asked for (distinct, in order) that needed no change. */
export function unchangedLabels(requested: readonly string[] | null, changed: readonly string[]): string[] {
  if (requested === null) return [];
  if (requested.length === 1)
    return changed.length === 1 && changed[0] === requested[0] ? [] : [requested[0]];
  return [...new Set(requested)].filter((label) => !changed.includes(label));
}

export function recordContent(
  seq: number,
  prev: string,
  change: FoldableChange,
  changed: readonly string[],
  keyId: string | undefined,
): Omit<AuditRecord, 'hash'> {
  return change.op === 'add'
    ? {
        seq,
        at: recordTime(change.at),
        op: 'add',
        keys: change.keys,
        labels: change.labels ?? [],
        changed,
        expiresAt: change.expiresAt.map((time) => (time === null ? null : recordTime(time))),
        source: change.source,
        actor: change.actor,
        ...principalOf(change),
        reason: change.reason,
        campaign: change.campaign,
        channel: change.channel,
        ...(keyId === undefined ? {} : { keyId }),
        prev,
      }
    : {
        seq,
        at: recordTime(change.at),
        op: 'remove',
        keys: change.keys,
        labels: change.labels ?? [REMOVE_ALL_MARK],
        changed,
        source: change.source,
        actor: change.actor,
        ...principalOf(change),
        reason: change.reason,
        ...(keyId === undefined ? {} : { keyId }),
        prev,
      };
}

/** A record names its principal only when the change has one (so records without one hash as in 0.1.0). */
function principalOf(change: FoldableChange): { principal?: string } {
  return change.principal === null ? {} : { principal: change.principal };
}

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', message, { field });
}

function nullableString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(`${field} must be a string or null`, field);
  return value;
}

/** Any text without control characters (an admin's user name may be in any script), not blank. */
const PRINCIPAL_PATTERN = /^(?=.*\S)[^\p{Cc}]{1,200}$/u;

function nullablePrincipal(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !PRINCIPAL_PATTERN.test(value)) {
    throw invalid('principal must be 1 to 200 characters of text without control characters', 'principal');
  }
  return value;
}

function epochMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_TIME) {
    throw invalid(`${field} must be a time in epoch milliseconds`, field);
  }
  // Whole milliseconds: the journal stores ISO 8601 with millisecond precision, replay must give the same number.
  return Math.trunc(value);
}

/** Checks a change's shape and turns it into the form the journal records (whole-ms times, nulls). */
export function normaliseChange(change: LabelChange): FoldableChange {
  const raw = change as unknown as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object') throw invalid('a change must be an object', 'change');
  if (raw.op !== 'add' && raw.op !== 'remove') throw invalid('op must be "add" or "remove"', 'op');
  const keys = raw.keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => typeof key === 'string' && key !== '')
  ) {
    throw invalid('keys must be a non-empty list of contact keys', 'keys');
  }
  if (typeof raw.source !== 'string' || raw.source === '')
    throw invalid('source must be a non-empty string', 'source');
  const common = {
    keys: [...new Set(keys as string[])],
    at: epochMs(raw.at, 'at'),
    source: raw.source,
    actor: nullableString(raw.actor, 'actor'),
    principal: nullablePrincipal(raw.principal),
    reason: nullableString(raw.reason, 'reason'),
  };
  if (raw.op === 'add') {
    const labels = raw.labels;
    if (!Array.isArray(labels) || labels.length === 0)
      throw invalid('labels must be a non-empty list', 'labels');
    const names: string[] = [];
    const expiries: (number | null)[] = [];
    labels.forEach((entry: unknown, index) => {
      const item = entry as { label?: unknown; expiresAt?: unknown } | null;
      if (
        item === null ||
        typeof item !== 'object' ||
        typeof item.label !== 'string' ||
        !LABEL_NAME_PATTERN.test(item.label)
      ) {
        throw invalid('each label needs a valid label name', `labels[${index}].label`);
      }
      names.push(item.label);
      expiries.push(
        item.expiresAt === null || item.expiresAt === undefined
          ? null
          : epochMs(item.expiresAt, `labels[${index}].expiresAt`),
      );
    });
    return {
      op: 'add',
      ...common,
      labels: names,
      expiresAt: expiries,
      campaign: nullableString(raw.campaign, 'campaign'),
      channel: nullableString(raw.channel, 'channel'),
    };
  }
  const labels = raw.labels;
  if (labels === 'all')
    return { op: 'remove', ...common, labels: null, expiresAt: [], campaign: null, channel: null };
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    // Label names only: a record writes remove-all as ["*"], so "*" as a name would be a no-op
    // now and remove every label on replay.
    !labels.every((l) => typeof l === 'string' && LABEL_NAME_PATTERN.test(l))
  ) {
    throw invalid('labels must be a non-empty list of label names, or "all"', 'labels');
  }
  return {
    op: 'remove',
    ...common,
    labels: labels as string[],
    expiresAt: [],
    campaign: null,
    channel: null,
  };
}

/** The foldable form of a journal record. */
export function recordToChange(record: AuditRecord): FoldableChange {
  const removeAll =
    record.op === 'remove' && record.labels.length === 1 && record.labels[0] === REMOVE_ALL_MARK;
  return {
    op: record.op,
    keys: record.keys,
    labels: removeAll ? null : record.labels,
    expiresAt: (record.expiresAt ?? []).map((e) => (e === null ? null : Date.parse(e))),
    at: Date.parse(record.at),
    source: record.source,
    actor: record.actor ?? null,
    reason: record.reason ?? null,
    campaign: record.campaign ?? null,
    channel: record.channel ?? null,
    principal: record.principal ?? null,
  };
}
