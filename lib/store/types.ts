/**
 * The store contract. Every adapter (the embedded lowdb store now, PostgreSQL later) implements
 * `DncStore`, and one contract test suite (test/store-contract.ts) runs against each of them.
 *
 * Time is epoch milliseconds everywhere inside the store; the audit trail renders it as ISO 8601.
 */

/** A label as applied to a contact: what the check needs and what the audit needs to show. */
export interface AppliedLabel {
  readonly label: string;
  readonly appliedAt: number;
  /** null: never expires. An expired label no longer blocks but is kept until removed. */
  readonly expiresAt: number | null;
  readonly source: string;
  readonly actor: string | null;
  /** Who applied it, as the package authenticated them (ChangeMeta.principal); null/absent: none named (0.1.0). */
  readonly principal?: string | null;
  readonly reason: string | null;
  readonly campaign: string | null;
  readonly channel: string | null;
}

/**
 * One contact profile: every identifier key known to belong to one person, and their labels.
 * Immutable: a change produces a new object, so a reader (a check, a snapshot) never sees half a change.
 */
export interface ContactState {
  readonly keys: readonly string[];
  readonly labels: readonly AppliedLabel[];
}

export interface ChangeMeta {
  /** Where the change came from: `ivr`, `bot`, `agent`, `api`, `import`, `keyword`, `flow`... */
  readonly source: string;
  readonly actor?: string | null;
  /**
   * Who made the change, set by the package and never by the client (unlike `source` and `actor`, which
   * the client claims): `user:<name>` or `admin:anonymous` (admin API), `token:<id>` (public API),
   * `node:<id>` (a flow), `import:<principal>` (an import), `system` (the package or a program using lib/
   * directly). Omitted: the record carries none (as every record written by 0.1.0).
   */
  readonly principal?: string | null;
  readonly reason?: string | null;
  /** When the change happened (epoch ms). */
  readonly at: number;
}

export interface AddLabelsChange extends ChangeMeta {
  readonly op: 'add';
  /** Index keys of the contact (see lib/contacts.ts). Keys held by different profiles are linked into one. */
  readonly keys: readonly string[];
  readonly labels: readonly { readonly label: string; readonly expiresAt: number | null }[];
  readonly campaign?: string | null;
  readonly channel?: string | null;
}

export interface RemoveLabelsChange extends ChangeMeta {
  readonly op: 'remove';
  readonly keys: readonly string[];
  /** The labels to remove, or 'all' for every label the contact carries. */
  readonly labels: readonly string[] | 'all';
}

export type LabelChange = AddLabelsChange | RemoveLabelsChange;

/**
 * One entry of the append-only, hash-chained audit trail, in its public form: the HTTP API, `msg.dnc.record`
 * and change events show it as it is. Every adapter builds it with lib/store/changes.ts (`recordContent`:
 * ISO 8601 times, `['*']` for a remove-all) and reads it back with `recordToChange`, so that the same
 * change reads the same whatever stores it; the hash covers this content.
 */
export interface AuditRecord {
  /** 1, 2, 3... without gaps. */
  readonly seq: number;
  /** ISO 8601 time of the change. */
  readonly at: string;
  readonly op: 'add' | 'remove';
  /**
   * The contact's keys. Empty only in the switch-over record an upgrade from 0.1.0 writes (principal
   * `system`, reason `upgrade: ...`): a remove that names no label and changes nothing.
   */
  readonly keys: readonly string[];
  /** The labels asked for ('*' when a remove asked for all). */
  readonly labels: readonly string[];
  /** The labels this change actually added or removed; an idempotent repeat has none. */
  readonly changed: readonly string[];
  /** For adds: the expiry given to each label (ISO 8601 or null), in the order of `labels`. */
  readonly expiresAt?: readonly (string | null)[];
  readonly source: string;
  readonly actor: string | null;
  /**
   * Who made the change (ChangeMeta.principal), part of the hashed content. Absent on records written by
   * 0.1.0 (and on changes that named none): their hashes are unchanged.
   */
  readonly principal?: string;
  readonly reason: string | null;
  readonly campaign?: string | null;
  readonly channel?: string | null;
  /**
   * On the switch-over record only: the id of the audit key (AuditKey.id) that MACs this record and
   * every later one, until the next record carrying a keyId. Records before the first one are 0.1.0's
   * unkeyed sha256 chain.
   */
  readonly keyId?: string;
  /** Hash of the previous record (64 zeros for the first). */
  readonly prev: string;
  /** HMAC-SHA256 (keyed part) or sha256 (0.1.0 part) over `prev` and this record's content (audit-hash.ts). */
  readonly hash: string;
}

