/* eslint-disable @typescript-eslint/no-explicit-any -- messages and responses from the test helper are untyped */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import jsonata from 'jsonata';
import {
  allModules,
  caughtError,
  config,
  failOnError,
  helper,
  nextMessage,
  statusMatching,
  storeReady,
  testFlow,
  useNodeRed,
} from './nodes/support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const policyModule = require('../nodes/dnc-policy') as unknown;
const modules = [...allModules, policyModule];

type Props = Record<string, unknown>;

/** A policy that allows every hour, capped at one attempt per 24 h on the same campaign. */
const ONE_A_DAY = JSON.stringify({
  name: 'one a day',
  rule: 'test rule',
  windows: { daily: ['00:00-24:00'] },
  caps: [{ limit: 1, hours: 24, scope: 'campaign', rule: 'test cap' }],
  timezoneFallback: 'UTC',
});
/** A policy with no window at all: everything is outside calling hours, for ever. */
const NEVER = JSON.stringify({ name: 'never', rule: 'test: no window', windows: {} });

function flow(check: Props = {}, policy: Props = {}): Props[] {
  return testFlow(
    [
      config('c1'),
      { id: 'p1', type: 'dnc-policy', name: '', preset: '', policy: ONE_A_DAY, ...policy },
      {
        id: 'n1',
        type: 'dnc-check',
        z: 't1',
        config: 'c1',
        policy: 'p1',
        labels: [],
        channel: 'voice',
        contact: 'payload',
        contactType: 'msg',
        campaign: '',
        recordAttempt: false,
        wires: [['allowed'], ['blocked']],
        ...check,
      },
    ],
    ['allowed', 'blocked'],
  );
}

