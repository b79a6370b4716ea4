import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LookupServer } from '../support/lookup-server';
import { WashServer } from '../support/wash-server';
import {
  ANA,
  CARL,
  allModules,
  caughtError,
  collect,
  config,
  delay,
  helper,
  nextMessage,
  statusMatching,
  storeReady,
  testFlow,
  useNodeRed,
} from './support';

/* eslint-disable @typescript-eslint/no-require-imports */
const registryModule = require('../../nodes/dnc-registry') as unknown;
const lookupModule = require('../../nodes/dnc-registry-lookup') as unknown;
/* eslint-enable @typescript-eslint/no-require-imports */
const modules = [...allModules, registryModule, lookupModule];

type Props = Record<string, unknown>;
const AU_LISTED = '+61412345678';
const AU_FREE = '+61412345679';

function today(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

function fileRegistry(id: string, path: string, extra: Props = {}): Props {
  return {
    id,
    type: 'dnc-registry',
    name: '',
    kind: 'file',
    registry: 'US_NDNC',
    path,
    watch: false,
    ...extra,
  };
}

function serviceRegistry(id: string, url: string, extra: Props = {}): Props {
  return {
    id,
    type: 'dnc-registry',
    name: 'AU wash',
    kind: 'service',
    registry: 'AU_DNCR',
    url: `${url}/wash`,
    method: 'POST',
    headers: '{"x-api-key":"{apiKey}"}',
    mapping: 'payload.results{ number: registered }',
    batchSize: 100,
    timeout: 2,
    retries: 0,
    concurrency: 2,
    ...extra,
  };
}

function lookupFlow(registries: string[], extra: Props[] = [], props: Props = {}): Props[] {
  return testFlow(
    [
      {
        id: 'n1',
        type: 'dnc-registry-lookup',
        z: 't1',
        name: '',
        registries,
        contact: 'payload',
        contactType: 'msg',
        wires: [['notListed'], ['listed'], ['unchecked']],
        ...props,
      },
    ],
    ['notListed', 'listed', 'unchecked'],
    extra,
  );
}

async function registryReady(id: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const state = helper.getNode(id).dncRegistry.info.state as string;
    if (state !== 'loading') return;
    if (Date.now() - started > timeoutMs) throw new Error(`registry ${id} still loading`);
    await delay(20);
  }
}

