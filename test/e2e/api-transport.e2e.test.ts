/**
 * The API's answers to bad bodies in a real Node-RED (default roots: the admin and flows apps share
 * `/`). Node-RED's editor app runs body-parser before the runtime's admin app and before the flows app,
 * so its failures (bad JSON, `null`, too large, bad charset, bad gzip) skip every route and ended in
 * express's HTML error page with a stack trace and absolute paths, to anonymous callers. Every answer
 * under both mounts is now JSON with a stable code; paths that are not ours keep Node-RED's answer.
 * Also: a foreign Origin is refused on the admin mount unless settings.js allows it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { request } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { NodeRedProcess, PACKAGE_ROOT, waitFor } from '../support/node-red-process';

const ANA = '+447911123456';
const TOKEN = 'e2e-write-token-0123456789abcdef';
const ALLOWED = 'https://crm.example.com';

/** Bodies that body-parser refuses, each with the answer the API gives. */
const BAD_BODIES: [string, string | Buffer, Record<string, string>, number, string][] = [
  ['invalid JSON', '{"contact":', { 'Content-Type': 'application/json' }, 400, 'DNC_INVALID_INPUT'],
  ['null', 'null', { 'Content-Type': 'application/json' }, 400, 'DNC_INVALID_INPUT'],
  ['a bare string', '"x"', { 'Content-Type': 'application/json' }, 400, 'DNC_INVALID_INPUT'],
  [
    'an unknown charset',
    '{}',
    { 'Content-Type': 'application/json; charset=koi8-x' },
    415,
    'DNC_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'broken gzip',
    'not gzip at all',
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    400,
    'DNC_INVALID_INPUT',
  ],
  [
    'an unknown content coding',
    '{}',
    { 'Content-Type': 'application/json', 'Content-Encoding': 'compress9' },
    415,
    'DNC_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a form in an unknown charset',
    'a=1',
    { 'Content-Type': 'application/x-www-form-urlencoded; charset=koi8-x' },
    415,
    'DNC_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'over Node-RED’s 5 MB limit',
    JSON.stringify({ contact: ANA, reason: 'x'.repeat(6_000_000) }),
    { 'Content-Type': 'application/json' },
    413,
    'DNC_BODY_TOO_LARGE',
  ],
  [
    'a gzip bomb over the limit',
    gzipSync(Buffer.from(JSON.stringify({ contact: ANA, reason: 'x'.repeat(6_000_000) }))),
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    413,
    'DNC_BODY_TOO_LARGE',
  ],
];

/** A POST with a chunked body (no Content-Length). */
function postChunked(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }),
      );
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 65536) req.write(body.slice(i, i + 65536));
    req.end();
  });
}

