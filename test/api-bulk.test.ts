/**
 * Bulk import (CSV and JSON lines, background job, dry run, row errors with line numbers, idempotent
 * re-import) and export (CSV safe against formula injection, JSON, JSON lines; re-importable).
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { ANA, BEN, CARL, useNodeRed } from './nodes/support';
import { api, deploy, finished, get, post, seq, upload } from './api-support';

const CSV = [
  'contact,labels,source,reason,actor',
  `${ANA},DNC_Sales|Hold,crm,asked,agent-1`,
  `07911 123457,DNC_Marketing,,,`,
  'not a number,DNC_Sales,,,',
  `${CARL},Nope,,,`,
  `"${CARL}","DNC_Sales,DNC_Global",,"said ""stop""",`,
  `${ANA},DNC_Sales,,,`,
  '',
].join('\n');

describe('DNC API: import and export', function () {
  this.timeout(30000);
  useNodeRed();

  it('imports CSV in a background job: good rows applied, bad rows reported with line numbers', async () => {
    await deploy();
    const started = await upload('/dnc/imports', 'text/csv', CSV);
    assert.equal(started.status, 202, started.text);
    assert.match(started.headers.location, /^imports\/[0-9a-f-]{36}$/);
    assert.ok(['queued', 'running'].includes(started.body.state));
    const job = await finished(started.body.id);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.progress, 1);
    assert.deepEqual(job.rows, { read: 6, applied: 3, unchanged: 1, failed: 2 });
    assert.deepEqual(
      job.errors.map((e: any) => [e.line, e.code]),
      [
        [4, 'DNC_INVALID_CONTACT'],
        [5, 'DNC_UNKNOWN_LABEL'],
      ],
    );
    assert.equal(job.bytes.read, job.bytes.total);
    const ana = await get(`/dnc/contacts/${encodeURIComponent(ANA)}`);
    assert.deepEqual(
      ana.body.labels.map((l: any) => [l.label, l.source, l.reason, l.actor]),
      [
        ['DNC_Sales', 'crm', 'asked', 'agent-1'],
        ['Hold', 'crm', 'asked', 'agent-1'],
      ],
    );
    const carl = await get(`/dnc/contacts/${encodeURIComponent(CARL)}`);
    assert.deepEqual(
      carl.body.labels.map((l: any) => [l.label, l.source, l.reason]),
      [
        ['DNC_Sales', 'import', 'said "stop"'],
        ['DNC_Global', 'import', 'said "stop"'],
      ],
    );
    const written = await seq();
    assert.equal(written, 3);

    // Re-importing the same file changes nothing and writes no audit record.
    const again = await finished((await upload('/dnc/imports', 'text/csv', CSV)).body.id);
    assert.deepEqual(again.rows, { read: 6, applied: 0, unchanged: 4, failed: 2 });
    assert.equal(await seq(), written);
    const list = await get('/dnc/imports');
    assert.equal(list.body.jobs.length, 2);
  });

  it('a dry run reports what would change and writes nothing', async () => {
    await deploy();
    const job = await finished((await upload('/dnc/imports?dryRun=true', 'text/csv', CSV)).body.id);
    assert.equal(job.dryRun, true);
    assert.deepEqual(job.rows, { read: 6, applied: 4, unchanged: 0, failed: 2 });
    assert.equal(await seq(), 0);
  });

  it('reports malformed CSV rows by line and keeps going', async () => {
    await deploy();
    const text = [
      'phone,labels',
      `${ANA},DNC_Sales`,
      `${BEN},DNC_Sales,extra`,
      `"${CARL},DNC_Sales`,
      '',
    ].join('\r\n');
    const job = await finished((await upload('/dnc/imports', 'text/csv', text)).body.id);
    assert.equal(job.rows.applied, 1, JSON.stringify(job));
    assert.ok(job.errors.length >= 1);
    assert.equal(job.errors[0].line, 3);
    assert.match(job.errors[0].message, /malformed CSV/);
    // An unclosed quote ends the file: the job says so instead of hiding it.
    assert.ok(job.state === 'failed' || job.errors.length === 2, JSON.stringify(job));
  });

  it('imports JSON lines, rejecting __proto__ / constructor keys and unknown fields per line', async () => {
    await deploy();
    const lines = [
      JSON.stringify({ contact: ANA, labels: ['DNC_Sales'] }),
      '{"contact":"+447911123457","labels":["Hold"],"__proto__":{"polluted":true}}',
      JSON.stringify({ contact: BEN, labels: 'DNC_Sales', constructor: 'x' }),
      '',
      'not json',
      JSON.stringify([ANA]),
      JSON.stringify({ contact: CARL, labels: [{ label: 'Hold' }], action: 'add', colour: 'red' }),
      JSON.stringify({ contact: ANA, labels: ['DNC_Sales'], action: 'remove' }),
      JSON.stringify({ contact: BEN, labels: ['DNC_Sales'], action: 'delete' }),
    ].join('\n');
    const job = await finished((await upload('/dnc/imports', 'application/x-ndjson', lines)).body.id);
    assert.equal(job.state, 'done');
    assert.deepEqual(
      job.errors.map((e: any) => [e.line, e.code]),
      [
        [2, 'DNC_INVALID_INPUT'],
        [3, 'DNC_INVALID_INPUT'],
        [5, 'DNC_INVALID_INPUT'],
        [6, 'DNC_INVALID_INPUT'],
        [7, 'DNC_INVALID_INPUT'],
        [9, 'DNC_INVALID_INPUT'],
      ],
    );
    assert.equal(job.rows.applied, 2); // line 1 added, line 8 removed
    assert.equal(({} as any).polluted, undefined);
    assert.equal((await post('/dnc/check', { contact: ANA })).body.allowed, true);
  });

  it('replays an import with the same Idempotency-Key and refuses the key for another file', async () => {
    await deploy();
    const send = (text: string, key: string) =>
      api().post('/dnc/imports').set('Content-Type', 'text/csv').set('Idempotency-Key', key).send(text);
    const first = await send(CSV, 'imp-1');
    assert.equal(first.status, 202);
    const replay = await send(CSV, 'imp-1');
    assert.equal(replay.status, 202);
    assert.equal(replay.body.id, first.body.id);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const other = await send('contact,labels\n', 'imp-1');
    assert.equal(other.status, 409);
    await finished(first.body.id);
    assert.equal((await get('/dnc/imports')).body.jobs.length, 1);
  });

  it('exports CSV safe against formula injection, JSON and JSON lines; an export re-imports unchanged', async () => {
    await deploy();
    await post('/dnc/labels/add', {
      contact: { phone: ANA, email: 'ana@example.com' },
      labels: ['DNC_Sales', 'Hold'],
      actor: '=HYPERLINK("http://evil.example","click")',
      reason: '+cmd|" /C calc"!A0',
    });
    await post('/dnc/labels/add', { contact: 'id:@crm-7', labels: ['DNC_Global'], reason: '-1+1' });
    await post('/dnc/labels/add', {
      contact: BEN,
      labels: ['DNC_Marketing'],
      reason: 'line\nbreak, "quoted"',
    });
    const csv = (await api().get('/dnc/export').buffer(true)) as {
      status: number;
      text: string;
      headers: any;
    };
    assert.equal(csv.status, 200);
    assert.match(csv.headers['content-type'], /^text\/csv/);
    assert.match(csv.headers['content-disposition'], /attachment; filename="dnc-export.csv"/);
    const rows = csv.text.trimEnd().split('\r\n');
    assert.equal(
      rows[0],
      'contact,keys,label,active,appliedAt,expiresAt,source,actor,reason,campaign,channel,principal',
    );
    assert.ok(
      rows.some((r) => r.startsWith(`${ANA},'${ANA} ana@example.com,DNC_Sales,true,`)),
      csv.text,
    );
    assert.ok(csv.text.includes(`"'=HYPERLINK(""http://evil.example"",""click"")"`), csv.text);
    assert.ok(csv.text.includes(`"'+cmd|"" /C calc""!A0"`), csv.text);
    assert.ok(csv.text.includes(`id:@crm-7`));
    assert.ok(csv.text.includes(`'-1+1`));
    for (const row of rows.slice(1)) {
      for (const cell of row.split(','))
        assert.doesNotMatch(cell, /^"?[=@-]|^"?\+(?!\d+$)/, `unsafe cell ${cell}`);
    }
    const json = await get('/dnc/export?format=json');
    assert.equal(json.status, 200);
    assert.equal(json.body.length, 3);
    const ana = json.body.find((c: any) => c.contact === ANA);
    assert.deepEqual(ana.keys, [ANA, 'ana@example.com']);
    assert.equal(ana.labels[0].actor, '=HYPERLINK("http://evil.example","click")', 'JSON is not escaped');
    const jsonl = (await api().get('/dnc/export?format=jsonl&label=Hold').buffer(true)) as { text: string };
    const lines = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l: any) => [l.contact, l.labels.map((x: any) => x.label)]),
      [[ANA, ['Hold']]],
    );

    const before = await seq();
    const job = await finished((await upload('/dnc/imports', 'text/csv', csv.text)).body.id);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(job.rows, { read: 4, applied: 0, unchanged: 4, failed: 0 });
    assert.equal(await seq(), before);
  });

  it('streams an empty export as a header (CSV) or an empty array (JSON)', async () => {
    await deploy();
    const csv = (await api().get('/dnc/export?format=csv').buffer(true)) as { text: string };
    assert.equal(csv.text.split('\r\n').length, 2);
    assert.deepEqual((await get('/dnc/export?format=json')).body, []);
  });
});
