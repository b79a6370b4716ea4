/**
 * Strict values (issue 10, "Lenient values"): times are real RFC 3339 instants in 1970..9999, free text
 * is text, and the same rules hold for the service (nodes), the HTTP API and import rows.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DncError } from '../lib/errors';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { instantOf, parseInstant } from '../lib/time';
import { ANA, useNodeRed } from './nodes/support';
import { deploy, finished, get, post, seq, upload } from './api-support';

const T0 = Date.UTC(2026, 10, 28, 15, 0, 0);

function invalidOn(field: string) {
  return (err: unknown) => err instanceof DncError && err.code === 'DNC_INVALID_INPUT' && err.field === field;
}

describe('strict instants (lib/time)', () => {
  it('reads RFC 3339 date-times with an offset, to the millisecond', () => {
    assert.equal(parseInstant('2024-05-01T09:30:00Z'), Date.UTC(2024, 4, 1, 9, 30));
    assert.equal(parseInstant('2024-05-01T11:30:00+02:00'), Date.UTC(2024, 4, 1, 9, 30));
    assert.equal(parseInstant('2024-05-01t09:30:00.123456z'), Date.UTC(2024, 4, 1, 9, 30, 0, 123));
    assert.equal(parseInstant('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
    assert.equal(parseInstant('2000-02-29T00:00:00-05:00'), Date.UTC(2000, 1, 29, 5));
    assert.equal(parseInstant('1970-01-01T00:00:00Z'), 0);
    assert.equal(parseInstant('9999-12-31T23:59:59.999Z'), Date.UTC(9999, 11, 31, 23, 59, 59, 999));
  });

  it('refuses dates that do not exist instead of rolling them over', () => {
    for (const text of [
      '2020-02-30T00:00:00Z',
      '2021-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2024-04-31T12:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-00-10T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T23:60:00Z',
      '2024-12-31T23:59:60Z',
    ]) {
      assert.throws(() => parseInstant(text, 'since'), invalidOn('since'), text);
    }
  });

  it('refuses what Date.parse guesses: bare years, words, no offset, odd forms', () => {
    for (const text of [
      '2020',
      'x 1',
      '1',
      '',
      '2024-05-01',
      '2024-05-01T09:30:00',
      '2024-05-01 09:30:00Z',
      '2024-05-01T09:30Z',
      'Wed, 01 May 2024 09:30:00 GMT',
      '+002024-05-01T09:30:00Z',
      '2024-05-01T09:30:00+0200',
      '2024-05-01T09:30:00+24:00',
      ' 2024-05-01T09:30:00Z',
      '2024-05-01T09:30:00Z ',
    ]) {
      assert.throws(() => parseInstant(text, 'at'), invalidOn('at'), JSON.stringify(text));
    }
  });

  it('keeps instants in 1970..9999: year -271821 and the like are refused', () => {
    assert.throws(() => parseInstant('1969-12-31T23:59:59Z'), invalidOn('at'));
    assert.throws(() => parseInstant('1970-01-01T00:30:00+01:00'), invalidOn('at'));
    for (const ms of [-8.64e15, -1, 8.64e15, 253_402_300_800_000, 1.5, NaN, Infinity]) {
      assert.throws(() => instantOf(ms, () => T0), invalidOn('at'), String(ms));
    }
    assert.throws(() => instantOf(new Date(-8.64e15), () => T0), invalidOn('at'));
    assert.equal(
      instantOf(undefined, () => T0),
      T0,
    );
    assert.equal(
      instantOf(T0, () => 0),
      T0,
    );
    assert.equal(
      instantOf('2026-11-28T15:00:00Z', () => 0),
      T0,
    );
  });
});

describe('DNC service: values from a flow are validated, not coerced', () => {
  let dir: string;
  let store: EmbeddedStore;
  let dnc: DncService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-values-'));
    store = new EmbeddedStore({ path: path.join(dir, 'dnc-store.json') });
    await store.open();
    dnc = new DncService({ labels: [{ name: 'DNC_Sales' }], defaultCountry: 'US', store, now: () => T0 });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses numbers and other non-text as actor, reason or campaign, and writes nothing', async () => {
    const base = { contact: '+14155550100', labels: 'DNC_Sales' };
    for (const [field, value] of [
      ['actor', 42],
      ['reason', 7],
      ['campaign', 2024],
      ['actor', true],
      ['reason', { text: 'x' }],
      ['actor', 'x'.repeat(201)],
      ['reason', 'x'.repeat(1001)],
    ] as const) {
      await assert.rejects(
        dnc.addLabels({ ...base, [field]: value }),
        invalidOn(field),
        `${field}=${JSON.stringify(value)}`,
      );
    }
    assert.equal(store.status().seq, 0);
  });

  it('refuses a source or channel that only looks right after trimming or coercion', async () => {
    const base = { contact: '+14155550100', labels: 'DNC_Sales' };
    await assert.rejects(dnc.addLabels({ ...base, source: ' ivr' }), invalidOn('source'));
    await assert.rejects(dnc.addLabels({ ...base, source: 12 }), invalidOn('source'));
    await assert.rejects(dnc.addLabels({ ...base, channel: 5 }), invalidOn('channel'));
    await assert.rejects(dnc.addLabels({ ...base, labels: [] }), invalidOn('labels'));
    await assert.rejects(dnc.addLabels({ ...base, labels: ['DNC_Sales', ' '] }), invalidOn('labels'));
    assert.equal(store.status().seq, 0);
    // What the rules allow still works: channel case and spaces, blank free text as none.
    const done = await dnc.addLabels({ ...base, channel: ' SMS ', actor: '  ', reason: ' asked ' });
    assert.equal(done.record.channel, 'sms');
    assert.equal(done.actor, null);
    assert.equal(done.reason, 'asked');
  });

  it('refuses an attempt at an impossible or out-of-range time, and an outcome that is not a word', async () => {
    await assert.rejects(dnc.recordAttempt({ contact: ANA, at: -8.64e15 }), invalidOn('at'));
    await assert.rejects(dnc.recordAttempt({ contact: ANA, at: 1.5 }), invalidOn('at'));
    await assert.rejects(dnc.recordAttempt({ contact: ANA, outcome: 3 }), invalidOn('outcome'));
    await assert.rejects(dnc.recordAttempt({ contact: ANA, outcome: ' refusal' }), invalidOn('outcome'));
    await assert.rejects(dnc.recordAttempt({ contact: ANA, source: 99 }), invalidOn('source'));
  });
});

describe('DNC API: strict values', function () {
  this.timeout(20000);
  useNodeRed();

  beforeEach(async () => {
    await deploy();
  });

  it('refuses 2020-02-30 and out-of-range times instead of storing another day', async () => {
    for (const at of ['2020-02-30T10:00:00Z', '-271821-04-20T00:00:00Z', '2020', 1_600_000_000_000]) {
      const res = await post('/dnc/attempts', { contact: ANA, at });
      assert.equal(res.status, 400, `${at}: ${res.text}`);
      assert.equal(res.body.code, 'DNC_INVALID_INPUT');
      assert.equal(res.body.field, 'at');
      const check = await post('/dnc/check', { contact: ANA, at });
      assert.equal(check.status, 400, `${at}: ${check.text}`);
      assert.equal(check.body.field, 'at');
    }
  });

  it('/audit since and until are RFC 3339 times: 2020 is not epoch ms and "x 1" is not 2001', async () => {
    await post('/dnc/labels/add', { contact: ANA, labels: 'DNC_Sales' });
    for (const value of ['2020', 'x 1', '1700000000000', '2020-02-30T00:00:00Z', '2024-05-01']) {
      for (const name of ['since', 'until']) {
        const res = await get(`/dnc/audit?${name}=${encodeURIComponent(value)}`);
        assert.equal(res.status, 400, `${name}=${value}: ${res.text}`);
        assert.equal(res.body.field, name);
      }
    }
    const ok = await get(`/dnc/audit?since=${encodeURIComponent('2020-01-01T00:00:00+01:00')}`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.count, 1);
  });

  it('GET /check refuses a contact longer than the documented 320 characters', async () => {
    const long = `${'a'.repeat(310)}@example.com`;
    const res = await get(`/dnc/check?contact=${encodeURIComponent(long)}`);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 'DNC_INVALID_CONTACT');
    const post400 = await post('/dnc/check', { contact: long });
    assert.equal(post400.status, 400, post400.text);
  });

  it('refuses numbers as reason or actor on label changes, and writes nothing', async () => {
    const before = await seq();
    for (const body of [
      { contact: ANA, labels: 'DNC_Sales', reason: 5 },
      { contact: ANA, labels: 'DNC_Sales', actor: 1234 },
      { contact: ANA, labels: 'DNC_Sales', campaign: 1 },
    ]) {
      const res = await post('/dnc/labels/add', body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.code, 'DNC_INVALID_INPUT');
    }
    assert.equal(await seq(), before);
  });

  it('refuses empty and non-decimal query values instead of reading them as absent or as numbers', async () => {
    for (const query of ['limit=1e2', 'limit=0x10', 'limit=', 'label=', 'verify=']) {
      const res = await get(`/dnc/audit?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
    }
  });

  it('a policy named like an Object method is an unknown preset (400), not a 500', async () => {
    for (const policy of ['valueOf', 'constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const res = await post('/dnc/check', { contact: ANA, policy });
      assert.equal(res.status, 400, `${policy}: ${res.text}`);
    }
  });

  it('import rows: a number where text is expected fails the row', async () => {
    const res = await upload(
      '/dnc/imports',
      'application/x-ndjson',
      `${JSON.stringify({ contact: ANA, labels: 'DNC_Sales', reason: 5 })}\n`,
    );
    assert.equal(res.status, 202, res.text);
    const job: any = await finished(res.body.id);
    assert.equal(job.rows.failed, 1);
    assert.equal(job.errors[0].field, 'reason');
  });
});
