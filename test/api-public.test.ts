/**
 * The public mount on Node-RED's flows app (RED.httpNode), guarded by the dnc-config node's bearer tokens:
 * off until a token exists; missing or wrong tokens are 401, a read-only token cannot write (403), the rate
 * limit answers 429 with Retry-After. The flows app is served on a local port for the test.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenSet } from '../lib/api/auth';
import { apiModules, config, fetchJson, helper } from './api-support';
import { ANA, storeReady, useNodeRed } from './nodes/support';

const WRITE = 'w'.repeat(20) + '-write-token-0123456789';
const READ = 'r'.repeat(20) + '-read-token-0123456789';

let flowsApp: ((req: unknown, res: unknown) => void) | undefined;
function captureModule(RED: { httpNode: (req: unknown, res: unknown) => void; nodes: any }): void {
  flowsApp = RED.httpNode;
  RED.nodes.registerType('api-capture', function (this: any, n: any) {
    RED.nodes.createNode(this, n);
  });
}

describe('DNC API: public mount with bearer tokens', function () {
  this.timeout(20000);
  useNodeRed();
  let server: Server | undefined;
  let base = '';

  async function start(
    overrides: Record<string, unknown>,
    credentials: Record<string, unknown>,
  ): Promise<void> {
    await helper.load([...apiModules, captureModule], [config('c1', overrides)], { c1: credentials });
    await storeReady();
    server = createServer((req, res) => flowsApp!(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  function call(method: string, path: string, token?: string, body?: unknown) {
    return fetchJson(`${base}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  it('is off until a token exists', async () => {
    await start({ apiPath: '/dnc-api' }, {});
    const res = await call('GET', '/dnc-api/labels', WRITE);
    assert.equal(res.status, 404);
    assert.equal(res.json, undefined, 'not ours: express answers');
  });

  it('refuses missing, wrong and read-only tokens for writes; serves reads to both', async () => {
    await start({ apiPath: 'api/dnc/' }, { writeTokens: WRITE, readTokens: `${READ} short` });
    const add = { contact: ANA, labels: ['DNC_Sales'] };
    const missing = await call('POST', '/api/dnc/labels/add', undefined, add);
    assert.equal(missing.status, 401);
    assert.equal(missing.json.code, 'DNC_UNAUTHORIZED');
    assert.match(missing.headers.get('www-authenticate')!, /^Bearer realm="dnc"$/);
    const wrong = await call('POST', '/api/dnc/labels/add', `${WRITE}x`, add);
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate')!, /invalid_token/);
    assert.equal(
      (await call('POST', '/api/dnc/labels/add', 'short', add)).status,
      401,
      'a too-short token is ignored',
    );
    const readOnly = await call('POST', '/api/dnc/labels/add', READ, add);
    assert.equal(readOnly.status, 403);
    assert.equal(readOnly.json.code, 'DNC_FORBIDDEN');
    for (const [method, path] of [
      ['POST', '/api/dnc/labels/remove'],
      ['POST', '/api/dnc/imports'],
      ['POST', '/api/dnc/attempts'],
      ['DELETE', '/api/dnc/imports/x'],
    ]) {
      assert.equal((await call(method, path, READ, {})).status, 403, `${method} ${path}`);
      assert.equal((await call(method, path, undefined, {})).status, 401, `${method} ${path}`);
    }
    assert.equal((await call('GET', '/api/dnc/health')).status, 401);

    const written = await call('POST', '/api/dnc/labels/add', WRITE, add);
    assert.equal(written.status, 200, written.text);
    const check = await call('POST', '/api/dnc/check', READ, { contact: ANA, channel: 'voice' });
    assert.equal(check.status, 200);
    assert.equal(check.json.allowed, false);
    assert.equal(
      (await call('GET', `/api/dnc/contacts/${encodeURIComponent(ANA)}`, READ)).json.labels.length,
      1,
    );
    const doc = await call('GET', '/api/dnc/openapi.json', READ);
    assert.equal(doc.json.servers[0].url, '/api/dnc');
    assert.equal(doc.json.components.parameters.Config, undefined);
    // The public mount serves one configuration: ?config= is not a parameter there.
    assert.equal((await call('GET', '/api/dnc/labels?config=c1', READ)).status, 400);
    // Other paths of the flows app are not ours.
    assert.equal((await call('GET', '/api/dncx/labels', READ)).status, 404);
  });

  it('rate-limits each token: 429 with Retry-After', async () => {
    await start({ apiRateLimit: 6 }, { writeTokens: WRITE, readTokens: READ });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('GET', '/dnc-api/labels', READ)).status);
    assert.deepEqual(statuses, [200, 429, 429]);
    const limited = await call('GET', '/dnc-api/labels', READ);
    assert.equal(limited.json.code, 'DNC_RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another token has its own bucket.
    assert.equal((await call('GET', '/dnc-api/labels', WRITE)).status, 200);
  });

  it('compares tokens in constant time: every configured token is checked, whatever matches', () => {
    const tokens = new TokenSet([
      { token: WRITE, access: 'write' },
      { token: READ, access: 'read' },
    ]);
    assert.equal(tokens.match(WRITE)?.access, 'write');
    assert.equal(tokens.match(READ)?.access, 'read');
    assert.equal(tokens.match(WRITE.slice(0, -1)), null);
    assert.equal(tokens.match(''), null);
    // Constant time by construction, checked without timings (they would make the test flaky): the
    // presented token is compared with every configured token, whichever matches and wherever it fails.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const crypto = require('node:crypto') as { timingSafeEqual: (a: Buffer, b: Buffer) => boolean };
    const original = crypto.timingSafeEqual;
    let comparisons = 0;
    crypto.timingSafeEqual = (a, b) => {
      comparisons += 1;
      return original(a, b);
    };
    try {
      for (const candidate of [WRITE, READ, `${WRITE.slice(0, -1)}x`, 'x', '']) {
        comparisons = 0;
        tokens.match(candidate);
        assert.equal(comparisons, 2, `every token compared for ${JSON.stringify(candidate.slice(0, 4))}`);
      }
    } finally {
      crypto.timingSafeEqual = original;
    }
  });
});
