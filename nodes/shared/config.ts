/**
 * The link between a DNC node and its `dnc-config` node. The config node owns the store and the
 * DncService; the nodes using it look it up by id, follow its state (waiting for the store, ready,
 * unavailable, invalid) in their status, and unsubscribe on close without touching anyone else's listener.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { DncService } from '../../lib/service';
import { codedError, type CodedError } from './errors';
import type { StatusReporter } from './status';
import type { TokenSet } from '../../lib/api/auth';

export type ConfigState = 'waiting' | 'ready' | 'unavailable' | 'invalid' | 'closed';

export interface DncConfigDef extends NodeDef {
  labels?: unknown;
  /** Custom channels beyond voice, sms, whatsapp and email (absent in 0.1.0 flows: none). */
  channels?: unknown;
  defaultCountry?: string;
  storePath?: string;
  /** `embedded` (blank: flows saved before the setting existed) or `postgres`. */
  storeType?: string;
  /** The PostgreSQL store's settings (lib/store/postgres/settings.ts); the URL is a credential. */
  postgresSchema?: string;
  postgresPoolSize?: string | number;
  postgresTls?: string;
  /** Seconds a PostgreSQL-backed instance answers from its view without the database. */
  maxStaleness?: string | number;
  /** The public API's path on the flows app (off until a token exists). */
  apiPath?: string;
  /** Requests per minute per API token (0: no limit). */
  apiRateLimit?: number | string;
}

/** What a `dnc-config` node exposes to the nodes using it. */
export class DncBinding {
  private listeners = new Set<(state: ConfigState) => void>();
  private current: ConfigState;

  constructor(
    /** null when the configuration is invalid (see `error`). */
    readonly service: DncService | null,
    /** Why the configuration cannot be used (DNC_INVALID_LABEL, DNC_INVALID_INPUT...), or null. */
    readonly error: CodedError | null,
    readonly storePath: string | null,
  ) {
    this.current = service === null ? 'invalid' : 'waiting';
  }

  get state(): ConfigState {
    return this.current;
  }

  /**
   * For a PostgreSQL store: how far behind the shared state this instance may be (`< 1 s`, `3 s`), shown
   * in the status of the nodes using it; null for the embedded store. Set by the config node.
   */
  lag: string | null = null;

  /** Tells the nodes the lag changed (same state, new text). */
  lagChanged(): void {
    if (this.current !== 'ready') return;
    for (const listener of [...this.listeners]) listener(this.current);
  }

  setState(state: ConfigState): void {
    if (this.current === state || this.current === 'closed') return;
    this.current = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  /** Follows state changes; returns the function that removes this listener (and only it). */
  subscribe(listener: (state: ConfigState) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private inFlight = new Set<Promise<unknown>>();

  /** Keeps the store open until `work` settles (a change on its way to disk when a redeploy starts). */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = () => {
      this.inFlight.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  /** Settles once every tracked change has settled. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  close(): void {
    this.setState('closed');
    this.listeners.clear();
  }
}

export interface DncConfigNode extends Node {
  dnc?: DncBinding;
}

/** A using node's view of its config: the service when there is one, or the error to report. */
export interface ConfigLink {
  readonly binding: DncBinding | null;
  /** The service, or null when not configured or invalid (then `failure` says why). */
  readonly service: DncService | null;
  readonly failure: CodedError | null;
  /** True once the store has opened (or failed to: then checks fail closed). */
  settled(): boolean;
  dispose(): void;
}

export function linkConfig(
  RED: NodeAPI,
  node: Node,
  configId: unknown,
  status: StatusReporter,
  onState?: (state: ConfigState) => void,
): ConfigLink {
  const configNode =
    typeof configId === 'string' && configId !== ''
      ? (RED.nodes.getNode(configId) as DncConfigNode | null)
      : null;
  const binding = configNode?.dnc ?? null;
  if (binding === null) {
    status.error('DNC_NOT_CONFIGURED');
    return {
      binding: null,
      service: null,
      failure: codedError(
        'DNC_NOT_CONFIGURED',
        'no DNC labels configuration: open the node and select or add a "DNC labels" configuration',
      ),
      settled: () => true,
      dispose: () => undefined,
    };
  }
  if (binding.service === null) {
    status.error((binding.error?.code as 'DNC_INVALID_LABEL' | undefined) ?? 'DNC_INVALID_LABEL');
    return {
      binding,
      service: null,
      failure: binding.error ?? codedError('DNC_INVALID_LABEL', 'the DNC labels configuration is not valid'),
      settled: () => true,
      dispose: () => undefined,
    };
  }
  const show = (state: ConfigState) => {
    if (state === 'waiting') status.waiting();
    else if (state === 'ready') {
      if (binding.lag === null) status.ready();
      else status.ok('runtime.status.readyShared', { lag: binding.lag });
    } else if (state === 'unavailable') status.error('DNC_STORE_UNAVAILABLE');
    onState?.(state);
  };
  show(binding.state);
  const unsubscribe = binding.subscribe(show);
  return {
    binding,
    service: binding.service,
    failure: null,
    settled: () => binding.state !== 'waiting',
    dispose: unsubscribe,
  };
}

/** The HTTP API settings of a `dnc-config` node (public mount path, its tokens, the rate limit). */
export interface ApiSettings {
  /** The public mount path on Node-RED's flows app (`/dnc-api`); null: no public mount (no token). */
  readonly publicPath: string | null;
  readonly tokens: TokenSet;
  /** Requests per minute per token on the public mount; 0 = no limit. */
  readonly rateLimit: number;
}

/** A deployed `dnc-config` node, as the HTTP API finds it (by id or name). */
export interface LiveConfig {
  readonly id: string;
  readonly name: string;
  readonly binding: DncBinding;
  readonly api: ApiSettings;
}

/** Every deployed `dnc-config` node, by id: the HTTP API's way to its service (nodes/shared/api-mount.ts). */
export const liveConfigs = new Map<string, LiveConfig>();
