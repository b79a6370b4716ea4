/**
 * Fuzz test of every route of the HTTP API, on both mounts: the admin mount (Node-RED's httpAdmin, under
 * /dnc) and the public mount (httpNode, under /dnc-api, with bearer tokens). Each route gets generated bad
 * input: wrong types, missing and extra fields, huge, empty, unicode and control-character strings, bad
 * dates, bad JSON, non-object JSON, deep nesting (sent chunked too), wrong content types and encodings,
 * wrong methods, bad query strings, path parameters and headers. Every response must hold:
 * - no 5xx (and always an answer);
 * - no HTML: a body of a status >= 400 is a JSON object with a stable `DNC_*` code; a JSON body parses;
 * - no stack trace, no absolute path of ours (user directory, repository, temp folder) in a body;
 * - a 405 says what is allowed (`Allow`, RFC 9110);
 * - zero writes from a rejected request (status >= 400): the store's seq, its attempt records, the bytes
 *   and files of the user directory, and the uploads in the temp folder are what they were before.
 * The routes fuzzed are checked against the router's own list and the OpenAPI document, so a new route
 * that the fuzzer does not cover fails the test.
 *
 * Requests go over real HTTP (node:http) to the apps served on 127.0.0.1, so the test controls the bytes
 * on the wire (chunked or not, any content type). One deployment serves every test of the file (the its
 * only send requests); import jobs accepted on the way are waited for before the next case.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and the helper's nodes are untyped */
import * as assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as fc from 'fast-check';
import { createDncApi } from '../../lib/api/router';
import { openApiDocument } from '../../lib/api/openapi';
import { apiModules } from '../api-support';
import {
  ANA,
  BEN,
  CARL,
  config,
  helper,
  startNodeRed,
  stopNodeRed,
  storeReady,
  type UserDir,
} from '../nodes/support';
import { Violations, casesOf, filesUnder, hostileString, hostileValue, leakIn, preview } from './support';

const WRITE = 'w'.repeat(20) + '-fuzz-write-token-0123';
const READ = 'r'.repeat(20) + '-fuzz-read-token-01234';
const PUBLIC_PATH = '/dnc-api';
/** The public mount of a configuration whose store cannot open (its folder is a file). */
const BROKEN_PATH = '/dnc-broken';
/**
 * Cases per route and mount: 17 routes x 2 mounts x 90 = 3,060 requests a run (with the 2,000 messages
 * of nodes.test.ts, 5,060 cases), about 1 s per route and mount on a busy machine.
 */
const CASES = 90;

type Method = 'GET' | 'POST' | 'DELETE';
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

interface Target {
  readonly method: Method;
  /** The path as the OpenAPI document writes it. */
  readonly path: string;
  /** Query parameters the route takes (without `config`), with valid values. */
  readonly query?: Record<string, fc.Arbitrary<string>>;
  /** JSON body fields with valid values; undefined: no JSON body. */
  readonly fields?: Record<string, fc.Arbitrary<unknown>>;
  /** An import upload (CSV / JSON lines). */
  readonly upload?: boolean;
  /** A body over this size is refused (to send some oversize bodies). */
  readonly limit?: number;
}

const contact = fc.constantFrom<unknown>(
  ANA,
  BEN,
  CARL,
  '07911 123458',
  '+447911123459',
  'someone@example.com',
  'id:crm-42',
  { phone: '+447911123460' },
  { email: 'x@example.org', id: 'crm-7' },
);
const labels = fc.constantFrom<unknown>(['DNC_Sales'], ['Hold'], 'DNC_Sales', ['DNC_Marketing', 'Hold'], []);
const channel = fc.constantFrom('voice', 'sms', 'email', 'whatsapp');
const instant = fc.constantFrom(
  '2026-01-01T00:00:00Z',
  '2025-06-30T12:34:56.789Z',
  '2026-11-30T23:59:59+01:00',
);
const word = fc.constantFrom('crm', 'agent 7', 'asked on the phone', 'spring-2026');
const flag = fc.constantFrom('true', 'false', '1', '0');