describe('dnc-registry and dnc-registry-lookup nodes', function () {
  this.timeout(60_000);
  const userDir = useNodeRed();
  let server: WashServer;

  beforeEach(async function () {
    server = await new WashServer().start();
    server.listed.add(AU_LISTED);
  });

  afterEach(async function () {
    await server.stop();
  });

  it('a file registry: not listed to output 1, listed to output 2, invalid to output 3, with msg.dnc.registries', async function () {
    writeFileSync(join(userDir.dir, `us-ndnc-${today(-2)}.txt`), '415,5550199\n212,5553003\n');
    await helper.load(
      modules,
      lookupFlow(['r1'], [fileRegistry('r1', `us-ndnc-${today(-2)}.txt`)], { defaultCountry: 'US' }),
    );
    await registryReady('r1');
    const n1 = helper.getNode('n1');

    const listed = nextMessage(helper.getNode('listed'));
    n1.receive({ payload: '(415) 555-0199', topic: 'keep' });
    const l = await listed;
    assert.equal(l.topic, 'keep');
    assert.equal(l.dnc.result, 'listed');
    assert.equal(l.dnc.contact, CARL);
    assert.equal(l.dnc.registries[0].registry, 'US_NDNC');
    assert.equal(l.dnc.registries[0].reason, 'LISTED');
    assert.equal(l.dnc.registries[0].asOf.slice(0, 10), today(-2));

    const free = nextMessage(helper.getNode('notListed'));
    n1.receive({ payload: ANA });
    const f = await free;
    assert.equal(f.dnc.result, 'not-listed');
    assert.equal(f.dnc.registries[0].reason, 'OUTSIDE_REGISTRY');

    const bad = nextMessage(helper.getNode('unchecked'));
    n1.receive({ payload: 'ana@example.com' });
    const b = await bad;
    assert.equal(b.dnc.result, 'could-not-check');
    assert.equal(b.dnc.contact, null);
  });

  it('arrays in give arrays out on all three outputs, with a summary', async function () {
    writeFileSync(join(userDir.dir, 'us.txt'), '415,5550199\n');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', 'us.txt')]));
    await registryReady('r1');
    const outs = ['notListed', 'listed', 'unchecked'].map((id) => nextMessage(helper.getNode(id)));
    helper.getNode('n1').receive({ payload: [CARL, ANA, 'nonsense', '+12125553004'] });
    const [free, listed, unchecked] = await Promise.all(outs);
    assert.deepEqual(free.payload, [ANA, '+12125553004']);
    assert.equal(listed.payload.length, 1);
    assert.equal(listed.payload[0].item, CARL);
    assert.equal(listed.payload[0].result.result, 'listed');
    assert.equal(unchecked.payload[0].item, 'nonsense');
    assert.deepEqual(free.dnc.summary, { total: 4, notListed: 2, listed: 1, couldNotCheck: 1 });
  });

  it('stale file data goes to output 3 (could not check) with REGISTRY_STALE', async function () {
    writeFileSync(join(userDir.dir, `us-ndnc-${today(-40)}.txt`), '415,5550199\n');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', `us-ndnc-${today(-40)}.txt`)]));
    await registryReady('r1');
    const n1 = helper.getNode('n1');
    const out = nextMessage(helper.getNode('unchecked'));
    n1.receive({ payload: '+12125553004' });
    const msg = await out;
    assert.equal(msg.dnc.registries[0].result, 'stale');
    assert.equal(msg.dnc.registries[0].reason, 'REGISTRY_STALE');
  });

  it('a service registry: JSONata mapping, the API key from credentials, service down to output 3', async function () {
    await helper.load(modules, lookupFlow(['r2'], [serviceRegistry('r2', server.url)]), {
      r2: { apiKey: 'k-123' },
    });
    const n1 = helper.getNode('n1');
    const listed = nextMessage(helper.getNode('listed'));
    n1.receive({ payload: AU_LISTED });
    const l = await listed;
    assert.equal(l.dnc.registries[0].registry, 'AU_DNCR');
    assert.equal(l.dnc.registries[0].name, 'AU wash');
    assert.equal(server.requests[0].headers['x-api-key'], 'k-123');

    server.fallback = 500;
    const unchecked = nextMessage(helper.getNode('unchecked'));
    n1.receive({ payload: AU_FREE });
    const u = await unchecked;
    assert.equal(u.dnc.registries[0].reason, 'REGISTRY_UNAVAILABLE');
    assert.match(u.dnc.registries[0].detail, /HTTP 500/);
  });

  it('a list through a service is washed in one request; partial answers are could-not-check', async function () {
    server.script.push('partial');
    await helper.load(modules, lookupFlow(['r2'], [serviceRegistry('r2', server.url)]));
    const outs = ['notListed', 'listed', 'unchecked'].map((id) => nextMessage(helper.getNode(id)));
    helper.getNode('n1').receive({ payload: [AU_LISTED, AU_FREE, '+61412345680'] });
    const [free, listed, unchecked] = await Promise.all(outs);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(free.payload, [AU_FREE]);
    assert.equal(listed.payload[0].item, AU_LISTED);
    assert.equal(unchecked.payload[0].item, '+61412345680');
  });

  it('an invalid registry configuration makes the lookup fail with a coded error a Catch node sees', async function () {
    await helper.load(modules, lookupFlow(['r2'], [serviceRegistry('r2', 'ftp://nowhere')]));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: AU_FREE });
    const msg = await caught;
    assert.equal(caughtError(msg).code, 'DNC_INVALID_INPUT');
    assert.match(msg.error.message, /not valid/);
  });

  it('Italian national numbers keep their leading 0 (national prefix from libphonenumber-js, not a fixed rule)', async function () {
    writeFileSync(join(userDir.dir, 'it.txt'), '06 1234 5678\n312 345 6789\n+39 02 1234 5678\n');
    await helper.load(
      modules,
      lookupFlow(
        ['r1'],
        [
          fileRegistry('r1', 'it.txt', {
            registry: 'custom',
            customId: 'IT_RPO',
            maxAgeDays: 30,
            layout: 'lines',
            layoutCallingCode: '39',
          }),
        ],
      ),
    );
    await registryReady('r1');
    assert.equal(helper.getNode('r1').dncRegistry.info.state, 'ready');
    const n1 = helper.getNode('n1');
    for (const number of ['+390612345678', '+393123456789', '+390212345678']) {
      const listed = nextMessage(helper.getNode('listed'));
      n1.receive({ payload: number });
      assert.equal((await listed).dnc.contact, number);
    }
    const free = nextMessage(helper.getNode('notListed'));
    n1.receive({ payload: '+390612345679' });
    assert.equal((await free).dnc.result, 'not-listed');
  });

  it('an empty registry file is refused: red status saying why, and lookups "could not check"', async function () {
    writeFileSync(join(userDir.dir, `us-ndnc-${today(-1)}.txt`), '');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', `us-ndnc-${today(-1)}.txt`)]));
    await registryReady('r1');
    const binding = helper.getNode('r1').dncRegistry;
    assert.equal(binding.info.state, 'unavailable');
    assert.match(binding.info.detail, /no numbers/);
    const out = nextMessage(helper.getNode('unchecked'));
    helper.getNode('n1').receive({ payload: CARL });
    const msg = await out;
    assert.equal(msg.dnc.result, 'could-not-check');
    assert.equal(msg.dnc.registries[0].result, 'unavailable');
  });

  it('a flow loads a file it wrote with msg.topic "reload" and its as-of date in msg.asOf', async function () {
    // Copied without its date (fresh mtime): without msg.asOf it would look fresh.
    writeFileSync(join(userDir.dir, 'us.txt'), '415,5550199\n212,5553003\n');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', 'us.txt')]));
    await registryReady('r1');
    const n1 = helper.getNode('n1');
    const r1 = helper.getNode('r1');
    const shown = statusMatching(r1, (s) => /\(flow\)/.test(s.text ?? ''), 5000);
    n1.receive({ topic: 'reload', asOf: today(-40) });
    const status = await shown;
    assert.equal(status.fill, 'red');
    assert.equal(status.text, `stale ${today(-40).slice(5)} (flow)`);
    const unchecked = nextMessage(helper.getNode('unchecked'));
    n1.receive({ payload: '+12125559999' });
    assert.equal((await unchecked).dnc.registries[0].reason, 'REGISTRY_STALE');
    // A listed number on that stale data is still listed.
    const listed = nextMessage(helper.getNode('listed'));
    n1.receive({ payload: CARL });
    assert.equal((await listed).dnc.registries[0].stale, true);

    // A future or blank date is refused with a coded error, and changes nothing.
    for (const asOf of [today(3), '  ', 42]) {
      const caught = nextMessage(helper.getNode('caught'));
      n1.receive({ topic: 'reload', asOf });
      const error = caughtError(await caught);
      assert.equal(error.code, 'DNC_INVALID_INPUT');
      assert.match(error.message, /as-of date|msg\.asOf/);
    }
    assert.equal(r1.dncRegistry.info.state, 'stale');

    // The file emptied at runtime: the reload is refused, the previous data kept, the lookup node red.
    await r1.dncRegistry.reload(today(-1));
    assert.equal(r1.dncRegistry.info.state, 'ready');
    writeFileSync(join(userDir.dir, 'us.txt'), '');
    const lookupStatus = statusMatching(n1, (s) => s.text === 'refused US_NDNC', 5000);
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ topic: 'reload', asOf: today(-1) });
    assert.match((await caught).error.message, /no numbers.*previous data \(2 numbers/);
    assert.equal((await lookupStatus).fill, 'red');
    const stillListed = nextMessage(helper.getNode('listed'));
    n1.receive({ payload: CARL });
    assert.equal((await stillListed).dnc.result, 'listed');
  });

  it('"valid for" longer than a known registry rule is a deploy error naming the rule', async function () {
    writeFileSync(join(userDir.dir, 'us.txt'), '415,5550199\n');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', 'us.txt', { maxAgeDays: 45 })]));
    assert.equal(helper.getNode('r1').dncRegistry.info.state, 'invalid');
    assert.match(helper.getNode('r1').dncRegistry.info.detail, /31 days; FTC/);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: CARL });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
  });

  it('the config node closes its registry on redeploy', async function () {
    writeFileSync(join(userDir.dir, 'us.txt'), '415,5550199\n');
    await helper.load(modules, lookupFlow(['r1'], [fileRegistry('r1', 'us.txt')]));
    await registryReady('r1');
    const binding = helper.getNode('r1').dncRegistry;
    assert.equal(binding.listenerCount, 1);
    await helper.unload();
    assert.equal(binding.info.state, 'closed');
    assert.equal(binding.listenerCount, 0);
  });

  describe('Check DNC with registries', function () {
    function checkFlow(props: Props, registries: Props[]): Props[] {
      return [
        { id: 't1', type: 'tab', label: 'DNC' },
        config('c1'),
        {
          id: 'n1',
          type: 'dnc-check',
          z: 't1',
          name: '',
          config: 'c1',
          labels: [],
          channel: 'voice',
          contact: 'payload',
          contactType: 'msg',
          wires: [['allowed'], ['blocked']],
          ...props,
        },
        { id: 'allowed', type: 'helper', z: 't1' },
        { id: 'blocked', type: 'helper', z: 't1' },
        ...registries,
      ];
    }

    it('a file registry blocks a listed number with REGISTRY and a blue status', async function () {
      writeFileSync(join(userDir.dir, `us-ndnc-${today(-1)}.txt`), '415,5550199\n');
      await helper.load(
        modules,
        checkFlow({ registries: ['r1'] }, [fileRegistry('r1', `us-ndnc-${today(-1)}.txt`)]),
      );
      await storeReady();
      await registryReady('r1');
      const n1 = helper.getNode('n1');
      const status = statusMatching(n1, (s) => s.fill === 'blue');
      const out = nextMessage(helper.getNode('blocked'));
      n1.receive({ payload: CARL });
      const msg = await out;
      assert.equal(msg.dnc.reasons[0].code, 'REGISTRY');
      assert.equal(msg.dnc.reasons[0].registry, 'US_NDNC');
      assert.equal(msg.dnc.reasons[0].asOf.slice(0, 10), today(-1));
      assert.deepEqual(await status, { fill: 'blue', shape: 'dot', text: 'blocked: US_NDNC' });
      const allowed = nextMessage(helper.getNode('allowed'));
      n1.receive({ payload: ANA });
      assert.equal((await allowed).dnc.registries[0].reason, 'OUTSIDE_REGISTRY');
    });

    it('a service registry: listed blocked, a failure blocks with REGISTRY_UNAVAILABLE, lists batched', async function () {
      await helper.load(modules, checkFlow({ registries: ['r2'] }, [serviceRegistry('r2', server.url)]));
      await storeReady();
      const n1 = helper.getNode('n1');
      const blocked = collect(helper.getNode('blocked'));
      const allowed = collect(helper.getNode('allowed'));
      n1.receive({ payload: AU_LISTED });
      n1.receive({ payload: AU_FREE });
      await delay(50);
      for (let i = 0; i < 100 && blocked.length + allowed.length < 2; i++) await delay(20);
      assert.equal(blocked[0].dnc.reasons[0].code, 'REGISTRY');
      assert.equal(allowed[0].payload, AU_FREE);

      const list = [AU_LISTED, '+61412345681', '+61412345682'];
      n1.receive({ payload: list });
      for (let i = 0; i < 100 && allowed.length < 2; i++) await delay(20);
      assert.deepEqual(allowed[1].payload, ['+61412345681', '+61412345682']);
      assert.equal(blocked[1].payload[0].decision.reasons[0].code, 'REGISTRY');
      // Two single checks, then one request for the two numbers of the list not cached yet.
      assert.equal(server.requests.length, 3);
      assert.deepEqual(server.requests[2].numbers, ['+61412345681', '+61412345682']);

      server.fallback = 500;
      const down = nextMessage(helper.getNode('blocked'));
      n1.receive({ payload: '+61412345683' });
      assert.equal((await down).dnc.reasons[0].code, 'REGISTRY_UNAVAILABLE');
    });

    it('the Reassigned Numbers Database: REASSIGNED blocks, "no" allows and its answer is kept with the attempt recorded', async function () {
      const lookup = await new LookupServer().start();
      try {
        lookup.disconnected.set('+12025550143', '2025-06-10');
        const rnd = {
          id: 'r3',
          type: 'dnc-registry',
          name: '',
          kind: 'file',
          registry: 'US_RND',
          url: lookup.url,
          rndConsentDate: '',
          rndNoData: 'block',
          timeout: 2,
          retries: 0,
        };
        await helper.load(modules, checkFlow({ registries: ['r3'], recordAttempt: true }, [rnd]), {
          r3: { accountSid: lookup.accountSid, apiKey: lookup.authToken },
        });
        await storeReady();
        const n1 = helper.getNode('n1');
        const status = statusMatching(n1, (s) => s.fill === 'blue');
        const blocked = nextMessage(helper.getNode('blocked'));
        n1.receive({ payload: { phone: '+12025550143', consentDate: '2025-01-05' } });
        const b = await blocked;
        assert.equal(b.dnc.reasons[0].code, 'REASSIGNED');
        assert.equal(b.dnc.reasons[0].rnd.answer, 'yes');
        assert.deepEqual(await status, { fill: 'blue', shape: 'dot', text: 'blocked: reassigned' });

        const allowed = nextMessage(helper.getNode('allowed'));
        n1.receive({ payload: { phone: '+13125550187', consentDate: '2025-01-05' } });
        const a = await allowed;
        assert.equal(a.dnc.registries[0].rnd.answer, 'no');
        const service = helper.getNode('c1').dnc.service;
        const [attempt] = service.store.attempts('+13125550187', 0);
        assert.deepEqual(attempt.rnd, [
          {
            number: '+13125550187',
            answer: 'no',
            consentDate: '2025-01-05',
            queriedAt: a.dnc.registries[0].rnd.queriedAt,
          },
        ]);
        // The credentials went as HTTP Basic; a contact without a consent date is not asked about.
        assert.equal(
          lookup.requests[0].authorization,
          `Basic ${Buffer.from(`${lookup.accountSid}:${lookup.authToken}`).toString('base64')}`,
        );
        const noDate = nextMessage(helper.getNode('blocked'));
        n1.receive({ payload: '+13125550188' });
        assert.equal((await noDate).dnc.reasons[0].code, 'CONSENT_DATE_MISSING');
        assert.equal(lookup.requests.length, 2);

        // A list: each allowed contact's attempt keeps its own answer.
        const list = nextMessage(helper.getNode('allowed'));
        n1.receive({
          payload: [
            { phone: '+13125550190', consentDate: '2025-03-01' },
            { phone: '+12025550143', consentDate: '2025-07-01' },
          ],
        });
        assert.equal((await list).payload.length, 2);
        assert.equal(service.store.attempts('+12025550143', 0)[0].rnd[0].consentDate, '2025-07-01');
        assert.equal(service.store.attempts('+13125550190', 0)[0].rnd[0].answer, 'no');
      } finally {
        await lookup.stop();
      }
    });

    it("a registry lookup asks the Reassigned Numbers Database about the registry node's consent date", async function () {
      const lookup = await new LookupServer().start();
      try {
        lookup.disconnected.set('+12025550143', '2025-06-10');
        const rnd = {
          id: 'r3',
          type: 'dnc-registry',
          name: '',
          registry: 'US_RND',
          url: lookup.url,
          rndConsentDate: '2025-01-05',
          timeout: 2,
          retries: 0,
        };
        await helper.load(modules, lookupFlow(['r3'], [rnd]), {
          r3: { accountSid: lookup.accountSid, apiKey: lookup.authToken },
        });
        const n1 = helper.getNode('n1');
        const listed = nextMessage(helper.getNode('listed'));
        n1.receive({ payload: '+12025550143' });
        assert.equal((await listed).dnc.registries[0].reason, 'REASSIGNED');
        const notListed = nextMessage(helper.getNode('notListed'));
        n1.receive({ payload: '+13125550187' });
        assert.equal((await notListed).dnc.registries[0].rnd.consentDate, '2025-01-05');
        assert.deepEqual(
          lookup.requests.map((r) => r.lastVerifiedDate),
          ['20250105', '20250105'],
        );
      } finally {
        await lookup.stop();
      }
    });

    it('registryFailure allow lets a contact through when the registry cannot answer', async function () {
      server.fallback = 500;
      await helper.load(
        modules,
        checkFlow({ registries: ['r2'], registryFailure: 'allow' }, [serviceRegistry('r2', server.url)]),
      );
      await storeReady();
      const out = nextMessage(helper.getNode('allowed'));
      helper.getNode('n1').receive({ payload: AU_FREE });
      const msg = await out;
      assert.equal(msg.dnc.allowed, true);
      assert.equal(msg.dnc.registries[0].result, 'unavailable');
    });

    it('a missing registry node is DNC_NOT_CONFIGURED; NCPR category from msg.ncprCategory', async function () {
      await helper.load(modules, [
        ...checkFlow({ registries: ['gone'] }, []),
        {
          id: 'n2',
          type: 'dnc-check',
          z: 't1',
          config: 'c1',
          labels: [],
          channel: 'sms',
          contact: 'payload',
          contactType: 'msg',
          wires: [['allowed'], ['blocked']],
        },
        { id: 'k1', type: 'catch', z: 't1', scope: ['n1'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 't1' },
      ]);
      await storeReady();
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode('n1').receive({ payload: CARL });
      assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');

      const ravi = '+919812345678';
      await helper.getNode('c1').dnc.service.setNcprPreference({ contact: ravi, ncpr: '1,3' });
      const n2 = helper.getNode('n2');
      const blocked = nextMessage(helper.getNode('blocked'));
      n2.receive({ payload: ravi, ncprCategory: 2 });
      const b = await blocked;
      assert.equal(b.dnc.reasons[0].code, 'NCPR_PREFERENCE');
      assert.equal(b.dnc.reasons[0].category, 2);
      const allowed = nextMessage(helper.getNode('allowed'));
      n2.receive({ payload: ravi, ncprCategory: '3' });
      assert.equal((await allowed).dnc.allowed, true);
    });
  });
});
