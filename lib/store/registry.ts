/**
 * One store per resolved file path (embedded) or per database and schema (PostgreSQL), shared by every
 * user of it (several Node-RED config nodes may name the same one). Reference counted: the last release closes the store. A redeploy
 * releases and reacquires; if the old instance is still closing (draining writes, writing its final
 * snapshot), the new instance waits for that close before it touches the files, so two instances never
 * write the same journal.
 */
import { resolve } from 'node:path';
import { DncError } from '../errors';
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded';
import type { DncStore } from './types';
import { PostgresStore, type PostgresStoreOptions } from './postgres/store';
import { DEFAULT_SCHEMA } from './postgres/schema';

export interface StoreHandle {
  readonly store: DncStore;
  /** Settles when the shared store's open() does (it rejects when the files are unreadable). */
  readonly ready: Promise<void>;
  /** Gives up this reference; the last one closes the store. Calling it twice is harmless. */
  release(): Promise<void>;
}

interface Entry {
  readonly store: DncStore;
  /** The configured audit key (undefined: the key file): every user of the store must give the same. */
  readonly auditKey: string | undefined;
  readonly ready: Promise<void>;
  references: number;
}

const openStores = new Map<string, Entry>();
/** Closes in progress, per store: the next acquire of that store waits for it. */
const closingStores = new Map<string, Promise<void>>();

/** A store for `path` (the store file's path, or a PostgreSQL store's identity), opened after `openAfter`. */
type StoreFactory = (openAfter: Promise<void> | undefined) => DncStore;

function acquire(id: string, what: string, auditKey: string | undefined, create: StoreFactory): StoreHandle {
  let entry = openStores.get(id);
  if (entry && entry.auditKey !== auditKey) {
    // One trail has one key: a second key would key part of it with a key the first user does not know.
    throw new DncError(
      'DNC_INVALID_INPUT',
      `another DNC labels node uses the store ${what} with a different audit key: give them the same key (or none)`,
      { field: 'auditKey' },
    );
  }
  if (!entry) {
    const store = create(closingStores.get(id));
    const ready = store.open();
    ready.catch(() => undefined); // the failure is in status() and in `ready`; do not leave it unhandled
    entry = { store, ready, auditKey, references: 0 };
    openStores.set(id, entry);
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
      if (held.references > 0 || openStores.get(id) !== held) return;
      openStores.delete(id);
      const closing = held.store.close().finally(() => {
        if (closingStores.get(id) === closing) closingStores.delete(id);
      });
      closingStores.set(id, closing);
      await closing;
    },
  };
}

export function acquireEmbeddedStore(
  path: string,
  options: Omit<EmbeddedStoreOptions, 'path' | 'openAfter'> = {},
): StoreHandle {
  const resolvedPath = resolve(path);
  return acquire(
    resolvedPath,
    resolvedPath,
    options.auditKey?.trim() || undefined,
    (openAfter) => new EmbeddedStore({ ...options, path: resolvedPath, openAfter }),
  );
}

/**
 * One PostgreSQL store per database and schema in this process: config nodes naming the same ones share
 * it (one view, one pool, one change feed). A redeploy's new store opens after the old one closed.
 */
export function acquirePostgresStore(
  options: PostgresStoreOptions & { readonly connectionString: string },
): StoreHandle {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const id = `postgres:${databaseIdentity(options.connectionString)}#${schema}`;
  return acquire(
    id,
    `PostgreSQL schema "${schema}"`,
    options.auditKey?.trim() || undefined,
    (openAfter) => new PostgresStore({ ...options, openAfter }),
  );
}

/** The database a URL names, without its password (the registry key must not hold a secret). */
function databaseIdentity(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, '@');
  }
}
