/**
 * Shared by the reliability suite (test/reliability): its size (the short version in `npm test`, the
 * long one with `npm run soak`), the probe plugin that reads a running Node-RED from inside
 * (probe-plugin.ts), a straight-line fit for growth per step, and where the figures are written.
 *
 * Figures are reported, and written to bench/results/reliability-<name>.json by the long version (the
 * README's Reliability section quotes them). What a test asserts is never a timing: counts that must
 * not grow (listeners, routes, timers), growth of the heap against a bound far above noise, and data
 * (every acknowledged opt-out present, the chain verifying).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeRedProcess, PACKAGE_ROOT, waitFor } from './node-red-process';

/** `npm run soak` sets DNC_SOAK=long; otherwise (npm test, CI) the short version runs. */
export const LONG = process.env.DNC_SOAK === 'long';

/** `short` in the short version, `long` in the long one. */
export function sized<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** What GET /test-probe answers (test/support/probe-plugin.ts). */
export interface ProbeReading {
  readonly heapUsed: number;
  readonly rss: number;
  readonly resources: Record<string, number>;
  readonly listeners: Record<string, number>;
  readonly adminRoutes: number;
  readonly nodeRoutes: number;
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly stalls: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
  readonly snapshots: readonly number[];
}

/**
 * A folder Node-RED loads as a module (through nodesDir) holding the probe plugin: a package.json naming
 * a file that requires the compiled probe.
 */
export function probeModule(parent: string): string {
  const dir = path.join(parent, 'dnc-test-probe');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'dnc-test-probe',
      version: '0.0.0',
      private: true,
      'node-red': { plugins: { 'dnc-test-probe': 'probe.js' } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'probe.js'),
    `module.exports = require(${JSON.stringify(path.join(__dirname, 'probe-plugin.js'))});\n`,
  );
  return dir;
}

/** Starts Node-RED with this package, the probe and `--expose-gc`. */
export function startProbed(
  userDir: string,
  settings: Record<string, unknown> = {},
): Promise<NodeRedProcess> {
  return NodeRedProcess.start({
    userDir,
    nodesDir: [PACKAGE_ROOT, probeModule(userDir)],
    settings,
    execArgv: ['--expose-gc'],
  });
}

/** The probe's reading, after a full collection when `gc`; `reset` starts the delay figures afresh. */
export async function probe(
  red: NodeRedProcess,
  options: { gc?: boolean; reset?: boolean } = {},
): Promise<ProbeReading> {
  const query = `gc=${options.gc === true ? 1 : 0}&reset=${options.reset === true ? 1 : 0}`;
  const res = await red.request<ProbeReading>('GET', `/test-probe?${query}`);
  if (res.status !== 200) throw new Error(`probe: HTTP ${res.status} ${res.text}`);
  return res.json;
}

/** Least-squares slope of ys over xs (growth per step). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The p-th percentile (0..100, nearest rank) of `values`; 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A seeded generator (mulberry32, bench/harness.ts): a random run can be replayed from its printed seed. */
export { seededRandom as seeded } from '../../bench/harness';

/** Prints the figures, and in the long version writes them to bench/results/reliability-<name>.json. */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ suite: name, long: LONG, at: new Date().toISOString(), ...figures });
  console.log(`      RELIABILITY ${line}`);
  if (LONG) {
    const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, `reliability-${name}.json`),
      `${JSON.stringify(JSON.parse(line), null, 2)}\n`,
    );
  }
}

/** Waits until the DNC admin API answers GET /dnc/health with 200 (the store is open). */
export async function storeOpen(red: NodeRedProcess, timeoutMs = 60000): Promise<void> {
  await waitFor(
    'the DNC store to open',
    async () => ((await red.request('GET', '/dnc/health')).status === 200 ? true : undefined),
    timeoutMs,
  );
}

/** `count` distinct valid US numbers from `start` (+1 415 2xx xxxx). */
export function numbers(start: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`+1415${String(2_000_000 + start + i).padStart(7, '0')}`);
  return out;
}