const TARGETS: readonly Target[] = [
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/labels' },
  {
    method: 'POST',
    path: '/labels/add',
    limit: 16 * 1024,
    fields: {
      contact,
      labels,
      source: word,
      actor: word,
      reason: word,
      campaign: word,
      channel,
    },
  },
  {
    method: 'POST',
    path: '/labels/remove',
    limit: 16 * 1024,
    fields: { contact, labels, all: fc.boolean(), source: word, actor: word, reason: word },
  },
  {
    method: 'POST',
    path: '/attempts',
    limit: 16 * 1024,
    fields: {
      contact,
      at: instant,
      channel,
      campaign: word,
      outcome: fc.constantFrom('conversation', 'refusal', 'optout', 'no-answer'),
      source: word,
    },
  },
  {
    method: 'POST',
    path: '/outcomes',
    limit: 16 * 1024,
    fields: {
      contact,
      at: instant,
      channel,
      campaign: word,
      outcome: fc.constantFrom('conversation', 'refusal', 'optout', 'no-answer'),
      source: word,
    },
  },
  {
    method: 'GET',
    path: '/contacts/{contact}',
    query: { history: flag, limit: fc.constantFrom('1', '10', '1000') },
  },
  {
    method: 'POST',
    path: '/check',
    limit: 1024 * 1024,
    fields: {
      contact,
      contacts: fc.array(contact, { maxLength: 5 }),
      labels,
      channel,
      at: instant,
      campaign: word,
      policy: fc.constantFrom<unknown>(
        'tcpa',
        { holidays: { country: 'ZZ' } },
        { caps: 'x' },
        { coolingOff: [1] },
        { window: { start: '25:00' } },
      ),
    },
  },
  {
    method: 'GET',
    path: '/check',
    query: {
      contact: fc.constantFrom(ANA, BEN, CARL, '07911 123456', 'someone@example.com'),
      channel,
      labels: fc.constantFrom('DNC_Sales', 'Hold', 'DNC_Sales,Hold'),
    },
  },
  {
    method: 'GET',
    path: '/audit',
    query: {
      contact: fc.constantFrom(ANA, '07911 123456'),
      label: fc.constantFrom('DNC_Sales', 'Hold'),
      source: fc.constantFrom('api', 'import'),
      since: instant,
      until: instant,
      limit: fc.constantFrom('1', '100', '10000'),
      verify: flag,
    },
  },
  { method: 'GET', path: '/audit/verify' },
  { method: 'GET', path: '/lists' },
  {
    method: 'GET',
    path: '/lists/{label}/contacts',
    query: {
      offset: fc.constantFrom('0', '10', '100000'),
      limit: fc.constantFrom('1', '50', '500'),
      q: fc.constantFrom('555', 'ANA@', 'id:', '(020) 7946'),
      includeExpired: flag,
    },
  },
  {
    method: 'POST',
    path: '/imports',
    upload: true,
    query: { format: fc.constantFrom('csv', 'jsonl'), dryRun: flag },
  },
  { method: 'GET', path: '/imports' },
  { method: 'GET', path: '/imports/{id}' },
  { method: 'DELETE', path: '/imports/{id}' },
  {
    method: 'GET',
    path: '/export',
    query: {
      format: fc.constantFrom('csv', 'json', 'jsonl'),
      label: fc.constantFrom('DNC_Sales', 'Hold'),
      includeExpired: flag,
    },
  },
];

interface FuzzRequest {
  readonly method: string;
  /** Below the mount, encoded. */
  readonly path: string;
  readonly query: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
  readonly chunked: boolean;
  readonly token: 'write' | 'read' | 'none' | 'bad';
  readonly badToken: string;
  /** For the configuration whose store cannot open (c2): admin `?config=c2`, public its own mount. */
  readonly broken: boolean;
}

interface FuzzResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** encodeURIComponent that survives lone surrogates (sent as the bytes a careless client would send). */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text.replace(
      /[^A-Za-z0-9\-_.~]/g,
      (c) => `%${(c.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`,
    );
  }
}

const BROKEN_ENCODINGS = ['%', '%E0%A4', '%ZZ', '%C0%AF', '%ED%A0%80', '%FF', '%00', '%2F', '..', '.'];

const pathValue: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(ANA, BEN, '07911 123456', 'someone@example.com', 'x', 'DNC_Sales').map(encode),
    weight: 2,
  },
  { arbitrary: hostileString.filter((s) => s.length > 0 && s.length < 2000).map(encode), weight: 4 },
  { arbitrary: fc.constantFrom(...BROKEN_ENCODINGS), weight: 1 },
);

