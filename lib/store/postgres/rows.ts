/**
 * The rows of `<schema>.audit` and `<schema>.attempts`: how a record's columns are derived, the INSERT
 * that writes a batch of them and how an attempt row is read back. One definition for every writer
 * (the group-commit writer, the shared attempts, `dncflow migrate`), so that a migrated trail is indexed
 * exactly as one an instance wrote and the embedded store's audit queries find the same records.
 */
import type { QueryConfig } from 'pg';
import type { AttemptRecord, AuditRecord } from '../types';

/** A record of the audit trail as its INSERT takes it. */
export interface AuditRow {
  readonly seq: number;
  /** The change id (spool.ts); absent on migrated records, which have none. */
  readonly id?: string;
  /** The record's exact text, without its newline: what its hash covers. */
  readonly line: string;
  readonly keys: readonly string[];
  readonly labels: readonly string[];
  readonly source: string;
  readonly at: string;
}

export function auditRow(record: AuditRecord, line: string, changeId?: string): AuditRow {
  return {
    seq: record.seq,
    ...(changeId === undefined ? {} : { id: changeId }),
    line,
    keys: record.keys,
    // The labels asked for and the ones changed: a removal of all ('*') finds the labels it removed,
    // as the embedded store's audit query by label does.
    labels: [...new Set([...record.labels, ...record.changed])],
    source: record.source,
    at: record.at,
  };
}

function insertAuditText(s: string, rowsJson: string, instance: string): string {
  return `INSERT INTO ${s}.audit (seq, change_id, line, keys, labels, source, at, instance)
     SELECT (r->>'seq')::bigint, r->>'id', r->>'line',
            ARRAY(SELECT jsonb_array_elements_text(r->'keys')),
            ARRAY(SELECT jsonb_array_elements_text(r->'labels')),
            r->>'source', (r->>'at')::timestamptz, ${instance}
       FROM jsonb_array_elements(${rowsJson}::jsonb) AS r`;
}

/** One INSERT for a batch of audit rows (`s`: the quoted schema), one parameter for all of them. */
export function insertAuditRows(s: string, rows: readonly AuditRow[], instance: string): QueryConfig {
  return { text: insertAuditText(s, '$1', '$2'), values: [JSON.stringify(rows), instance] };
}

/**
 * The same INSERT with its values as literals (`literal`: the connection's escapeLiteral), for a
 * statement sent together with others in one round trip (the simple query protocol takes no parameters).
 */
export function insertAuditRowsSql(
  s: string,
  rows: readonly AuditRow[],
  instance: string,
  literal: (value: string) => string,
): string {
  return insertAuditText(s, literal(JSON.stringify(rows)), literal(instance));
}

/**
 * An attempt as its INSERT takes it, numbered `seq` (attempt_head: commit order); principal and rnd null when
 * none.
 */
export type AttemptRowIn = Omit<AttemptRecord, 'principal' | 'rnd'> & {
  readonly seq: number;
  readonly principal: string | null;
  readonly rnd: AttemptRecord['rnd'] | null;
};

export function attemptRow(record: AttemptRecord, seq: number): AttemptRowIn {
  return {
    seq,
    keys: record.keys,
    // The column is bigint: epoch ms.
    at: Math.trunc(record.at),
    attempt: record.attempt === true,
    outcome: record.outcome ?? null,
    channel: record.channel ?? null,
    campaign: record.campaign ?? null,
    source: record.source,
    principal: record.principal ?? null,
    rnd: record.rnd ?? null,
  };
}

/** One INSERT for a batch of attempt rows (`s`: the quoted schema). */
export function insertAttemptRows(s: string, rows: readonly AttemptRowIn[], instance: string): QueryConfig {
  return {
    text: `INSERT INTO ${s}.attempts (seq, keys, at, attempt, outcome, channel, campaign, source, principal, instance, rnd)
     SELECT (r->>'seq')::bigint, ARRAY(SELECT jsonb_array_elements_text(r->'keys')), (r->>'at')::bigint,
            (r->>'attempt')::boolean, r->>'outcome', r->>'channel', r->>'campaign', r->>'source',
            r->>'principal', $2, NULLIF(r->'rnd', 'null'::jsonb)
       FROM jsonb_array_elements($1::jsonb) AS r`,
    values: [JSON.stringify(rows), instance],
  };
}

/** The columns an attempt is read back from, for a SELECT. */
export const ATTEMPT_COLUMNS = 'seq, keys, at, attempt, outcome, channel, campaign, source, principal, rnd';

/** A row of `<schema>.attempts` as the driver returns it (bigint as text). */
export interface AttemptRowOut {
  seq: string;
  keys: string[];
  at: string;
  attempt: boolean;
  outcome: string | null;
  channel: string | null;
  campaign: string | null;
  source: string;
  principal: string | null;
  /** jsonb: the driver parses it. */
  rnd: AttemptRecord['rnd'] | null;
}

/** The record a row holds, members in the embedded attempts file's order (lib/store/attempts.ts). */
export function attemptFromRow(row: AttemptRowOut): AttemptRecord {
  return {
    keys: row.keys,
    at: Number(row.at),
    attempt: row.attempt,
    outcome: row.outcome,
    channel: row.channel,
    campaign: row.campaign,
    source: row.source,
    ...(row.principal === null ? {} : { principal: row.principal }),
    ...(row.rnd === null || row.rnd === undefined ? {} : { rnd: row.rnd }),
  };
}
