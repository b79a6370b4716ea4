/**
 * The link between nodes that consult national registries (registry lookup, Check DNC) and the
 * `dnc-registry` config nodes that own them. A config node exposes a RegistryBinding: the registry source
 * (a FileRegistry or a ServiceRegistrySource) or the error that made its configuration unusable, and its
 * state (loading with progress, ready, stale, unavailable), which the using nodes show in their status.
 */
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { RegistrySource } from '../../lib/registries/check';
import type { RegistryLoadOutcome } from '../../lib/registries/registry';
import { codedError, type CodedError } from './errors';
import { STATUS } from './status';

export type RegistryState = 'loading' | 'ready' | 'stale' | 'unavailable' | 'invalid' | 'closed';

export interface RegistryStateInfo {
  readonly state: RegistryState;
  /** Load progress 0-100 while loading. */
  readonly percent?: number;
  readonly detail?: string;
  /** Why the last load was refused or failed while earlier data (if any) still answers. */
  readonly refused?: string;
}

export class RegistryBinding {
  private listeners = new Set<(info: RegistryStateInfo) => void>();
  private current: RegistryStateInfo;
  /**
   * Re-reads a file registry now (a flow loading a file it has just written), optionally with the data's
   * as-of date; null for sources that load nothing (services). Throws a RangeError for a bad as-of.
   */
  reload: ((asOf?: string) => Promise<RegistryLoadOutcome>) | null = null;

  constructor(
    /** null when the configuration is invalid (see `error`). */
    readonly source: RegistrySource | null,
    readonly error: CodedError | null,
    /** The registry's id and display name. */
    readonly id: string,
    readonly label: string,
  ) {
    this.current = source === null ? { state: 'invalid', detail: error?.message } : { state: 'loading' };
  }

  get info(): RegistryStateInfo {
    return this.current;
  }

  set(info: RegistryStateInfo): void {
    if (this.current.state === 'closed') return;
    const same =
      this.current.state === info.state &&
      this.current.percent === info.percent &&
      this.current.detail === info.detail &&
      this.current.refused === info.refused;
    if (same) return;
    this.current = info;
    for (const listener of [...this.listeners]) listener(info);
  }

  subscribe(listener: (info: RegistryStateInfo) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  close(): void {
    this.set({ state: 'closed' });
    this.listeners.clear();
  }
}

export interface DncRegistryNode extends Node {
  dncRegistry?: RegistryBinding;
}

/** A deployed registry as the API's health route and the editor's sidebar describe it. */
interface LiveRegistry {
  readonly node: string;
  readonly binding: RegistryBinding;
  /** The source's own status (FileRegistry, ServiceRegistrySource, ReassignedNumbersSource), if any. */
  readonly status: (() => object) | null;
}

/** Every deployed `dnc-registry` config node, by node id. */
const liveRegistries = new Map<string, LiveRegistry>();

/** Registers a deployed registry; returns the function that forgets it (on close). */
export function registerLiveRegistry(
  node: string,
  binding: RegistryBinding,
  status: (() => object) | null,
): () => void {
  const entry: LiveRegistry = { node, binding, status };
  liveRegistries.set(node, entry);
  return () => {
    if (liveRegistries.get(node) === entry) liveRegistries.delete(node);
  };
}

/**
 * The deployed registries: the node, the registry's id and name, the state the using nodes see, and the
 * source's status (as-of date, validity, numbers loaded, last load or request, circuit) without its
 * load progress details. Never throws: a source whose status fails reports only its state.
 */
export function describeRegistries(): Record<string, unknown>[] {
  return [...liveRegistries.values()].map(({ node, binding, status }) => {
    let own: Record<string, unknown>;
    try {
      own = { ...((status?.() ?? {}) as Record<string, unknown>) };
      delete own.progress;
    } catch {
      own = {};
    }
    const info = binding.info;
    return {
      ...own,
      node,
      registry: binding.id,
      name: binding.label,
      state: info.state,
      ...(info.detail === undefined ? {} : { detail: info.detail }),
      ...(info.refused === undefined ? {} : { refused: info.refused }),
    };
  });
}

/** Registry ids as the editor saves them: a list, or a comma-separated string. */
export function registryIds(value: unknown, fallback?: unknown): string[] {
  let ids: string[] = [];
  if (Array.isArray(value)) ids = value.filter((v): v is string => typeof v === 'string' && v !== '');
  else if (typeof value === 'string')
    ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  // The editor's registry picker: one registry chosen but not added to the list.
  if (ids.length === 0 && typeof fallback === 'string' && fallback !== '') ids = [fallback];
  return [...new Set(ids)];
}

export interface RegistryLinks {
  readonly bindings: readonly RegistryBinding[];
  readonly sources: readonly RegistrySource[];
  /** Why the registries cannot be used (a missing or invalid dnc-registry node), or null. */
  readonly failure: CodedError | null;
  dispose(): void;
}

/** The sources behind a node's `registries` ids; follows their state with `onChange`. */
export function linkRegistries(
  RED: NodeAPI,
  ids: readonly string[],
  onChange: (bindings: readonly RegistryBinding[]) => void,
): RegistryLinks {
  const bindings: RegistryBinding[] = [];
  for (const id of ids) {
    const binding = (RED.nodes.getNode(id) as DncRegistryNode | null)?.dncRegistry;
    if (binding === undefined) {
      return {
        bindings: [],
        sources: [],
        failure: codedError(
          'DNC_NOT_CONFIGURED',
          `registry ${id} is not deployed: open the node and select or add a "DNC registry" configuration`,
        ),
        dispose: () => undefined,
      };
    }
    if (binding.source === null) {
      return {
        bindings: [],
        sources: [],
        failure: codedError(
          'DNC_INVALID_INPUT',
          `the DNC registry configuration "${binding.label}" is not valid: ${binding.error?.message ?? ''}`,
        ),
        dispose: () => undefined,
      };
    }
    bindings.push(binding);
  }
  const notify = () => onChange(bindings);
  const unsubscribes = bindings.map((b) => b.subscribe(notify));
  return {
    bindings,
    sources: bindings.map((b) => b.source!),
    failure: null,
    dispose: () => unsubscribes.forEach((u) => u()),
  };
}

/**
 * One status for a set of registries: the worst state wins (invalid / unavailable / stale / a refused
 * reload, previous data still answering: red ring,
 * loading: yellow ring with the lowest percentage, all ready: null, the caller's own status applies).
 */
export function registriesStatus(
  bindings: readonly RegistryBinding[],
  t: (key: string, subs?: Record<string, string | number>) => string,
): NodeStatus | null {
  let loading: number | null = null;
  for (const b of bindings) {
    const { state, percent } = b.info;
    if (state === 'invalid' || state === 'unavailable' || state === 'closed')
      return STATUS.error(t('runtime.status.registryUnavailable', { registry: b.id }));
    if (b.info.refused !== undefined) {
      return STATUS.error(t('runtime.status.registryRefused', { registry: b.id }));
    }
    if (state === 'stale') return STATUS.error(t('runtime.status.registryStale', { registry: b.id }));
    if (state === 'loading') loading = Math.min(loading ?? 100, percent ?? 0);
  }
  if (loading !== null)
    return STATUS.waiting(t('runtime.status.registryLoading', { percent: Math.floor(loading) }));
  return null;
}
