import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncRegistrySource } from '../lib/registries/check';
import type { RegistryLookupResult } from '../lib/registries/lookup-result';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';

/**
 * A registry source written by an integrator (anything with lookupMany) may misbehave: answer for
 * fewer numbers than asked, or throw. Neither may let a contact through.
 */
describe('registry sources that misbehave fail closed', () => {
  let dir: string;
  let store: EmbeddedStore;
  let dnc: DncService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dnc-registry-failclosed-'));
    store = new EmbeddedStore({ path: join(dir, 'dnc-store.json') });
    await store.open();
    dnc = new DncService({ labels: [{ name: 'DNC_Sales' }], store });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function source(lookupMany: (numbers: readonly string[]) => RegistryLookupResult[]): SyncRegistrySource {
    return { id: 'US_NDNC', name: 'custom', covers: () => true, lookupMany };
  }

  it('blocks a number the source gave no answer for (a short answer list)', () => {
    const silent = source(() => []);
    const decision = dnc.check('+14155550199', { registries: [silent] });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons[0].code, 'REGISTRY_UNAVAILABLE');
    const batch = dnc.checkMany(['+14155550199', '+14155550123'], { registries: [silent] });
    assert.equal(batch.allowed.length, 0);
  });

  it('blocks when the source throws', () => {
    const broken = source(() => {
      throw new Error('disk gone');
    });
    const decision = dnc.check('+14155550199', { registries: [broken] });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons[0].code, 'REGISTRY_UNAVAILABLE');
  });
});
