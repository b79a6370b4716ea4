/* eslint-disable @typescript-eslint/no-unsafe-return -- messages from the test helper are untyped */
import assert from 'node:assert/strict';
import type { DncService } from '../../lib/service';
import { readFileSync, writeFileSync } from 'node:fs';
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
        type: 'dnc-add-label',
        z: 't1',
        name: '',
        config: 'c1',
        labels: ['DNC_Sales'],
        contact: 'payload',
        contactType: 'msg',
        source: 'ivr',
        reason: '',
        reasonType: 'str',
        actor: '',
        actorType: 'str',
        wires: [['out']],
        ...props,
      },
    ],
    ['out'],
    extra,
  );
}

function service(configId = 'c1'): DncService {
  return helper.getNode(configId).dnc.service;
}

describe('dnc-add-label node', function () {
  const userDir = useNodeRed();

  it('adds the labels and sends the msg with msg.dnc (added / alreadyPresent), then reports a repeat as already present', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales', 'Hold'], name: 'opt-out' }));
    const n1 = helper.getNode('n1');
    assert.equal(n1.name, 'opt-out');
    const errors = failOnError(n1);
    const first = nextMessage(helper.getNode('out'));
    n1.receive({ payload: '07911 123456', topic: 'ivr-optout' });
    const msg = await Promise.race([first, errors]);
    assert.equal(msg.topic, 'ivr-optout');
    assert.equal(msg.payload, '07911 123456', 'the payload is left alone');
    assert.equal(msg.dnc.contact, ANA, 'national number read with the default country');
    assert.deepEqual(msg.dnc.labels, ['DNC_Sales', 'Hold']);
    assert.deepEqual(msg.dnc.added, ['DNC_Sales', 'Hold']);
    assert.deepEqual(msg.dnc.changed, ['DNC_Sales', 'Hold']);
    assert.deepEqual(msg.dnc.alreadyPresent, []);
    assert.equal(msg.dnc.source, 'ivr');
    assert.equal(msg.dnc.seq, 1);
    assert.equal(msg.dnc.record.op, 'add');

    const second = nextMessage(helper.getNode('out'));
    n1.receive({ payload: ANA });
    const again = await second;
    assert.deepEqual(again.dnc.added, []);
    assert.deepEqual(again.dnc.alreadyPresent, ['DNC_Sales', 'Hold']);
    assert.equal(service().check(ANA, { channel: 'voice' }).allowed, false);
  });

  it('acknowledges only durable changes: when the msg leaves, the journal on disk holds the record', async function () {
    await helper.load(allModules, flow());
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: BEN });
    const msg = await out;
    const journal = readFileSync(join(userDir.dir, 'dnc-store.events.ndjson'), 'utf8').trim().split('\n');
    const record = JSON.parse(journal[journal.length - 1]);
    assert.equal(record.seq, msg.dnc.seq);
    assert.deepEqual(record.keys, [BEN]);
    assert.deepEqual(record.changed, ['DNC_Sales']);
    assert.equal(record.hash, msg.dnc.record.hash);
  });

  it('shows "<n> added" and "already labelled" in a green status', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales', 'Hold'] }));
    const n1 = helper.getNode('n1');
    const added = statusMatching(n1, (s) => s.text === '2 added');
    n1.receive({ payload: ANA });
    assert.deepEqual(await added, { fill: 'green', shape: 'dot', text: '2 added' });
    await delay(120);
    const already = statusMatching(n1, (s) => s.text === 'already labelled');
    n1.receive({ payload: ANA });
    assert.equal((await already).fill, 'green');
  });

  it('takes msg.labels when the node names none, and msg.source when the node leaves source blank', async function () {
    await helper.load(allModules, flow({ labels: [], source: '' }));
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA, labels: 'DNC_Marketing, Hold', source: 'bot' });
    const msg = await out;
    assert.deepEqual(msg.dnc.added, ['DNC_Marketing', 'Hold']);
    assert.equal(msg.dnc.source, 'bot');
  });

  it('ignores msg.source when the node sets a source, and defaults to ivr', async function () {
    await helper.load(
      allModules,
      flow({ source: 'agent' }, {}, [
        { id: 'n2', type: 'dnc-add-label', z: 't1', config: 'c1', labels: ['Hold'], wires: [['out']] },
      ]),
    );
    const out = collect(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA, source: 'bot' });
    helper.getNode('n2').receive({ payload: BEN });
    await delay(200);
    assert.deepEqual(out.map((m): string => m.dnc.source).sort(), ['agent', 'ivr']);
  });

  it('records reason and actor from typedInputs (msg, str, jsonata, flow) and campaign/channel from msg', async function () {
    const extra = [
      {
        id: 'n2',
        type: 'dnc-add-label',
        z: 't1',
        config: 'c1',
        labels: ['Hold'],
        contact: 'caller.number',
        contactType: 'msg',
        reason: '"said: " & transcript',
        reasonType: 'jsonata',
        actor: 'agentId',
        actorType: 'flow',
        wires: [['out']],
      },
    ];
    await helper.load(
      allModules,
      flow({ reason: 'why', reasonType: 'msg', actor: 'ivr-bot-1', actorType: 'str' }, {}, extra),
    );
    helper.getNode('n1').context().flow.set('agentId', 'agent-7');
    const first = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA, why: 'pressed 9', campaign: 'spring', channel: 'voice' });
    const a = await first;
    assert.equal(a.dnc.reason, 'pressed 9');
    assert.equal(a.dnc.actor, 'ivr-bot-1');
    assert.equal(a.dnc.record.campaign, 'spring');
    assert.equal(a.dnc.record.channel, 'voice');
    const second = nextMessage(helper.getNode('out'));
    helper.getNode('n2').receive({ caller: { number: CARL }, transcript: 'stop calling' });
    const b = await second;
    assert.equal(b.dnc.contact, CARL);
    assert.equal(b.dnc.reason, 'said: stop calling');
    assert.equal(b.dnc.actor, 'agent-7');
  });

  it('records an opt-out from a flow whose msg.labels has a blank item and whose source and reason carry stray spaces', async function () {
    await helper.load(
      allModules,
      flow({
        labels: [],
        source: '',
        contact: 'contact',
        contactType: 'msg',
        reason: 'payload',
        reasonType: 'msg',
      }),
    );
    const out = nextMessage(helper.getNode('out'));
    const sms = `${'please stop '.repeat(83)}now`; // 999 characters, then the newline an SMS body ends with
    helper
      .getNode('n1')
      .receive({ payload: `${sms}\n`, contact: ANA, labels: ['Hold', ' '], source: ' sms ' });
    const msg = await out;
    assert.deepEqual(msg.dnc.added, ['Hold']);
    assert.equal(msg.dnc.source, 'sms');
    assert.equal(msg.dnc.reason, sms);
  });

  it('records an opt-out whose actor and campaign a flow holds as numbers (an agent id, a CRM campaign id)', async function () {
    await helper.load(allModules, flow({ actor: 'agentId', actorType: 'flow' }));
    helper.getNode('n1').context().flow.set('agentId', 4711);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA, campaign: 20261204 });
    const msg = await out;
    assert.equal(msg.dnc.actor, '4711');
    assert.equal(msg.dnc.record.campaign, '20261204');
  });

  it('evaluates a JSONata contact and keeps msg.req/msg.res-like objects and msg.topic', async function () {
    await helper.load(allModules, flow({ contact: 'payload.emails[0]', contactType: 'jsonata' }));
    const req = { params: { id: '1' } };
    const res = { _res: {} };
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: { emails: ['Ana@Example.com'] }, req, res, topic: 'web' });
    const msg = await out;
    assert.equal(msg.dnc.contact, 'ana@example.com');
    assert.equal(msg.req, req);
    assert.equal(msg.res, res);
    assert.equal(msg.topic, 'web');
  });

  it('routes errors to a Catch node by code: invalid contact, unknown label, no labels', async function () {
    await helper.load(allModules, flow({ labels: [] }));
    const n1 = helper.getNode('n1');
    const caught = collect(helper.getNode('caught'));
    const out = collect(helper.getNode('out'));
    const red = statusMatching(n1, (s) => s.fill === 'red');
    n1.receive({ payload: 'not a number', labels: ['DNC_Sales'], topic: 'a' });
    n1.receive({ payload: ANA, labels: ['DNC_Unknown'], topic: 'b' });
    n1.receive({ payload: ANA, topic: 'c' });
    await delay(200);
    const codes = Object.fromEntries(caught.map((m) => [m.topic, caughtError(m).code]));
    assert.deepEqual(codes, { a: 'DNC_INVALID_CONTACT', b: 'DNC_UNKNOWN_LABEL', c: 'DNC_INVALID_INPUT' });
    assert.equal(out.length, 0, 'nothing is acknowledged when nothing was written');
    assert.equal((await red).shape, 'ring');
    assert.equal((await service().store.audit()).length, 0);
  });

  it('applies a list of contacts item by item: results, failed items with codes, a summary', async function () {
    await helper.load(allModules, flow());
    const out = nextMessage(helper.getNode('out'));
    const status = statusMatching(helper.getNode('n1'), (s) => s.text === '2 added');
    helper.getNode('n1').receive({ payload: [ANA, 'nonsense', BEN, ANA], topic: 'import' });
    const msg = await out;
    assert.equal(msg.topic, 'import');
    assert.deepEqual(msg.dnc.summary, { total: 4, changed: 2, unchanged: 1, failed: 1 });
    assert.deepEqual(
      msg.dnc.results.map((r: { contact: string; added: string[] }) => [r.contact, r.added.length]),
      [
        [ANA, 1],
        [BEN, 1],
        [ANA, 0],
      ],
    );
    assert.equal(msg.dnc.failed[0].item, 'nonsense');
    assert.equal(msg.dnc.failed[0].error.code, 'DNC_INVALID_CONTACT');
    await status;
  });

  it('keeps labels across a redeploy on the same store file, without duplicate audit records', async function () {
    const storePath = join(userDir.dir, 'shared', 'dnc.json');
    await helper.load(allModules, flow({}, { storePath }));
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA });
    await out;
    await helper.unload();
    await helper.load(allModules, flow({}, { storePath }));
    await storeReady();
    assert.equal(service().check(ANA, { channel: 'voice' }).allowed, false);
    const records = await service().store.audit();
    assert.equal(records.length, 1);
    const again = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.deepEqual((await again).dnc.alreadyPresent, ['DNC_Sales']);
    assert.equal((await service().store.audit()).length, 2);
  });

  it('lets several config nodes share one store file', async function () {
    const storePath = 'team-dnc.json';
    const extra = [
      config('c2', { storePath, labels: [{ name: 'DNC_Sales', channels: ['voice'] }] }),
      {
        id: 'chk',
        type: 'dnc-check',
        z: 't1',
        config: 'c2',
        channel: 'voice',
        wires: [['allowedOut'], ['blockedOut']],
      },
      { id: 'allowedOut', type: 'helper', z: 't1' },
      { id: 'blockedOut', type: 'helper', z: 't1' },
    ];
    await helper.load(allModules, flow({}, { storePath }, extra));
    assert.equal(service('c1').store, service('c2').store);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA });
    await out;
    const blocked = nextMessage(helper.getNode('blockedOut'));
    helper.getNode('chk').receive({ payload: ANA });
    assert.deepEqual((await blocked).dnc.matched, ['DNC_Sales']);
    const text = readFileSync(join(userDir.dir, 'team-dnc.events.ndjson'), 'utf8');
    assert.equal(text.trim().split('\n').length, 1);
  });

  it('routes DNC_STORE_UNAVAILABLE to Catch when the store cannot be opened', async function () {
    writeFileSync(join(userDir.dir, 'dnc-store.json'), '{ broken');
    writeFileSync(join(userDir.dir, 'dnc-store.events.ndjson'), 'garbage\n');
    await helper.load(allModules, flow());
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_STORE_UNAVAILABLE');
  });

  it('reports a missing configuration with a grey ring and DNC_NOT_CONFIGURED', async function () {
    await helper.load(allModules, flow({ config: '' }));
    const n1 = helper.getNode('n1');
    const grey = statusMatching(n1, (s) => s.fill === 'grey');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');
    assert.equal((await grey).text, 'not configured');
  });

  it('reports an unknown label in its own configuration at deploy (DNC_UNKNOWN_LABEL for every message)', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales', 'Nope'] }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_UNKNOWN_LABEL');
    await storeReady();
    assert.equal((await service().store.audit()).length, 0);
  });

  it('finishes a change in flight before closing on redeploy, and does not write it twice', async function () {
    await helper.load(allModules, flow());
    const out = collect(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: CARL });
    await helper.setFlows(flow({ name: 'v2' }), 'full');
    await storeReady();
    const records = await service().store.audit();
    assert.equal(records.length, 1);
    assert.equal(service().check(CARL).allowed, false);
    assert.ok(out.length <= 1, 'never acknowledged twice');
  });
});