function queryArbitrary(target: Target): fc.Arbitrary<string> {
  const known = Object.entries(target.query ?? {});
  const param = fc.oneof(
    ...(known.length > 0
      ? [
          {
            arbitrary: fc
              .constantFrom(...known)
              .chain(([name, valid]) =>
                fc.tuple(
                  fc.constant(name),
                  fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: hostileString, weight: 4 }),
                ),
              )
              .map(([name, value]) => `${name}=${encode(value.slice(0, 1500))}`),
            weight: 6,
          },
        ]
      : []),
    {
      arbitrary: fc
        .tuple(fc.constantFrom('config', 'Contact', 'limit', 'foo', '__proto__', 'a[b]', ''), hostileString)
        .map(([name, value]) => `${encode(name)}=${encode(value.slice(0, 500))}`),
      weight: 2,
    },
    { arbitrary: fc.constantFrom('config=c1', 'config=c1', 'config=DNC', 'config=nope'), weight: 1 },
    {
      arbitrary: fc.constantFrom('&', '=', '==x', 'x', '%', '%E0%A4%A=1', '%ZZ=%ZZ', '+=+', ';;'),
      weight: 1,
    },
  );
  return fc.oneof(
    { arbitrary: fc.constant(''), weight: 2 },
    { arbitrary: fc.array(param, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('&')), weight: 5 },
    // A parameter given twice.
    {
      arbitrary: param.map((p) => `${p}&${p}`),
      weight: 1,
    },
  );
}

const RAW_JSON_BODIES: readonly string[] = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '"text"',
  '[]',
  '[{}]',
  '{',
  '{"contact":',
  '{"contact":"+447911123456",}',
  "{'contact':'+447911123456'}",
  '{"contact":NaN}',
  '{"contact":"+447911123456"}{"contact":"+447911123456"}',
  '{"__proto__":{"polluted":true},"contact":"+447911123456","labels":["DNC_Sales"]}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"contact":"\\ud800"}',
  '{"contact":"\\u0000"}',
  '\ufeff{"contact":"+447911123456","labels":["DNC_Sales"]}',
  '{"contact":1e999999}',
  'contact=%2B447911123456&labels=DNC_Sales',
  '<xml/>',
];

function rawBody(target: Target): fc.Arbitrary<Buffer> {
  const limit = target.limit ?? 16 * 1024;
  return fc.oneof(
    { arbitrary: fc.constantFrom(...RAW_JSON_BODIES).map((s) => Buffer.from(s)), weight: 4 },
    // Deep nesting, plain and in a field.
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 33, max: 60_000 }), fc.boolean(), fc.boolean())
        .map(([depth, object, inField]) => {
          const inner = object
            ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
            : '['.repeat(depth) + ']'.repeat(depth);
          return Buffer.from(inField ? `{"contact":${inner}}` : inner);
        }),
      weight: 2,
    },
    // Not UTF-8.
    {
      arbitrary: fc.constantFrom(
        Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
        Buffer.from('{"contact":"+447911123456"}', 'utf16le'),
        Buffer.from([0x7b, 0x22, 0x63, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
      ),
      weight: 1,
    },
    // Over the route's limit.
    {
      arbitrary: fc
        .integer({ min: 1, max: 4096 })
        .map((extra) => Buffer.from(JSON.stringify({ contact: ANA, reason: 'x'.repeat(limit + extra) }))),
      weight: 1,
    },
  );
}

function objectBody(target: Target): fc.Arbitrary<Buffer> {
  const fields = Object.entries(target.fields ?? {});
  const field = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      { arbitrary: valid, weight: 3 },
      { arbitrary: hostileValue, weight: 4 },
    );
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, valid] of fields) record[name] = field(valid);
  return fc
    .tuple(
      fc.record(record),
      fc.option(
        fc.dictionary(fc.constantFrom('Contact', 'label', 'foo', 'contact ', ''), hostileValue, {
          maxKeys: 2,
        }),
        {
          freq: 5,
        },
      ),
    )
    .map(([known, extra]) => {
      const body: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(known)) if (v !== undefined) body[k] = v;
      if (extra) Object.assign(body, extra);
      return Buffer.from(JSON.stringify(body));
    });
}

