/**
 * Who acted: every change and attempt carries a `principal` set by the package from how the caller
 * reached it (admin user, API token id, flow node, import job), never from the request. It is part of
 * the hashed record, shown by the audit API, exports and dnc-events; records written by 0.1.0 have none
 * and still verify.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses and messages are untyped JSON */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { adminPrincipal } from '../nodes/shared/api-mount';
import { api, apiModules, config, deploy, finished, get, helper, post, seq, upload } from './api-support';
import { ANA, BEN, CARL, collect, storeReady, useNodeRed } from './nodes/support';
import { addChange } from './store-contract';

const quiet = { warn: (): void => undefined };

/** 0.1.0's hash, computed here independently of lib/: sha256(prev + "\n" + sorted-key JSON without hash). */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .filter((k) => object[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${sortedJson(object[k])}`)
    .join(',')}}`;
}
function v010Line(content: Record<string, unknown>): string {
  const hash = createHash('sha256')
    .update(`${content.prev as string}\n${sortedJson(content)}`)
    .digest('hex');
  return `${JSON.stringify({ ...content, hash })}\n`;
}

describe('principal: who acted, in the store', function () {
  let dir: string;
  let path: string;
  let journalPath: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dnc-principal-'));
    path = join(dir, 'dnc-store.json');
    journalPath = join(dir, 'dnc-store.events.ndjson');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('records the principal in the hashed record and on the label; editing it is detected', async () => {
    const store = new EmbeddedStore({ path, logger: quiet });
    await store.open();
    const result = await store.apply(addChange([ANA], ['DNC_Sales'], { principal: 'user:alice' }));
    assert.equal(result.record.principal, 'user:alice');
    assert.equal(store.lookup(ANA)!.labels[0].principal, 'user:alice');
    await store.apply(addChange([BEN], ['DNC_Sales'], { principal: 'token:0123456789ab' }));
    const audit = await store.audit();
    assert.deepEqual(
      audit.map((r) => r.principal),
      ['user:alice', 'token:0123456789ab'],
    );
    assert.equal((await store.verify()).ok, true);
    await store.close();

    const text = await readFile(journalPath, 'utf8');
    assert.ok(text.includes('"principal":"user:alice"'));
    await writeFile(journalPath, text.replace('"principal":"user:alice"', '"principal":"user:mallory"'));
    const reopened = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(reopened.open(), { code: 'DNC_STORE_UNAVAILABLE' });
    await reopened.close();
  });

  it('keeps principals across a reopen from the snapshot (both snapshot formats) and from replay', async () => {
    const first = new EmbeddedStore({ path, logger: quiet });
    await first.open();
    await first.apply(addChange([ANA], ['DNC_Sales'], { principal: 'node:abc123' }));
    // A key holding "\n" makes the snapshot use format 1 (rows).
    await first.apply(addChange(['id:two\nlines'], ['DNC_Sales'], { principal: 'user:bob' }));
    await first.apply(addChange([BEN], ['DNC_Sales']));
    await first.snapshotNow();
    await first.apply(addChange([CARL], ['DNC_Sales'], { principal: 'import:user:bob' }));
    await first.close();
    const snapshot = JSON.parse(await readFile(path, 'utf8'));
    assert.ok(Array.isArray(snapshot.principals), 'the snapshot has a principals column');

    const reopened = new EmbeddedStore({ path, logger: quiet });
    await reopened.open();
    assert.equal(reopened.lookup(ANA)!.labels[0].principal, 'node:abc123');
    assert.equal(reopened.lookup('id:two\nlines')!.labels[0].principal, 'user:bob');
    assert.equal(reopened.lookup(BEN)!.labels[0].principal, null);
    assert.equal(reopened.lookup(CARL)!.labels[0].principal, 'import:user:bob');
    await reopened.close();

    // Format 2 as well (no key with "\n").
    await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'dnc-principal-'));
    path = join(dir, 'dnc-store.json');
    const plain = new EmbeddedStore({ path, logger: quiet });
    await plain.open();
    await plain.apply(addChange([ANA], ['DNC_Sales'], { principal: 'node:abc123' }));
    await plain.apply(addChange([BEN], ['DNC_Sales']));
    await plain.snapshotNow();
    await plain.close();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).format, 'dnc-store-snapshot/2');
    const again = new EmbeddedStore({ path, logger: quiet });
    await again.open();
    assert.equal(again.lookup(ANA)!.labels[0].principal, 'node:abc123');
    assert.equal(again.lookup(BEN)!.labels[0].principal, null);
    await again.close();
  });

  it('opens a 0.1.0 store unchanged (no principal, hashes verify) and continues it with principals', async () => {
    const prev0 = '0'.repeat(64);
    const first = v010Line({
      seq: 1,
      at: '2025-01-02T03:04:05.000Z',
      op: 'add',
      keys: [ANA],
      labels: ['DNC_Sales'],
      changed: ['DNC_Sales'],
      expiresAt: [null],
      source: 'ivr',
      actor: null,
      reason: null,
      campaign: null,
      channel: null,
      prev: prev0,
    });
    const firstHash = JSON.parse(first).hash as string;
    const second = v010Line({
      seq: 2,
      at: '2025-01-02T03:04:06.000Z',
      op: 'add',
      keys: [BEN],
      labels: ['DNC_Sales'],
      changed: ['DNC_Sales'],
      expiresAt: [null],
      source: 'api',
      actor: 'agent-7',
      reason: null,
      campaign: null,
      channel: null,
      prev: firstHash,
    });
    await writeFile(journalPath, first + second);

    const store = new EmbeddedStore({ path, logger: quiet });
    await store.open();
    // Both records were written by 0.1.0: unkeyed (legacy), still checked; the third is the upgrade's
    // switch-over record, by the package itself.
    assert.deepEqual(await store.verify(), { ok: true, records: 3, legacy: 2 });
    const old = await store.audit();
    assert.equal(old[2].principal, 'system');
    assert.equal('principal' in old[0], false, '0.1.0 records read without a principal');
    assert.equal(old[0].hash, firstHash);
    assert.equal(store.lookup(ANA)!.labels[0].principal, null);
    await store.apply(addChange([CARL], ['DNC_Sales'], { principal: 'user:alice' }));
    await store.snapshotNow();
    await store.close();
    // History is never rewritten.
    assert.ok((await readFile(journalPath, 'utf8')).startsWith(first + second));

    // A 0.1.0 snapshot has no principals column.
    const snapshot = JSON.parse(await readFile(path, 'utf8'));
    delete snapshot.principals;
    await writeFile(path, JSON.stringify(snapshot));
    const reopened = new EmbeddedStore({ path, logger: quiet });
    await reopened.open();
    assert.equal((await reopened.verify()).ok, true);
    assert.equal(reopened.lookup(CARL)!.labels[0].principal, null, 'not in that snapshot: none');
    assert.equal((await reopened.audit())[3].principal, 'user:alice');
    await reopened.close();
  });

  it('DncService records the principal it is given, never one from the request, and "system" by default', async () => {
    const store = new EmbeddedStore({ path, logger: quiet });
    await store.open();
    const service = new DncService({
      labels: [{ name: 'DNC_Sales', channels: [], global: false, expiresAfterDays: null }],
      store,
    });
    const claimed = { contact: ANA, labels: ['DNC_Sales'], principal: 'user:mallory' } as any;
    const byNode = await service.addLabels(claimed, 'node:n1');
    assert.equal(byNode.principal, 'node:n1');
    assert.equal(byNode.record.principal, 'node:n1');
    const bySystem = await service.removeLabels(claimed);
    assert.equal(bySystem.record.principal, 'system');
    const attempt = await service.recordAttempt(
      { contact: ANA, principal: 'user:mallory' } as any,
      'node:n2',
    );
    assert.equal(attempt.principal, 'node:n2');
    assert.equal(store.attempts(ANA, 0)[0].principal, 'node:n2');
    await store.close();
  });
});

