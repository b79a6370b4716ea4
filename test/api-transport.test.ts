/**
 * The API's transport on the node test helper (the real Node-RED runtime and our nodes; body-parser
 * errors as Node-RED's own editor app raises them are covered in test/e2e/api-transport.e2e.test.ts):
 * - 405 carries `Allow` (RFC 9110 §15.5.6); route patterns are exact (`/openapiXjson` is no route);
 * - public callers (bearer tokens) never see store paths, in 503 bodies or /health;
 * - cross-site writes: only the documented media types (so a browser must preflight), and a foreign
 *   `Origin` is refused on the admin mount;
 * - import uploads are removed on every way out (conflict, invalid file, interrupted upload, redeploy)
 *   and stale ones are swept.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactBody } from '../lib/api/errors';
import { sweepStaleUploads } from '../lib/api/upload-spool';
import { api, apiModules, config, deploy, fetchJson, get, helper, post, seq, upload } from './api-support';
import { ANA, storeReady, useNodeRed } from './nodes/support';

const WRITE = 'w'.repeat(20) + '-write-token-0123456789';

let apps: { admin: (req: unknown, res: unknown) => void; flows: (req: unknown, res: unknown) => void };
function captureModule(RED: any): void {
  apps = { admin: RED.httpAdmin, flows: RED.httpNode };
  RED.nodes.registerType('api-capture', function (this: any, n: any) {
    RED.nodes.createNode(this, n);
  });
}

/** Serves one of the captured express apps on 127.0.0.1 for requests the helper's supertest cannot make. */
async function serve(app: 'admin' | 'flows'): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => apps[app](req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function call(base: string, method: string, path: string, headers: Record<string, string> = {}) {
  return fetchJson(`${base}${path}`, { method, headers });
}

/** Polls until `probe` holds (uploads are removed asynchronously); fails after `ms`. */
async function eventually(what: string, probe: () => boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DNC API: transport', function () {
  this.timeout(20000);
  useNodeRed();

  it('405 lists the allowed methods in Allow; literal route parts match exactly', async () => {
    await helper.load([...apiModules, captureModule], [config('c1')], { c1: { writeTokens: WRITE } });
    await storeReady();
    const put = await api().put('/dnc/labels').send({});
    assert.equal(put.status, 405);
    assert.equal(put.body.code, 'DNC_METHOD_NOT_ALLOWED');
    assert.equal(put.headers.allow, 'GET, HEAD');
    const get405 = await api().get('/dnc/labels/add');
    assert.equal(get405.status, 405);
    assert.equal(get405.headers.allow, 'POST');
    const both = await api().put('/dnc/check');
    assert.deepEqual(both.headers.allow.split(', ').sort(), ['GET', 'HEAD', 'POST']);
    // `.` in /openapi.json is a dot, not any character.
    assert.equal((await get('/dnc/openapi.json')).status, 200);
    const admin = await get('/dnc/openapiXjson');
    assert.equal(admin.status, 404);
    assert.equal(admin.body.code, undefined, 'not an API route: left to Node-RED');
    const flows = await serve('flows');
    try {
      const auth = { Authorization: `Bearer ${WRITE}` };
      assert.equal((await call(flows.base, 'GET', '/dnc-api/openapi.json', auth)).status, 200);
      const pub = await call(flows.base, 'GET', '/dnc-api/openapiXjson', auth);
      assert.equal(pub.status, 404);
      assert.equal(pub.json.code, 'DNC_NOT_FOUND');
      const method = await call(flows.base, 'DELETE', '/dnc-api/health', auth);
      assert.equal(method.status, 405);
      assert.equal(method.headers.get('allow'), 'GET, HEAD');
    } finally {
      await flows.close();
    }
  });

  it('public callers get the code and a short message, never the store path; admins see the detail', async () => {
    const user = mkdtempSync(join(tmpdir(), 'dnc-paths-'));
    try {
      await publicAnswersWithout(user);
    } finally {
      rmSync(user, { recursive: true, force: true });
    }
  });

  async function publicAnswersWithout(user: string): Promise<void> {
    // The store's folder is a regular file: the store cannot open, and its error names the path.
    const blocker = join(user, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const storePath = join(blocker, 'dnc-store.json');
    await helper.load(
      [...apiModules, captureModule],
      [
        config('c1', { storePath }),
        config('c2', { name: 'Bad', apiPath: '/bad-api', labels: [{ name: 'bad name' }] }),
      ],
      { c1: { writeTokens: WRITE }, c2: { writeTokens: 'b'.repeat(30) } },
    );
    await storeReady('c1').catch(() => undefined);
    // The admin mount shows the reason (administrators fix it).
    const adminHealth = await get('/dnc/health?config=c1');
    assert.equal(adminHealth.status, 503);
    assert.ok(adminHealth.text.includes(blocker), adminHealth.text);
    // The same text inside a decision's reason (a store failing mid-check) loses the path for the public.
    const reason = `the DNC store cannot answer, so the contact is blocked: ${adminHealth.body.store.error}`;
    const redacted = JSON.stringify(
      redactBody({ allowed: false, reasons: [{ code: 'X', message: reason }] }),
    );
    assert.ok(!redacted.includes(user), redacted);
    assert.match(redacted, /<file>/);
    const flows = await serve('flows');
    try {
      const auth = { Authorization: `Bearer ${WRITE}`, 'Content-Type': 'application/json' };
      const health = await call(flows.base, 'GET', '/dnc-api/health', auth);
      assert.equal(health.status, 503);
      assert.equal(health.json.status, 'unavailable');
      assert.equal(typeof health.json.store.error, 'string');
      const check = await fetch(`${flows.base}/dnc-api/check`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ contact: ANA }),
      });
      const checkText = await check.text();
      assert.equal(check.status, 503);
      assert.equal(JSON.parse(checkText).code, 'DNC_STORE_UNAVAILABLE');
      const notConfigured = await call(flows.base, 'GET', '/bad-api/labels', {
        Authorization: `Bearer ${'b'.repeat(30)}`,
      });
      // Its label error is an administrator's business.
      assert.equal(notConfigured.status, 503, notConfigured.text);
      assert.equal(notConfigured.json.code, 'DNC_NOT_CONFIGURED');
      assert.doesNotMatch(notConfigured.text, /bad name/);
      for (const text of [health.text, checkText, notConfigured.text]) {
        assert.ok(!text.includes(user), `no path in ${text}`);
        assert.doesNotMatch(text, /\/tmp\/|\\|\bat .*:\d+/, text);
      }
    } finally {
      await flows.close();
    }
  }

  it('writes take only their documented media types, so a browser cannot send one cross-site unasked', async () => {
    await deploy();
    const label = JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] });
    // What a form or fetch() in another site's page can send without a CORS preflight.
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      for (const path of ['/dnc/labels/add', '/dnc/labels/remove', '/dnc/attempts', '/dnc/outcomes']) {
        const res = await api().post(path).set('Content-Type', type).send(label);
        assert.equal(res.status, 415, `${path} ${type}: ${res.text}`);
        assert.equal(res.body.code, 'DNC_UNSUPPORTED_MEDIA_TYPE');
      }
      const csv = await api()
        .post('/dnc/imports?format=csv')
        .set('Content-Type', type)
        .send(`contact,labels\n${ANA},DNC_Sales\n`);
      assert.equal(csv.status, 415, `import as ${type}: ${csv.text}`);
    }
    // No Content-Type at all (a raw body) is refused too.
    const untyped = await new Promise<number>((resolve, reject) => {
      void serve('admin').then((admin) => {
        const req = request(`${admin.base}/dnc/labels/add`, { method: 'POST' }, (res) => {
          res.resume();
          res.on('end', () => void admin.close().then(() => resolve(res.statusCode!)));
        });
        req.on('error', reject);
        req.end(label);
      }, reject);
    });
    assert.equal(untyped, 415);
    assert.equal(await seq(), 0, 'nothing written');
    // The documented types work.
    assert.equal((await post('/dnc/labels/add', JSON.parse(label))).status, 200);
    const imported = await upload('/dnc/imports', 'text/csv', `contact,labels\n${ANA},DNC_Sales\n`);
    assert.equal(imported.status, 202, imported.text);
  });

  it('refuses a request from another origin on the admin mount; its own origin and no origin pass', async () => {
    await helper.load([...apiModules, captureModule], [config('c1')]);
    await storeReady();
    const admin = await serve('admin');
    try {
      const body = JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] });
      const send = (path: string, origin?: string) =>
        fetch(`${admin.base}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(origin ? { Origin: origin } : {}) },
          body,
        });
      await send('/dnc/labels/add');
      for (const origin of ['https://evil.example', 'null', `${admin.base}.evil.example`]) {
        const res = await send('/dnc/labels/remove', origin);
        const json = await res.json();
        assert.equal(res.status, 403, origin);
        assert.equal(json.code, 'DNC_ORIGIN_NOT_ALLOWED');
        const read = await fetch(`${admin.base}/dnc/audit`, { headers: { Origin: origin } });
        assert.equal(read.status, 403, `reads of personal data too: ${origin}`);
      }
      assert.equal((await get('/dnc/contacts/' + encodeURIComponent(ANA))).body.labels.length, 1);
      const own = await send('/dnc/labels/remove', admin.base);
      assert.equal(own.status, 200, await own.text());
    } finally {
      await admin.close();
    }
  });
});

describe('DNC API: import uploads never stay behind', function () {
  this.timeout(20000);
  useNodeRed();
  let previous: string | undefined;
  let folder: string;
  const uploads = () => readdirSync(folder).filter((n) => n.startsWith('dnc-import-'));

  beforeEach(() => {
    previous = process.env.TMPDIR;
    folder = mkdtempSync(join(tmpdir(), 'dnc-uploads-'));
    process.env.TMPDIR = folder;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(folder, { recursive: true, force: true });
  });

  const CSV = `contact,labels\n${ANA},DNC_Sales\n`;
  const send = async (text: string, key?: string): Promise<any> => {
    let req = api().post('/dnc/imports').set('Content-Type', 'text/csv');
    if (key !== undefined) req = req.set('Idempotency-Key', key);
    const res: unknown = await req.send(text);
    return res;
  };

  it('removes the upload of an import refused with 409 (idempotency conflict), a replay and an invalid file', async () => {
    await deploy();
    const first = await send(CSV, 'k1');
    assert.equal(first.status, 202);
    await eventually('the first job to finish and remove its upload', () => uploads().length === 0);
    for (let i = 0; i < 5; i++) {
      const other = await send(`contact,labels\n+44791112345${i},DNC_Sales\n`, 'k1');
      assert.equal(other.status, 409, other.text);
    }
    assert.equal((await send(CSV, 'k1')).headers['idempotent-replayed'], 'true');
    assert.equal((await send('phone_number,labels\nx,DNC_Sales\n', 'k2')).status, 400);
    assert.equal((await send('phone_number,labels\nx,DNC_Sales\n')).status, 400);
    assert.equal((await send('')).status, 400);
    assert.deepEqual(uploads(), []);
  });

  it('removes the upload when the client goes away mid-upload', async () => {
    await helper.load([...apiModules, captureModule], [config('c1')]);
    await storeReady();
    const admin = await serve('admin');
    try {
      const req = request(`${admin.base}/dnc/imports`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/csv', 'Content-Length': String(50 * 1024 * 1024) },
      });
      req.on('error', () => undefined);
      req.write(`contact,labels\n${`${ANA},DNC_Sales\n`.repeat(4000)}`);
      await eventually('the upload to start', () => uploads().length === 1);
      req.destroy();
      await eventually('the interrupted upload to be removed', () => uploads().length === 0);
    } finally {
      await admin.close();
    }
  });

  it('removes queued uploads when the configuration goes away (redeploy, stop)', async () => {
    await deploy();
    const rows = Array.from({ length: 3000 }, (_, i) => `+4479111${String(i).padStart(5, '0')},DNC_Sales`);
    for (let i = 0; i < 3; i++) {
      const res = await send(`contact,labels\n${rows.slice(i * 1000, (i + 1) * 1000).join('\n')}\n`);
      assert.equal(res.status, 202);
    }
    await helper.unload();
    await eventually('queued uploads to be removed', () => uploads().length === 0);
  });

  it('sweeps uploads left by a process that no longer runs, and keeps those of running processes', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const dead = join(folder, `dnc-import-${gone}-abc123`);
    const mine = join(folder, `dnc-import-${process.pid}-def456`);
    const legacyOld = join(folder, 'dnc-import-Ab12Cd');
    const legacyNew = join(folder, 'dnc-import-Ef34Gh');
    const other = join(folder, 'something-else');
    for (const dir of [dead, mine, legacyOld, legacyNew, other]) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'upload'), 'contact,labels\n');
    }
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    utimesSync(legacyOld, twoDaysAgo, twoDaysAgo);
    const removed = await sweepStaleUploads(folder);
    assert.deepEqual(removed.sort(), [dead, legacyOld].sort());
    assert.deepEqual(readdirSync(folder).sort(), [
      `dnc-import-${process.pid}-def456`,
      'dnc-import-Ef34Gh',
      'something-else',
    ]);
  });
});
