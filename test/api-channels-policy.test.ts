/**
 * The HTTP API on unknown channels and invalid calling policies: a check on a channel neither built in
 * nor declared is a blocked decision (UNKNOWN_CHANNEL); an attempt on one, or a policy definition that
 * would silently enforce less, is a 400 naming the field, never a 500, and writes nothing.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { ANA, BEN, useNodeRed } from './nodes/support';
import { config, deploy, get, helper, post } from './api-support';

function assertError(res: { status: number; body: any; text: string }, field: string): void {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.code, 'DNC_INVALID_INPUT', res.text);
  assert.equal(res.body.field, field, res.text);
  assert.doesNotMatch(res.text, /\bat .*\.js:\d+|node_modules|TypeError/, 'no stack trace');
}

describe('DNC API: channels and calling policies', function () {
  this.timeout(20000);
  useNodeRed();

  it('blocks a check on an unknown channel (typo or synonym) with UNKNOWN_CHANNEL, one contact or a list', async () => {
    await deploy();
    const service = helper.getNode('c1').dnc.service;
    await service.addLabels({ contact: ANA, labels: ['DNC_Marketing'], source: 'test' }); // email, sms, whatsapp
    const one = await post('/dnc/check', { contact: ANA, channel: 'smss' });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.allowed, false);
    assert.deepEqual(
      one.body.reasons.map((r: { code: string }) => r.code),
      ['UNKNOWN_CHANNEL'],
    );
    const byGet = await get(`/dnc/check?contact=${encodeURIComponent(BEN)}&channel=Text`);
    assert.equal(byGet.status, 200, byGet.text);
    assert.equal(byGet.body.allowed, false, 'a contact without labels is blocked too');
    assert.equal(byGet.body.reasons[0].code, 'UNKNOWN_CHANNEL');
    const list = await post('/dnc/check', { contacts: [ANA, BEN], channel: 'phone' });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.summary.reasons, { UNKNOWN_CHANNEL: 2 });
    assert.equal(list.body.allowed.length, 0);
    const sms = await post('/dnc/check', { contact: ANA, channel: 'SMS' });
    assert.equal(sms.body.allowed, false);
    assert.deepEqual(sms.body.matched, ['DNC_Marketing'], 'a built-in channel still works, any case');
  });

  it("takes where the callee is with one contact, as with a list: the contact's state binds under us-states", async () => {
    await deploy();
    // Thu 15 Jan 2026 20:30 EST: a New York number with a Massachusetts address (201 CMR 12.02(2): 20:00).
    const at = '2026-01-16T01:30:00.000Z';
    const contact = { phone: '+12125550123', state: 'MA', consentDate: '2025-01-05' };
    const one = await post('/dnc/check', { contact, policy: 'us-states', channel: 'voice', at });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.allowed, false, one.text);
    assert.equal(one.body.nextAllowedAt, '2026-01-16T13:00:00.000Z');
    const list = await post('/dnc/check', { contacts: [contact], policy: 'us-states', channel: 'voice', at });
    assert.equal(list.body.summary.blocked, 1, list.text);
    const byZip = await post('/dnc/check', {
      contact: { phone: '+12125550123', zip: '02108' },
      policy: 'us-states',
      channel: 'voice',
      at,
    });
    assert.equal(byZip.body.allowed, false, byZip.text);
    // A misspelt field is still refused, naming nothing it would silently ignore.
    const typo = await post('/dnc/check', { contact: { phone: '+12125550123', stat: 'MA' }, at });
    assert.equal(typo.status, 400, typo.text);
    assert.equal(typo.body.code, 'DNC_INVALID_CONTACT');
  });

  it('takes the custom channels the configuration declares', async () => {
    await deploy([config('c1', { channels: ['fax'] })]);
    const fax = await post('/dnc/check', { contact: ANA, channel: 'fax' });
    assert.equal(fax.status, 200, fax.text);
    assert.equal(fax.body.allowed, true);
    const recorded = await post('/dnc/attempts', { contact: ANA, channel: 'FAX' });
    assert.ok(recorded.status >= 200 && recorded.status < 300, recorded.text);
  });

  it('refuses an attempt on an unknown channel with 400 and records nothing', async () => {
    await deploy();
    assertError(await post('/dnc/attempts', { contact: ANA, channel: 'smss' }), 'channel');
    assertError(
      await post('/dnc/outcomes', { contact: ANA, outcome: 'refusal', channel: 'text' }),
      'channel',
    );
    const service = helper.getNode('c1').dnc.service;
    const keys = service.parser.parse(ANA).keys as string[];
    assert.deepEqual(service.store.attempts(keys[0], 0), []);
  });

  it('refuses a policy that would enforce less with 400 naming the field (wrong types were a 500)', async () => {
    await deploy();
    const daily = { daily: ['08:00-21:00'] };
    const cases: Array<[unknown, string]> = [
      [{ windows: daily, caps: { limit: 3, hours: 24 } }, 'policy.caps'],
      [{ windows: daily, caps: [{ limit: 3, hours: 24 }], coolingOff: 'refusal' }, 'policy.coolingOff'],
      [{ windows: daily, caps: ['3 a day'] }, 'policy.caps[0]'],
      [{ windows: daily, holidays: { country: 'ZZ' } }, 'policy.holidays.country'],
      [{ windows: daily, holidays: { country: 'US', state: 'ZZ' } }, 'policy.holidays.state'],
      [{ windows: daily, holidays: { dates: ['13-45'] } }, 'policy.holidays.dates[0]'],
      [{ windows: daily, coolingof: [{ after: 'refusal', days: 60 }] }, 'policy.coolingof'],
      [{ windows: daily, channels: ['voise'] }, 'policy.channels[0]'],
    ];
    for (const [policy, field] of cases) {
      assertError(await post('/dnc/check', { contact: ANA, channel: 'voice', policy }), field);
    }
  });
});
