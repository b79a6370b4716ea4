/**
 * The DNC HTTP API on the admin mount (/dnc/), through the test helper: every route's behaviour, the
 * idempotency key, configuration selection and the change events node.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { ANA, BEN, CARL, collect, useNodeRed } from './nodes/support';
import { api, config, deploy, get, helper, post, seq } from './api-support';

const enc = encodeURIComponent;

describe('DNC API: admin mount routes', function () {
  this.timeout(20000);
  useNodeRed();

  it('lists the label definitions', async () => {
    await deploy();
    const res = await get('/dnc/labels');
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(
      res.body.labels.map((l: any) => l.name),
      ['DNC_Sales', 'DNC_Marketing', 'DNC_Global', 'Hold'],
    );
    assert.deepEqual(res.body.labels[0].channels, ['voice', 'sms']);
  });

  it('adds labels, shows the contact with labels and history, checks, removes', async () => {
    await deploy();
    const added = await post('/dnc/labels/add', {
      contact: ANA,
      labels: ['DNC_Sales'],
      reason: 'asked on the phone',
      actor: 'agent-7',
    });
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.body.added, ['DNC_Sales']);
    assert.equal(added.body.source, 'api');
    assert.equal(added.body.record.seq, 1);

    const again = await post('/dnc/labels/add', { contact: '07911 123456', labels: 'DNC_Sales' });
    assert.deepEqual(again.body.alreadyPresent, ['DNC_Sales']);

    const contact = await get(`/dnc/contacts/${enc(ANA)}`);
    assert.equal(contact.status, 200, contact.text);
    assert.equal(contact.body.known, true);
    assert.deepEqual(
      contact.body.labels.map((l: any) => [l.label, l.actor, l.reason]),
      [['DNC_Sales', 'agent-7', 'asked on the phone']],
    );
    assert.equal(contact.body.history.length, 2);

    const unknown = await get(`/dnc/contacts/${enc(BEN)}?history=false`);
    assert.equal(unknown.body.known, false);
    assert.equal(unknown.body.history, undefined);

    const voice = await post('/dnc/check', { contact: ANA, channel: 'voice' });
    assert.equal(voice.status, 200);
    assert.equal(voice.body.allowed, false);
    assert.deepEqual(voice.body.matched, ['DNC_Sales']);
    const email = await post('/dnc/check', { contact: ANA, channel: 'email' });
    assert.equal(email.body.allowed, true);
    const byQuery = await get(`/dnc/check?contact=${enc(ANA)}&channel=sms`);
    assert.equal(byQuery.body.allowed, false);
    const onlyMarketing = await post('/dnc/check', { contact: ANA, labels: ['DNC_Marketing'] });
    assert.equal(onlyMarketing.body.allowed, true);

    const list = await post('/dnc/check', { contacts: [ANA, BEN, 'not a number'], channel: 'voice' });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.allowed, [BEN]);
    assert.equal(list.body.summary.blocked, 2);
    assert.deepEqual(list.body.summary.reasons, { LABEL: 1, INVALID_CONTACT: 1 });

    const removed = await post('/dnc/labels/remove', { contact: ANA, labels: ['DNC_Sales'], actor: 'sup' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.body.removed, ['DNC_Sales']);
    assert.equal((await post('/dnc/check', { contact: ANA })).body.allowed, true);

    await post('/dnc/labels/add', { contact: BEN, labels: ['DNC_Sales', 'Hold'] });
    const all = await post('/dnc/labels/remove', { contact: BEN, all: true });
    assert.deepEqual(all.body.removed, ['DNC_Sales', 'Hold']);
  });

  it('links identifiers given together and finds the contact by any of them', async () => {
    await deploy();
    await post('/dnc/labels/add', {
      contact: { phone: ANA, email: 'Ana@Example.com', id: 'crm-1' },
      labels: ['DNC_Global'],
    });
    for (const id of [ANA, 'ana@example.com', 'id:crm-1']) {
      const res = await get(`/dnc/contacts/${enc(id)}`);
      assert.deepEqual(res.body.keys, [ANA, 'ana@example.com', 'id:crm-1'], id);
      assert.equal(res.body.labels[0].label, 'DNC_Global');
    }
  });

  it('answers the audit trail with filters and a chain verification', async () => {
    await deploy();
    await post('/dnc/labels/add', { contact: ANA, labels: ['DNC_Sales'], source: 'ivr' });
    await post('/dnc/labels/add', { contact: BEN, labels: ['Hold'] });
    await post('/dnc/labels/remove', { contact: ANA, labels: ['DNC_Sales'] });
    const all = await get('/dnc/audit');
    assert.equal(all.body.count, 3);
    assert.deepEqual(
      all.body.records.map((r: any) => r.seq),
      [1, 2, 3],
    );
    assert.equal((await get(`/dnc/audit?contact=${enc(ANA)}`)).body.count, 2);
    assert.equal((await get('/dnc/audit?label=Hold')).body.count, 1);
    assert.equal((await get('/dnc/audit?source=ivr')).body.count, 1);
    assert.equal((await get('/dnc/audit?limit=1')).body.records[0].seq, 3);
    assert.equal((await get('/dnc/audit?since=2100-01-01T00:00:00Z')).body.count, 0);
    const verified = await get('/dnc/audit?verify=true&limit=1');
    assert.deepEqual(verified.body.verification, { ok: true, records: 3 });
    assert.deepEqual((await get('/dnc/audit/verify')).body, { ok: true, records: 3 });
  });

  it('reports health with the store state and the age of the last change', async () => {
    await deploy();
    let res = await get('/dnc/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.store.state, 'ready');
    assert.equal(res.body.store.lastChangeAt, null);
    assert.deepEqual(res.body.registries, []);
    await post('/dnc/labels/add', { contact: ANA, labels: ['DNC_Sales'] });
    res = await get('/dnc/health');
    assert.equal(res.body.store.seq, 1);
    assert.equal(res.body.store.contacts, 1);
    assert.equal(typeof res.body.store.lastChangeAt, 'string');
    assert.ok(res.body.store.lastChangeAgeSeconds <= 5);
  });

  it('replays a write with the same Idempotency-Key and refuses the key with another body', async () => {
    await deploy();
    const body = { contact: ANA, labels: ['DNC_Sales'] };
    const first = await post('/dnc/labels/add', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(first.status, 200);
    const replay = await post('/dnc/labels/add', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(replay.status, 200);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.deepEqual(replay.body, first.body);
    assert.equal(await seq(), 1, 'the replay wrote nothing');
    const other = await post(
      '/dnc/labels/add',
      { contact: BEN, labels: ['DNC_Sales'] },
      { 'Idempotency-Key': 'k-1' },
    );
    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'DNC_IDEMPOTENCY_CONFLICT');
    assert.equal(await seq(), 1);
    // A 4xx is an answer too: replayed, not re-run.
    const bad = await post(
      '/dnc/labels/add',
      { contact: ANA, labels: ['Nope'] },
      { 'Idempotency-Key': 'k-2' },
    );
    assert.equal(bad.status, 400);
    const badAgain = await post(
      '/dnc/labels/add',
      { contact: ANA, labels: ['Nope'] },
      { 'Idempotency-Key': 'k-2' },
    );
    assert.equal(badAgain.headers['idempotent-replayed'], 'true');
    const badKey = await post('/dnc/labels/add', body, { 'Idempotency-Key': 'x'.repeat(300) });
    assert.equal(badKey.status, 400);
  });

  it('selects the configuration by id or name when several are deployed', async () => {
    await deploy([config('c1', { name: 'Sales' }), config('c2', { name: 'Care', storePath: 'care.json' })]);
    const ambiguous = await get('/dnc/labels');
    assert.equal(ambiguous.status, 400);
    assert.equal(ambiguous.body.code, 'DNC_CONFIG_REQUIRED');
    assert.equal(ambiguous.body.field, 'config');
    assert.equal((await post('/dnc/labels/add?config=c2', { contact: ANA, labels: 'Hold' })).status, 200);
    assert.equal((await get(`/dnc/check?config=Care&contact=${enc(ANA)}`)).body.allowed, false);
    assert.equal((await get(`/dnc/check?config=Sales&contact=${enc(ANA)}`)).body.allowed, true);
    const missing = await get('/dnc/labels?config=nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'DNC_NOT_FOUND');
  });

  it('answers 503 with a code when the configuration is invalid, passes unknown paths on, 405 for methods', async () => {
    await deploy([config('c1', { labels: [{ name: 'bad name' }] })]);
    const res = await get('/dnc/labels');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'DNC_NOT_CONFIGURED');
    // A path that is not an API route falls through: a flow's http-in node may serve it (the admin
    // and flow apps share one server when both roots are /), so the API must not answer for it.
    const none = await get('/dnc/nothing-here');
    assert.equal(none.status, 404);
    assert.equal(none.body.code, undefined, 'not answered by the DNC API');
    const method = (await api().put('/dnc/labels').send({})) as { status: number; body: any };
    assert.equal(method.status, 405);
  });

  it('records attempts and outcomes when the service keeps them', async () => {
    await deploy();
    const res = await post('/dnc/attempts', { contact: ANA, channel: 'voice', outcome: 'no-answer' });
    if (res.status === 404) return; // a service without attempt records
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.keys, [ANA]);
    assert.equal(res.body.attempt, true);
    assert.equal(typeof res.body.at, 'string');
    const outcome = await post('/dnc/outcomes', { contact: ANA, outcome: 'refusal' });
    assert.equal(outcome.status, 200, outcome.text);
    assert.equal(outcome.body.attempt, false);
    assert.equal((await post('/dnc/outcomes', { contact: ANA })).status, 400);
    assert.equal((await post('/dnc/attempts', { contact: ANA, outcome: 'Not OK' })).status, 400);
    assert.equal((await post('/dnc/attempts', { contact: ANA, at: 'soon' })).status, 400);
  });

  it('dnc-events sends every change from the API and the nodes, and an event when a label expires', async () => {
    const labels = [
      { name: 'DNC_Sales', channels: [], global: false, expiresAfterDays: null },
      // 1.2 seconds
      { name: 'Brief', channels: [], global: false, expiresAfterDays: 1.2 / 86400 },
    ];
    await deploy([
      { id: 'tab', type: 'tab' },
      config('c1', { labels }),
      { id: 'ev', type: 'dnc-events', z: 'tab', config: 'c1', wires: [['out']] },
      {
        id: 'sales',
        type: 'dnc-events',
        z: 'tab',
        config: 'c1',
        labels: ['Brief'],
        events: ['expire'],
        wires: [['out2']],
      },
      {
        id: 'add',
        type: 'dnc-add-label',
        z: 'tab',
        config: 'c1',
        labels: ['DNC_Sales'],
        source: 'ivr',
        wires: [[]],
      },
      { id: 'out', type: 'helper', z: 'tab' },
      { id: 'out2', type: 'helper', z: 'tab' },
    ]);
    const seen = collect(helper.getNode('out'));
    const expiries = collect(helper.getNode('out2'));
    await post('/dnc/labels/add', { contact: ANA, labels: ['DNC_Sales'], actor: 'crm' });
    await post('/dnc/labels/add', { contact: ANA, labels: ['DNC_Sales'] }); // no change: no event
    helper.getNode('add').receive({ payload: BEN });
    await post('/dnc/labels/add', { contact: CARL, labels: ['Brief'] });
    await post('/dnc/labels/remove', { contact: ANA, labels: ['DNC_Sales'] });
    const deadline = Date.now() + 6000;
    while ((seen.length < 5 || expiries.length < 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const summary = seen.map((m: any) => [
      m.topic,
      m.payload.contact,
      m.payload.labels.join(),
      m.payload.source,
    ]);
    assert.deepEqual(summary, [
      ['dnc/add', ANA, 'DNC_Sales', 'api'],
      ['dnc/add', BEN, 'DNC_Sales', 'ivr'],
      ['dnc/add', CARL, 'Brief', 'api'],
      ['dnc/remove', ANA, 'DNC_Sales', 'api'],
      ['dnc/expire', CARL, 'Brief', 'expiry'],
    ]);
    assert.equal(seen[0].payload.record.seq, 1);
    assert.equal(seen[0].payload.actor, 'crm');
    assert.deepEqual(
      seen[0].payload.state.labels.map((l: any) => l.label),
      ['DNC_Sales'],
    );
    assert.equal(seen[4].payload.record, null);
    assert.deepEqual(seen[4].payload.state.labels, []);
    assert.equal(expiries.length, 1);
    assert.equal(expiries[0].topic, 'dnc/expire');
  });
});
