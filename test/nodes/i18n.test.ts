/**
 * The shared runtime strings (nodes/shared/i18n.ts): kept once in dnc-config's catalog, found from any
 * node both through Node-RED's own i18n (the namespace `<module>/dnc-config`) and through the fallback
 * the test helper's `RED._` falls back to.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { MODULE_NAME, translator } from '../../nodes/shared/i18n';

const ROOT = join(__dirname, '..', '..', '..');
const LOCALES = join(ROOT, 'dist', 'nodes', 'locales');

interface I18n {
  init(settings: Record<string, unknown>): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, subs?: Record<string, unknown>): string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { i18n } = require('@node-red/util') as { i18n: I18n };

/** `RED._` as Node-RED builds it for a node set: a key without a namespace is the set's own. */
function nodeApi(type: string): NodeAPI {
  const namespace = `${MODULE_NAME}/${type}`;
  return {
    _: (key: string, subs?: Record<string, unknown>) =>
      i18n._(key.includes(':') ? key : `${namespace}:${key}`, subs),
  } as unknown as NodeAPI;
}

describe('node message catalogs: shared runtime strings', function () {
  before(async function () {
    await i18n.init({});
    for (const type of ['dnc-config', 'dnc-check', 'dnc-events']) {
      await i18n.registerMessageCatalog(`${MODULE_NAME}/${type}`, LOCALES, `${type}.json`);
    }
  });

  it('names the catalogs by the package name', function () {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string };
    assert.equal(MODULE_NAME, pkg.name);
  });

  it("finds a shared string from another node's set, and the node's own strings, in Node-RED's i18n", function () {
    const t = translator(nodeApi('dnc-check'), 'dnc-check');
    assert.equal(t('runtime.status.storeUnavailable'), 'store unavailable');
    assert.equal(t('runtime.status.registryStale', { registry: 'us-ndnc' }), 'stale us-ndnc');
    assert.equal(t('status.allowed'), 'allowed');
    assert.equal(translator(nodeApi('dnc-events'), 'dnc-events')('status.listening'), 'listening');
  });

  it("falls back to the shipped English catalogs when RED._ answers with the key (the test helper's)", function () {
    const t = translator({ _: (key: string) => key } as unknown as NodeAPI, 'dnc-check');
    assert.equal(t('runtime.status.waiting'), 'waiting for store');
    assert.equal(t('runtime.status.registryLoading', { percent: 40 }), 'registry 40%');
    assert.equal(t('status.allowed'), 'allowed');
  });
});
