/**
 * The translated catalogs as the runtime uses them: Node-RED's own i18n (@node-red/util) registers the
 * shipped catalogs (dist/nodes/locales) per node set, and a node's statuses and errors resolve in the
 * runtime's language (settings `lang`), shared runtime strings included, with en-US for anything missing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { MODULE_NAME, translator } from '../../nodes/shared/i18n';

const LOCALES = join(__dirname, '..', '..', '..', 'dist', 'nodes', 'locales');

interface I18n {
  init(settings: Record<string, unknown>): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, options?: Record<string, unknown>): string;
  i: { loadLanguages(lngs: string[]): Promise<void> };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { i18n } = require('@node-red/util') as { i18n: I18n };

/** `RED._` as Node-RED builds it for a node set, in the language `lng` (the runtime's `lang`). */
function nodeApi(type: string, lng: string): NodeAPI {
  const namespace = `${MODULE_NAME}/${type}`;
  return {
    _: (key: string, subs?: Record<string, unknown>) =>
      i18n._(key.includes(':') ? key : `${namespace}:${key}`, { ...subs, lng }),
  } as unknown as NodeAPI;
}

describe('node message catalogs: the runtime in other languages', function () {
  const TYPES = ['dnc-config', 'dnc-check', 'dnc-add-label', 'dnc-registry'];

  before(async function () {
    await i18n.init({});
    for (const type of TYPES) {
      await i18n.registerMessageCatalog(`${MODULE_NAME}/${type}`, LOCALES, `${type}.json`);
    }
    await i18n.i.loadLanguages(['es-ES', 'pt-BR', 'de', 'fr', 'ja']);
  });

  it("resolves a node's statuses in es-ES, with their placeholders filled", function () {
    const t = translator(nodeApi('dnc-check', 'es-ES'), 'dnc-check');
    assert.equal(t('status.allowed'), 'permitido');
    assert.equal(t('status.blockedLabel', { label: 'DNC_Sales' }), 'bloqueado: DNC_Sales');
    assert.equal(t('status.batchBlocked', { blocked: 2, total: 5 }), 'bloq. 2/5');
    const added = translator(nodeApi('dnc-add-label', 'es-ES'), 'dnc-add-label');
    assert.equal(added('status.added', { count: 1 }), '1 añadidas');
  });

  it('resolves the shared runtime strings (error statuses, the store) from any node in es-ES', function () {
    const t = translator(nodeApi('dnc-check', 'es-ES'), 'dnc-check');
    assert.equal(t('runtime.status.storeUnavailable'), 'almacén no disp.');
    assert.equal(t('runtime.status.invalidContact'), 'contacto no válido');
    assert.equal(t('runtime.status.registryStale', { registry: 'US_NDNC' }), 'caducado US_NDNC');
  });

  it('resolves in the other shipped languages too', function () {
    const expected: Record<string, [string, string]> = {
      'pt-BR': ['bloqueado: DNC_Sales', 'armaz. indisponível'],
      de: ['gesperrt: DNC_Sales', 'Speicher fehlt'],
      fr: ['bloqué : DNC_Sales', 'stockage indispo.'],
      ja: ['ブロック: DNC_Sales', 'ストア利用不可'],
    };
    for (const [lng, [blocked, store]] of Object.entries(expected)) {
      const t = translator(nodeApi('dnc-check', lng), 'dnc-check');
      assert.equal(t('status.blockedLabel', { label: 'DNC_Sales' }), blocked, lng);
      assert.equal(t('runtime.status.storeUnavailable'), store, lng);
    }
    const registry = translator(nodeApi('dnc-registry', 'pt-BR'), 'dnc-registry');
    assert.equal(registry('status.refused.shrunk'), 'recusado: poucos');
  });

  it('falls back to en-US in a language the package does not ship', function () {
    const t = translator(nodeApi('dnc-check', 'ko'), 'dnc-check');
    assert.equal(t('status.blockedLabel', { label: 'DNC_Sales' }), 'blocked: DNC_Sales');
    assert.equal(t('runtime.status.storeUnavailable'), 'store unavailable');
  });
});
