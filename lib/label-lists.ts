/**
 * The "DNC lists" view of the store: how many contacts carry each label, and the contacts carrying one,
 * paged and filtered. The editor's DNC sidebar and the HTTP API's `/lists` routes read it.
 *
 * The store keeps no index by label (a check never needs one), so both walk every profile in memory. The walk
 * yields to the event loop every YIELD_EVERY profiles, so that a million-contact store answers in a few
 * hundred milliseconds without holding up the checks running beside it; a profile that changes during the
 * walk is seen as it was when the walk reached it (profiles are immutable).
 */
import { exportedLabel, type ExportedLabel } from './contact-view';
import type { ContactState } from './store/types';

const YIELD_EVERY = 20_000;

export interface LabelCount {
  /** Contacts carrying the label and blocked by it now. */
  readonly active: number;
  /** Contacts still holding the label past its expiry (kept until removed; no longer blocking). */
  readonly expired: number;
}

export interface ListPage {
  readonly label: string;
  /** Contacts matching the filter (not only those on this page). */
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly contacts: readonly ListedContact[];
}

export interface ListedContact {
  /** The first key: the phone number when there is one. */
  readonly contact: string;
  readonly keys: readonly string[];
  readonly label: ExportedLabel;
}

function active(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

function pause(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Per label name: active and expired holders. Names not in `names` are not counted. */
export async function countByLabel(
  contacts: () => IterableIterator<ContactState>,
  names: readonly string[],
  now: number,
): Promise<Map<string, LabelCount>> {
  const active_ = new Map<string, number>(names.map((n) => [n, 0]));
  const expired = new Map<string, number>(names.map((n) => [n, 0]));
  let seen = 0;
  for (const contact of contacts()) {
    for (const l of contact.labels) {
      const counts = active(l.expiresAt, now) ? active_ : expired;
      const n = counts.get(l.label);
      if (n !== undefined) counts.set(l.label, n + 1);
    }
    if (++seen % YIELD_EVERY === 0) await pause();
  }
  return new Map(names.map((n) => [n, { active: active_.get(n)!, expired: expired.get(n)! }]));
}

/**
 * Text a person types to find a contact in a list ("555 0123", "Ana@", "crm-4"), as it is compared: lower
 * case, without the spaces, brackets, dots and dashes people write in numbers.
 */
export function listFilterOf(q: string | undefined): string | null {
  if (q === undefined) return null;
  const text = q
    .trim()
    .toLowerCase()
    .replace(/[\s().-]/g, '');
  return text === '' ? null : text;
}

/** One page of the contacts carrying `label` (active only, or expired too), in the store's order. */
export async function contactsWithLabel(
  contacts: () => IterableIterator<ContactState>,
  label: string,
  options: { offset: number; limit: number; filter: string | null; includeExpired: boolean; now: number },
): Promise<ListPage> {
  const { offset, limit, filter, includeExpired, now } = options;
  const page: ListedContact[] = [];
  let total = 0;
  let seen = 0;
  for (const contact of contacts()) {
    if (++seen % YIELD_EVERY === 0) await pause();
    const held = contact.labels.find((l) => l.label === label);
    if (held === undefined) continue;
    const isActive = active(held.expiresAt, now);
    if (!isActive && !includeExpired) continue;
    if (
      filter !== null &&
      !contact.keys.some((k) =>
        k
          .toLowerCase()
          .replace(/[().-]/g, '')
          .includes(filter),
      )
    ) {
      continue;
    }
    if (total >= offset && page.length < limit) {
      page.push({ contact: contact.keys[0], keys: contact.keys, label: exportedLabel(held, isActive) });
    }
    total++;
  }
  return { label, total, offset, limit, contacts: page };
}
