/**
 * Change events: one feed per DncService that tells its subscribers about every label change, whatever
 * made it (a node, the API, an import: they all write through the store, whose onChange reports each
 * durable change) and about labels that expire (expiry writes nothing, so the feed watches the clock).
 *
 * Expiry: the feed scans the store's profiles for expiries in the next WINDOW (one hour, at most
 * MAX_DUE of them), keeps them sorted and sets one timer for the next. Labels added meanwhile with an
 * expiry inside the window join the list; a later window is scanned when the current one is used up.
 * At the instant a label expires the feed checks that the contact still carries it with that expiry (it
 * was not removed or extended) and emits an `expire` event. Labels that expired while Node-RED was not
 * running are not reported afterwards: the feed starts watching at the instant it starts.
 */
import { contactView, type ContactView } from './contact-view';
import type { AuditRecord, ContactState } from './store/types';
import type { DncService } from './service';
import { isoTime } from './time';

export type ChangeKind = 'add' | 'remove' | 'expire';

export interface ChangeEvent {
  readonly event: ChangeKind;
  /** The contact's first key (E.164 number, email or id:...). */
  readonly contact: string;
  readonly keys: readonly string[];
  /** The labels added, removed or expired. */
  readonly labels: readonly string[];
  /** When the change took effect (ISO 8601). */
  readonly at: string;
  /** Where it came from: ivr, api, import, ... or `expiry`. */
  readonly source: string;
  readonly actor: string | null;
  /**
   * Who made the change, as the package authenticated them (`user:<name>`, `admin:anonymous`,
   * `token:<id>`, `node:<id>`, `import:<principal>`, `system`), `expiry` for an expiry; null when the
   * record names none.
   */
  readonly principal: string | null;
  readonly reason: string | null;
  /** The audit record (null for an expiry, which writes none). */
  readonly record: AuditRecord | null;
  /** The contact after the change. */
  readonly state: ContactView | null;
  /**
   * `local`: made through this Node-RED instance (always, on the embedded store); `remote`: made on
   * another instance sharing the PostgreSQL store. An expiry is emitted once, by one instance: `local`.
   */
  readonly origin: 'local' | 'remote';
}

export type ChangeSubscriber = (event: ChangeEvent) => void;

const WINDOW_MS = 3_600_000;
const MAX_DUE = 100_000;
/** setTimeout's longest delay is 2^31-1 ms; the window keeps delays far below it anyway. */
const MAX_DELAY_MS = WINDOW_MS;

interface Due {
  readonly at: number;
  readonly key: string;
  readonly label: string;
}

export class ChangeFeed {
  private readonly subscribers = new Set<ChangeSubscriber>();
  private stopStore: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Expiries at or before this instant are handled (or predate the feed). */
  private watermark = 0;
  /** Expiries in (watermark, horizon] are in `due`, sorted. */
  private horizon = 0;
  private due: Due[] = [];
  private scanned = false;