describe('principal: who acted, through the API and the nodes', function () {
  this.timeout(20000);
  useNodeRed();

  it('names the admin as admin:anonymous without adminAuth, user:<name> with it', () => {
    assert.equal(adminPrincipal({ user: { username: 'alice' } } as any), 'user:alice');
    assert.equal(
      adminPrincipal({ user: { anonymous: true, permissions: 'read' } } as any),
      'admin:anonymous',
    );
    assert.equal(adminPrincipal({} as any), 'admin:anonymous');
  });

  it('records the admin caller, refuses a principal in a body (nothing written), shows it in audit and exports', async () => {
    await deploy();
    const added = await post('/dnc/labels/add', { contact: ANA, labels: ['DNC_Sales'], actor: 'crm' });
    assert.equal(added.status, 200, added.text);
    assert.equal(added.body.principal, 'admin:anonymous');
    assert.equal(added.body.record.principal, 'admin:anonymous');

    const before = await seq();
    for (const path of ['/dnc/labels/add', '/dnc/labels/remove']) {
      const claimed = await post(path, { contact: BEN, labels: ['DNC_Sales'], principal: 'user:ceo' });
      assert.equal(claimed.status, 400, claimed.text);
      assert.equal(claimed.body.code, 'DNC_INVALID_INPUT');
      assert.equal(claimed.body.field, 'principal');
    }
    const attempt = await post('/dnc/attempts', { contact: BEN, principal: 'user:ceo' });
    assert.equal(attempt.status, 400);
    assert.equal(attempt.body.field, 'principal');
    assert.equal(await seq(), before);

    const recorded = await post('/dnc/attempts', { contact: BEN });
    assert.equal(recorded.status, 200, recorded.text);
    assert.equal(recorded.body.principal, 'admin:anonymous');

    const audit = await get('/dnc/audit');
    assert.deepEqual(
      audit.body.records.map((r: { principal?: string }) => r.principal),
      ['admin:anonymous'],
    );
    const contact = await get(`/dnc/contacts/${encodeURIComponent(ANA)}`);
    assert.equal(contact.body.labels[0].principal, 'admin:anonymous');
    const json = await get('/dnc/export?format=json');
    assert.equal(json.body[0].labels[0].principal, 'admin:anonymous');
    const csv = (await api().get('/dnc/export').buffer(true)) as { text: string };
    const [header, row] = csv.text.trimEnd().split('\r\n');
    const columns = header.split(',');
    assert.equal(row.split(',')[columns.indexOf('principal')], 'admin:anonymous');
  });

  it('records an import as import:<caller> and ignores a principal column in the file', async () => {
    await deploy();
    const file = 'contact,labels,principal\n' + `${ANA},DNC_Sales,user:mallory\n` + `${BEN},DNC_Sales,\n`;
    const started = await upload('/dnc/imports', 'text/csv', file);
    assert.equal(started.status, 202, started.text);
    assert.equal(started.body.principal, 'admin:anonymous');
    const job = await finished(started.body.id);
    assert.deepEqual(job.rows, { read: 2, applied: 2, unchanged: 0, failed: 0 });
    const audit = await get('/dnc/audit');
    assert.deepEqual(
      audit.body.records.map((r: { principal?: string }) => r.principal),
      ['import:admin:anonymous', 'import:admin:anonymous'],
    );
  });

  it('records the flow node that made a change, and dnc-events shows the principal', async () => {
    await deploy([
      { id: 'tab', type: 'tab' },
      config('c1'),
      { id: 'ev', type: 'dnc-events', z: 'tab', config: 'c1', wires: [['out']] },
      { id: 'add', type: 'dnc-add-label', z: 'tab', config: 'c1', labels: ['DNC_Sales'], wires: [[]] },
      { id: 'rm', type: 'dnc-remove-label', z: 'tab', config: 'c1', labels: ['DNC_Sales'], wires: [[]] },
      { id: 'out', type: 'helper', z: 'tab' },
    ]);
    const seen = collect(helper.getNode('out'));
    // A msg cannot claim a principal.
    helper.getNode('add').receive({ payload: ANA, principal: 'user:mallory' });
    const deadline = Date.now() + 4000;
    while (seen.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    helper.getNode('rm').receive({ payload: ANA });
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      seen.map((m: any): unknown[] => [m.topic, m.payload.principal, m.payload.record.principal]),
      [
        ['dnc/add', 'node:add', 'node:add'],
        ['dnc/remove', 'node:rm', 'node:rm'],
      ],
    );
  });
});

