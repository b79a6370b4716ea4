/**
 * The one rule for an existing msg.dnc (nodes/shared/result.ts, README "msg.dnc"): a node merges its
 * result in; the fields it owns are replaced (an owned field that does not apply this time is removed),
 * fields other nodes put there are kept.
 */
import assert from 'node:assert/strict';
import {
  ANA,
  BEN,
  allModules,
  caughtError,
  config,
  helper,
  nextMessage,
  storeReady,
  useNodeRed,
} from './support';

/* eslint-disable @typescript-eslint/no-require-imports */
const optOutModule = require('../../nodes/dnc-opt-out') as unknown;
const attemptModule = require('../../nodes/dnc-record-attempt') as unknown;
/* eslint-enable @typescript-eslint/no-require-imports */
const modules = [...allModules, optOutModule, attemptModule];

type Props = Record<string, unknown>;

const CHECK = {
  type: 'dnc-check',
  z: 't1',
  config: 'c1',
  labels: [],
  channel: 'sms',
  contact: 'payload',
  contactType: 'msg',
};
const LABEL_CHANGE = {
  z: 't1',
  config: 'c1',
  labels: [],
  contact: 'payload',
  contactType: 'msg',
  source: 'sms',
  reason: '',
  reasonType: 'str',
  actor: '',
  actorType: 'str',
};

function flow(nodes: Props[]): Props[] {
  return [
    { id: 't1', type: 'tab', label: 'DNC' },
    config('c1'),
    ...nodes,
    { id: 'out', type: 'helper', z: 't1' },
    { id: 'blocked', type: 'helper', z: 't1' },
  ];
}

