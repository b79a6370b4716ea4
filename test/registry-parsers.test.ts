import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NumberIndexBuilder } from '../lib/registries/index-build';
import {
  dateFromFileName,
  parseCsvFile,
  parseLineFile,
  type LayoutOptions,
  type ParseReport,
} from '../lib/registries/parsers';
import { readZipDirectory, readZipEntry } from '../lib/registries/zip';

export const REGISTRY_FIXTURES = [
  resolve(__dirname, '..', '..', 'test', 'fixtures', 'registries'),
  resolve(process.cwd(), 'test', 'fixtures', 'registries'),
].find((dir) => existsSync(join(dir, 'us-ndnc-full-2026-03-01.txt')))!;

/** Parses a fixture, returning the report and the distinct keys. */
async function parse(file: string, layout: LayoutOptions): Promise<{ report: ParseReport; keys: number[] }> {
  const keys: number[] = [];
  const report = await parseLineFile(join(REGISTRY_FIXTURES, file), layout, { add: (key) => keys.push(key) });
  return { report, keys };
}

function malformedSummary(report: ParseReport): [number, string][] {
  return report.malformed.map((m) => [m.line, m.text]);
}

describe('registry parsers', () => {
  it('US National DNC full list: "201,5551234" and ten digits, malformed lines reported with line numbers', async () => {
    const { report, keys } = await parse('us-ndnc-full-2026-03-01.txt', { layout: 'nanp' });
    assert.deepEqual(keys, [12015552001, 12015552002, 12125553003, 12125553003]);
    assert.equal(report.lines, 11);
    assert.equal(report.numbers, 4);
    assert.equal(report.blankLines, 1);
    assert.equal(report.malformedLines, 6);
    assert.deepEqual(malformedSummary(report), [
      [5, '201,555200'],
      [6, '1201,5552004'],
      [7, 'abc,defghij'],
      [8, '101,5552005'],
      [9, '201,1552006'],
      [10, '201-555-2007'],
    ]);
    assert.match(report.malformed[3].reason, /area code/);
    assert.match(report.malformed[4].reason, /exchange/);
  });

  it('keeps only the first N malformed examples but counts them all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-parse-'));
    try {
      const path = join(dir, 'bad.txt');
      writeFileSync(
        path,
        Array.from({ length: 100 }, (_, i) => (i % 2 ? 'junk' : `201555${String(i).padStart(4, '0')}`)).join(
          '\n',
        ),
      );
      const report = await parseLineFile(
        path,
        { layout: 'nanp' },
        { add: () => undefined },
        { maxExamples: 3 },
      );
      assert.equal(report.malformedLines, 50);
      assert.deepEqual(
        report.malformed.map((m) => m.line),
        [2, 4, 6],
      );
      assert.equal(report.numbers, 50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads lines split across chunk boundaries (a 10 MB file, no trailing newline)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-parse-'));
    try {
      const path = join(dir, 'big.txt');
      const lines: string[] = [];
      for (let i = 0; i < 900_000; i++) lines.push(`${200 + (i % 700)},${2_000_000 + i}`);
      writeFileSync(path, lines.join('\r\n'));
      const builder = new NumberIndexBuilder();
      const report = await parseLineFile(path, { layout: 'nanp' }, builder);
      assert.equal(report.numbers, 900_000);
      assert.equal(report.malformedLines, 0);
      const index = await builder.build();
      assert.equal(index.count, 900_000);
      assert.equal(index.has(16992899999), true); // the last line: 200 + 899999 % 700, 2000000 + 899999
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('UK TPS / CTPS fixed width, both layouts, line by line', async () => {
    const { report, keys } = await parse('uk-tps-2026-03-01.txt', { layout: 'uk-fixed' });
    assert.deepEqual(
      keys,
      [442073787244, 441632960001, 442073787245, 441134960000, 44161496000, 441632960002],
    );
    assert.deepEqual(malformedSummary(report), [
      [5, ' 207 3787246'],
      [6, '0207 378724X'],
      [8, '020737872441'],
    ]);
  });

  it('generic one number per line: E.164, or national with the calling code and trunk prefix', async () => {
    const { report, keys } = await parse('custom-lines.txt', {
      layout: 'lines',
      callingCode: '44',
      trunkPrefix: '0',
    });
    assert.deepEqual(keys, [442073787244, 12015552001, 447700900123]);
    assert.equal(report.blankLines, 1);
    assert.deepEqual(malformedSummary(report), [
      [5, '+0123456'],
      [6, 'hello'],
      [7, '+4420'],
    ]);
    const withoutCode = await parse('custom-lines.txt', { layout: 'lines' });
    assert.deepEqual(withoutCode.keys, [442073787244, 12015552001]);
    assert.match(withoutCode.report.malformed[0].reason, /no calling code/);
  });

  it('CSV with quoting (quoted commas, doubled quotes, line breaks in a field) and a named column', async () => {
    const keys: number[] = [];
    const report = await parseCsvFile(
      join(REGISTRY_FIXTURES, 'custom.csv'),
      { layout: 'csv', column: 'phone', callingCode: '44', trunkPrefix: '0' },
      { add: (key) => keys.push(key) },
    );
    assert.deepEqual(keys, [442073787244, 447700900124, 447700900125]);
    assert.equal(report.malformedLines, 2);
    assert.deepEqual(
      report.malformed.map((m) => [m.line, m.reason]),
      [
        [5, 'empty number cell'],
        [6, 'not a number in this layout'],
      ],
    );
    // By index (header then counts as a malformed line), and a missing header name fails the file.
    const byIndex = await parseCsvFile(
      join(REGISTRY_FIXTURES, 'custom.csv'),
      { layout: 'csv', column: 1, callingCode: '44', trunkPrefix: '0' },
      { add: () => undefined },
    );
    assert.equal(byIndex.numbers, 3);
    assert.equal(byIndex.malformed[0].line, 1);
    await assert.rejects(
      parseCsvFile(
        join(REGISTRY_FIXTURES, 'custom.csv'),
        { layout: 'csv', column: 'mobile' },
        { add: () => undefined },
      ),
      /no column named "mobile"/,
    );
  });

  it('reports a CSV syntax error (unclosed quote) as a malformed record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-parse-'));
    try {
      const path = join(dir, 'broken.csv');
      writeFileSync(path, '+442073787244\n"+44207378\n');
      const keys: number[] = [];
      const report = await parseCsvFile(path, { layout: 'csv', column: 0 }, { add: (key) => keys.push(key) });
      assert.deepEqual(keys, [442073787244]);
      assert.equal(report.malformedLines, 1);
    } catch (err) {
      // csv-parse may also end the stream with the error: then it must name the problem.
      assert.match(String(err), /quote/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Canada DNCL zip of per-area-code files: deflate and stored entries, CRC checked', async () => {
    const path = join(REGISTRY_FIXTURES, 'ca-dncl-2026-03-01.zip');
    const entries = await readZipDirectory(path);
    assert.deepEqual(
      entries.map((e) => [e.name, e.method]),
      [
        ['416.txt', 8],
        ['604.txt', 8],
        ['905.txt', 0],
      ],
    );
    const texts: string[] = [];
    for (const entry of entries) {
      const chunks: Buffer[] = [];
      for await (const chunk of readZipEntry(path, entry)) chunks.push(chunk);
      texts.push(Buffer.concat(chunks).toString('latin1'));
    }
    assert.equal(texts[0], '416,5550101\n416,5550102\n416,55501\n');
    assert.equal(texts[2], '905,5550301\n');
    const zip64 = await readZipDirectory(join(REGISTRY_FIXTURES, 'ca-dncl-zip64.zip'));
    assert.equal(zip64[0].name, '514.txt');
  });

  it('a damaged zip entry fails instead of yielding a shorter list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-zip-'));
    try {
      const source = join(REGISTRY_FIXTURES, 'ca-dncl-2026-03-01.zip');
      const bytes = readFileSync(source);
      const entries = await readZipDirectory(source);
      const stored = entries.find((e) => e.method === 0)!;
      const dataAt =
        stored.localHeaderOffset +
        30 +
        bytes.readUInt16LE(stored.localHeaderOffset + 26) +
        bytes.readUInt16LE(stored.localHeaderOffset + 28);
      bytes[dataAt] = '8'.charCodeAt(0); // 905 -> 805: same size, wrong CRC
      const path = join(dir, 'damaged.zip');
      writeFileSync(path, bytes);
      await assert.rejects(async () => {
        for await (const chunk of readZipEntry(path, stored)) void chunk;
      }, /CRC-32 mismatch/);
      writeFileSync(path, 'PK not really');
      await assert.rejects(readZipDirectory(path), /not a zip file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the as-of date from a file name', () => {
    assert.equal(dateFromFileName('/x/us-ndnc-full-2026-03-01.txt'), Date.UTC(2026, 2, 1));
    assert.equal(dateFromFileName('tps_20260215.txt'), Date.UTC(2026, 1, 15));
    assert.equal(dateFromFileName('201.txt'), undefined);
    assert.equal(dateFromFileName('list-2026-02-30.txt'), undefined);
  });
});