const CSV_HEADERS = [
  'contact,labels',
  'contact,labels,action,source,actor,reason,campaign,channel',
  'phone,label',
  'contact,labels,contact',
  'labels',
  'contact',
  'contact,labels,bogus',
  '"contact","labels"',
  '',
  '\ufeffcontact,labels',
  'contact;labels',
];

function csvCell(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const uploadBody: fc.Arbitrary<{ text: Buffer; type: string | undefined }> = fc.oneof(
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(...CSV_HEADERS),
        fc.array(
          fc.array(
            fc.oneof(
              hostileString.map((s) => s.slice(0, 300)),
              contact,
              labels,
            ),
            { maxLength: 8 },
          ),
          {
            maxLength: 6,
          },
        ),
        fc.constantFrom('text/csv', 'text/csv; charset=utf-8', undefined, 'text/plain', 'application/json'),
      )
      .map(([header, rows, type]) => ({
        text: Buffer.from([header, ...rows.map((r) => r.map(csvCell).join(','))].join('\n')),
        type,
      })),
    weight: 3,
  },
  {
    arbitrary: fc
      .tuple(
        fc.array(
          fc.oneof(
            fc
              .record({ contact: fc.oneof(contact, hostileValue), labels: fc.oneof(labels, hostileValue) })
              .map((o) => JSON.stringify(o)),
            hostileString.map((s) => s.slice(0, 300)),
            fc.constantFrom('', '{}', '[]', 'null', '{"contact":'),
          ),
          { maxLength: 6 },
        ),
        fc.constantFrom(
          'application/x-ndjson',
          'application/jsonl',
          undefined,
          'application/json',
          'text/csv',
        ),
      )
      .map(([lines, type]) => ({ text: Buffer.from(lines.join('\n')), type })),
    weight: 3,
  },
  {
    arbitrary: rawBody({ method: 'POST', path: '/imports', limit: 64 * 1024 }).map((text) => ({
      text,
      type: 'application/x-ndjson',
    })),
    weight: 1,
  },
);

const CONTENT_TYPES = [
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'text/csv',
  'application/x-ndjson',
  'application/xml',
  'text/html',
  'a/b/c',
  ';;;',
];

const headerText = fc.oneof(
  fc.constantFrom('', ' ', 'k1', 'k2', 'k'.repeat(300), 'ü', '\t', 'DROP TABLE'),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);

