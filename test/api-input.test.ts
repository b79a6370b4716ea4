/**
 * Bad input on every route of the DNC API: wrong types, huge bodies, unknown labels and fields,
 * `__proto__` / `constructor` keys, bad query parameters. Each gets a clear 4xx with `{ code, message,
 * field? }`, no stack trace, and nothing is written.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { ANA, useNodeRed } from './nodes/support';
import { api, deploy, get, post, seq, upload } from './api-support';

function assertError(res: { status: number; body: any; text: string }, status: number, code?: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(typeof res.body.code, 'string', res.text);
  assert.equal(typeof res.body.message, 'string');
  if (code !== undefined) assert.equal(res.body.code, code, res.text);
  assert.doesNotMatch(res.text, /\bat .*\.js:\d+|node_modules|Error:/, 'no stack trace');
  for (const key of Object.keys(res.body)) assert.ok(['code', 'message', 'field'].includes(key), key);
}

describe('DNC API: bad input on every route', function () {
  this.timeout(20000);
  useNodeRed();

  beforeEach(async () => {
    await deploy();
  });

  const writes = ['/dnc/labels/add', '/dnc/labels/remove'];

  it('label changes: wrong types, missing fields, unknown labels and fields write nothing', async () => {
    const cases: [unknown, string, string?][] = [
      [{ contact: ANA, labels: ['Nope'] }, 'DNC_UNKNOWN_LABEL', 'labels'],
      [{ contact: ANA, labels: 'constructor' }, 'DNC_UNKNOWN_LABEL', 'labels'],
      [{ contact: ANA, labels: '__proto__' }, 'DNC_UNKNOWN_LABEL', 'labels'],
      [{ contact: ANA, labels: [42] }, 'DNC_INVALID_INPUT', 'labels'],
      [{ contact: ANA, labels: { DNC_Sales: true } }, 'DNC_INVALID_INPUT', 'labels'],
      [{ contact: ANA }, 'DNC_INVALID_INPUT', 'labels'],
      [{ labels: ['DNC_Sales'] }, 'DNC_INVALID_INPUT', 'contact'],
      [{ contact: 'not a number', labels: ['DNC_Sales'] }, 'DNC_INVALID_CONTACT'],
      [{ contact: 12345, labels: ['DNC_Sales'] }, 'DNC_INVALID_CONTACT'],
      [{ contact: [ANA], labels: ['DNC_Sales'] }, 'DNC_INVALID_CONTACT'],
      [{ contact: ANA, labels: ['DNC_Sales'], source: 'no spaces allowed' }, 'DNC_INVALID_INPUT', 'source'],
      [{ contact: ANA, labels: ['DNC_Sales'], source: 7 }, 'DNC_INVALID_INPUT', 'source'],
      [{ contact: ANA, labels: ['DNC_Sales'], reason: { text: 'x' } }, 'DNC_INVALID_INPUT', 'reason'],
      [{ contact: ANA, labels: ['DNC_Sales'], actor: 'a'.repeat(201) }, 'DNC_INVALID_INPUT', 'actor'],
      [{ contact: ANA, labels: ['DNC_Sales'], channel: 'no way' }, 'DNC_INVALID_INPUT', 'channel'],
      [{ contact: ANA, labels: ['DNC_Sales'], lables: ['typo'] }, 'DNC_INVALID_INPUT', 'lables'],
      [
        JSON.parse('{"contact":"+447911123456","labels":["DNC_Sales"],"__proto__":{"admin":true}}'),
        'DNC_INVALID_INPUT',
      ],
      [{ contact: ANA, labels: ['DNC_Sales'], constructor: { prototype: {} } }, 'DNC_INVALID_INPUT'],
      [{ contact: { phone: ANA, constructor: 'x' }, labels: ['DNC_Sales'] }, 'DNC_INVALID_INPUT'],
      [[ANA], 'DNC_INVALID_INPUT'],
    ];
    for (const path of writes) {
      for (const [body, code, field] of cases) {
        const res = await post(path, body);
        assertError(res, 400, code);
        if (field !== undefined) assert.equal(res.body.field, field, `${path} ${JSON.stringify(body)}`);
      }
      assertError(await post('/dnc/labels/remove', { contact: ANA, all: 'yes' }), 400, 'DNC_INVALID_INPUT');
      assertError(
        await post('/dnc/labels/remove', { contact: ANA, all: true, labels: ['DNC_Sales'] }),
        400,
        'DNC_INVALID_INPUT',
      );
    }
    assert.equal(await seq(), 0);
    assert.equal(({} as any).admin, undefined, 'Object.prototype untouched');
  });

  it('bodies: not JSON, wrong media type, empty, too large (413) write nothing', async () => {
    for (const path of [...writes, '/dnc/check']) {
      const notJson = await api().post(path).set('Content-Type', 'application/json').send('{"contact":');
      assertError(notJson, 400, 'DNC_INVALID_INPUT');
      const text = await api().post(path).set('Content-Type', 'text/plain').send('contact=+447911123456');
      assertError(text, 415, 'DNC_UNSUPPORTED_MEDIA_TYPE');
      const form = await api().post(path).type('form').send({ contact: ANA, labels: 'DNC_Sales' });
      assertError(form, 415, 'DNC_UNSUPPORTED_MEDIA_TYPE');
      const empty = await api().post(path).set('Content-Type', 'application/json').send('');
      assert.ok(empty.status === 400, empty.text);
    }
    const big = { contact: ANA, labels: ['DNC_Sales'], reason: 'x'.repeat(100_000) };
    for (const path of writes) assertError(await post(path, big), 413, 'DNC_BODY_TOO_LARGE');
    // Over Node-RED's own 5 MB limit: body-parser fails before our routes; still JSON.
    const huge = await post('/dnc/check', { contacts: new Array(300_000).fill('+447911123456') });
    assertError(huge, 413, 'DNC_BODY_TOO_LARGE');
    const deep = JSON.parse('{"contact":' + '['.repeat(50) + ']'.repeat(50) + ',"labels":"DNC_Sales"}');
    assertError(await post('/dnc/labels/add', deep), 400, 'DNC_INVALID_INPUT');
    assert.equal(await seq(), 0);
  });

  it('check: wrong types and unknown options are 400', async () => {
    const cases: [unknown, string][] = [
      [{}, 'DNC_INVALID_INPUT'],
      [{ contact: ANA, labels: ['Nope'] }, 'DNC_UNKNOWN_LABEL'],
      [{ contact: ANA, channel: 7 }, 'DNC_INVALID_INPUT'],
      [{ contact: ANA, at: 'yesterday' }, 'DNC_INVALID_INPUT'],
      [{ contact: ANA, contacts: [ANA] }, 'DNC_INVALID_INPUT'],
      [{ contacts: ANA }, 'DNC_INVALID_INPUT'],
      [{ contacts: new Array(10_001).fill(ANA) }, 'DNC_INVALID_INPUT'],
      [{ contact: ANA, purpose: 'sales' }, 'DNC_INVALID_INPUT'],
      [JSON.parse('{"contact":"+447911123456","__proto__":{}}'), 'DNC_INVALID_INPUT'],
    ];
    for (const [body, code] of cases) assertError(await post('/dnc/check', body), 400, code);
    // An unparseable contact is a decision (blocked, INVALID_CONTACT), as in the Check DNC node.
    const invalidContact = await post('/dnc/check', { contact: 'nonsense' });
    assert.equal(invalidContact.status, 200);
    assert.equal(invalidContact.body.reasons[0].code, 'INVALID_CONTACT');
    assertError(await get('/dnc/check'), 400, 'DNC_INVALID_INPUT');
    assertError(await get('/dnc/check?contact=%2B447911123456&labels=Nope'), 400, 'DNC_UNKNOWN_LABEL');
  });

  it('query parameters: unknown, repeated or malformed are 400', async () => {
    const paths = [
      '/dnc/labels?x=1',
      '/dnc/health?constructor=1',
      '/dnc/audit?limit=0',
      '/dnc/audit?limit=abc',
      '/dnc/audit?limit=1&limit=2',
      '/dnc/audit?since=yesterday',
      '/dnc/audit?verify=maybe',
      '/dnc/audit?label=a%20b',
      '/dnc/audit?contact=nonsense',
      '/dnc/contacts/nonsense',
      '/dnc/contacts/%E0%A4%A',
      `/dnc/contacts/${encodeURIComponent(ANA)}?limit=100000`,
      '/dnc/export?format=xlsx',
      '/dnc/export?label=Nope',
      '/dnc/imports?__proto__=1',
    ];
    for (const path of paths) {
      const res = await get(path);
      assert.ok(res.status === 400, `${path}: ${res.status} ${res.text}`);
      assertError(res, 400);
    }
    assertError(await get('/dnc/imports/does-not-exist'), 404, 'DNC_NOT_FOUND');
    assertError(await api().delete('/dnc/imports/does-not-exist'), 404, 'DNC_NOT_FOUND');
  });

  it('imports: wrong media type, bad header, empty and too large uploads are 4xx and start nothing', async () => {
    assertError(await upload('/dnc/imports', 'text/plain', 'contact,labels\n'), 415);
    assertError(await post('/dnc/imports', { contact: ANA }), 415);
    assertError(await upload('/dnc/imports?format=xml', 'text/csv', 'contact,labels\n'), 400);
    assertError(await upload('/dnc/imports', 'text/csv', ''), 400);
    assertError(
      await upload('/dnc/imports', 'text/csv', 'phone_number,labels\n+447911123456,DNC_Sales\n'),
      400,
    );
    assertError(await upload('/dnc/imports', 'text/csv', '__proto__,labels\nx,DNC_Sales\n'), 400);
    assertError(await upload('/dnc/imports', 'text/csv', 'contact,constructor\nx,DNC_Sales\n'), 400);
    assertError(await upload('/dnc/imports', 'text/csv', 'contact\n+447911123456\n'), 400);
    assertError(await upload('/dnc/imports', 'text/csv', 'labels,labels,contact\n'), 400);
    assertError(await upload('/dnc/imports?dryRun=perhaps', 'text/csv', 'contact,labels\n'), 400);
    const jobs = await get('/dnc/imports');
    assert.deepEqual(jobs.body.jobs, []);
    assert.equal(await seq(), 0);
  });
});
