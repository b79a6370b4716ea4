/**
 * A small benchmark harness. Machines here are noisy, so every figure that matters is reported as a
 * ratio against a baseline measured in the same process, in the same run, right beside it.
 *
 * Each `bench/*.bench.ts` is a standalone script (run in its own process by bench/run.ts, so memory
 * figures start from a clean heap) that calls `record()` for each result; results are printed as
 * `BENCH {json}` lines that the runner collects into bench/results/latest.json and a Markdown table.
 */
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  suite: string;
  case: string;
  /** The measured value (operations per second, bytes per item, seconds, ms...). */
  value: number;
  unit: string;
  /** The baseline measured in the same run, when the result is a comparison. */
  baseline?: { case: string; value: number };
  /** value / baseline.value. */
  ratio?: number;
  /** The goal the issue sets, as text (`>= 1000000 ops/s`), and whether this run met it. */
  goal?: string;
  met?: boolean;
  note?: string;
}

export function record(result: BenchResult): void {
  if (result.baseline && result.ratio === undefined && result.baseline.value !== 0) {
    result.ratio = result.value / result.baseline.value;
  }
  process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
}

/** Runs fn repeatedly for at least minMs, returns operations per second (ops = fn's return value per call). */
export function opsPerSecond(fn: () => number, minMs = 1000): number {
  fn(); // warm up
  return measuredRate(fn, minMs);
}

/** Operations per second of fn run for at least minMs, with no warm-up. */
function measuredRate(fn: () => number, minMs: number): number {
  let ops = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    ops += fn();
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (ops * 1000) / elapsed;
}

/** Operations per second of several cases, measured in alternating windows: median, slowest and fastest. */
export interface AlternatingRate {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Runs each case for `windowMs` in turn, `rounds` times (after one warm-up call each), and gives each
 * case's median rate. On a shared host whose speed drifts over seconds, cases measured one after the
 * other for seconds each see different machines; alternating short windows share the drift, and the
 * median leaves out the windows another process took.
 */
export function alternatingRates(
  cases: readonly (() => number)[],
  rounds = 9,
  windowMs = 400,
): AlternatingRate[] {
  for (const fn of cases) fn();
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((fn, i) => rates[i].push(measuredRate(fn, windowMs)));
  }
  return rates.map((list) => {
    const sorted = [...list].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
  });
}

/** Times one run of fn in milliseconds. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Heap used after a forced GC (needs node --expose-gc; the runner passes it). */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const index = Math.min(sortedAscending.length - 1, Math.ceil((p / 100) * sortedAscending.length) - 1);
  return sortedAscending[Math.max(0, index)];
}

/** Deterministic pseudo-random numbers (mulberry32), so every run benchmarks the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
