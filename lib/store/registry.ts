/**
 * One embedded store per resolved file path, shared by every user of that file (several Node-RED config
 * nodes may point at the same file). Reference counted: the last release closes the store. A redeploy
 * releases and reacquires; if the old instance is still closing (draining writes, writing its final
 * snapshot), the new instance waits for that close before it touches the files, so two instances never
 * write the same journal.
 */
import { resolve } from 'node:path';
import { DncError } from '../errors';
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded';
import type { DncStore } from './types';

export interface StoreHandle {
  readonly store: DncStore;
  /** Settles when the shared store's open() does (it rejects when the files are unreadable). */
  readonly ready: Promise<void>;
  /** Gives up this reference; the last one closes the store. Calling it twice is harmless. */
  release(): Promise<void>;
}

interface Entry {
  readonly store: EmbeddedStore;
  /** The configured audit key (undefined: the key file): every user of the file must give the same. */
  readonly auditKey: string | undefined;
  readonly ready: Promise<void>;
  references: number;
}

const openStores = new Map<string, Entry>();
/** Closes in progress, per path: the next acquire of that path waits for it. */
const closingStores = new Map<string, Promise<void>>();

export function acquireEmbeddedStore(
  path: string,
  options: Omit<EmbeddedStoreOptions, 'path' | 'openAfter'> = {},
): StoreHandle {
  const resolvedPath = resolve(path);
  const auditKey = options.auditKey?.trim() || undefined;
  let entry = openStores.get(resolvedPath);
  if (entry && entry.auditKey !== auditKey) {
    // One journal has one key: a second key would key part of it with a key the first user does not know.
    throw new DncError(
      'DNC_INVALID_INPUT',
      `another DNC labels node uses the store ${resolvedPath} with a different audit key: give them the same key (or none)`,
      { field: 'auditKey' },
    );
  }
  if (!entry) {
    const store = new EmbeddedStore({
      ...options,
      path: resolvedPath,
      openAfter: closingStores.get(resolvedPath),
    });
    const ready = store.open();
    ready.catch(() => undefined); // the failure is in status() and in `ready`; do not leave it unhandled
    entry = { store, ready, auditKey, references: 0 };
    openStores.set(resolvedPath, entry);
  }
  entry.references++;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    ready: held.ready,
    release: async () => {
      if (released) return;
      released = true;
      held.references--;
      if (held.references > 0 || openStores.get(resolvedPath) !== held) return;
      openStores.delete(resolvedPath);
      const closing = held.store.close().finally(() => {
        if (closingStores.get(resolvedPath) === closing) closingStores.delete(resolvedPath);
      });
      closingStores.set(resolvedPath, closing);
      await closing;
    },
  };
}
