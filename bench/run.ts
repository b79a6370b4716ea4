/**
 * `npm run bench`: runs every benchmark script (dist/bench/*.bench.js) in its own process with
 * --expose-gc, so memory figures start from a clean heap and one suite cannot warm up another,
 * collects their `BENCH {json}` lines, and writes bench/results/latest.json and latest.md.
 *
 * `npm run bench -- store check` runs only the suites whose names contain one of the words.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './harness';

const distBench = __dirname;
const resultsDir = path.resolve(__dirname, '..', '..', 'bench', 'results');

function runSuite(file: string): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=16384', path.join(distBench, file)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const results: BenchResult[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('BENCH ')) {
          const result = JSON.parse(line.slice(6)) as BenchResult;
          results.push(result);
          process.stdout.write(`  ${formatRow(result)}\n`);
        } else if (line.trim() !== '') {
          process.stdout.write(`  ${line}\n`);
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(results) : reject(new Error(`${file} exited with ${code}`)),
    );
  });
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

function formatRow(r: BenchResult): string {
  const baseline = r.baseline ? `${formatNumber(r.baseline.value)} (${r.baseline.case})` : '';
  const ratio = r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '';
  const goal = r.goal ? `${r.goal} ${r.met === undefined ? '' : r.met ? 'met' : 'NOT MET'}` : '';
  return `| ${r.suite} | ${r.case} | ${formatNumber(r.value)} ${r.unit} | ${baseline} | ${ratio} | ${goal} |`;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const suites = fs
    .readdirSync(distBench)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((word) => f.includes(word)))
    .sort();
  const all: BenchResult[] = [];
  let failed = false;
  for (const suite of suites) {
    process.stdout.write(`\n${suite}\n`);
    try {
      all.push(...(await runSuite(suite)));
    } catch (err) {
      failed = true;
      process.stdout.write(`  FAILED: ${(err as Error).message}\n`);
    }
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const header = '| suite | case | value | baseline (same run) | ratio | goal |\n|---|---|---|---|---|---|';
  const markdown = `Measured ${new Date().toISOString()} on ${machine} with \`npm run bench\`.\n\n${header}\n${all.map(formatRow).join('\n')}\n`;
  fs.mkdirSync(resultsDir, { recursive: true });
  // A filtered run writes its own files, so it never overwrites the full report with a partial one.
  const name = filters.length === 0 ? 'latest' : `latest-${filters.join('-')}`;
  fs.writeFileSync(
    path.join(resultsDir, `${name}.json`),
    JSON.stringify({ machine, results: all }, null, 2) + '\n',
  );
  fs.writeFileSync(path.join(resultsDir, `${name}.md`), markdown);
  process.stdout.write(`\n${markdown}\nWritten to bench/results/${name}.{json,md}\n`);
  if (failed) process.exitCode = 1;
}

void main();
