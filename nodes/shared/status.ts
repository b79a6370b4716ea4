/**
 * Node status with one meaning per colour, the same in every DNC node:
 * - green dot:   ok (allowed, labels added or removed, store ready)
 * - blue dot:    blocked, a decision and a normal outcome, not an error
 * - yellow ring: waiting for the store to open
 * - red ring:    error (bad input, unknown label, invalid configuration, store unavailable or failing)
 * - grey ring:   not configured (no DNC labels configuration selected)
 * Texts stay under 20 characters. Updates are coalesced (at most one every STATUS_INTERVAL_MS) so a busy
 * flow does not spend its time publishing status events; the status is cleared on close.
 */
import type { Node, NodeStatus } from 'node-red';
import type { NodeErrorCode } from './errors';
import type { Translate } from './i18n';

export const STATUS_INTERVAL_MS = 100;
const MAX_TEXT = 19;

export function shortText(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

export const STATUS = {
  ok: (text: string): NodeStatus => ({ fill: 'green', shape: 'dot', text: shortText(text) }),
  blocked: (text: string): NodeStatus => ({ fill: 'blue', shape: 'dot', text: shortText(text) }),
  waiting: (text: string): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: shortText(text) }),
  error: (text: string): NodeStatus => ({ fill: 'red', shape: 'ring', text: shortText(text) }),
  notConfigured: (text: string): NodeStatus => ({ fill: 'grey', shape: 'ring', text: shortText(text) }),
} as const;

const ERROR_KEYS: Record<NodeErrorCode, string> = {
  DNC_NOT_CONFIGURED: 'runtime.status.notConfigured',
  DNC_INVALID_CONTACT: 'runtime.status.invalidContact',
  DNC_UNKNOWN_LABEL: 'runtime.status.unknownLabel',
  DNC_INVALID_LABEL: 'runtime.status.invalidConfig',
  DNC_INVALID_INPUT: 'runtime.status.invalidInput',
  DNC_STORE_UNAVAILABLE: 'runtime.status.storeUnavailable',
  DNC_STORE_ERROR: 'runtime.status.storeError',
};

/** Sets a node's status, coalescing bursts; `flush` on demand, `clear` on close. */
export class StatusReporter {
  private shown: NodeStatus | null = null;
  private pending: NodeStatus | null = null;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly node: Node,
    readonly t: Translate,
    /** The text key of the ready state (the shared "ready" unless the node says otherwise). */
    private readonly readyKey = 'runtime.status.ready',
  ) {}

  /** Green: the node is ready (its store open). */
  ready(): void {
    this.ok(this.readyKey);
  }

  ok(key: string, subs?: Record<string, string | number>): void {
    this.show(STATUS.ok(this.t(key, subs)));
  }

  blocked(key: string, subs?: Record<string, string | number>): void {
    this.show(STATUS.blocked(this.t(key, subs)));
  }

  waiting(): void {
    this.show(STATUS.waiting(this.t('runtime.status.waiting')), true);
  }

  error(code: NodeErrorCode): void {
    const status =
      code === 'DNC_NOT_CONFIGURED'
        ? STATUS.notConfigured(this.t(ERROR_KEYS[code]))
        : STATUS.error(this.t(ERROR_KEYS[code] ?? 'runtime.status.error'));
    this.show(status, true);
  }

  /** Shows `status`; immediately when `now` or when the last update is old enough, else soon. */
  show(status: NodeStatus, now = false): void {
    if (this.closed) return;
    const shown = this.shown;
    if (
      shown !== null &&
      this.pending === null &&
      shown.text === status.text &&
      shown.fill === status.fill &&
      shown.shape === status.shape
    ) {
      return;
    }
    const t = Date.now();
    if (now || t - this.lastAt >= STATUS_INTERVAL_MS) {
      this.emit(status, t);
      return;
    }
    this.pending = status;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), STATUS_INTERVAL_MS - (t - this.lastAt));
    }
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending !== null && !this.closed) this.emit(this.pending, Date.now());
  }

  /** Clears the status and stops any pending update (close handler). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.shown = null;
    this.node.status({});
    this.closed = true;
  }

  /** Clears the status but keeps reporting (state back to idle). */
  reset(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.shown = null;
    this.lastAt = 0;
    this.node.status({});
  }

  private emit(status: NodeStatus, at: number): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.pending = null;
    this.shown = status;
    this.lastAt = at;
    this.node.status(status);
  }
}
