/**
 * Message catalogs: `nodes/locales/<lang>/<type>.json`, keys scoped per node (`dnc-check.status.allowed`).
 * Node-RED's `RED._` translates with the catalog of the node's own set; where it cannot (the test
 * helper's `RED._` returns the key), the English catalog shipped beside the node is the fallback.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';

export type Subs = Record<string, string | number>;
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

/** A translator for one node type: `t('status.allowed')` looks up `<type>.status.allowed`. */
export function translator(RED: NodeAPI, type: string): Translate {
  const fallback = loadCatalog(type);
  const cache = new Map<string, string>();
  return (key, subs) => {
    if (subs === undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const full = `${type}.${key}`;
    let text: unknown;
    try {
      text = RED._(full, subs);
    } catch {
      text = undefined;
    }
    let result: string;
    if (typeof text === 'string' && text !== '' && !text.endsWith(full)) result = text;
    else result = interpolate(lookup(fallback, full) ?? key, subs);
    if (subs === undefined) cache.set(key, result);
    return result;
  };
}