function requestArbitrary(target: Target, mount: 'admin' | 'public'): fc.Arbitrary<FuzzRequest> {
  const others = ALL_METHODS.filter((m) => m !== target.method);
  const method = fc.oneof(
    { arbitrary: fc.constant(target.method), weight: 9 },
    { arbitrary: fc.constantFrom(...others), weight: 1 },
  );
  const params = (target.path.match(/\{\w+\}/g) ?? []).length;
  const path = fc
    .tuple(fc.array(pathValue, { minLength: params, maxLength: params }), fc.constantFrom('', '', '', '/'))
    .map(([values, slash]) => {
      let i = 0;
      return target.path.replace(/\{\w+\}/g, () => values[i++]) + slash;
    });
  let body: fc.Arbitrary<{ text: Buffer | null; type: string | undefined }>;
  if (target.upload) body = uploadBody;
  else if (target.fields) {
    body = fc
      .tuple(
        fc.oneof({ arbitrary: objectBody(target), weight: 6 }, { arbitrary: rawBody(target), weight: 3 }),
        fc.oneof(
          { arbitrary: fc.constant<string | undefined>('application/json'), weight: 6 },
          { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 },
        ),
      )
      .map(([text, type]) => ({ text, type }));
  } else {
    body = fc.oneof(
      { arbitrary: fc.constant({ text: null, type: undefined }), weight: 8 },
      {
        arbitrary: fc
          .tuple(rawBody(target), fc.constantFrom(...CONTENT_TYPES, 'application/json'))
          .map(([text, type]) => ({ text, type })),
        weight: 1,
      },
    );
  }
  const extraHeaders = fc.record(
    {
      // A few keys, often reused: replays and conflicts (409) happen within a run.
      'Idempotency-Key': fc.oneof(
        { arbitrary: fc.constantFrom('k1', 'k2', 'k3'), weight: 3 },
        { arbitrary: headerText, weight: 1 },
      ),
      Accept: fc.constantFrom('text/html', '*/*', 'application/xml', 'application/json;q=0', ''),
      Origin: fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1', ''),
      'Content-Encoding': fc.constantFrom('gzip', 'br', 'identity', 'x-unknown'),
      'Accept-Encoding': fc.constantFrom('gzip', 'br, *'),
      'X-Forwarded-For': fc.constantFrom('1.2.3.4', 'not-an-ip', '::1, evil'),
      'If-None-Match': headerText,
    },
    { requiredKeys: [] },
  );
  const badToken = fc.constantFrom(
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${WRITE}x`,
    `bearer ${WRITE.slice(1)}`,
    'Basic dXNlcjpwYXNz',
    `Bearer ${'a'.repeat(3000)}`,
  );
  return fc
    .record({
      method,
      path,
      query: queryArbitrary(target),
      body,
      headers: extraHeaders,
      chunked: fc.boolean(),
      token:
        mount === 'public'
          ? fc.oneof(
              { arbitrary: fc.constant<'write'>('write'), weight: 16 },
              { arbitrary: fc.constant<'read'>('read'), weight: 2 },
              { arbitrary: fc.constantFrom<'none' | 'bad'>('none', 'bad'), weight: 1 },
            )
          : fc.constant<'write'>('write'),
      badToken,
      broken: fc.oneof(
        { arbitrary: fc.constant(false), weight: 6 },
        { arbitrary: fc.constant(true), weight: 1 },
      ),
    })
    .map(({ method: m, path: p, query: q, body: b, headers, chunked, token, badToken: bad, broken }) => {
      // Two configurations are deployed: an admin request names one, unless the fuzzed query does.
      const query =
        mount === 'admin' && !/(^|&)config=/.test(q)
          ? `config=${broken ? 'c2' : 'c1'}${q === '' ? '' : `&${q}`}`
          : q;
      const all: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) all[k] = v;
      if (b.type !== undefined) all['Content-Type'] = b.type;
      // Node answers 431 itself (no package code runs) past 16 KiB of request head: stay below.
      return {
        method: m,
        path: p.slice(0, 4000),
        query: query.slice(0, 6000),
        headers: all,
        body: b.text,
        chunked,
        token,
        badToken: bad,
        broken,
      };
    });
}

function describeRequest(mount: string, r: FuzzRequest): string {
  const headers = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v.length > 40 ? `${v.slice(0, 40)}...` : v}`)
    .join('; ');
  return (
    `${r.method} ${preview(`${mount}${r.path}${r.query ? `?${r.query}` : ''}`, 120)}` +
    `${headers === '' ? '' : ` [${headers}]`}${r.chunked ? ' chunked' : ''}` +
    `${r.token === 'write' ? '' : ` token:${r.token}`}` +
    `${r.body === null ? '' : ` body ${preview(r.body, 120)}`}`
  );
}

