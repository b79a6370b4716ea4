/**
 * How contacts, their labels and label changes are rendered to JSON for callers, in one place: the
 * API's contact answer, the answer to a label change (the API's body and the nodes' msg.dnc), the
 * change feed's contact state and the export's rows. Times are ISO 8601 UTC (lib/time). Each shape
 * is a published format (OpenAPI schemas, msg fields, export files), so each keeps its own fields and
 * their order; they differ on purpose, not by drift.
 */
import { activeLabels } from './decide';
import type { LabelChangeOutcome } from './service';
import type { AppliedLabel, AuditRecord, ContactState } from './store/types';
import { isoTime } from './time';

/** An expiry as the API renders it: ISO 8601, or null for a label that never expires. */
function expiryIso(expiresAt: number | null): string | null {
  return expiresAt === null ? null : isoTime(expiresAt);
}

/** A label in force on a contact (OpenAPI `ActiveLabel`, without the definition's channels). */
export interface LabelView {
  readonly label: string;
  readonly appliedAt: string;
  readonly expiresAt: string | null;
  readonly source: string;
  readonly actor: string | null;
  readonly principal: string | null;
  readonly reason: string | null;
  readonly campaign: string | null;
  readonly channel: string | null;
}

export function labelView(l: AppliedLabel): LabelView {
  return {
    label: l.label,
    appliedAt: isoTime(l.appliedAt),
    expiresAt: expiryIso(l.expiresAt),
    source: l.source,
    actor: l.actor,
    principal: l.principal ?? null,
    reason: l.reason,
    campaign: l.campaign,
    channel: l.channel,
  };
}

/** Every key of a contact: those of its stored profiles first, then those it was given with. */
export function contactKeys(profiles: readonly ContactState[], given: readonly string[]): string[] {
  return [...new Set([...profiles.flatMap((p) => p.keys), ...given])];
}

/**
 * One contact as the API answers it (OpenAPI `ContactDetail`): its keys, the labels in force at `now`,
 * the expired ones still stored, and its audit history when asked for.
 */
export function contactDetail(
  keys: readonly string[],
  profiles: readonly ContactState[],
  now: number,
  history?: readonly AuditRecord[],
): Record<string, unknown> {
  const expired = profiles
    .flatMap((p) => p.labels)
    .filter((l) => l.expiresAt !== null && l.expiresAt <= now)
    // Who applied it and why, as for an active label (kept until removed: evidence of the opt-out).
    .map((l) => ({ ...labelView(l), expiredAt: isoTime(l.expiresAt!) }));
  return {
    contact: keys[0],
    keys,
    known: profiles.length > 0,
    labels: activeLabels(profiles, now).map(labelView),
    expired,
    ...(history ? { history } : {}),
  };
}

/**
 * The answer to a label change (OpenAPI `ChangeOutcome`): the outcome, with `changed` / `unchanged`
 * named for the operation too (added / alreadyPresent, removed / notPresent).
 */
export function changeView(kind: 'add' | 'remove', outcome: LabelChangeOutcome): Record<string, unknown> {
  return kind === 'add'
    ? { ...outcome, added: outcome.changed, alreadyPresent: outcome.unchanged }
    : { ...outcome, removed: outcome.changed, notPresent: outcome.unchanged };
}

/** A contact after a change, as the change feed reports it (the dnc-events node's `state`). */
export interface ContactView {
  readonly keys: readonly string[];
  /** Labels in force after the change. */
  readonly labels: readonly {
    readonly label: string;
    readonly appliedAt: string;
    readonly expiresAt: string | null;
    readonly source: string;
  }[];
}

export function contactView(state: ContactState | undefined, at: number): ContactView | null {
  if (state === undefined) return null;
  return {
    keys: state.keys,
    labels: activeLabels([state], at).map((l) => ({
      label: l.label,
      appliedAt: isoTime(l.appliedAt),
      expiresAt: expiryIso(l.expiresAt),
      source: l.source,
    })),
  };
}

/** A label as the export writes it (JSON objects, and CSV columns in this order but `principal` last). */
export interface ExportedLabel {
  readonly label: string;
  readonly active: boolean;
  readonly appliedAt: string;
  readonly expiresAt: string | null;
  readonly source: string;
  readonly actor: string | null;
  readonly reason: string | null;
  readonly campaign: string | null;
  readonly channel: string | null;
  /** Who applied the label (null: not recorded, labels applied by 0.1.0). */
  readonly principal: string | null;
}

export function exportedLabel(l: AppliedLabel, active: boolean): ExportedLabel {
  return {
    label: l.label,
    active,
    appliedAt: isoTime(l.appliedAt),
    expiresAt: expiryIso(l.expiresAt),
    source: l.source,
    actor: l.actor,
    reason: l.reason,
    campaign: l.campaign,
    channel: l.channel,
    principal: l.principal ?? null,
  };
}
