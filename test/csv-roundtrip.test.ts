/**
 * CSV round trip (issue 10): an export is formula-safe for spreadsheets, and re-imports unchanged. Every
 * exported column is checked with hostile values: leading = + - @ (tab and CR are trimmed when stored),
 * quotes (including a value that itself starts with a quote), commas, newlines, unicode, long text.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { CSV_COLUMNS } from '../lib/api/export';
import { formulaSafe, unescapeFormula } from '../lib/api/csv';
import { config, useNodeRed } from './nodes/support';
import { deploy, get, post, upload } from './api-support';

const HOSTILE_TEXT = [
  '=1+1',
  '+cmd|" /C calc"!A0',
  '-2',
  '@SUM(A1:A9)',
  '=HYPERLINK("http://example.com","click")',
  "'=already quoted",
  "''",
  "'",
  "'plain",
  'a,b,c',
  'say "hi", then "bye"',
  'two\nlines',
  'crlf\r\ninside',
  'tab\tinside',
  'ünïcødé ☎ 😀 עברית',
  '+14155550100',
  '-',
  '=',
];
const HOSTILE_SOURCES = ['-1', '-', ':x', '.5', '-cmd:x', 'api', '-9e9', '--'];

function contactFor(i: number): string {
  return `+1415555${String(1000 + i).padStart(4, '0')}`;
}

/** The rows of a CSV export as a spreadsheet-independent reader sees them, with the formula quote removed. */
function readCsv(text: string): Record<string, string>[] {
  const rows = parse<Record<string, string>>(text, { columns: true, bom: true });
  return rows.map((row) => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(row)) out[key] = unescapeFormula(value);
    return out;
  });
}

describe('CSV export and import: the round trip', function () {
  this.timeout(20000);
  useNodeRed();

  it('escapes every formula start, and unescaping gives back exactly the text', () => {
    const all = [
      ...HOSTILE_TEXT,
      ...HOSTILE_SOURCES,
      "''=x",
      "'''",
      '\t=x',
      '\r=x',
      'x'.repeat(5000),
      '',
      'plain',
    ];
    for (const text of all) {
      const safe = formulaSafe(text);
      if (!/^\+[1-9]\d{1,14}$/.test(text)) assert.doesNotMatch(safe, /^[=+\-@\t\r]/, JSON.stringify(text));
      assert.equal(unescapeFormula(safe), text, JSON.stringify(text));
    }
  });

  it('every exported column re-imports unchanged, hostile values included', async () => {
    await deploy([config('c1'), config('c2', { name: 'Copy', storePath: 'copy.json' })]);
    const n = HOSTILE_TEXT.length;
    for (let i = 0; i < n; i++) {
      const res = await post('/dnc/labels/add?config=c1', {
        contact: contactFor(i),
        labels: i % 3 === 0 ? 'DNC_Sales,Hold' : 'DNC_Sales',
        source: HOSTILE_SOURCES[i % HOSTILE_SOURCES.length],
        actor: HOSTILE_TEXT[(i + 1) % n],
        reason: i === 0 ? `=${'long reason '.repeat(80)}`.slice(0, 1000) : HOSTILE_TEXT[i],
        campaign: HOSTILE_TEXT[(i + 2) % n].slice(0, 200),
        channel: i % 2 === 0 ? 'sms' : 'voice',
      });
      assert.equal(res.status, 200, res.text);
    }
    const csv = await get('/dnc/export?config=c1&format=csv');
    assert.equal(csv.status, 200, csv.text);
    // No cell can start a formula (E.164 numbers excepted): check the raw cells, before unescaping.
    const raw = parse<Record<string, string>>(csv.text, { columns: true, bom: true });
    for (const row of raw) {
      for (const [column, cell] of Object.entries(row)) {
        if (!/^\+[1-9]\d{1,14}$/.test(cell)) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `${column}: ${cell}`);
      }
    }
    // Every column says exactly what the JSON export says.
    const json = (await get('/dnc/export?config=c1&format=json')).body as any[];
    const expected = json.flatMap((c) =>
      (c.labels as any[]).map((l) => ({
        contact: c.contact,
        keys: (c.keys as string[]).join(' '),
        label: l.label,
        active: String(l.active),
        appliedAt: l.appliedAt,
        expiresAt: l.expiresAt ?? '',
        source: l.source,
        actor: l.actor ?? '',
        reason: l.reason ?? '',
        campaign: l.campaign ?? '',
        channel: l.channel ?? '',
        principal: l.principal ?? '',
      })),
    );
    const rows = readCsv(csv.text);
    assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);
    assert.deepEqual(rows, expected);

    // Import the export into another store: every row applies, and its export is the same but for
    // the times (an import applies labels now, and expiry counts from then).
    const imported = await upload('/dnc/imports?config=c2', 'text/csv', csv.text);
    assert.equal(imported.status, 202, imported.text);
    const job: any = await (async (): Promise<any> => {
      const deadline = Date.now() + 15000;
      for (;;) {
        const res = await get(`/dnc/imports/${imported.body.id}?config=c2`);
        if (res.body.state !== 'queued' && res.body.state !== 'running') return res.body;
        if (Date.now() > deadline) throw new Error('import still running');
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(job.errors, []);
    assert.equal(job.rows.failed, 0);
    const again = readCsv((await get('/dnc/export?config=c2&format=csv')).text);
    // Who applied the copy is the import, on behalf of its caller: never a value the file can set.
    assert.ok(rows.every((row) => row.principal === 'admin:anonymous'));
    assert.ok(again.every((row) => row.principal === 'import:admin:anonymous'));
    const withoutTimes = (list: Record<string, string>[]) =>
      list
        .map(({ appliedAt: _a, expiresAt: _e, principal: _p, ...rest }) => rest)
        .sort((a, b) => (a.contact + a.label).localeCompare(b.contact + b.label));
    assert.deepEqual(withoutTimes(again), withoutTimes(rows));
  });
});
