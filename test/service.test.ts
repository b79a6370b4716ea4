import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DncError } from '../lib/errors';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 28, 15, 0, 0);

const LABELS = [
  { name: 'DNC_Global', global: true },
  { name: 'DNC_Sales', expiresAfterDays: 30 },
  { name: 'DNC_Surveys' },
  { name: 'DNC_SMS', channels: ['sms'] },
  { name: 'DNC_WhatsApp', channels: ['whatsapp'] },
];

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof DncError && err.code === code);
}

describe('DNC service: labels, checks and decisions over the embedded store', () => {
  let dir: string;
  let store: EmbeddedStore;
  let clock: number;
  let dnc: DncService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-service-'));
    store = new EmbeddedStore({ path: path.join(dir, 'dnc-store.json') });
    await store.open();
    clock = T0;
    dnc = new DncService({ labels: LABELS, defaultCountry: 'US', store, now: () => clock });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('blocks a contact that carries a checked label and explains why', async () => {
    const added = await dnc.addLabels({
      contact: '(201) 555-0123',
      labels: ['DNC_Sales'],
      source: 'ivr',
      actor: 'ivr-flow-1',
      reason: 'caller said stop calling me',
    });
    assert.equal(added.contact, '+12015550123');
    assert.deepEqual(added.changed, ['DNC_Sales']);
    assert.equal(added.source, 'ivr');

    const decision = dnc.check('+1 201 555 0123', { labels: ['DNC_Sales'], channel: 'voice' });
    assert.equal(decision.allowed, false);
    assert.equal(decision.contact, '+12015550123');
    assert.equal(decision.channel, 'voice');
    assert.deepEqual(decision.matched, ['DNC_Sales']);
    assert.equal(decision.reasons.length, 1);
    assert.equal(decision.reasons[0].code, 'LABEL');
    assert.equal(decision.reasons[0].label, 'DNC_Sales');
    assert.match(decision.reasons[0].message, /\+12015550123 carries DNC_Sales/);
    assert.equal(decision.labels[0].source, 'ivr');
    assert.equal(decision.labels[0].expiresAt, new Date(T0 + 30 * DAY).toISOString());
    assert.equal(decision.checkedAt, new Date(T0).toISOString());
  });

  it('lets a contact who opted out of sales still receive service checks (other labels)', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: 'DNC_Sales', source: 'agent' });
    const service = dnc.check('+12015550123', { labels: ['DNC_Surveys'], channel: 'voice' });
    assert.equal(service.allowed, true);
    assert.deepEqual(service.matched, []);
    assert.deepEqual(
      service.labels.map((l) => l.label),
      ['DNC_Sales'],
      'the active labels are reported even when this check does not enforce them',
    );
  });

  it('enforces global labels whatever labels the check selects', async () => {
    await dnc.addLabels({ contact: 'ana@example.com', labels: ['DNC_Global'], source: 'bot' });
    const decision = dnc.check('Ana@Example.com ', { labels: ['DNC_Surveys'], channel: 'email' });
    assert.equal(decision.allowed, false);
    assert.deepEqual(decision.matched, ['DNC_Global']);
  });

  it('checks every defined label when the check selects none', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Surveys'], source: 'api' });
    assert.equal(dnc.check('+12015550123').allowed, false);
    assert.equal(dnc.check('+12015550123', { labels: [] }).allowed, false);
  });

  it('applies channel scope: opted out of SMS still gets WhatsApp; an unknown channel fails closed', async () => {
    await dnc.addLabels({
      contact: 'whatsapp:+12015550123',
      labels: ['DNC_SMS'],
      source: 'keyword',
      channel: 'sms',
    });
    assert.equal(dnc.check('+12015550123', { channel: 'sms' }).allowed, false);
    assert.equal(
      dnc.check('+12015550123', { channel: 'SMS' }).allowed,
      false,
      'channel names are case-insensitive',
    );
    assert.equal(dnc.check('+12015550123', { channel: 'whatsapp' }).allowed, true);
    assert.equal(dnc.check('+12015550123', { channel: 'voice' }).allowed, true);
    const unknownChannel = dnc.check('+12015550123');
    assert.equal(unknownChannel.allowed, false, 'without a channel a channel-scoped label still blocks');
    assert.deepEqual(unknownChannel.matched, ['DNC_SMS']);
  });

  it('blocks a check on a channel neither built in nor declared with UNKNOWN_CHANNEL (a typo or a synonym)', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_SMS'], source: 'keyword', channel: 'sms' });
    await dnc.addLabels({ contact: '+12015550124', labels: ['DNC_SMS'], source: 'keyword', channel: 'sms' });
    for (const channel of ['smss', 'text', 'Text ', 'phone', 'call', 'e-mail']) {
      const decision = dnc.check('+12015550123', { channel });
      assert.equal(decision.allowed, false, `${channel} let a DNC_SMS contact through`);
      assert.equal(decision.channel, channel.trim().toLowerCase());
      assert.deepEqual(
        decision.reasons.map((r) => r.code),
        ['UNKNOWN_CHANNEL'],
      );
      assert.match(decision.reasons[0].message, new RegExp(`"${channel.trim().toLowerCase()}"`));
      assert.equal(decision.contact, '+12015550123', 'the contact is still named');
    }
    // A contact without labels is blocked too: nothing can be decided on a channel nobody declared.
    assert.equal(dnc.check('+12015550199', { channel: 'smss' }).reasons[0].code, 'UNKNOWN_CHANNEL');
    const batch = dnc.checkMany(['+12015550123', '+12015550199', 'nonsense'], { channel: 'smss' });
    assert.equal(batch.summary.blocked, 3);
    assert.deepEqual(batch.summary.reasons, { UNKNOWN_CHANNEL: 3 });
    const async = await dnc.checkAsync('+12015550199', { channel: 'smss' });
    assert.equal(async.reasons[0].code, 'UNKNOWN_CHANNEL');
  });

  it('lets a declared custom channel through the label scopes like a built-in one', async () => {
    const withFax = new DncService({
      labels: [...LABELS, { name: 'DNC_Fax', channels: ['fax'] }],
      channels: ['Fax'],
      store,
      now: () => clock,
    });
    await withFax.addLabels({ contact: '+12015550123', labels: ['DNC_SMS'], source: 'keyword' });
    assert.equal(withFax.check('+12015550123', { channel: 'FAX' }).allowed, true, 'DNC_SMS is not about fax');
    await withFax.addLabels({ contact: '+12015550123', labels: ['DNC_Fax'], source: 'keyword' });
    const decision = withFax.check('+12015550123', { channel: 'fax' });
    assert.equal(decision.allowed, false);
    assert.deepEqual(decision.matched, ['DNC_Fax']);
    assert.equal(dnc.check('+12015550123', { channel: 'fax' }).reasons[0].code, 'UNKNOWN_CHANNEL');
  });

  it("refuses an attempt on an unknown channel (it would escape that channel's caps), and records nothing", async () => {
    await assert.rejects(
      dnc.recordAttempt({ contact: '+12015550123', channel: 'smss' }),
      (e: unknown) => (e as DncError).code === 'DNC_INVALID_INPUT' && (e as DncError).field === 'channel',
    );
    assert.deepEqual(store.attempts('+12015550123', 0), []);
    const recorded = await dnc.recordAttempt({ contact: '+12015550123', channel: ' SMS' });
    assert.equal(recorded.channel, 'sms');
  });

  it('refuses a calling policy that governs an unknown channel (it would govern nothing real)', () => {
    assert.throws(
      () =>
        dnc.check('+12015550123', {
          channel: 'voice',
          policy: { channels: ['voise'], windows: { daily: ['08:00-21:00'] } },
        }),
      (e: unknown) =>
        (e as DncError).code === 'DNC_INVALID_INPUT' && (e as DncError).field === 'policy.channels[0]',
    );
  });

  it('honours expiry at the exact instant: blocked until expiresAt, allowed from it, kept in the history', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'ivr' });
    const expiresAt = T0 + 30 * DAY;
    assert.equal(dnc.check('+12015550123', { labels: ['DNC_Sales'], at: expiresAt - 1 }).allowed, false);
    const after = dnc.check('+12015550123', { labels: ['DNC_Sales'], at: expiresAt });
    assert.equal(after.allowed, true);
    assert.deepEqual(after.labels, [], 'an expired label is not an active label');
    const history = await store.audit({ keys: ['+12015550123'] });
    assert.equal(history.length, 1);
    assert.deepEqual(history[0].changed, ['DNC_Sales']);
  });

  it('re-applying a label is idempotent, audited, and never shortens the block', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'ivr' });
    clock = T0 + 10 * DAY;
    const again = await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'agent' });
    assert.deepEqual(again.changed, []);
    assert.deepEqual(again.unchanged, ['DNC_Sales']);
    const history = await store.audit({ keys: ['+12015550123'] });
    assert.equal(history.length, 2, 'the repeat is audited');
    // The repeated opt-out restarts the 30 days: still blocked 35 days after the first.
    assert.equal(dnc.check('+12015550123', { at: T0 + 35 * DAY }).allowed, false);
    assert.equal(dnc.check('+12015550123', { at: T0 + 40 * DAY }).allowed, true);
  });

  it('finds a profile by any of its identifiers, in any format', async () => {
    await dnc.addLabels({
      contact: { phone: '201.555.0123', email: 'Ana@Example.com', id: 'crm-42' },
      labels: ['DNC_Surveys'],
      source: 'agent',
    });
    for (const input of [
      'tel:+1-201-555-0123',
      '0012015550123',
      'ana@example.com',
      { id: 'crm-42' },
      { email: 'ANA@example.com' },
    ]) {
      const decision = dnc.check(input, { labels: ['DNC_Surveys'] });
      assert.equal(decision.allowed, false, JSON.stringify(input));
    }
  });

  it('applies the labels of both profiles when an input links identifiers held by two', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'ivr' });
    await dnc.addLabels({ contact: 'ana@example.com', labels: ['DNC_Surveys'], source: 'bot' });
    const decision = dnc.check({ phone: '+12015550123', email: 'ana@example.com' }, { channel: 'voice' });
    assert.equal(decision.allowed, false);
    assert.deepEqual([...decision.matched].sort(), ['DNC_Sales', 'DNC_Surveys']);
  });

  it('refuses unknown labels and unparseable contacts with stable codes, writing nothing', async () => {
    await rejectsWithCode(
      dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Nope'], source: 'ivr' }),
      'DNC_UNKNOWN_LABEL',
    );
    await rejectsWithCode(
      dnc.addLabels({ contact: 'not a number', labels: ['DNC_Sales'], source: 'ivr' }),
      'DNC_INVALID_CONTACT',
    );
    await rejectsWithCode(dnc.addLabels({ contact: '+12015550123', source: 'ivr' }), 'DNC_INVALID_INPUT');
    await rejectsWithCode(
      dnc.addLabels({ contact: '+12015550123', labels: [], source: 'ivr' }),
      'DNC_INVALID_INPUT',
    );
    await rejectsWithCode(
      dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'a b' }),
      'DNC_INVALID_INPUT',
    );
    await rejectsWithCode(
      dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], reason: { x: 1 } }),
      'DNC_INVALID_INPUT',
    );
    await rejectsWithCode(
      dnc.removeLabels({ contact: '+12015550123', labels: ['DNC_Nope'] }),
      'DNC_UNKNOWN_LABEL',
    );
    assert.equal(store.status().seq, 0, 'nothing was written');
    assert.deepEqual(await store.audit(), []);
  });

  it('blocks a contact that cannot be parsed with INVALID_CONTACT, and rejects bad check options', () => {
    const decision = dnc.check('call me maybe', { channel: 'voice' });
    assert.equal(decision.allowed, false);
    assert.equal(decision.contact, null);
    assert.equal(decision.reasons[0].code, 'INVALID_CONTACT');
    assert.match(decision.reasons[0].message, /call me maybe/);
    assert.throws(
      () => dnc.check('+12015550123', { labels: ['DNC_Nope'] }),
      (e: unknown) => (e as DncError).code === 'DNC_UNKNOWN_LABEL',
    );
    assert.throws(
      () => dnc.check('+12015550123', { channel: 'by pigeon' }),
      (e: unknown) => (e as DncError).code === 'DNC_INVALID_INPUT',
    );
  });

  it('fails closed with STORE_UNAVAILABLE when the store cannot answer', async () => {
    await store.close();
    const decision = dnc.check('+12015550123', { channel: 'voice' });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons[0].code, 'STORE_UNAVAILABLE');
    const batch = dnc.checkMany(['+12015550123', 'ana@example.com']);
    assert.equal(batch.allowed.length, 0);
    assert.equal(batch.summary.reasons.STORE_UNAVAILABLE, 2);
    await rejectsWithCode(
      dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'] }),
      'DNC_STORE_UNAVAILABLE',
    );
  });

  it('keeps blocking a label the configuration no longer defines when checking every label', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Surveys'], source: 'ivr' });
    const narrowed = new DncService({ labels: [{ name: 'DNC_Sales' }], store, now: () => clock });
    assert.equal(narrowed.check('+12015550123').allowed, false, 'unknown purpose: assume the worst');
    assert.equal(narrowed.check('+12015550123', { labels: ['DNC_Sales'] }).allowed, true);
  });

  it('removes named labels or all labels, audited with actor and reason', async () => {
    await dnc.addLabels({
      contact: '+12015550123',
      labels: ['DNC_Sales', 'DNC_Surveys', 'DNC_SMS'],
      source: 'ivr',
    });
    const removed = await dnc.removeLabels({
      contact: '2015550123',
      labels: ['DNC_Sales', 'DNC_Global'],
      source: 'agent',
      actor: 'agent-7',
      reason: 'customer re-subscribed',
    });
    assert.deepEqual(removed.changed, ['DNC_Sales']);
    assert.deepEqual(removed.unchanged, ['DNC_Global']);
    assert.deepEqual([...dnc.check('+12015550123', { channel: 'sms' }).matched].sort(), [
      'DNC_SMS',
      'DNC_Surveys',
    ]);
    const all = await dnc.removeLabels({
      contact: '+12015550123',
      all: true,
      source: 'agent',
      actor: 'agent-7',
    });
    assert.deepEqual([...all.changed].sort(), ['DNC_SMS', 'DNC_Surveys']);
    assert.equal(dnc.check('+12015550123', { channel: 'sms' }).allowed, true);
    const history = await store.audit({ keys: ['+12015550123'] });
    assert.deepEqual(
      history.map((r) => [r.op, r.actor, r.reason]),
      [
        ['add', null, null],
        ['remove', 'agent-7', 'customer re-subscribed'],
        ['remove', 'agent-7', null],
      ],
    );
  });

  it('scrubs a campaign list: allowed items as given, blocked items with their decision, counts per reason', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'ivr' });
    await dnc.addLabels({ contact: '+12015550124', labels: ['DNC_Global'], source: 'ivr' });
    const rows = [
      { phone: '+12015550123', name: 'Ana' },
      { phone: '+12015550125', name: 'Bo' },
      '201-555-0124',
      'garbage',
      { email: 'cy@example.com' },
    ];
    const batch = dnc.checkMany(rows, { labels: ['DNC_Sales'], channel: 'voice' });
    assert.deepEqual(batch.allowed, [rows[1], rows[4]]);
    assert.deepEqual(
      batch.blocked.map((b) => b.item),
      [rows[0], rows[2], rows[3]],
    );
    assert.deepEqual(batch.blocked[0].decision.matched, ['DNC_Sales']);
    assert.deepEqual(batch.summary, {
      total: 5,
      allowed: 2,
      blocked: 3,
      reasons: { LABEL: 2, INVALID_CONTACT: 1 },
      labels: { DNC_Sales: 1, DNC_Global: 1 },
    });
    const empty = dnc.checkMany([]);
    assert.deepEqual([empty.allowed, empty.blocked, empty.summary.total], [[], [], 0]);
  });

  it('refuses an attempt dated in the future (it would skew caps and pruning), writing nothing', async () => {
    await rejectsWithCode(
      dnc.recordAttempt({ contact: '+12015550123', at: T0 + 400 * DAY, outcome: 'refusal' }),
      'DNC_INVALID_INPUT',
    );
    assert.deepEqual(store.attempts('+12015550123', 0), []);
    // A dialer clock a minute ahead is fine.
    const recorded = await dnc.recordAttempt({ contact: '+12015550123', at: T0 + 60_000 });
    assert.equal(recorded.at, T0 + 60_000);
  });

  it('keeps labels across a restart of the store', async () => {
    await dnc.addLabels({ contact: '+12015550123', labels: ['DNC_Sales'], source: 'ivr' });
    await store.close();
    store = new EmbeddedStore({ path: path.join(dir, 'dnc-store.json') });
    await store.open();
    const reopened = new DncService({ labels: LABELS, store, now: () => clock });
    assert.equal(reopened.check('+12015550123', { labels: ['DNC_Sales'] }).allowed, false);
  });
});
