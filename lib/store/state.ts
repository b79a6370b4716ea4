/**
 * The state machine folded from the journal: how one change turns the contact profiles it touches into
 * new immutable profiles. The live write path and the replay at open run this same code, so a reopened
 * store holds exactly the state the running one had.
 */
import type { AppliedLabel, ContactState } from './types';

/** Keeps one copy of each repeated string (label names, sources, actors...): a million contacts share a few hundred. */
export class StringInterner {
  private readonly strings = new Map<string, string>();

  intern(value: string): string;
  intern(value: string | null): string | null;
  intern(value: string | null): string | null {
    if (value === null) return null;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }
}

/**
 * One applied label. A class rather than a literal so a million of them share one hidden class (compact
 * in-object fields); frozen by its creator where it leaves the store.
 */
export class StoredLabel implements AppliedLabel {
  constructor(
    readonly label: string,
    readonly appliedAt: number,
    readonly expiresAt: number | null,
    readonly source: string,
    readonly actor: string | null,
    readonly reason: string | null,
    readonly campaign: string | null,
    readonly channel: string | null,
    readonly principal: string | null = null,
  ) {}
}

export class StoredContact implements ContactState {
  constructor(
    readonly keys: readonly string[],
    readonly labels: readonly AppliedLabel[],
  ) {}
}

/** A change as the journal records it, times as epoch ms. */
export interface FoldableChange {
  readonly op: 'add' | 'remove';
  readonly keys: readonly string[];
  /** For removes, null means every label. */
  readonly labels: readonly string[] | null;
  readonly expiresAt: readonly (number | null)[];
  readonly at: number;
  readonly source: string;
  readonly actor: string | null;
  readonly reason: string | null;
  readonly campaign: string | null;
  readonly channel: string | null;
  /** null: the record names none (0.1.0). */
  readonly principal: string | null;
}

export interface FoldResult {
  /** Labels actually added or removed, in the order asked (or held, for remove all), without repeats. */
  readonly changed: string[];
  readonly contact: ContactState | undefined;
  /** How the number of distinct profiles changed (+1 for a new contact, -n when n+1 profiles merge). */
  readonly profileDelta: number;
}

export interface StateView {
  get(key: string): ContactState | undefined;
  set(key: string, state: ContactState): void;
}

/** The later of two expiries; null (never) wins. */
export function laterExpiry(a: number | null, b: number | null): number | null {
  if (a === null || b === null) return null;
  return Math.max(a, b);
}

function isExpired(label: AppliedLabel, at: number): boolean {
  return label.expiresAt !== null && label.expiresAt <= at;
}

/** Merges a label held by two profiles being linked: earliest appliedAt (with its details), later expiry. */
function mergeLabel(a: AppliedLabel, b: AppliedLabel): AppliedLabel {
  const earliest = a.appliedAt <= b.appliedAt ? a : b;
  const expiresAt = laterExpiry(a.expiresAt, b.expiresAt);
  if (earliest.expiresAt === expiresAt) return earliest;
  return new StoredLabel(
    earliest.label,
    earliest.appliedAt,
    expiresAt,
    earliest.source,
    earliest.actor,
    earliest.reason,
    earliest.campaign,
    earliest.channel,
    earliest.principal,
  );
}

function distinctProfiles(view: StateView, keys: readonly string[]): ContactState[] {
  const profiles: ContactState[] = [];
  for (const key of keys) {
    const profile = view.get(key);
    if (profile !== undefined && !profiles.includes(profile)) profiles.push(profile);
  }
  return profiles;
}

export function foldChange(view: StateView, change: FoldableChange, interner: StringInterner): FoldResult {
  return change.op === 'add' ? foldAdd(view, change, interner) : foldRemove(view, change);
}