describe('msg.dnc: every node merges its result into an existing msg.dnc', function () {
  useNodeRed();

  it('detect opt-out -> add contact label -> check DNC: the intent and confirmation travel to the end', async function () {
    await helper.load(
      modules,
      flow([
        {
          id: 'detect',
          type: 'dnc-opt-out',
          z: 't1',
          config: 'c1',
          text: 'text',
          textType: 'msg',
          channel: 'sms',
          language: 'en',
          defaultLabels: ['DNC_Global'],
          rules: [],
          sender: '',
          confirmation: '',
          wires: [['add'], [], [], []],
        },
        { ...LABEL_CHANGE, id: 'add', type: 'dnc-add-label', wires: [['check']] },
        { ...CHECK, id: 'check', wires: [['out'], ['blocked']] },
      ]),
    );
    await storeReady();
    const blocked = nextMessage(helper.getNode('blocked'));
    helper.getNode('detect').receive({ payload: ANA, text: 'STOP' });
    const msg = await blocked;
    assert.equal(msg.dnc.intent.kind, 'opt-out');
    assert.equal(typeof msg.dnc.confirmation, 'string');
    // add contact label's own fields stay (check DNC does not own them)...
    assert.deepEqual(msg.dnc.added, ['DNC_Global']);
    assert.equal(typeof msg.dnc.seq, 'number');
    // ...and check DNC's decision replaces the fields it owns.
    assert.equal(msg.dnc.allowed, false);
    assert.deepEqual(msg.dnc.matched, ['DNC_Global']);
    assert.equal(msg.dnc.labels[0].label, 'DNC_Global');
  });

  it('a failure puts msg.dnc.error on the caught message (other fields kept); the next result drops it', async function () {
    // A Catch node on every Node-RED version branches on msg.dnc.error.code (3.x has no msg.error.code).
    await helper.load(
      modules,
      flow([
        { ...LABEL_CHANGE, id: 'add', type: 'dnc-add-label', wires: [['check']] },
        { id: 'k1', type: 'catch', z: 't1', scope: ['add'], uncaught: false, wires: [['caught', 'check']] },
        { id: 'caught', type: 'helper', z: 't1' },
        // Its own labels: msg.labels (the unknown one) is not read.
        { ...CHECK, id: 'check', labels: ['DNC_Sales'], wires: [['out'], ['blocked']] },
      ]),
    );
    await storeReady();
    const caught = nextMessage(helper.getNode('caught'));
    const out = nextMessage(helper.getNode('out'));
    helper
      .getNode('add')
      .receive({ payload: ANA, labels: ['DNC_Nope'], dnc: { intent: { kind: 'opt-out' } } });
    const failed = await caught;
    assert.deepEqual(failed.dnc.error, {
      code: 'DNC_UNKNOWN_LABEL',
      message: caughtError(failed).message,
      field: 'labels',
    });
    assert.match(failed.dnc.error.message, /DNC_Nope/);
    assert.deepEqual(failed.dnc.intent, { kind: 'opt-out' });
    const checked = await out;
    assert.equal(checked.dnc.allowed, true);
    assert.equal(checked.dnc.error, undefined);
    assert.deepEqual(checked.dnc.intent, { kind: 'opt-out' });
  });

  it('check DNC -> check DNC with another contact: no field of the first decision survives', async function () {
    await helper.load(modules, flow([{ ...CHECK, id: 'check', wires: [['out'], ['blocked']] }]));
    await storeReady();
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('check').receive({
      payload: BEN,
      dnc: {
        allowed: false,
        contact: ANA,
        keys: [ANA],
        reasons: [{ code: 'OUTSIDE_CALLING_HOURS', message: 'outside calling hours' }],
        matched: [],
        nextAllowedAt: '2030-01-01T08:00:00.000Z',
        registries: [{ registry: 'us-ndnc', result: 'listed' }],
        summary: { total: 2, allowed: 1, blocked: 1 },
        intent: { kind: 'opt-in' },
        attempt: { outcome: null },
        requestId: 'r-1',
      },
    });
    const msg = await out;
    assert.equal(msg.dnc.allowed, true);
    assert.equal(msg.dnc.contact, BEN);
    assert.deepEqual(msg.dnc.reasons, []);
    for (const stale of ['nextAllowedAt', 'registries', 'summary'])
      assert.equal(stale in msg.dnc, false, `${stale} survived`);
    assert.deepEqual(msg.dnc.intent, { kind: 'opt-in' });
    assert.deepEqual(msg.dnc.attempt, { outcome: null });
    assert.equal(msg.dnc.requestId, 'r-1');
  });

  it('a list check after a single check keeps no field of the single decision', async function () {
    await helper.load(modules, flow([{ ...CHECK, id: 'check', wires: [['out'], ['blocked']] }]));
    await storeReady();
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('check').receive({
      payload: [ANA, BEN],
      dnc: { allowed: true, contact: ANA, keys: [ANA], reasons: [], matched: [], requestId: 'r-2' },
    });
    const msg = await out;
    assert.equal(msg.dnc.summary.total, 2);
    for (const stale of ['allowed', 'contact', 'keys', 'reasons', 'matched'])
      assert.equal(stale in msg.dnc, false, `${stale} survived`);
    assert.equal(msg.dnc.requestId, 'r-2');
  });

  it('add then remove contact label: the second change replaces the first one, other fields stay', async function () {
    await helper.load(
      modules,
      flow([
        { ...LABEL_CHANGE, id: 'add', type: 'dnc-add-label', labels: ['DNC_Sales'], wires: [['remove']] },
        { ...LABEL_CHANGE, id: 'remove', type: 'dnc-remove-label', labels: ['DNC_Sales'], wires: [['out']] },
      ]),
    );
    await storeReady();
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('add').receive({ payload: ANA, dnc: { allowed: true, requestId: 'r-3' } });
    const msg = await out;
    assert.deepEqual(msg.dnc.removed, ['DNC_Sales']);
    assert.equal('added' in msg.dnc, false, 'the add outcome survived the remove');
    assert.equal(msg.dnc.allowed, true);
    assert.equal(msg.dnc.requestId, 'r-3');
  });

  it('record attempt keeps the decision before it and replaces an earlier attempt', async function () {
    await helper.load(
      modules,
      flow([
        {
          id: 'record',
          type: 'dnc-record-attempt',
          z: 't1',
          config: 'c1',
          contact: 'payload',
          contactType: 'msg',
          outcome: '',
          channel: 'voice',
          campaign: '',
          wires: [['out']],
        },
      ]),
    );
    await storeReady();
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('record').receive({ payload: ANA, dnc: { allowed: true, attempt: { stale: true } } });
    const msg = await out;
    assert.equal(msg.dnc.allowed, true);
    assert.equal(msg.dnc.attempt.channel, 'voice');
    assert.equal('stale' in msg.dnc.attempt, false);
  });

  it('a msg.dnc that is not an object is replaced', async function () {
    await helper.load(modules, flow([{ ...CHECK, id: 'check', wires: [['out'], ['blocked']] }]));
    await storeReady();
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('check').receive({ payload: BEN, dnc: ['not', 'an', 'object'] });
    const msg = await out;
    assert.equal(Array.isArray(msg.dnc), false);
    assert.equal(msg.dnc.allowed, true);
  });
});
