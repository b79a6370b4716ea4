/**
 * Authorization of the DNC API in a real Node-RED process started with `adminAuth`:
 * - admin mount (/dnc/): every route refuses a request without a token, and a user whose permissions
 *   lack dnc.read; a read-only user reads but cannot write; an admin writes;
 * - public mount (/dnc-api): missing, wrong and read-only tokens are refused for writes.
 * The package is loaded from PACKAGE_ROOT (nodesDir), as compiled.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { adminAuthSettings, NodeRedProcess, PACKAGE_ROOT, waitFor } from '../support/node-red-process';

const ANA = '+447911123456';
const WRITE_TOKEN = 'e2e-write-token-0123456789abcdef';
const READ_TOKEN = 'e2e-read-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

/** One request per route, with a body where the route takes one. */
const READS: [string, string, unknown?][] = [
  ['GET', '/openapi.json'],
  ['GET', '/labels'],
  ['GET', `/contacts/${encodeURIComponent(ANA)}`],
  ['POST', '/check', { contact: ANA }],
  ['GET', `/check?contact=${encodeURIComponent(ANA)}`],
  ['GET', '/audit'],
  ['GET', '/audit/verify'],
  ['GET', '/health'],
  ['GET', '/imports'],
  ['GET', '/imports/none'],
  ['GET', '/export'],
];
const WRITES: [string, string, unknown?][] = [
  ['POST', '/labels/add', { contact: ANA, labels: ['DNC_Sales'] }],
  ['POST', '/labels/remove', { contact: ANA, labels: ['DNC_Sales'] }],
  ['POST', '/attempts', { contact: ANA }],
  ['POST', '/outcomes', { contact: ANA, outcome: 'refusal' }],
  ['POST', '/imports', { contact: ANA }],
  ['DELETE', '/imports/none'],
];

describe('DNC API authorization in a real Node-RED with adminAuth', function () {
  this.timeout(120000);
  let red: NodeRedProcess;
  let userDir: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-api-e2e-'));
    red = await NodeRedProcess.start({
      userDir,
      nodesDir: [PACKAGE_ROOT],
      settings: adminAuthSettings(PASSWORD, { admin: '*', reader: 'read', 'flows-only': ['flows.read'] }),
    });
    for (const [user, scope] of [
      ['admin', '*'],
      ['reader', 'read'],
      ['flows-only', 'flows.read'],
    ] as const) {
      tokens[user] = await red.adminToken(user, PASSWORD, scope);
    }
    const flows = [
      {
        id: 'e2eapiconfig0001',
        type: 'dnc-config',
        name: 'e2e',
        labels: [{ name: 'DNC_Sales', description: '', channels: [], global: false, expiresAfterDays: null }],
        defaultCountry: 'GB',
        storePath: '',
        apiPath: '/dnc-api',
        apiRateLimit: 0,
        credentials: { writeTokens: WRITE_TOKEN, readTokens: READ_TOKEN },
      },
    ];
    await red.deploy(flows, tokens.admin);
    await waitFor('the DNC store to open', async () => {
      const res = await call('GET', '/dnc/health', tokens.admin);
      return res.status === 200 ? true : undefined;
    });
  });

  after(async () => {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function call(method: string, url: string, token?: string, body?: unknown) {
    const res = await fetch(`${red.baseUrl}${url}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  it('the package loads with the dnc-events node', async () => {
    const res = await fetch(`${red.baseUrl}/nodes`, {
      headers: { Accept: 'application/json', Authorization: `Bearer ${tokens.admin}` },
    });
    const sets = (await res.json()) as { module: string; types: string[]; err?: string }[];
    const ours = sets.filter((s) => s.module === '@dncflow/node-red-dnc');
    assert.ok(ours.flatMap((s) => s.types).includes('dnc-events'), JSON.stringify(ours));
    assert.ok(
      ours.every((s) => s.err === undefined),
      JSON.stringify(ours),
    );
  });

  it('admin mount: every route refuses a request without a token or without dnc permissions', async () => {
    for (const [method, route, body] of [...READS, ...WRITES]) {
      for (const token of [undefined, 'not-a-token', tokens['flows-only']]) {
        const res = await call(method, `/dnc${route}`, token, body);
        assert.equal(res.status, 401, `${method} ${route} with ${token === undefined ? 'no token' : token}`);
      }
    }
  });

  it('admin mount: a path that is no API route is left to the flows (a flow may serve /dnc/...)', async () => {
    const res = await call('GET', '/dnc/no-such-route');
    assert.equal(res.status, 404, 'not guarded or answered by the DNC API: Node-RED answers 404');
    assert.doesNotMatch(res.text, /DNC_/);
  });

  it('admin mount: a read-only user reads but cannot write; an admin writes', async () => {
    for (const [method, route, body] of READS) {
      const res = await call(method, `/dnc${route}`, tokens.reader, body);
      assert.notEqual(res.status, 401, `${method} ${route}: ${res.text}`);
      assert.ok(res.status < 500, `${method} ${route}: ${res.status} ${res.text}`);
    }
    for (const [method, route, body] of WRITES) {
      const res = await call(method, `/dnc${route}`, tokens.reader, body);
      assert.equal(res.status, 401, `${method} ${route}`);
    }
    const added = await call('POST', '/dnc/labels/add', tokens.admin, {
      contact: ANA,
      labels: ['DNC_Sales'],
    });
    assert.equal(added.status, 200, added.text);
    const audit = JSON.parse((await call('GET', '/dnc/audit', tokens.reader)).text) as {
      count: number;
      records: { principal?: string }[];
    };
    assert.equal(audit.count, 1, 'only the admin write was applied');
    // Who acted is the logged-in Node-RED user (req.user from adminAuth), not anything the body says.
    assert.equal(audit.records[0].principal, 'user:admin');
  });

  it('public mount: missing, wrong and read-only tokens are refused for writes', async () => {
    for (const [method, route, body] of WRITES) {
      assert.equal(
        (await call(method, `/dnc-api${route}`, undefined, body)).status,
        401,
        `${method} ${route}`,
      );
      assert.equal((await call(method, `/dnc-api${route}`, `${WRITE_TOKEN}x`, body)).status, 401);
      assert.equal(
        (await call(method, `/dnc-api${route}`, tokens.admin, body)).status,
        401,
        'admin tokens are not API tokens',
      );
      assert.equal(
        (await call(method, `/dnc-api${route}`, READ_TOKEN, body)).status,
        403,
        `${method} ${route}`,
      );
    }
    for (const [method, route, body] of READS) {
      assert.equal(
        (await call(method, `/dnc-api${route}`, undefined, body)).status,
        401,
        `${method} ${route}`,
      );
    }
    const check = await call('POST', '/dnc-api/check', READ_TOKEN, { contact: ANA });
    assert.equal(check.status, 200);
    assert.equal((JSON.parse(check.text) as { allowed: boolean }).allowed, false);
    const removed = await call('POST', '/dnc-api/labels/remove', WRITE_TOKEN, {
      contact: ANA,
      labels: ['DNC_Sales'],
    });
    assert.equal(removed.status, 200, removed.text);
  });
});