function foldAdd(view: StateView, change: FoldableChange, interner: StringInterner): FoldResult {
  const profiles = distinctProfiles(view, change.keys);
  if (profiles.length === 0 && change.labels !== null && change.labels.length === 1) {
    return foldNewContact(view, change, interner);
  }
  // Keys never shrink: the merged profile keeps every key of every profile it absorbs, first profile first.
  const keys: string[] = [];
  const seenKeys = new Set<string>();
  const addKey = (key: string): void => {
    if (!seenKeys.has(key)) {
      seenKeys.add(key);
      keys.push(key);
    }
  };
  const labels = new Map<string, AppliedLabel>();
  for (const profile of profiles) {
    for (const key of profile.keys) addKey(key);
    for (const label of profile.labels) {
      const held = labels.get(label.label);
      labels.set(label.label, held === undefined ? label : mergeLabel(held, label));
    }
  }
  // Keys are not interned: each is unique to its contact, and the index already holds it once.
  for (const key of change.keys) addKey(key);

  const changed: string[] = [];
  const requested = change.labels ?? [];
  requested.forEach((name, index) => {
    const expiresAt = change.expiresAt[index] ?? null;
    const held = labels.get(name);
    if (held !== undefined && !isExpired(held, change.at)) {
      // Idempotent for blocking, but a repeated opt-out never shortens the block.
      const later = laterExpiry(held.expiresAt, expiresAt);
      if (later !== held.expiresAt) {
        labels.set(
          name,
          new StoredLabel(
            held.label,
            held.appliedAt,
            later,
            held.source,
            held.actor,
            held.reason,
            held.campaign,
            held.channel,
            held.principal,
          ),
        );
      }
      return;
    }
    // New, or expired (inert): the label is applied afresh and blocks again.
    labels.set(name, appliedLabel(name, expiresAt, change, interner));
    if (!changed.includes(name)) changed.push(name);
  });

  const contact = new StoredContact(keys, [...labels.values()]);
  for (const key of keys) view.set(key, contact);
  return { changed, contact, profileDelta: 1 - profiles.length };
}

/**
 * The common opt-out: one label on a contact none of whose keys is known. The same result as the
 * general path, without its sets and maps (the write path folds a thousand of these per burst).
 */
function foldNewContact(view: StateView, change: FoldableChange, interner: StringInterner): FoldResult {
  const name = change.labels![0];
  let keys = change.keys;
  if (keys.length > 1 && new Set(keys).size !== keys.length) keys = [...new Set(keys)];
  const label = appliedLabel(name, change.expiresAt[0] ?? null, change, interner);
  const contact = new StoredContact(keys.length === 1 ? [keys[0]] : [...keys], [label]);
  for (const key of contact.keys) view.set(key, contact);
  return { changed: [name], contact, profileDelta: 1 };
}

/** A label applied by this change now, its strings interned. */
function appliedLabel(
  name: string,
  expiresAt: number | null,
  change: FoldableChange,
  interner: StringInterner,
): StoredLabel {
  return new StoredLabel(
    interner.intern(name),
    change.at,
    expiresAt,
    interner.intern(change.source),
    interner.intern(change.actor),
    interner.intern(change.reason),
    interner.intern(change.campaign),
    interner.intern(change.channel),
    interner.intern(change.principal),
  );
}

function foldRemove(view: StateView, change: FoldableChange): FoldResult {
  // Keys that belong to different, unlinked profiles are not linked by a remove: each loses the labels.
  const profiles = distinctProfiles(view, change.keys);
  const changed: string[] = [];
  let contact: ContactState | undefined;
  for (const profile of profiles) {
    const wanted = change.labels;
    const kept = profile.labels.filter((label) => wanted !== null && !wanted.includes(label.label));
    let after = profile;
    if (kept.length !== profile.labels.length) {
      for (const label of profile.labels) {
        if (!kept.includes(label) && !changed.includes(label.label)) changed.push(label.label);
      }
      after = new StoredContact(profile.keys, kept);
      for (const key of profile.keys) view.set(key, after);
    }
    contact ??= after;
  }
  if (change.labels !== null) changed.sort((a, b) => change.labels!.indexOf(a) - change.labels!.indexOf(b));
  return { changed, contact, profileDelta: 0 };
}
