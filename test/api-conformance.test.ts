/**
 * The OpenAPI document is a contract (issue 10). Requests are generated from the served document itself
 * (fast-check, seeded), sent to the real API on a Node-RED test runtime, and every answer is checked
 * against the document (ajv 8, JSON Schema 2020-12 as OpenAPI 3.1 uses):
 *
 * - any request: the status is one the operation lists, and a JSON body matches that response's schema;
 * - a request the document allows: it is not refused for a rule the document does not state. A 400 is
 *   accepted only for what a schema cannot say: a contact that is not a contact, a label or channel this
 *   configuration does not define, a policy it cannot read, the content of an import file;
 * - a request the document forbids (one value broken, an unknown field, a required one missing): it is
 *   refused with a 4xx the operation lists, and it writes nothing.
 *
 * A failure prints the seed and the shrunk counterexample (fast-check).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the document and the responses are untyped JSON */
import * as assert from 'node:assert/strict';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { openApiDocument } from '../lib/api/openapi';
import { ANA, BEN, useNodeRed } from './nodes/support';
import { api, deploy, get } from './api-support';

const SEED = 20261204;
const RUNS = 40;
/** The operations, from the document the router serves (one pair of tests each). */
const documented = Object.entries(
  openApiDocument('/dnc', true).paths as Record<string, Record<string, unknown>>,
).flatMap(([path, item]) =>
  ['get', 'post', 'delete']
    .filter((m) => item[m] !== undefined)
    .map((m) => ({ method: m.toUpperCase(), path })),
);
/** 400s a valid request may get: things a schema cannot state. */
const SEMANTIC_CODES = new Set([
  'DNC_INVALID_CONTACT',
  'DNC_UNKNOWN_LABEL',
  'DNC_UNKNOWN_CHANNEL',
  'DNC_INVALID_POLICY',
]);
/** Known-good values for some names (random text is rarely a phone number). */
const SAMPLES: Record<string, unknown[]> = {
  contact: [
    ANA,
    BEN,
    '+14155550100',
    'someone@example.com',
    'id:crm-42',
    { phone: ANA },
    { email: 'a@example.org' },
  ],
  labels: ['DNC_Sales', 'DNC_Sales,Hold', ['DNC_Global'], ['Hold', 'DNC_Sales']],
  label: ['DNC_Sales', 'Hold'],
  channel: ['sms', 'voice', ' SMS '],
  config: ['c1', 'DNC'],
};

type Json = Record<string, any>;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: Json;
  readonly parameters: Json[];
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  type?: string;
}