  constructor(
    private readonly service: DncService,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Follows changes; returns the function that stops (the last one out stops the feed). */
  subscribe(subscriber: ChangeSubscriber): () => void {
    this.subscribers.add(subscriber);
    if (!this.running) this.start();
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  private start(): void {
    this.running = true;
    this.watermark = this.now();
    this.horizon = this.watermark;
    this.stopStore = this.service.onChange((record, contact, origin) =>
      this.onRecord(record, contact, origin ?? 'local'),
    );
    this.service.whenReady().then(
      () => {
        if (this.running) this.scanAndArm();
      },
      () => undefined, // an unavailable store changes nothing and nothing expires in it
    );
  }

  private stop(): void {
    this.running = false;
    this.stopStore?.();
    this.stopStore = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.due = [];
    this.scanned = false;
  }

  private emit(event: ChangeEvent): void {
    for (const subscriber of [...this.subscribers]) {
      try {
        subscriber(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private onRecord(record: AuditRecord, contact: ContactState | undefined, origin: 'local' | 'remote'): void {
    if (record.op === 'add' && this.scanned) {
      (record.expiresAt ?? []).forEach((iso, i) => {
        if (iso === null) return;
        const at = Date.parse(iso);
        if (at > this.watermark && at <= this.horizon && record.changed.includes(record.labels[i])) {
          this.insert({ at, key: record.keys[0], label: record.labels[i] });
        }
      });
      this.arm();
    }
    if (record.changed.length === 0) return; // an idempotent repeat changed nothing
    const at = Date.parse(record.at);
    this.emit({
      event: record.op,
      contact: contact?.keys[0] ?? record.keys[0],
      keys: contact?.keys ?? record.keys,
      labels: record.changed,
      at: record.at,
      source: record.source,
      actor: record.actor,
      principal: record.principal ?? null,
      reason: record.reason,
      record,
      state: contactView(contact, Number.isFinite(at) ? at : this.now()),
      origin,
    });
  }

  private insert(due: Due): void {
    // Binary search for the first entry later than `due`.
    let lo = 0;
    let hi = this.due.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.due[mid].at <= due.at) lo = mid + 1;
      else hi = mid;
    }
    this.due.splice(lo, 0, due);
  }

  /** Collects the expiries in (watermark, watermark + WINDOW], at most MAX_DUE. */
  private scan(): void {
    const from = this.watermark;
    let to = from + WINDOW_MS;
    const found: Due[] = [];
    for (const profile of this.service.contacts()) {
      for (const label of profile.labels) {
        const at = label.expiresAt;
        if (at !== null && at > from && at <= to)
          found.push({ at, key: profile.keys[0], label: label.label });
      }
    }
    found.sort((a, b) => a.at - b.at);
    if (found.length > MAX_DUE) {
      to = found[MAX_DUE - 1].at;
      let end = MAX_DUE;
      while (end < found.length && found[end].at === to) end++;
      found.length = end;
    }
    this.due = found;
    this.horizon = to;
    this.scanned = true;
  }

  private scanAndArm(): void {
    try {
      this.scan();
    } catch (err) {
      this.onError(err);
      this.scanned = false;
      // The store went away: try again later.
      this.schedule(60_000);
      return;
    }
    this.arm();
  }

  private arm(): void {
    if (!this.running) return;
    const next = this.due.length > 0 ? this.due[0].at : this.horizon;
    this.schedule(Math.max(0, Math.min(MAX_DELAY_MS, next - this.now())));
  }

  private schedule(delay: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    if (!this.running) return;
    if (!this.scanned) {
      this.scanAndArm();
      return;
    }
    const now = this.now();
    // Several windows may have passed (a sleeping laptop): handle them in turn.
    for (let rounds = 0; rounds < 1000; rounds++) {
      const until = Math.min(now, this.horizon);
      while (this.due.length > 0 && this.due[0].at <= until) {
        const due = this.due.shift()!;
        this.expire(due);
      }
      this.watermark = until;
      if (now < this.horizon) break;
      try {
        this.scan();
      } catch (err) {
        this.onError(err);
        this.scanned = false;
        this.schedule(60_000);
        return;
      }
    }
    this.arm();
  }

  private expire(due: Due): void {
    let state: ContactState | undefined;
    try {
      state = this.service.lookup(due.key);
    } catch {
      return;
    }
    const label = state?.labels.find((l) => l.label === due.label);
    // Removed, or re-added with a later expiry since the scan: not expiring now.
    if (state === undefined || label === undefined || label.expiresAt !== due.at) return;
    // Several instances on one PostgreSQL store: only the one that leads reports it, so it is reported once.
    if (!this.service.leads()) return;
    this.emit({
      event: 'expire',
      contact: state.keys[0],
      keys: state.keys,
      labels: [due.label],
      at: isoTime(due.at),
      source: 'expiry',
      actor: null,
      principal: 'expiry',
      reason: null,
      record: null,
      state: contactView(state, due.at),
      origin: 'local',
    });
  }
}

const feeds = new WeakMap<DncService, ChangeFeed>();

/** The one feed of a service (created on first use). */
export function changeFeed(service: DncService, onError?: (err: unknown) => void): ChangeFeed {
  let feed = feeds.get(service);
  if (feed === undefined) {
    feed = new ChangeFeed(service, Date.now, onError);
    feeds.set(service, feed);
  }
  return feed;
}
