import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DncError } from '../lib/errors';
import { FileRegistry } from '../lib/registries/registry';
import { ServiceRegistrySource } from '../lib/registries/service-source';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { mapResults, WashServer } from './support/wash-server';

const DAY = 86_400_000;
const MARCH_1 = Date.UTC(2026, 2, 1);
const ANA = '+447911123456';
const CARL = '+14155550199';
const AU_LISTED = '+61412345678';
const AU_FREE = '+61412345679';

const LABELS = [
  { name: 'DNC_Sales', channels: ['voice', 'sms'] },
  { name: 'DNC_Global', global: true },
];

describe('Check DNC with registries and NCPR preferences', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let dnc: DncService;
  let clock: number;
  let us: FileRegistry;
  let server: WashServer;
  let au: ServiceRegistrySource;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'dnc-registry-check-'));
    clock = MARCH_1 + DAY;
    store = new EmbeddedStore({ path: join(dir, 'dnc-store.json') });
    await store.open();
    dnc = new DncService({ labels: LABELS, defaultCountry: 'GB', store, now: () => clock });
    writeFileSync(join(dir, 'us-ndnc-2026-03-01.txt'), '415,5550199\n212,5553003\n');
    us = new FileRegistry({
      id: 'US_NDNC',
      source: join(dir, 'us-ndnc-2026-03-01.txt'),
      watch: false,
      now: () => clock,
    });
    const outcome = await us.start();
    assert.equal(outcome.ok, true);
    server = await new WashServer().start();
    server.listed.add(AU_LISTED);
    au = new ServiceRegistrySource({
      id: 'AU_DNCR',
      url: `${server.url}/wash`,
      mapResponse: mapResults,
      retries: 0,
      backoffMs: 10,
      now: () => clock,
    });
  });

  afterEach(async function () {
    await us.close();
    await au.close();
    await server.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a contact on a file registry is blocked with REGISTRY naming the registry and its as-of date', function () {
    const decision = dnc.check(CARL, { registries: [us] });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons.length, 1);
    const reason = decision.reasons[0];
    assert.equal(reason.code, 'REGISTRY');
    assert.equal(reason.registry, 'US_NDNC');
    assert.equal(reason.asOf, new Date(MARCH_1).toISOString());
    assert.equal(reason.number, CARL);
    assert.match(reason.message, /US_NDNC \(data as of 2026-03-01\)/);
    assert.deepEqual(decision.registries, [
      {
        registry: 'US_NDNC',
        name: 'US_NDNC',
        number: CARL,
        result: 'listed',
        asOf: new Date(MARCH_1).toISOString(),
        reason: 'LISTED',
      },
    ]);
  });

  it('a number outside a registry (another country) is not blocked by it', function () {
    const decision = dnc.check(ANA, { registries: [us] });
    assert.equal(decision.allowed, true);
    assert.equal(decision.registries![0].reason, 'OUTSIDE_REGISTRY');
  });

  it('contacts without a phone number are not looked up; checks without registries keep their shape', function () {
    const byEmail = dnc.check('ana@example.com', { registries: [us] });
    assert.equal(byEmail.allowed, true);
    assert.deepEqual(byEmail.registries, []);
    const plain = dnc.check(CARL);
    assert.equal(plain.allowed, true);
    assert.equal('registries' in plain, false);
  });

  it('stale data blocks with REGISTRY_STALE, unless failures are allowed', function () {
    clock = MARCH_1 + 32 * DAY;
    const blocked = dnc.check('+12125553004', { registries: [us] });
    assert.equal(blocked.allowed, false);
    assert.equal(blocked.reasons[0].code, 'REGISTRY_STALE');
    assert.equal(blocked.reasons[0].registry, 'US_NDNC');
    const allowed = dnc.check('+12125553004', { registries: [us], registryFailure: 'allow' });
    assert.equal(allowed.allowed, true);
    assert.equal(allowed.registries![0].result, 'stale');
    // A listed number still blocks when failures are allowed: allowing failures is not ignoring answers.
    clock = MARCH_1 + DAY;
    assert.equal(dnc.check(CARL, { registries: [us], registryFailure: 'allow' }).reasons[0].code, 'REGISTRY');
  });

  it('with registry failures allowed, a number that stale data lists is still blocked with REGISTRY (stale: true)', function () {
    clock = MARCH_1 + 32 * DAY;
    for (const registryFailure of ['allow', 'block'] as const) {
      const decision = dnc.check(CARL, { registries: [us], registryFailure });
      assert.equal(decision.allowed, false, registryFailure);
      assert.deepEqual(
        decision.reasons.map((r) => [r.code, r.registry, r.stale]),
        [['REGISTRY', 'US_NDNC', true]],
      );
      assert.match(decision.reasons[0].message, /past its validity/);
    }
    // The same in a list.
    const batch = dnc.checkMany([CARL, '+12125553004'], { registries: [us], registryFailure: 'allow' });
    assert.equal(batch.allowed.length, 1);
    assert.equal(batch.blocked.length, 1);
  });

  it('with registry failures allowed, a number an expired wash result lists is still blocked (stale: true)', async function () {
    const first = await dnc.checkAsync(AU_LISTED, { registries: [au] });
    assert.equal(first.reasons[0].code, 'REGISTRY');
    clock += 31 * DAY;
    server.fallback = 500;
    const decision = await dnc.checkAsync(AU_LISTED, { registries: [au], registryFailure: 'allow' });
    assert.equal(decision.allowed, false);
    assert.deepEqual(
      decision.reasons.map((r) => [r.code, r.stale]),
      [['REGISTRY', true]],
    );
  });

  it('a registry not loaded blocks with REGISTRY_UNAVAILABLE', function () {
    const empty = new FileRegistry({ id: 'CA_DNCL', source: join(dir, 'missing'), watch: false });
    const decision = dnc.check(CARL, { registries: [empty] });
    assert.equal(decision.reasons[0].code, 'REGISTRY_UNAVAILABLE');
    assert.equal(decision.reasons[0].registry, 'CA_DNCL');
  });

  it('labels and registries both give their reasons', async function () {
    await dnc.addLabels({ contact: CARL, labels: ['DNC_Sales'], source: 'test' });
    const decision = dnc.check(CARL, { registries: [us], channel: 'voice' });
    assert.deepEqual(
      decision.reasons.map((r) => r.code),
      ['LABEL', 'REGISTRY'],
    );
  });

  it('a service registry answers on the async path; the sync path fails closed', async function () {
    const listed = await dnc.checkAsync(AU_LISTED, { registries: [au, us] });
    assert.equal(listed.allowed, false);
    assert.equal(listed.reasons[0].code, 'REGISTRY');
    assert.equal(listed.reasons[0].registry, 'AU_DNCR');
    const free = await dnc.checkAsync(AU_FREE, { registries: [au, us] });
    assert.equal(free.allowed, true);
    assert.deepEqual(
      free.registries!.map((r) => [r.registry, r.reason]),
      [
        ['AU_DNCR', 'NOT_LISTED'],
        ['US_NDNC', 'OUTSIDE_REGISTRY'],
      ],
    );
    const sync = dnc.check(AU_FREE, { registries: [au] });
    assert.equal(sync.allowed, false);
    assert.equal(sync.reasons[0].code, 'REGISTRY_UNAVAILABLE');
  });

  it('a list is washed in one request per batch; the summary counts registry reasons', async function () {
    await dnc.addLabels({ contact: ANA, labels: ['DNC_Global'], source: 'test' });
    const result = await dnc.checkManyAsync([AU_LISTED, AU_FREE, ANA, 'not a contact', AU_FREE], {
      registries: [au],
    });
    assert.deepEqual(result.allowed, [AU_FREE, AU_FREE]);
    assert.equal(result.summary.blocked, 3);
    assert.deepEqual(result.summary.reasons, { REGISTRY: 1, LABEL: 1, INVALID_CONTACT: 1 });
    assert.equal(server.requests.length, 1);
    assert.deepEqual(server.requests[0].numbers.sort(), [AU_LISTED, AU_FREE].sort());
  });

  it('a service that cannot answer blocks with REGISTRY_UNAVAILABLE, unless failures are allowed', async function () {
    server.fallback = 500;
    const blocked = await dnc.checkAsync(AU_FREE, { registries: [au] });
    assert.equal(blocked.reasons[0].code, 'REGISTRY_UNAVAILABLE');
    assert.match(blocked.reasons[0].message, /HTTP 500/);
    const allowed = await dnc.checkAsync(AU_FREE, { registries: [au], registryFailure: 'allow' });
    assert.equal(allowed.allowed, true);
    assert.equal(allowed.registries![0].result, 'unavailable');
  });

  it('refuses a bad registryFailure or registries option', function () {
    assert.throws(
      () => dnc.check(CARL, { registries: [us], registryFailure: 'maybe' as 'allow' }),
      (e: DncError) => e.code === 'DNC_INVALID_INPUT' && e.field === 'registryFailure',
    );
    assert.throws(
      () => dnc.check(CARL, { registries: [{}] as never }),
      (e: DncError) => e.code === 'DNC_INVALID_INPUT' && e.field === 'registries',
    );
  });

  describe('India NCPR', function () {
    const RAVI = '+919812345678';

    it('records a preference as reserved labels and blocks a refused category with NCPR_PREFERENCE', async function () {
      const outcome = await dnc.setNcprPreference({ contact: RAVI, ncpr: '1,3', source: 'ivr' });
      assert.deepEqual(outcome.changed, ['NCPR_1', 'NCPR_3']);
      const refused = dnc.check(RAVI, { ncprCategory: 2 });
      assert.equal(refused.allowed, false);
      assert.deepEqual(refused.reasons[0], {
        code: 'NCPR_PREFERENCE',
        category: 2,
        preference: '1,3',
        message: `${RAVI} accepts NCPR categories 1,3, not category 2`,
      });
      assert.equal(dnc.check(RAVI, { ncprCategory: '3' }).allowed, true);
    });

    it('without a campaign category the preference is not consulted, and NCPR labels are not blocking labels', async function () {
      await dnc.setNcprPreference({ contact: RAVI, ncpr: 0 });
      const decision = dnc.check(RAVI);
      assert.equal(decision.allowed, true);
      assert.deepEqual(
        decision.labels.map((l) => l.label),
        ['NCPR_0'],
      );
    });

    it('0 blocks every category; a new preference replaces the old one', async function () {
      await dnc.setNcprPreference({ contact: RAVI, ncpr: 0 });
      for (const category of [1, 5, 8]) {
        const decision = dnc.check(RAVI, { ncprCategory: category });
        assert.equal(decision.reasons[0].code, 'NCPR_PREFERENCE');
        assert.match(decision.reasons[0].message, /preference 0/);
      }
      const outcome = await dnc.setNcprPreference({ contact: RAVI, ncpr: [5] });
      assert.deepEqual(outcome.changed, ['NCPR_5', 'NCPR_0']);
      assert.equal(dnc.check(RAVI, { ncprCategory: 5 }).allowed, true);
      assert.equal(dnc.check(RAVI, { ncprCategory: 1 }).allowed, false);
      const labels = store.lookup(RAVI)!.labels.map((l) => l.label);
      assert.deepEqual(labels, ['NCPR_5']);
    });

    it('two concurrent updates leave one valid preference: the later one', async function () {
      await dnc.setNcprPreference({ contact: RAVI, ncpr: 0 });
      const [first, second] = await Promise.all([
        dnc.setNcprPreference({ contact: RAVI, ncpr: 1 }),
        dnc.setNcprPreference({ contact: RAVI, ncpr: 2 }),
      ]);
      assert.deepEqual(first.changed, ['NCPR_1', 'NCPR_0']);
      assert.deepEqual(second.changed, ['NCPR_2', 'NCPR_1']);
      const labels = store.lookup(RAVI)!.labels.map((l) => l.label);
      assert.deepEqual(labels, ['NCPR_2']);
      assert.equal(dnc.check(RAVI, { ncprCategory: 3 }).reasons[0].code, 'NCPR_PREFERENCE');
      assert.equal(dnc.check(RAVI, { ncprCategory: 1 }).reasons[0].code, 'NCPR_PREFERENCE');
      assert.equal(dnc.check(RAVI, { ncprCategory: 2 }).allowed, true);
    });

    it('the label nodes can write NCPR labels without defining them; a contact without a preference is allowed', async function () {
      await dnc.addLabels({ contact: RAVI, labels: 'NCPR_4, DNC_Sales', source: 'agent' });
      assert.equal(dnc.check(RAVI, { ncprCategory: 4, channel: 'email' }).allowed, true);
      assert.equal(dnc.check(RAVI, { ncprCategory: 2, channel: 'email' }).reasons[0].code, 'NCPR_PREFERENCE');
      await dnc.removeLabels({ contact: RAVI, labels: ['NCPR_4'], source: 'agent' });
      assert.equal(dnc.check(RAVI, { ncprCategory: 2, channel: 'email' }).allowed, true);
      assert.throws(
        () => dnc.check(RAVI, { ncprCategory: 9 }),
        (e: DncError) => e.code === 'DNC_INVALID_INPUT' && e.field === 'ncprCategory',
      );
      await assert.rejects(
        dnc.setNcprPreference({ contact: RAVI, ncpr: '' }),
        (e: DncError) => e.code === 'DNC_INVALID_INPUT',
      );
    });
  });
});