describe('DNC API: conformance to the OpenAPI document', function () {
  this.timeout(20000);
  useNodeRed();

  let doc: Json;
  let ajv: Ajv2020;

  beforeEach(async () => {
    await deploy();
    doc = (await get('/dnc/openapi.json')).body;
    ajv = new Ajv2020({ strict: false, allErrors: false, unicodeRegExp: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'dnc:doc', components: doc.components });
  });

  /** A schema of the document, with its #/components refs resolved against the document. */
  function validator(schema: Json): (value: unknown) => boolean {
    const text = JSON.stringify(schema).replace(/"#\/components\//g, '"dnc:doc#/components/');
    const validate = ajv.compile(JSON.parse(text));
    return (value) => validate(value);
  }

  function resolve(schema: Json): Json {
    let s = schema;
    while (typeof s.$ref === 'string') {
      s = s.$ref
        .slice(2)
        .split('/')
        .reduce((node: Json, key: string) => node[key] as Json, doc);
    }
    return s;
  }

  function operations(): Operation[] {
    const out: Operation[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const method of ['get', 'post', 'delete', 'put', 'patch']) {
        if (item[method] === undefined) continue;
        const parameters = [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map(resolve);
        out.push({ method: method.toUpperCase(), path, op: item[method], parameters });
      }
    }
    return out;
  }

  const dateTime = fc
    .record({
      ms: fc.integer({ min: 0, max: Date.now() - 86_400_000 }),
      offset: fc.constantFrom(0, 60, -300, 330, 765, -720),
      zulu: fc.boolean(),
    })
    .map(({ ms, offset, zulu }) => {
      if (zulu || ms + offset * 60_000 < 0) return new Date(ms).toISOString();
      const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    });

  const anyJson = fc.jsonValue({ maxDepth: 2 });

  /** Values a schema allows (checked by ajv at the end: the generator only needs to come close). */
  function arb(schema: Json, name = '', depth = 0): fc.Arbitrary<unknown> {
    const s = resolve(schema);
    const validate = validator(schema);
    const samples = (SAMPLES[name] ?? []).filter((v) => validate(v));
    const generated = raw(s, depth);
    const all =
      samples.length > 0
        ? fc.oneof({ arbitrary: fc.constantFrom(...samples), weight: 3 }, generated)
        : generated;
    return all.filter((v) => validate(v));
  }

  function raw(s: Json, depth: number): fc.Arbitrary<unknown> {
    if (s.const !== undefined) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    // An object's oneOf only constrains its properties (checked by the filter): generate the object.
    if (Array.isArray(s.oneOf) && s.type === undefined && s.properties === undefined)
      return fc.oneof(...(s.oneOf as Json[]).map((b) => raw(resolve(b), depth)));
    const types: string[] = s.type === undefined ? (s.properties ? ['object'] : []) : [].concat(s.type);
    if (types.length === 0) return anyJson;
    return fc.oneof(...types.map((t) => rawOfType(s, t, depth)));
  }

  function rawOfType(s: Json, type: string, depth: number): fc.Arbitrary<unknown> {
    switch (type) {
      case 'string': {
        if (s.format === 'date-time') return dateTime;
        const max = Math.min(s.maxLength ?? 40, 400);
        if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((t) => t.length <= max);
        const min = s.minLength ?? 0;
        return fc.oneof(
          fc.string({ minLength: min, maxLength: Math.min(max, 40) }),
          fc.string({ minLength: Math.max(min, max - 2), maxLength: max, unit: 'grapheme-ascii' }),
        );
      }
      case 'integer':
        return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return depth > 3
          ? fc.constant([])
          : fc.array(s.items ? arb(s.items, '', depth + 1) : anyJson, {
              minLength: s.minItems ?? 0,
              maxLength: Math.min(s.maxItems ?? 4, 4),
            });
      case 'object': {
        if (depth > 3 || !s.properties) return fc.constant({});
        const shape: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, sub] of Object.entries<Json>(s.properties)) shape[key] = arb(sub, key, depth + 1);
        return fc.record(shape, { requiredKeys: s.required ?? [] });
      }
      default:
        return anyJson;
    }
  }

  /** A query or path value as text (OpenAPI form style), and back to the type the schema expects. */
  function queryText(value: unknown): string {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  function coerce(text: string, schema: Json): unknown {
    const types: string[] = [].concat(resolve(schema).type ?? []);
    if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
    if ((types.includes('integer') || types.includes('number')) && /^-?\d{1,15}$/.test(text))
      return Number(text);
    return text;
  }

  function bodySchema(op: Json): { type: string; schema: Json } | null {
    const content = op.requestBody?.content;
    if (!content) return null;
    const type = Object.keys(content)[0];
    return { type, schema: content[type].schema };
  }

  /** Valid requests for one operation. */
  function validRequests(o: Operation): fc.Arbitrary<Request> {
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const p of o.parameters) {
      if (p.in === 'header') continue;
      const a = arb(p.schema, p.name).map((v) => (p.in === 'path' || p.in === 'query' ? queryText(v) : v));
      parts[`${p.in}:${p.name}`] = p.in === 'query' && p.name === 'config' ? fc.constantFrom('c1', 'DNC') : a;
    }
    const required = o.parameters
      .filter((p) => p.required || p.in === 'path')
      .map((p) => `${p.in}:${p.name}`);
    const body = bodySchema(o.op);
    if (body !== null && body.type === 'application/json') parts.body = arb(body.schema);
    if (body !== null && body.type !== 'application/json') {
      parts.body = fc.constantFrom(
        'contact,labels\n+447911123456,DNC_Sales\n',
        'phone,label,source\n+14155550100,Hold,-1\n',
      );
      required.push('body');
    }
    if (body !== null) required.push('body');
    return fc
      .record(parts, { requiredKeys: required })
      .map((values) => build(o, values as Record<string, unknown>));
  }

  function build(o: Operation, values: Record<string, unknown>): Request {
    let path = o.path;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(values)) {
      const [where, name] = key.split(':');
      if (where === 'path') path = path.replace(`{${name}}`, encodeURIComponent(value as string));
      if (where === 'query') query.append(name, value as string);
    }
    const body = bodySchema(o.op);
    const search = query.toString();
    return {
      method: o.method,
      url: `/dnc${path}${search ? `?${search}` : ''}`,
      headers: {},
      ...(values.body !== undefined ? { body: values.body, type: body?.type } : {}),
    };
  }

  /** Requests with exactly one thing the document forbids. */
  function invalidRequests(o: Operation): fc.Arbitrary<Request> | null {
    const mutations: fc.Arbitrary<Request>[] = [];
    const body = bodySchema(o.op);
    const valid = validRequests(o);
    for (const p of o.parameters) {
      if (p.in !== 'query' || p.name === 'config') continue;
      const ok = validator(p.schema);
      const bad = fc
        .oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom('', '1e2', 'x 1', '2020', ' true', '-1', 'x'.repeat(400)),
        )
        .filter((t) => !ok(coerce(t, p.schema)));
      mutations.push(
        fc.tuple(valid, bad).map(([r, v]) => {
          const url = new URL(r.url, 'http://x');
          url.searchParams.set(p.name, v);
          return { ...r, url: url.pathname + url.search };
        }),
      );
    }
    if (body !== null && body.type === 'application/json') {
      const schema = resolve(body.schema);
      for (const [key, sub] of Object.entries<Json>(schema.properties ?? {})) {
        const ok = validator(sub);
        const bad = fc
          .oneof(
            anyJson,
            fc.constantFrom('', ' x', 'x'.repeat(1001), '2020-02-30T00:00:00Z', '2020', 5, -8.64e15, [], {}),
          )
          .filter((v) => !ok(v));
        mutations.push(
          fc.tuple(valid, bad).map(([r, v]) => ({ ...r, body: { ...(r.body as Json), [key]: v } })),
        );
      }
      mutations.push(valid.map((r) => ({ ...r, body: { ...(r.body as Json), unknownField: 1 } })));
      for (const key of schema.required ?? []) {
        mutations.push(
          valid.map((r) => {
            const copy = { ...(r.body as Json) };
            delete copy[key];
            return { ...r, body: copy };
          }),
        );
      }
    }
    return mutations.length === 0 ? null : fc.oneof(...mutations);
  }

  async function send(r: Request): Promise<{ status: number; body: any; text: string; type: string }> {
    let req = api()[r.method.toLowerCase()](r.url);
    for (const [k, v] of Object.entries(r.headers)) req = req.set(k, v);
    if (r.body !== undefined) {
      req = req.set('Content-Type', r.type ?? 'application/json');
      req = req.send(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    }
    const res = await req;
    return {
      status: res.status,
      body: res.body,
      text: res.text,
      type: String(res.headers['content-type'] ?? ''),
    };
  }

  /** The answer is one the document describes for this operation. */
  function assertDocumented(
    o: Operation,
    r: Request,
    res: { status: number; body: any; text: string; type: string },
  ) {
    const where = `${r.method} ${r.url} ${r.body === undefined ? '' : JSON.stringify(r.body).slice(0, 300)}`;
    const response = o.op.responses[String(res.status)] ?? o.op.responses.default;
    assert.ok(response, `${where}: status ${res.status} is not listed (${res.text.slice(0, 200)})`);
    const resolved = resolve(response);
    const json = resolved.content?.['application/json'];
    if (json && res.type.startsWith('application/json')) {
      const ok = validator(json.schema);
      assert.ok(
        ok(res.body),
        `${where}: the ${res.status} body does not match the document: ${res.text.slice(0, 300)}`,
      );
    } else if (res.status >= 400) {
      assert.match(res.type, /^application\/json/, `${where}: an error is JSON`);
    }
  }

  async function storeSeq(): Promise<number> {
    return (await get('/dnc/health')).body.store.seq as number;
  }

  it('covers every operation of the document it serves', () => {
    const served = operations().map((o) => `${o.method} ${o.path}`);
    assert.deepEqual(
      served,
      documented.map((o) => `${o.method} ${o.path}`),
    );
    assert.ok(served.length >= 17, served.join(', '));
  });

  for (const { method, path } of documented) {
    const pick = () => operations().find((o) => o.method === method && o.path === path)!;
    it(`${method} ${path}: requests the document allows get documented answers, never an unstated 400`, async () => {
      const o = pick();
      await fc.assert(
        fc.asyncProperty(validRequests(o), async (r) => {
          const res = await send(r);
          assertDocumented(o, r, res);
          if (res.status === 400) {
            const semantic =
              SEMANTIC_CODES.has(res.body.code) ||
              // A policy (or one of `policies`) this configuration cannot read.
              (typeof res.body.field === 'string' && res.body.field.startsWith('polic')) ||
              // An instant more than a year from now: relative to the clock, which a schema cannot say.
              (res.body.field === 'at' && /a year from now/.test(String(res.body.message))) ||
              // A well-formed channel this configuration neither builds in nor declares.
              (res.body.field === 'channel' && /not a known channel/.test(String(res.body.message))) ||
              (o.path === '/imports' && o.method === 'POST');
            assert.ok(
              semantic,
              `${r.method} ${r.url} ${JSON.stringify(r.body)}: refused for a rule the document does not state: ${res.text}`,
            );
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    });

    it(`${method} ${path}: requests the document forbids are refused with a documented 4xx and write nothing`, async () => {
      const o = pick();
      const invalid = invalidRequests(o);
      if (invalid === null) return;
      const before = await storeSeq();
      await fc.assert(
        fc.asyncProperty(invalid, async (r) => {
          const res = await send(r);
          assertDocumented(o, r, res);
          assert.ok(
            res.status >= 400 && res.status < 500,
            `${r.method} ${r.url} ${JSON.stringify(r.body)}: accepted (${res.status}) what the document forbids`,
          );
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      assert.equal(await storeSeq(), before, `${o.method} ${o.path}: a refused request wrote`);
    });
  }
});