describe('dnc-policy node and Check DNC with a calling policy', function () {
  const userDir = useNodeRed();

  it('compiles a preset as shipped and exposes it to Check DNC', async function () {
    await helper.load(modules, flow({}, { policy: '', preset: 'france' }));
    const p1 = helper.getNode('p1');
    assert.equal(p1.dncPolicy.error, null);
    assert.equal(p1.dncPolicy.policy.name, 'France (Decree 2022-1313)');
  });

  it('blocks outside calling hours with the reason, its rule, and a blue status', async function () {
    await helper.load(modules, flow({}, { policy: NEVER }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const out = nextMessage(helper.getNode('blocked'));
    const shown = statusMatching(n1, (s) => s.text === 'blocked: hours');
    n1.receive({ payload: '+447911123456', topic: 'dial' });
    const msg = await out;
    assert.equal(msg.topic, 'dial');
    assert.equal(msg.dnc.allowed, false);
    assert.equal(msg.dnc.reasons[0].code, 'OUTSIDE_CALLING_HOURS');
    assert.equal(msg.dnc.reasons[0].rule, 'test: no window');
    assert.equal(msg.dnc.nextAllowedAt, null);
    assert.equal((await shown).fill, 'blue');
  });

  it("a blocked decision's reasons are the flow's to edit: JSONata, a Function node, the next check unaffected", async function () {
    await helper.load(modules, flow({}, { policy: NEVER }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const out = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: '+447911123456' });
    const msg = await out;
    // What example 11's debug node shows; JSONata marks the arrays it reads, which failed on frozen ones.
    const shown = await jsonata('{ "contact": dnc.contact, "reasons": dnc.reasons[] }').evaluate(msg);
    assert.equal(shown.contact, '+447911123456');
    assert.equal(shown.reasons[0].code, 'OUTSIDE_CALLING_HOURS');
    msg.dnc.reasons.push({ code: 'NOTE', message: 'added by a Function node' });
    msg.dnc.reasons[0].message = 'edited';
    const next = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: '+447911123456' });
    const again = await next;
    assert.equal(again.dnc.reasons.length, 1);
    assert.notEqual(again.dnc.reasons[0].message, 'edited');
  });

  it("a list's blocked items are the flow's to edit when only the blocked output is wired", async function () {
    const nodes = flow({ wires: [[], ['blocked']] }, { policy: NEVER });
    await helper.load(modules, nodes);
    await storeReady();
    const out = nextMessage(helper.getNode('blocked'));
    helper.getNode('n1').receive({ payload: ['+447911123456', '+447911123457'] });
    const msg = await out;
    const codes = await jsonata('payload.decision.reasons[].code').evaluate(msg);
    assert.deepEqual([...codes], ['OUTSIDE_CALLING_HOURS', 'OUTSIDE_CALLING_HOURS']);
    msg.payload[0].decision.reasons.push({ code: 'NOTE', message: 'added by a Function node' });
    assert.equal(msg.payload[1].decision.reasons.length, 1);
  });

  it('records an attempt for an allowed contact, then caps the next one on the same campaign', async function () {
    await helper.load(modules, flow({ recordAttempt: true, campaign: 'renewals' }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const first = nextMessage(helper.getNode('allowed'));
    n1.receive({ payload: '+447911123456' });
    assert.equal((await Promise.race([first, errors])).dnc.allowed, true);
    assert.ok(existsSync(join(userDir.dir, 'dnc-store.attempts.ndjson')));
    // The check node that recorded it is its principal.
    const recorded = helper.getNode('c1').dnc.service.store.attempts('+447911123456', 0);
    assert.equal(recorded[0].principal, 'node:n1');
    const second = nextMessage(helper.getNode('blocked'));
    const before = Date.now();
    n1.receive({ payload: '+447911123456' });
    const msg = await Promise.race([second, errors]);
    assert.equal(msg.dnc.reasons[0].code, 'FREQUENCY_CAP');
    const next = Date.parse(msg.dnc.nextAllowedAt);
    assert.ok(next > before + 23.9 * 3_600_000 && next <= Date.now() + 24 * 3_600_000);
  });

  it('takes the campaign from msg.campaign when the node leaves it blank', async function () {
    await helper.load(modules, flow({ recordAttempt: true }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const allowed = helper.getNode('allowed');
    let out = nextMessage(allowed);
    n1.receive({ payload: '+447911123456', campaign: 'a' });
    assert.equal((await out).dnc.allowed, true);
    out = nextMessage(allowed);
    n1.receive({ payload: '+447911123456', campaign: 'b' });
    assert.equal((await out).dnc.allowed, true, 'another campaign has its own cap');
    const blocked = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: '+447911123456', campaign: 'a' });
    assert.equal((await blocked).dnc.reasons[0].code, 'FREQUENCY_CAP');
  });

  it('a burst of messages for one contact is capped while the first attempt is being written', async function () {
    await helper.load(modules, flow({ recordAttempt: true, campaign: 'burst' }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const errors = failOnError(n1);
    const seen: boolean[] = [];
    const all = new Promise<void>((resolve) => {
      const take = (msg: any) => {
        seen.push(msg.dnc.allowed);
        if (seen.length === 5) resolve();
      };
      helper.getNode('allowed').on('input', take);
      helper.getNode('blocked').on('input', take);
    });
    for (let i = 0; i < 5; i++) n1.receive({ payload: '+447911123456' });
    await Promise.race([all, errors]);
    assert.deepEqual(
      seen.filter((allowed) => allowed),
      [true],
    );
  });

  it('a list holding one contact several times allows it once under a one-a-day cap', async function () {
    await helper.load(modules, flow({ recordAttempt: true, campaign: 'list' }));
    await storeReady();
    const n1 = helper.getNode('n1');
    const both = [nextMessage(helper.getNode('allowed')), nextMessage(helper.getNode('blocked'))];
    n1.receive({ payload: ['+447911123456', '+447911123456', '+447911123456', '+447911123456'] });
    const [allowedMsg, blockedMsg] = await Promise.all(both);
    assert.equal(allowedMsg.payload.length, 1);
    assert.equal(blockedMsg.payload.length, 3);
    assert.equal(blockedMsg.payload[0].decision.reasons[0].code, 'FREQUENCY_CAP');
  });

  it('records attempts for the allowed items of a list', async function () {
    await helper.load(modules, flow({ recordAttempt: true, campaign: 'x' }));
    await storeReady();
    const n1 = helper.getNode('n1');
    // A list sends on both outputs: wait for both before the next list.
    const both = [nextMessage(helper.getNode('allowed')), nextMessage(helper.getNode('blocked'))];
    n1.receive({ payload: ['+447911123456', '+447911123457'] });
    const [allowedMsg, blockedMsg] = await Promise.all(both);
    assert.equal(allowedMsg.payload.length, 2);
    assert.equal(blockedMsg.payload.length, 0);
    const out = nextMessage(helper.getNode('blocked'));
    n1.receive({ payload: ['+447911123456', '+447911123457'] });
    const msg = await out;
    assert.equal(msg.payload.length, 2);
    assert.deepEqual(msg.dnc.summary.reasons, { FREQUENCY_CAP: 2 });
  });

  it('an invalid policy fails every check closed with a Catch-able error', async function () {
    await helper.load(modules, flow({}, { policy: '{"windows": {"mon": ["9-5"]}}' }));
    const p1 = helper.getNode('p1');
    assert.equal(p1.dncPolicy.error.code, 'DNC_INVALID_INPUT');
    await storeReady();
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: '+447911123456' });
    const msg = await caught;
    assert.equal(caughtError(msg).code, 'DNC_INVALID_INPUT');
  });

  it('a check naming a policy node that does not exist fails closed', async function () {
    await helper.load(modules, flow({ policy: 'missing' }));
    await storeReady();
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: '+447911123456' });
    assert.equal(caughtError(await caught).code, 'DNC_NOT_CONFIGURED');
  });

  it('serves the presets to the editor', async function () {
    await helper.load(modules, flow());
    const helperWithRequest = helper as unknown as {
      request(): { get(path: string): { expect(status: number): Promise<{ body: Record<string, any> }> } };
    };
    const response = await helperWithRequest.request().get('/dnc-policy/presets').expect(200);
    assert.ok(response.body['us-federal'].rule.includes('64.1200'));
    assert.deepEqual(Object.keys(response.body).length >= 11, true);
  });
});
