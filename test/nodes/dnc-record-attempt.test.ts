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
  failOnError,
  helper,
  nextMessage,
  statusMatching,
  testFlow,
  useNodeRed,
} from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const recordModule = require('../../nodes/dnc-record-attempt') as unknown;
const modules = [...allModules, recordModule];

type Props = Record<string, unknown>;

function flow(props: Props = {}): Props[] {
  return testFlow(
    [
      config('c1'),
      {
        id: 'n1',
        type: 'dnc-record-attempt',
        z: 't1',
        name: '',
        config: 'c1',
        contact: 'payload',
        contactType: 'msg',
        outcome: '',
        channel: '',
        campaign: '',
        wires: [['out']],
        ...props,
      },
    ],
    ['out'],
  );
}

function service(configId = 'c1'): DncService {
  return helper.getNode(configId).dnc.service;
}

function attempts(key: string) {
  return service().store.attempts!(key, 0);
}

describe('dnc-record-attempt node', function () {
  useNodeRed();

  it('records the node\'s outcome, sends the msg on with msg.dnc.attempt, green "refusal recorded"', async function () {
    await helper.load(modules, flow({ outcome: 'refusal', channel: 'voice', campaign: 'roof-repair' }));
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const green = statusMatching(n1, (s) => s.text === 'refusal recorded');
    const out = nextMessage(helper.getNode('out'));
    n1.receive({ payload: '07911 123456', topic: 'dialer', extra: { keep: true } });
    const msg = await Promise.race([out, errors]);
    assert.equal(msg.topic, 'dialer');
    assert.equal(msg.payload, '07911 123456', 'the payload is left alone');
    assert.deepEqual(msg.extra, { keep: true });
    const record = msg.dnc.attempt;
    assert.equal(record.outcome, 'refusal');
    assert.equal(record.attempt, false, 'an outcome on its own');
    assert.equal(record.channel, 'voice');
    assert.equal(record.campaign, 'roof-repair');
    assert.equal(record.source, 'flow');
    assert.ok(
      record.keys.some((k: string) => k.includes(ANA)),
      `keys ${String(record.keys)}`,
    );
    const stored = attempts(record.keys[0]);
    assert.equal(stored.length, 1, 'the record is in the store when the msg leaves');
    assert.equal(stored[0].outcome, 'refusal');
    // Who recorded it: this node, whatever msg says.
    assert.equal(record.principal, 'node:n1');
    assert.equal(stored[0].principal, 'node:n1');
    assert.deepEqual(await green, { fill: 'green', shape: 'dot', text: 'refusal recorded' });
  });

  it('records an attempt whose msg.campaign is a number (a dialer campaign id): it counts towards that campaign', async function () {
    await helper.load(modules, flow());
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const first = nextMessage(helper.getNode('out'));
    n1.receive({ payload: BEN, channel: 'voice', campaign: 42 });
    const msg = await Promise.race([first, errors]);
    assert.equal(msg.dnc.attempt.campaign, '42');
    assert.deepEqual(
      attempts(msg.dnc.attempt.keys[0]).map((r) => r.campaign),
      ['42'],
    );
  });

  it('takes msg.outcome, msg.channel and msg.campaign when the node leaves them blank; none is an attempt', async function () {
    await helper.load(modules, flow());
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const first = nextMessage(helper.getNode('out'));
    n1.receive({ payload: BEN, outcome: 'conversation', channel: 'sms', campaign: 'renewal' });
    const msg = await Promise.race([first, errors]);
    assert.equal(msg.outcome, 'conversation');
    assert.equal(msg.dnc.attempt.outcome, 'conversation');
    assert.equal(msg.dnc.attempt.channel, 'sms');
    assert.equal(msg.dnc.attempt.campaign, 'renewal');

    await delay(120);
    const recorded = statusMatching(n1, (s) => s.text === 'recorded');
    const second = nextMessage(helper.getNode('out'));
    n1.receive({ payload: BEN });
    const plain = await Promise.race([second, errors]);
    assert.equal(plain.dnc.attempt.outcome, null);
    assert.equal(plain.dnc.attempt.attempt, true);
    assert.equal((await recorded).fill, 'green');
    const stored = attempts(msg.dnc.attempt.keys[0]);
    assert.deepEqual(
      stored.map((r) => r.outcome),
      ['conversation', null],
    );
  });

  it('sends a bad contact to Catch with DNC_INVALID_CONTACT and records nothing', async function () {
    await helper.load(modules, flow({ outcome: 'refusal' }));
    const n1 = helper.getNode('n1');
    const caught = nextMessage(helper.getNode('caught'));
    const out = collect(helper.getNode('out'));
    const red = statusMatching(n1, (s) => s.fill === 'red');
    n1.receive({ payload: 'not a number' });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_CONTACT');
    await delay(100);
    assert.equal(out.length, 0, 'nothing is sent on when nothing was recorded');
    assert.equal((await red).shape, 'ring');
    assert.equal(attempts('not a number').length, 0);
  });

  it('sends a bad msg.outcome to Catch with DNC_INVALID_INPUT', async function () {
    await helper.load(modules, flow());
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA, outcome: 'Not A Word!' });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
  });

  it('reports a missing configuration with a grey ring and DNC_NOT_CONFIGURED', async function () {
    await helper.load(modules, flow({ config: '' }));
    const n1 = helper.getNode('n1');
    const grey = statusMatching(n1, (s) => s.fill === 'grey');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');
    assert.equal((await grey).text, 'not configured');
  });

  it('refuses a channel that is neither built in nor declared: at deploy, and from msg.channel (nothing recorded)', async function () {
    await helper.load(modules, flow({ channel: 'smss' }));
    const n1 = helper.getNode('n1');
    const caught = nextMessage(helper.getNode('caught'));
    n1.receive({ payload: ANA });
    const error = caughtError(await caught);
    assert.equal(error.code, 'DNC_INVALID_INPUT');
    assert.match(error.message, /"smss" is not a known channel/);
    await helper.unload();
    await helper.load(modules, flow());
    const n2 = helper.getNode('n1');
    const caught2 = nextMessage(helper.getNode('caught'));
    const out = collect(helper.getNode('out'));
    n2.receive({ payload: ANA, channel: 'text' });
    assert.equal(caughtError(await caught2).code, 'DNC_INVALID_INPUT');
    assert.equal(out.length, 0);
    await service().whenReady();
    const keys = service().parser.parse(ANA).keys;
    assert.deepEqual(attempts(keys[0]), []);
  });
});
