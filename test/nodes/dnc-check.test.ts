/* eslint-disable @typescript-eslint/no-unsafe-return -- messages from the test helper are untyped */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ANA,
  BEN,
  CARL,
  allModules,
  caughtError,
  collect,
  config,
  delay,
  failOnError,
  helper,
  nextMessage,
  statusMatching,
  storeReady,
  testFlow,
  useNodeRed,
} from './support';

type Props = Record<string, unknown>;

function flow(props: Props = {}, configOverrides: Props = {}, extra: Props[] = []): Props[] {
  return testFlow(
    [
      config('c1', configOverrides),
      {
        id: 'n1',
        type: 'dnc-check',
        z: 't1',
        name: '',
        config: 'c1',
        labels: [],
        channel: '',
        contact: 'payload',
        contactType: 'msg',
        wires: [['allowed'], ['blocked']],
        ...props,
      },
    ],
    ['allowed', 'blocked'],
    extra,
  );
}

async function label(contact: unknown, labels: string[], configId = 'c1'): Promise<void> {
  const binding = helper.getNode(configId).dnc;
  await binding.service.addLabels({ contact, labels, source: 'test' });
}

describe('dnc-check node', function () {
  const userDir = useNodeRed();

  it('registers with its properties and sends an unlabelled contact to output 1 with msg.dnc', async function () {
    await helper.load(allModules, flow({ name: 'pre-dial', labels: ['DNC_Sales'], channel: 'voice' }));
    const n1 = helper.getNode('n1');
    assert.equal(n1.name, 'pre-dial');
    await storeReady();
    const out = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: ANA, topic: 'dial' });
    const msg = await out;
    assert.equal(msg.topic, 'dial');
    assert.equal(msg.payload, ANA);
    assert.equal(msg.dnc.allowed, true);
    assert.equal(msg.dnc.contact, ANA);
    assert.equal(msg.dnc.channel, 'voice');
    assert.deepEqual(msg.dnc.reasons, []);
    assert.equal(typeof msg.dnc.checkedAt, 'string');
  });

  it('sends a labelled contact to output 2 with the reason, and shows a blue "blocked: <label>" status', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales'], channel: 'sms' }));
    await storeReady();
    await label(ANA, ['DNC_Sales']);
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.fill === 'blue');
    const out = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: ANA });
    const msg = await out;
    assert.equal(msg.dnc.allowed, false);
    assert.deepEqual(msg.dnc.matched, ['DNC_Sales']);
    assert.equal(msg.dnc.reasons[0].code, 'LABEL');
    assert.equal(msg.dnc.reasons[0].label, 'DNC_Sales');
    assert.deepEqual(await status, { fill: 'blue', shape: 'dot', text: 'blocked: DNC_Sales' });
  });

  it('shows a green "allowed" status for an allowed contact', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.text === 'allowed');
    n1.receive({ payload: BEN });
    assert.deepEqual(await status, { fill: 'green', shape: 'dot', text: 'allowed' });
  });

  it('keeps the incoming msg: topic, req/res-like objects and other properties survive', async function () {
    await helper.load(allModules, flow({ channel: 'voice' }));
    await storeReady();
    await label(BEN, ['Hold']);
    const req = { url: '/dial', headers: { a: '1' } };
    const res = { _res: { status: () => undefined } };
    const out = nextMessage(helper.getNode('blocked'));
    helper.getNode('n1').receive({ payload: BEN, topic: 'campaign-7', req, res, agent: 'a12' });
    const msg = await out;
    assert.equal(msg.topic, 'campaign-7');
    assert.equal(msg.req, req);
    assert.equal(msg.res, res);
    assert.equal(msg.agent, 'a12');
    assert.equal(msg.payload, BEN);
  });

  it('respects channel scope: a voice/sms label does not block email, and reads msg.channel when blank', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    await label('ana@example.com', ['DNC_Sales']);
    const n1 = helper.getNode('n1');
    const allowed = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: 'ana@example.com', channel: 'email' });
    assert.equal((await allowed).dnc.channel, 'email');
    const blocked = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: 'ana@example.com', channel: 'sms' });
    assert.deepEqual((await blocked).dnc.matched, ['DNC_Sales']);
  });

  it("enforces only the node's labels, plus global labels which always apply", async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Marketing'], channel: 'sms' }));
    await storeReady();
    await label(ANA, ['DNC_Sales']);
    await label(BEN, ['DNC_Global']);
    const n1 = helper.getNode('n1');
    const allowed = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: ANA });
    const a = await allowed;
    assert.equal(a.dnc.allowed, true);
    assert.equal(a.dnc.labels[0].label, 'DNC_Sales', 'the carried label is still reported');
    const blocked = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: BEN });
    assert.deepEqual((await blocked).dnc.matched, ['DNC_Global']);
  });

  it('takes msg.labels when the node names none, and every label when msg.labels is absent too', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    await label(ANA, ['DNC_Sales']);
    const n1 = helper.getNode('n1');
    const allowed = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: ANA, labels: ['DNC_Marketing'] });
    assert.equal((await allowed).dnc.allowed, true);
    const blocked = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: ANA });
    assert.deepEqual((await blocked).dnc.matched, ['DNC_Sales']);
  });

  it('routes an unknown label in msg.labels to a Catch node with DNC_UNKNOWN_LABEL and a red ring', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.fill === 'red');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA, labels: ['DNC_Nope'], topic: 't' });
    const msg = await caught;
    assert.equal(caughtError(msg).code, 'DNC_UNKNOWN_LABEL');
    assert.equal(msg.error.source.id, 'n1');
    assert.equal(msg.topic, 't');
    assert.deepEqual(await status, { fill: 'red', shape: 'ring', text: 'unknown label' });
  });

  it('routes a malformed msg.channel to a Catch node with DNC_INVALID_INPUT', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA, channel: 'not a channel!' });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
  });

  it('blocks a contact that cannot be parsed (INVALID_CONTACT on output 2), it is not an error', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const n1 = helper.getNode('n1');
    const caught = collect(helper.getNode('caught'));
    const status = statusMatching(n1, (s) => s.fill === 'blue');
    const out = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: 'call me maybe' });
    const msg = await out;
    assert.equal(msg.dnc.allowed, false);
    assert.equal(msg.dnc.reasons[0].code, 'INVALID_CONTACT');
    assert.equal((await status).text, 'blocked: invalid');
    await delay(20);
    assert.equal(caught.length, 0);
  });

  it('reads the contact from a nested msg property, flow and global context, env and a string', async function () {
    const extra = [
      {
        id: 'nFlow',
        type: 'dnc-check',
        z: 't1',
        config: 'c1',
        contact: 'dialTo',
        contactType: 'flow',
        wires: [['allowed'], ['blocked']],
      },
      {
        id: 'nGlobal',
        type: 'dnc-check',
        z: 't1',
        config: 'c1',
        contact: 'next',
        contactType: 'global',
        wires: [['allowed'], ['blocked']],
      },
      {
        id: 'nEnv',
        type: 'dnc-check',
        z: 't1',
        config: 'c1',
        contact: 'DNC_TEST_CONTACT',
        contactType: 'env',
        wires: [['allowed'], ['blocked']],
      },
      {
        id: 'nStr',
        type: 'dnc-check',
        z: 't1',
        config: 'c1',
        contact: CARL,
        contactType: 'str',
        wires: [['allowed'], ['blocked']],
      },
    ];
    process.env.DNC_TEST_CONTACT = BEN;
    try {
      await helper.load(allModules, flow({ contact: 'customer.phone', contactType: 'msg' }, {}, extra));
      await storeReady();
      await label(ANA, ['Hold']);
      await label(BEN, ['Hold']);
      await label(CARL, ['Hold']);
      const blocked = collect(helper.getNode('blocked'));
      helper.getNode('n1').context().flow.set('dialTo', ANA);
      helper.getNode('n1').context().global.set('next', ANA);
      helper.getNode('n1').receive({ customer: { phone: ANA } });
      helper.getNode('nFlow').receive({});
      helper.getNode('nGlobal').receive({});
      helper.getNode('nEnv').receive({});
      helper.getNode('nStr').receive({});
      await delay(100);
      assert.deepEqual(
        blocked.map((m): string => m.dnc.contact),
        [ANA, ANA, ANA, BEN, CARL],
      );
    } finally {
      delete process.env.DNC_TEST_CONTACT;
    }
  });

  it('evaluates a JSONata contact expression', async function () {
    await helper.load(
      allModules,
      flow({ contact: '"+44" & $substring(payload.local, 1)', contactType: 'jsonata' }),
    );
    await storeReady();
    await label(ANA, ['Hold']);
    const out = nextMessage(helper.getNode('blocked'));
    helper.getNode('n1').receive({ payload: { local: '07911123456' }, topic: 'x' });
    const msg = await out;
    assert.equal(msg.dnc.contact, ANA);
    assert.equal(msg.topic, 'x');
  });

  it('reports a JSONata syntax error at deploy and routes messages to Catch with DNC_INVALID_INPUT', async function () {
    await helper.load(allModules, flow({ contact: 'payload.(', contactType: 'jsonata' }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
  });

  it('checks a campaign list: allowed items on output 1, blocked items with decisions on output 2, a summary', async function () {
    await helper.load(allModules, flow({ channel: 'sms' }));
    await storeReady();
    await label(BEN, ['DNC_Sales']);
    await label('x@example.com', ['DNC_Marketing']);
    const allowedOut = nextMessage(helper.getNode('allowed'));
    const blockedOut = nextMessage(helper.getNode('blocked'));
    const list = [ANA, BEN, { email: 'x@example.com', ref: 7 }, 'nonsense', CARL];
    helper.getNode('n1').receive({ payload: list, topic: 'campaign' });
    const [allowed, blocked] = await Promise.all([allowedOut, blockedOut]);
    assert.deepEqual(allowed.payload, [ANA, CARL]);
    assert.equal(allowed.topic, 'campaign');
    assert.deepEqual(
      blocked.payload.map((b: { item: unknown }) => b.item),
      [BEN, { email: 'x@example.com', ref: 7 }, 'nonsense'],
    );
    assert.equal(blocked.payload[0].decision.matched[0], 'DNC_Sales');
    assert.equal(blocked.payload[2].decision.reasons[0].code, 'INVALID_CONTACT');
    assert.equal(allowed.dnc.summary.total, 5);
    assert.equal(allowed.dnc.summary.allowed, 2);
    assert.equal(allowed.dnc.summary.blocked, 3);
    assert.deepEqual({ ...allowed.dnc.summary.reasons }, { LABEL: 2, INVALID_CONTACT: 1 });
    assert.deepEqual({ ...allowed.dnc.summary.labels }, { DNC_Sales: 1, DNC_Marketing: 1 });
    assert.equal(blocked.dnc.summary.blocked, 3);
    assert.equal(typeof allowed.dnc.checkedAt, 'string');
    assert.equal(allowed.dnc.channel, 'sms');
  });

  it('sends an empty list on the side with no items in batch mode, and shows counts in the status', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.text === '2 allowed');
    const allowedOut = nextMessage(helper.getNode('allowed'));
    const blockedOut = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: [ANA, BEN] });
    const [allowed, blocked] = await Promise.all([allowedOut, blockedOut]);
    assert.deepEqual(allowed.payload, [ANA, BEN]);
    assert.deepEqual(blocked.payload, []);
    assert.equal((await status).fill, 'green');
    await delay(150);
    const blueStatus = statusMatching(n1, (s) => s.fill === 'blue');
    n1.receive({ payload: ['bad', ANA, 'worse'] });
    assert.equal((await blueStatus).text, '2/3 blocked');
  });

  it('reports a missing configuration: grey ring, and DNC_NOT_CONFIGURED to a Catch node', async function () {
    await helper.load(allModules, flow({ config: '' }));
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.fill === 'grey');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');
    assert.deepEqual(await status, { fill: 'grey', shape: 'ring', text: 'not configured' });
  });

  it('survives an invalid label configuration: the config reports it, the check fails closed to Catch', async function () {
    const bad = { labels: [{ name: 'DNC Sales' }, { name: 'ok' }] };
    await helper.load(allModules, flow({}, bad));
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.service, null);
    assert.equal(c1.dnc.error.code, 'DNC_INVALID_LABEL');
    const n1 = helper.getNode('n1');
    const allowed = collect(helper.getNode('allowed'));
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_LABEL');
    assert.equal(allowed.length, 0);
  });

  it('reports an unknown label among its own labels at deploy, and fails every message with DNC_UNKNOWN_LABEL', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales', 'DNC_Gone'] }));
    const n1 = helper.getNode('n1');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_UNKNOWN_LABEL');
  });

  it('fails closed when the store cannot be opened: STORE_UNAVAILABLE on output 2 and a red ring', async function () {
    writeFileSync(join(userDir.dir, 'dnc-store.json'), '{ this is not json');
    writeFileSync(join(userDir.dir, 'dnc-store.events.ndjson'), 'garbage\n');
    await helper.load(allModules, flow());
    const n1 = helper.getNode('n1');
    await statusMatching(n1, (s) => s.text === 'store unavailable');
    const out = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: ANA });
    const msg = await out;
    assert.equal(msg.dnc.allowed, false);
    assert.equal(msg.dnc.reasons[0].code, 'STORE_UNAVAILABLE');
  });

  it('answers a message that arrives while the store is still opening (no premature block)', async function () {
    const load = helper.load(allModules, flow());
    await load;
    // First message right after deploy: the store may still be opening.
    const out = nextMessage(helper.getNode('allowed'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal((await out).dnc.allowed, true);
  });

  it('clears its status on redeploy, removes only its own listeners, and works again after it', async function () {
    const extra = [{ id: 'n2', type: 'dnc-check', z: 't1', config: 'c1', wires: [[], []] }];
    await helper.load(allModules, flow({}, {}, extra));
    await storeReady();
    await label(ANA, ['Hold']);
    const binding = helper.getNode('c1').dnc;
    assert.equal(binding.listenerCount, 2);
    const oldNode = helper.getNode('n1');
    const cleared = statusMatching(oldNode, (s) => Object.keys(s).length === 0);
    await helper.setFlows(flow({ name: 'v2' }), 'full');
    await cleared;
    assert.equal(binding.listenerCount, 0);
    assert.equal(binding.state, 'closed');
    const fresh = helper.getNode('n1');
    assert.notEqual(fresh, oldNode);
    assert.equal(helper.getNode('c1').dnc.listenerCount, 1);
    await storeReady();
    const out = nextMessage(helper.getNode('blocked'));
    fresh.receive({ payload: ANA });
    assert.deepEqual((await out).dnc.matched, ['Hold'], 'labels written before the redeploy still block');
  });

  it('does not report errors for normal traffic', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales'], channel: 'voice' }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const allowed = collect(helper.getNode('allowed'));
    for (let i = 0; i < 200; i++) n1.receive({ payload: i % 2 ? ANA : CARL });
    await Promise.race([delay(200), errors]);
    assert.equal(allowed.length, 200);
  });

  function deployErrors(id: string): string[] {
    const log = helper.log();
    return (log.args as [{ level: number; msg: unknown; id?: string }][])
      .map((a) => a[0])
      .filter((m) => m.level === log.ERROR && m.id === id)
      .map((m) => String(m.msg));
  }

  it('blocks a msg.channel neither built in nor declared (a typo, a synonym) with UNKNOWN_CHANNEL and a red ring', async function () {
    await helper.load(allModules, flow({ labels: [] }));
    await storeReady();
    await label(ANA, ['DNC_Marketing']); // email, sms, whatsapp
    const n1 = helper.getNode('n1');
    const allowed = collect(helper.getNode('allowed'));
    for (const channel of ['smss', 'Text']) {
      const status = statusMatching(n1, (s) => s.fill === 'red');
      const blocked = nextMessage(helper.getNode('blocked'));
      n1.receive({ payload: ANA, channel });
      const msg = await blocked;
      assert.equal(msg.dnc.allowed, false);
      assert.equal(msg.dnc.channel, channel.toLowerCase());
      assert.deepEqual(
        msg.dnc.reasons.map((r: { code: string }) => r.code),
        ['UNKNOWN_CHANNEL'],
      );
      assert.deepEqual(await status, {
        fill: 'red',
        shape: 'ring',
        text: `bad channel: ${channel.toLowerCase()}`,
      });
    }
    assert.equal(allowed.length, 0);
    const none = nextMessage(helper.getNode('allowed'));
    const list = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: [ANA, BEN], channel: 'smss' });
    assert.deepEqual((await list).dnc.summary.reasons, { UNKNOWN_CHANNEL: 2 });
    assert.deepEqual((await none).payload, [], 'a list: no item allowed');
  });

  it('reports a node channel that is not declared at deploy: node error, red ring, every message to Catch', async function () {
    await helper.load(allModules, flow({ channel: 'smss' }));
    assert.ok(
      deployErrors('n1').some((m) => /channel "smss" is not a known channel/.test(m)),
      String(deployErrors('n1')),
    );
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.fill === 'red');
    const allowed = collect(helper.getNode('allowed'));
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
    assert.equal((await status).shape, 'ring');
    assert.equal(allowed.length, 0);
  });

  it('accepts a custom channel declared in the DNC labels configuration, case-insensitively', async function () {
    await helper.load(allModules, flow({ channel: 'FAX' }, { channels: ['fax'] }));
    await storeReady();
    await label(ANA, ['DNC_Sales']); // voice, sms: not fax
    const n1 = helper.getNode('n1');
    const allowed = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: ANA });
    assert.equal((await allowed).dnc.channel, 'fax');
    assert.deepEqual(deployErrors('n1'), []);
  });
});