describe('fuzz: every API route on both mounts', function () {
  this.timeout(20_000);
  let userDir: UserDir;
  let tmpRoot = '';
  let previousTmp: string | undefined;
  let adminServer: Server;
  let publicServer: Server;
  let adminBase = 0;
  let publicBase = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let adminApp: ((req: unknown, res: unknown) => void) | undefined;
  let flowsApp: ((req: unknown, res: unknown) => void) | undefined;

  function captureModule(RED: any): void {
    adminApp = RED.httpAdmin;
    flowsApp = RED.httpNode;
    RED.nodes.registerType('fuzz-capture', function (this: any, n: any) {
      RED.nodes.createNode(this, n);
    });
  }

  before(async function () {
    // Uploads go to os.tmpdir(): a folder of our own, so the count of leftover uploads is ours alone.
    previousTmp = process.env.TMPDIR;
    tmpRoot = mkdtempSync(join(tmpdir(), 'dnc-fuzz-'));
    process.env.TMPDIR = tmpRoot;
    userDir = await startNodeRed();
    // The second configuration's store folder is a file: its store cannot open (503s must not show paths).
    writeFileSync(join(userDir.dir, 'blocker'), '');
    await helper.load(
      [...apiModules, captureModule],
      [
        config('c1', { apiPath: PUBLIC_PATH, apiRateLimit: 0 }),
        config('c2', {
          name: 'Broken',
          storePath: 'blocker/dnc-store.json',
          apiPath: BROKEN_PATH,
          apiRateLimit: 0,
        }),
        { id: 'cap', type: 'fuzz-capture' },
      ],
      { c1: { writeTokens: WRITE, readTokens: READ }, c2: { writeTokens: WRITE, readTokens: READ } },
    );
    await storeReady('c1');
    await helper
      .getNode('c2')
      .dnc.service?.whenReady()
      .catch(() => undefined);
    adminServer = createServer((req, res) => adminApp!(req, res));
    publicServer = createServer((req, res) => flowsApp!(req, res));
    for (const server of [adminServer, publicServer]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    adminBase = (adminServer.address() as AddressInfo).port;
    publicBase = (publicServer.address() as AddressInfo).port;
    // Something to find: a labelled contact, an attempt.
    const seeded = await send(adminBase, '/dnc', {
      method: 'POST',
      path: '/labels/add',
      query: 'config=c1',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] })),
      chunked: false,
      token: 'write',
      badToken: '',
      broken: false,
    });
    assert.equal(seeded.status, 200, seeded.body.toString());
  });

  after(async function () {
    agent.destroy();
    for (const server of [adminServer, publicServer]) {
      if (server) await new Promise((resolve) => server.close(resolve));
    }
    await stopNodeRed(userDir);
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    rmSync(tmpRoot, { recursive: true, force: true });
  });

  function store(): any {
    return helper.getNode('c1').dnc.service.store;
  }

  function uploads(): number {
    return readdirSync(tmpRoot).filter((name) => name.startsWith('dnc-import-')).length;
  }

  /** Everything a request could have written: the store's seq and attempts, its files, uploads. */
  function written(): { readonly store: string; readonly uploads: number } {
    const s = store();
    const files = filesUnder(userDir.dir);
    return {
      store: JSON.stringify({
        seq: s.status().seq,
        attempts: s.attemptLog?.size ?? null,
        files: files.files,
        bytes: files.bytes,
      }),
      uploads: uploads(),
    };
  }

  function send(base: number, mountPath: string, r: FuzzRequest): Promise<FuzzResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...r.headers };
      if (r.token === 'write') headers.Authorization = `Bearer ${WRITE}`;
      else if (r.token === 'read') headers.Authorization = `Bearer ${READ}`;
      else if (r.token === 'bad' && r.badToken !== '') headers.Authorization = r.badToken;
      // Node's client frames a GET, DELETE or OPTIONS body only when told to (else the bytes would be
      // read as the next request on the connection).
      if (r.body !== null) {
        if (r.chunked) headers['Transfer-Encoding'] = 'chunked';
        else headers['Content-Length'] = String(r.body.length);
      }
      const req = request(
        // The path goes out as is (a URL string would be normalised: `/contacts/..` sent as `/`).
        {
          host: '127.0.0.1',
          port: base,
          path: `${mountPath}${r.path}${r.query === '' ? '' : `?${r.query}`}`,
          method: r.method,
          headers,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      if (r.body !== null) {
        if (r.chunked && r.body.length > 1) {
          const half = r.body.length >> 1;
          req.write(r.body.subarray(0, half));
          req.write(r.body.subarray(half));
        } else req.write(r.body);
      }
      req.end();
    });
  }

  /**
   * Waits for accepted import jobs to finish, and for their uploads to be removed (down to `uploadsBefore`,
   * the count before the import was sent): a finished job must not leave its upload behind.
   */
  async function importsIdle(uploadsBefore: number, label: string, v: Violations): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const res = await send(adminBase, '/dnc', {
        method: 'GET',
        path: '/imports',
        query: 'config=c1',
        headers: {},
        body: null,
        chunked: false,
        token: 'write',
        badToken: '',
        broken: false,
      });
      const jobs = (JSON.parse(res.body.toString()) as { jobs: { state: string }[] }).jobs;
      if (!jobs.some((j) => j.state === 'queued' || j.state === 'running') && uploads() <= uploadsBefore)
        return;
      await new Promise((r) => setTimeout(r, 25));
    }
    v.add('an accepted import did not finish, or left its upload, within 10 s', label);
  }

  function check(
    mount: 'admin' | 'public',
    target: Target,
    r: FuzzRequest,
    res: FuzzResponse,
    label: string,
    v: Violations,
  ): void {
    const type = String(res.headers['content-type'] ?? '');
    const text = res.body.toString('utf8');
    const example = () => `${label} -> ${res.status} [${type}] ${preview(text, 200)}`;
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    // The one 5xx that is an answer, not a failure: 503 for the configuration whose store cannot open.
    const health = target.path === '/health' && res.status === 503 && body?.status === 'unavailable';
    const unavailable =
      r.broken &&
      res.status === 503 &&
      (r.method === 'HEAD' ||
        health ||
        body?.code === 'DNC_STORE_UNAVAILABLE' ||
        body?.code === 'DNC_NOT_CONFIGURED');
    if (res.status >= 500 && !unavailable) v.add('5xx', example());
    if (/html/i.test(type) || /^\s*<(!doctype|html|pre|body)/i.test(text)) v.add('HTML', example());
    if (r.method !== 'HEAD') {
      if (res.status >= 400 && !health) {
        if (
          !/^application\/json/i.test(type) ||
          body === null ||
          typeof body !== 'object' ||
          typeof body.code !== 'string' ||
          !/^DNC_[A-Z0-9_]+$/.test(body.code)
        ) {
          v.add('error without a JSON body with a DNC_* code', example());
        }
      } else if (/json/i.test(type) && !/ndjson|jsonl|json-lines/i.test(type)) {
        try {
          JSON.parse(text);
        } catch {
          v.add('a JSON content type whose body is not JSON', example());
        }
      }
    }
    // Admins may see where the broken configuration's store is (docs/api.md); token holders never.
    const leak = leakIn(text, mount === 'admin' && r.broken ? [] : [userDir.dir, tmpRoot]);
    if (leak !== null) v.add(`a body shows ${leak}`, example());
    if (res.status === 405 && res.headers.allow === undefined)
      v.add('405 without an Allow header', example());
  }

  for (const mount of ['admin', 'public'] as const) {
    for (const target of TARGETS) {
      const title = `${mount} ${target.method} ${target.path}`;
      it(`${title}: ${CASES} generated bad requests, no 5xx, no HTML, no leak, no write when rejected`, async function () {
        const v = new Violations(`fuzz: every API route on both mounts ${title}`);
        const base = mount === 'admin' ? adminBase : publicBase;
        for (const r of casesOf(`api ${title}`, requestArbitrary(target, mount), CASES)) {
          v.cases += 1;
          const mountPath = mount === 'admin' ? '/dnc' : r.broken ? BROKEN_PATH : PUBLIC_PATH;
          const label = describeRequest(mountPath, r);
          const before = written();
          let res: FuzzResponse;
          try {
            res = await send(base, mountPath, r);
          } catch (err) {
            v.add('no answer', `${label} -> ${err instanceof Error ? err.message : String(err)}`);
            continue;
          }
          check(mount, target, r, res, label, v);
          if (res.status >= 200 && res.status < 300 && target.upload)
            await importsIdle(before.uploads, label, v);
          if (res.status >= 400) {
            const after = written();
            if (after.store !== before.store) {
              v.add(
                'a rejected request wrote',
                `${label} -> ${res.status}: ${before.store} -> ${after.store}`,
              );
            }
            if (after.uploads > before.uploads) {
              v.add('a rejected request left its upload in the temp folder', `${label} -> ${res.status}`);
            }
          }
        }
        v.assertNone();
      });
    }
  }

  it('covers every route of the router and of the OpenAPI document, with at least 3,000 requests a run', function () {
    const fuzzed = new Set(TARGETS.map((t) => `${t.method} ${t.path}`));
    const api = createDncApi({
      resolve: () => {
        throw new Error('unused');
      },
      configParam: true,
    });
    for (const r of api.routes) {
      const covered = TARGETS.some(
        (t) => t.method === r.method && r.pattern.test(t.path.replace(/\{\w+\}/g, 'x')),
      );
      assert.ok(
        covered,
        `the router's route ${r.method} ${String(r.pattern)} is not fuzzed: add it to TARGETS`,
      );
    }
    for (const configParam of [true, false]) {
      const doc = openApiDocument('/dnc', configParam) as { paths: Record<string, Record<string, unknown>> };
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
          assert.ok(
            fuzzed.has(`${method.toUpperCase()} ${path}`),
            `${method.toUpperCase()} ${path} of the OpenAPI document is not fuzzed`,
          );
        }
      }
    }
    assert.equal(TARGETS.length, api.routes.length, 'one fuzz target per route');
    assert.ok(TARGETS.length * 2 * CASES >= 3000, 'at least 3,000 requests a run (and 2,000 node messages)');
  });
});