describe('DNC API transport in a real Node-RED', function () {
  this.timeout(120000);
  let red: NodeRedProcess;
  let userDir: string;

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-transport-e2e-'));
    red = await NodeRedProcess.start({
      userDir,
      nodesDir: [PACKAGE_ROOT],
      settings: { dncApiAllowedOrigins: [ALLOWED] },
    });
    const flows = [
      {
        id: 'e2etransport0001',
        type: 'dnc-config',
        name: 'e2e',
        labels: [{ name: 'DNC_Sales', description: '', channels: [], global: false, expiresAfterDays: null }],
        defaultCountry: 'GB',
        storePath: '',
        apiPath: '/dnc-api',
        apiRateLimit: 0,
        credentials: { writeTokens: TOKEN },
      },
    ];
    const deployed = await fetch(`${red.baseUrl}/flows`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Node-RED-Deployment-Type': 'full',
        'Node-RED-API-Version': 'v2',
      },
      body: JSON.stringify({ flows }),
    });
    assert.equal(deployed.status, 200, await deployed.clone().text());
    await waitFor('the DNC store to open', async () => {
      const res = await fetch(`${red.baseUrl}/dnc/health`);
      return res.status === 200 ? true : undefined;
    });
  });

  after(async () => {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function seq(): Promise<number> {
    const res = await fetch(`${red.baseUrl}/dnc/health`);
    return ((await res.json()) as { store: { seq: number } }).store.seq;
  }

  function assertJsonError(
    what: string,
    res: { status: number; type: string; text: string },
    status: number,
    code: string,
  ): void {
    assert.equal(res.status, status, `${what}: ${res.text.slice(0, 300)}`);
    assert.match(res.type, /^application\/json/, `${what}: ${res.text.slice(0, 300)}`);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    assert.equal(body.code, code, what);
    assert.equal(typeof body.message, 'string');
    assert.doesNotMatch(res.text, /node_modules|\bat .*:\d+|Error:|<html|\/tmp\/|\/home\//i, what);
    assert.ok(!res.text.includes(userDir), what);
  }

  for (const [mount, auth] of [
    ['/dnc', {}],
    ['/dnc-api', { Authorization: `Bearer ${TOKEN}` }],
  ] as const) {
    it(`answers every body that body-parser refuses with JSON on ${mount}; nothing is written`, async () => {
      for (const route of ['/labels/add', '/labels/remove', '/check', '/attempts']) {
        for (const [name, body, headers, status, code] of BAD_BODIES) {
          // The multi-megabyte ones on one route are enough.
          if (route !== '/labels/add' && status === 413) continue;
          const res = await fetch(`${red.baseUrl}${mount}${route}`, {
            method: 'POST',
            headers: { ...headers, ...auth },
            body: typeof body === 'string' ? body : new Uint8Array(body),
          });
          assertJsonError(
            `${mount}${route} with ${name}`,
            { status: res.status, type: String(res.headers.get('content-type')), text: await res.text() },
            status,
            code,
          );
        }
      }
      assert.equal(await seq(), 0);
    });
  }

  it('asks for the token first on the public mount, even when the body is broken', async () => {
    const res = await fetch(`${red.baseUrl}/dnc-api/labels/add`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"contact":',
    });
    assertJsonError(
      'no token',
      { status: res.status, type: String(res.headers.get('content-type')), text: await res.text() },
      401,
      'DNC_UNAUTHORIZED',
    );
  });

  it('answers deeply nested JSON sent chunked with 400 (it was a 500 from the size check)', async () => {
    const deep = `{"contact":${'['.repeat(20000)}${']'.repeat(20000)}}`;
    for (const [url, auth] of [
      [`${red.baseUrl}/dnc/check`, {}],
      [`${red.baseUrl}/dnc-api/check`, { Authorization: `Bearer ${TOKEN}` }],
      [`${red.baseUrl}/dnc/labels/add`, {}],
    ] as const) {
      const res = await postChunked(url, deep, { 'Content-Type': 'application/json', ...auth });
      assertJsonError(url, res, 400, 'DNC_INVALID_INPUT');
    }
  });

  it('leaves the answers for paths that are not ours to Node-RED', async () => {
    const res = await fetch(`${red.baseUrl}/no-such-thing`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":',
    });
    assert.equal(res.status, 400);
    assert.doesNotMatch(await res.text(), /DNC_/);
  });

  it('refuses another site’s Origin on the admin mount, and allows the configured one', async () => {
    const add = (origin: string) =>
      fetch(`${red.baseUrl}/dnc/labels/add`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: origin },
        body: JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] }),
      });
    const before = await seq();
    const evil = await add('https://evil.example');
    assert.equal(evil.status, 403);
    assert.equal(((await evil.json()) as { code: string }).code, 'DNC_ORIGIN_NOT_ALLOWED');
    // Node-RED answers the CORS preflight for its admin app with `*`: the Origin check is what stops it.
    const broken = await fetch(`${red.baseUrl}/dnc/labels/add`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example' },
      body: '{"contact":',
    });
    assert.equal(broken.status, 403);
    assert.equal(await seq(), before);
    const allowed = await add(ALLOWED);
    assert.equal(allowed.status, 200, await allowed.text());
    const own = await add(red.baseUrl);
    assert.equal(own.status, 200, await own.text());
  });
});