export interface ChangeResult {
  readonly record: AuditRecord;
  /** The labels actually added or removed. */
  readonly changed: readonly string[];
  /** The labels asked for that needed no change (already there, or not there to remove). */
  readonly unchanged: readonly string[];
  /** The contact after the change (the merged profile, for adds). */
  readonly contact: ContactState | undefined;
  /**
   * The store could not commit the change now (PostgreSQL unreachable) and holds it in a durable local
   * spool: enforced by this instance's checks at once, committed in order when the database answers.
   * `record` is then provisional (seq 0, no hash); change listeners hear the real one at the commit.
   */
  readonly queued?: boolean;
}

export interface AuditQuery {
  /** Only records touching any of these keys. */
  readonly keys?: readonly string[];
  readonly since?: number;
  readonly until?: number;
  readonly label?: string;
  readonly source?: string;
  /** At most this many records, newest last. */
  readonly limit?: number;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly records: number;
  /** The first record that fails verification. */
  readonly badSeq?: number;
  readonly problem?: string;
  /** Records 1..legacy are 0.1.0's unkeyed sha256 chain: checked, but anyone could have recomputed them. */
  readonly legacy?: number;
  /**
   * Records keyed with an audit key this store does not have (a lost or replaced key): linked and in
   * order, but their content cannot be proven. `ok` is false while any exist.
   */
  readonly unverifiable?: { readonly from: number; readonly to: number; readonly keyId: string };
}

export type StoreState = 'closed' | 'opening' | 'ready' | 'unavailable';

export interface StoreStatus {
  readonly state: StoreState;
  /** Why the store is unavailable (a DncError with code DNC_STORE_UNAVAILABLE). */
  readonly error?: Error;
  readonly contacts: number;
  readonly keys: number;
  /** seq of the last durable record. */
  readonly seq: number;
}

/**
 * One contact attempt or outcome, for frequency caps and cooling-off periods (lib/policy). Kept in a
 * separate append-only log, not in the audit trail; pruned once no policy's rule can need it.
 */
export interface AttemptRecord {
  /** Index keys of the contact. */
  readonly keys: readonly string[];
  /** Epoch ms. */
  readonly at: number;
  /** true: a contact attempt (a call placed, a message sent); false: an outcome recorded on its own. */
  readonly attempt: boolean;
  /** `conversation`, `refusal`, `optout`, or another short word (`no-answer`...); null: none known. */
  readonly outcome: string | null;
  readonly channel: string | null;
  /** The campaign or subject (caps "on the same subject" count per campaign). */
  readonly campaign: string | null;
  readonly source: string;
  /** Who recorded it (ChangeMeta.principal); absent on records written by 0.1.0. */
  readonly principal?: string;
  /**
   * The Reassigned Numbers Database answers the check that allowed the attempt relied on: the record that
   * the database was checked before the call (47 CFR 64.1200(m)). Absent when none was asked.
   */
  readonly rnd?: readonly AttemptRndRecord[];
}

/** One Reassigned Numbers Database answer, as an attempt record keeps it. */
export interface AttemptRndRecord {
  readonly number: string;
  readonly answer: 'yes' | 'no' | 'no data';
  readonly consentDate: string;
  readonly queriedAt: string;
}

/** At most this many answers per attempt (a contact's numbers). */
export const MAX_ATTEMPT_RND_RECORDS = 10;

