/**
 * Message catalogs: `nodes/locales/<lang>/<type>.json`, keys scoped per node (`dnc-check.status.allowed`).
 * Node-RED's `RED._` translates with the catalog of the node's own set; where it cannot (the test
 * helper's `RED._` returns the key), the English catalog shipped beside the node is the fallback.
 *
 * Strings every node shows (the store's and registries' states, the error statuses) are kept once, in
 * dnc-config's catalog under `runtime` (Node-RED loads one catalog per node set, and dnc-config's is
 * always there): a key starting with `runtime.` is looked up there, by its namespace
 * `@dncflow/node-red-dnc/dnc-config` (`<module>/<set>`), from any node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';

export type Subs = Record<string, string | number>;

/** The package's name (package.json): Node-RED names a node set's catalog `<module>/<set>`. */
export const MODULE_NAME = '@dncflow/node-red-dnc';
/** The node type whose catalog holds the shared runtime strings. */
const SHARED_TYPE = 'dnc-config';
/** Keys with this prefix are shared runtime strings (`runtime.status.storeUnavailable`). */
export const SHARED_PREFIX = 'runtime.';
export type Translate = (key: string, subs?: Subs) => string;

type Catalog = { [key: string]: string | Catalog };

function loadCatalog(type: string): Catalog {
  try {
    return JSON.parse(
      readFileSync(join(__dirname, '..', 'locales', 'en-US', `${type}.json`), 'utf8'),
    ) as Catalog;
  } catch {
    return {};
  }
}

function lookup(catalog: Catalog, path: string): string | undefined {
  let node: string | Catalog | undefined = catalog;
  for (const part of path.split('.')) {
    if (node === undefined || typeof node === 'string') return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

function interpolate(text: string, subs: Subs | undefined): string {
  if (subs === undefined) return text;
  return text.replace(/__([A-Za-z0-9_]+)__/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(subs, name) ? String(subs[name]) : whole,
  );
}

/**
 * A translator for one node type: `t('status.allowed')` looks up `<type>.status.allowed`, and
 * `t('runtime.status.ready')` the shared `dnc-config.runtime.status.ready`.
 */
export function translator(RED: NodeAPI, type: string): Translate {
  const fallback = loadCatalog(type);
  let sharedFallback: Catalog | null = type === SHARED_TYPE ? fallback : null;
  const cache = new Map<string, string>();
  return (key, subs) => {
    if (subs === undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const shared = key.startsWith(SHARED_PREFIX);
    const full = `${shared ? SHARED_TYPE : type}.${key}`;
    let text: unknown;
    try {
      text = RED._(shared ? `${MODULE_NAME}/${SHARED_TYPE}:${full}` : full, subs);
    } catch {
      text = undefined;
    }
    let result: string;
    if (typeof text === 'string' && text !== '' && !text.endsWith(full)) result = text;
    else {
      if (shared && sharedFallback === null) sharedFallback = loadCatalog(SHARED_TYPE);
      result = interpolate(lookup(shared ? sharedFallback! : fallback, full) ?? key, subs);
    }
    if (subs === undefined) cache.set(key, result);
    return result;
  };
}