describe('principal: the public mount', function () {
  this.timeout(20000);
  useNodeRed();
  const WRITE = 'w'.repeat(20) + '-write-token-0123456789';
  let server: Server | undefined;
  let flowsApp: ((req: unknown, res: unknown) => void) | undefined;
  function captureModule(RED: { httpNode: (req: unknown, res: unknown) => void; nodes: any }): void {
    flowsApp = RED.httpNode;
    RED.nodes.registerType('api-capture-principal', function (this: any, n: any) {
      RED.nodes.createNode(this, n);
    });
  }
  afterEach(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  it('records the token id (never the token) as the principal', async () => {
    await helper.load([...apiModules, captureModule], [config('c1', { apiPath: '/dnc-api' })], {
      c1: { writeTokens: WRITE },
    });
    await storeReady();
    server = createServer((req, res) => flowsApp!(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dnc-api`;
    const headers = { Authorization: `Bearer ${WRITE}`, 'Content-Type': 'application/json' };
    const added = await fetch(`${base}/labels/add`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] }),
    });
    assert.equal(added.status, 200);
    const id = `token:${createHash('sha256').update(WRITE).digest('hex').slice(0, 12)}`;
    const body = (await added.json()) as { record: { principal: string } };
    assert.equal(body.record.principal, id);
    const audit = await fetch(`${base}/audit`, { headers });
    const text = await audit.text();
    assert.equal(JSON.parse(text).records[0].principal, id);
    assert.ok(!text.includes(WRITE), 'the token itself is never shown');
  });
});