/** Whether a value is a list of RND records as an attempt keeps them. */
export function isAttemptRndList(value: unknown): value is readonly AttemptRndRecord[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= MAX_ATTEMPT_RND_RECORDS &&
    value.every((r: unknown) => {
      if (r === null || typeof r !== 'object') return false;
      const { number, answer, consentDate, queriedAt } = r as Record<string, unknown>;
      return (
        typeof number === 'string' &&
        number.length <= 20 &&
        (answer === 'yes' || answer === 'no' || answer === 'no data') &&
        typeof consentDate === 'string' &&
        /^\d{4}-\d{2}-\d{2}$/.test(consentDate) &&
        typeof queriedAt === 'string' &&
        queriedAt.length <= 30 &&
        !Number.isNaN(Date.parse(queriedAt))
      );
    })
  );
}

/**
 * Called after each durable change. `origin`: `local` when made through this process, `remote` when a
 * store shared by several processes followed it from another (absent on a one-process store: local).
 */
export type ChangeListener = (
  record: AuditRecord,
  contact: ContactState | undefined,
  origin?: 'local' | 'remote',
) => void;

/**
 * Whether an attempt may still be recorded, decided where the store orders attempts: given every attempt
 * recorded before it (by any process sharing the store), undefined to record it, or the refusal (a cap
 * reached meanwhile by another instance). What makes "3 per 24 h" exact across instances.
 */
export type AttemptGuard = (
  attempts: (key: string, since: number) => readonly AttemptRecord[],
) => Error | undefined;

export interface DncStore {
  /** Loads the state. Rejects (and the store stays 'unavailable', failing every check) when the data is unreadable. */
  open(): Promise<void>;
  /** Finishes pending writes and releases files. */
  close(): Promise<void>;
  status(): StoreStatus;

  /**
   * The profile holding this key, from memory; never touches the disk. Throws a DncError
   * `DNC_STORE_UNAVAILABLE` unless the store is ready, so a caller can never mistake "unavailable" for "no labels".
   */
  lookup(key: string): ContactState | undefined;
  /** The distinct profiles holding any of these keys (several when the keys are not linked yet). */
  lookupAll(keys: readonly string[]): ContactState[];
  /**
   * Every distinct profile, from memory (export, expiry scans). Lazy: iterating while changes land is
   * safe and may or may not include profiles changed meanwhile. Iterating throws DNC_STORE_UNAVAILABLE unless ready.
   */
  contacts(): IterableIterator<ContactState>;

  /** Applies a change. Resolves only when the change is durable (fsynced); rejects with DNC_STORE_ERROR otherwise. */
  apply(change: LabelChange): Promise<ChangeResult>;

  /** Audit records, oldest first. */
  audit(query?: AuditQuery): Promise<AuditRecord[]>;
  /** Walks the whole chain: detects an edited, inserted, reordered or deleted record. */
  verify(): Promise<AuditVerification>;

  /** Called after each durable change, in order. Returns a function that removes the listener. */
  onChange(listener: ChangeListener): () => void;

  /**
   * Whether this process emits the events that are nobody's change (a label expiring), so that they
   * are emitted once: a one-process store always (absent: true); a shared store, one process at a time.
   */
  leads?(): boolean;

  /**
   * Whether apply() takes changes now, when that differs from answering lookups (absent: status() is
   * 'ready'). A shared store whose view is too stale to answer checks still takes changes into its
   * local spool: an opt-out heard during an outage is kept, not refused.
   */
  acceptsChanges?(): boolean;

  /**
   * Attempt records (frequency caps, cooling-off). Optional in the contract so that adapters without
   * them still type-check; a policy with caps or cooling-off blocks (fails closed) on such a store.
   * Resolves once the record is durable. With a guard, rejects with the guard's refusal instead when
   * the attempts ordered before it already reach a cap (a store shared by several processes evaluates it
   * under its lock; the embedded store, one process, needs no guard: DncService holds each attempt
   * from its check on).
   */
  recordAttempt?(record: AttemptRecord, guard?: AttemptGuard): Promise<void>;
  /** The records of one key at or after `since`, oldest first, from memory. Throws DNC_STORE_UNAVAILABLE unless ready. */
  attempts?(key: string, since: number): readonly AttemptRecord[];
  /** Drops records older than `before` (no rule needs them); resolves with how many were dropped. */
  pruneAttempts?(before: number): Promise<number>;
}
