/* eslint-disable @typescript-eslint/no-unsafe-return -- messages from the test helper are untyped */
import assert from 'node:assert/strict';
import type { DncService } from '../../lib/service';
import {
  ANA,
  BEN,
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

type Props = Record<string, unknown>;

function flow(props: Props = {}, configOverrides: Props = {}): Props[] {
  return testFlow(
    [
      config('c1', configOverrides),
      {
        id: 'n1',
        type: 'dnc-remove-label',
        z: 't1',
        name: '',
        config: 'c1',
        labels: ['DNC_Sales'],
        removeAll: false,
        contact: 'payload',
        contactType: 'msg',
        source: 'agent',
        reason: 'note',
        reasonType: 'msg',
        actor: 'user',
        actorType: 'msg',
        wires: [['out']],
        ...props,
      },
    ],
    ['out'],
  );
}

function service(): DncService {
  return helper.getNode('c1').dnc.service;
}

async function label(contact: unknown, labels: string[]): Promise<void> {
  await storeReady();
  await service().addLabels({ contact, labels, source: 'test' });
}

describe('dnc-remove-label node', function () {
  useNodeRed();

  it('removes the named label, audited with source, reason and actor; msg.dnc has removed / notPresent', async function () {
    await helper.load(allModules, flow({ labels: ['DNC_Sales', 'Hold'] }));
    await label(ANA, ['DNC_Sales', 'DNC_Global']);
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.text === '1 removed');
    const out = nextMessage(helper.getNode('out'));
    n1.receive({ payload: ANA, note: 'customer asked for sales calls again', user: 'agent-3', topic: 'crm' });
    const msg = await out;
    assert.equal(msg.topic, 'crm');
    assert.deepEqual(msg.dnc.removed, ['DNC_Sales']);
    assert.deepEqual(msg.dnc.notPresent, ['Hold']);
    assert.equal(msg.dnc.source, 'agent');
    assert.equal(msg.dnc.reason, 'customer asked for sales calls again');
    assert.equal(msg.dnc.actor, 'agent-3');
    assert.equal(msg.dnc.record.op, 'remove');
    assert.deepEqual(await status, { fill: 'green', shape: 'dot', text: '1 removed' });
    const decision = service().check(ANA, { labels: ['DNC_Sales'], channel: 'voice' });
    assert.deepEqual(decision.matched, ['DNC_Global'], 'other labels stay');
    const audit = await service().store.audit({ keys: [ANA] });
    assert.equal(audit[audit.length - 1].actor, 'agent-3');
  });

  it('removes every label with removeAll', async function () {
    await helper.load(allModules, flow({ removeAll: true, labels: [] }));
    await label(BEN, ['DNC_Sales', 'DNC_Marketing', 'Hold']);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: BEN });
    const msg = await out;
    assert.deepEqual(msg.dnc.labels, ['*']);
    assert.deepEqual([...msg.dnc.removed].sort(), ['DNC_Marketing', 'DNC_Sales', 'Hold']);
    assert.equal(service().check(BEN).allowed, true);
  });

  it('reports a label the contact does not carry as notPresent, with a "not labelled" status', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const n1 = helper.getNode('n1');
    const status = statusMatching(n1, (s) => s.text === 'not labelled');
    const out = nextMessage(helper.getNode('out'));
    n1.receive({ payload: ANA });
    const msg = await out;
    assert.deepEqual(msg.dnc.removed, []);
    assert.deepEqual(msg.dnc.notPresent, ['DNC_Sales']);
    assert.equal((await status).fill, 'green');
  });

  it('takes msg.labels when the node names none, and routes an unknown one to Catch with DNC_UNKNOWN_LABEL', async function () {
    await helper.load(allModules, flow({ labels: [] }));
    await label(ANA, ['Hold']);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: ANA, labels: ['Hold'] });
    assert.deepEqual((await out).dnc.removed, ['Hold']);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA, labels: ['Gone'], topic: 'x' });
    const err = await caught;
    assert.equal(caughtError(err).code, 'DNC_UNKNOWN_LABEL');
    assert.equal(err.topic, 'x');
  });

  it('routes an invalid contact to Catch with DNC_INVALID_CONTACT and writes nothing', async function () {
    await helper.load(allModules, flow());
    await storeReady();
    const out = collect(helper.getNode('out'));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: { phone: 'nope' } });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_CONTACT');
    await delay(20);
    assert.equal(out.length, 0);
    assert.equal((await service().store.audit()).length, 0);
  });

  it('removes from a list of contacts with a JSONata contact expression', async function () {
    await helper.load(allModules, flow({ contact: 'payload.rows.phone', contactType: 'jsonata' }));
    await label(ANA, ['DNC_Sales']);
    await label(BEN, ['DNC_Sales']);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('n1').receive({ payload: { rows: [{ phone: ANA }, { phone: BEN }] } });
    const msg = await out;
    assert.deepEqual(msg.dnc.summary, { total: 2, changed: 2, unchanged: 0, failed: 0 });
    assert.deepEqual(
      msg.dnc.results.map((r: { removed: string[] }) => r.removed),
      [['DNC_Sales'], ['DNC_Sales']],
    );
  });

  it('reports DNC_NOT_CONFIGURED without a configuration', async function () {
    await helper.load(allModules, flow({ config: '' }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');
  });
});
