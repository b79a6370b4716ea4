/**
 * Registry benchmark: the compact number index on data shaped like the US National DNC Registry.
 *
 *   node --expose-gc --max-old-space-size=16384 dist/bench/registry.bench.js [--numbers=N]
 *
 * Default N is 100,000,000 (about 3 minutes on 2 cores; `--numbers=250000000` measures the full US size in
 * about 8). Data: ten-digit numbers spread uniformly over 300 area codes x 800 exchanges (200-999), so
 * N / 2.4e9 of that space is listed (4.2% at 100M, 10.4% at 250M); each exchange's suffixes are drawn
 * independently (no runs of consecutive numbers), deterministically, and written to a text file in the full
 * list layout (`201,5551234`) with the exchanges in a shuffled order (a build may not rely on sorted input).
 *
 * Figures, each with a baseline measured in the same run:
 * - size: bits per number and total bytes, against a sorted Float64Array (64 bits) and a JS Set (heap, on a
 *   10M subset: a Set cannot hold more than 16.7M entries); 250M: measured with --numbers, else extrapolated
 *   from encoding a sample of exchanges at 250M's density (stated in the note);
 * - build from text (lines/s), against just reading the file and finding its lines;
 * - restart from the binary index (s), against the build from text;
 * - batch lookups/s, against binary search in the sorted Float64Array and Set.has (10M subset), with the
 *   index checked for false positives and negatives on a sample of listed and unlisted numbers. hasMany sorts
 *   a batch this large by exchange before the lookups (counting sort, then one ascending sweep of the index);
 *   the 2M queries (Float64Array keys) and 500k queries (E.164 strings) are each one batch, so the string
 *   figure also includes parsing.
 */
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readIndexFile, writeIndexFile } from '../lib/registries/index-file';
import { NumberIndexBuilder } from '../lib/registries/index-build';
import { parseLineFile } from '../lib/registries/parsers';
import { heapUsedAfterGc, record, seededRandom } from './harness';

const SUITE = 'registry';
const argument = process.argv.find((arg) => arg.startsWith('--numbers='));
const NUMBERS = argument ? Number(argument.split('=')[1]) : 100_000_000;
const label = NUMBERS >= 1_000_000 ? `${NUMBERS / 1_000_000}M` : `${NUMBERS / 1000}k`;
const AREA_CODES = 300;
const EXCHANGES = 800; // 200-999
const GROUPS = AREA_CODES * EXCHANGES;
const SPACE = GROUPS * 10_000;
const QUERIES = 2_000_000;
const SET_SUBSET = 10_000_000;

/** 300 distinct area codes from 201-989, ascending. */
function areaCodes(): number[] {
  const random = seededRandom(42);
  const pool = Array.from({ length: 989 - 201 + 1 }, (_, i) => 201 + i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, AREA_CODES).sort((a, b) => a - b);
}

/**
 * All listed numbers as keys (1 + ten digits), ascending, with each group's start. Each suffix is listed
 * with probability N / SPACE, drawn by geometric gaps from a per-group seed.
 */
function generate(density: number, groups = GROUPS): { keys: Float64Array; starts: Uint32Array } {
  const codes = areaCodes();
  const expected = Math.ceil(density * groups * 10_000 * 1.001 + 10_000);
  let keys = new Float64Array(expected);
  const starts = new Uint32Array(groups + 1);
  const logMiss = Math.log(1 - density);
  let n = 0;
  for (let g = 0; g < groups; g++) {
    starts[g] = n;
    const random = seededRandom(0x9e3779b1 ^ Math.imul(g + 1, 0x85ebca6b));
    const prefix = 1_000_000 + codes[Math.floor(g / EXCHANGES)] * 1000 + 200 + (g % EXCHANGES); // 1 AAA EEE
    for (let suffix = Math.floor(Math.log(1 - random()) / logMiss); suffix < 10_000;) {
      if (n === keys.length) {
        const grown = new Float64Array(Math.ceil(keys.length * 1.1));
        grown.set(keys);
        keys = grown;
      }
      keys[n++] = prefix * 10_000 + suffix;
      suffix += 1 + Math.floor(Math.log(1 - random()) / logMiss);
    }
  }
  starts[groups] = n;
  return { keys: keys.subarray(0, n), starts };
}

/** Writes `201,5551234` lines, exchanges in a shuffled order. */
function writeFullList(path: string, keys: Float64Array, starts: Uint32Array): void {
  const order = Uint32Array.from({ length: GROUPS }, (_, i) => i);
  const random = seededRandom(7);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const fd = openSync(path, 'w');
  const buffer = Buffer.allocUnsafe(8 << 20);
  let at = 0;
  for (const g of order) {
    for (let i = starts[g]; i < starts[g + 1]; i++) {
      let national = keys[i] - 10_000_000_000;
      for (let d = 10; d >= 0; d--) {
        if (d === 3) {
          buffer[at + d] = 44; // ,
          continue;
        }
        buffer[at + d] = 48 + (national % 10);
        national = Math.floor(national / 10);
      }
      buffer[at + 11] = 10;
      at += 12;
      if (at > buffer.length - 12) {
        writeSync(fd, buffer, 0, at);
        at = 0;
      }
    }
  }
  writeSync(fd, buffer, 0, at);
  closeSync(fd);
}

/** Baseline: read the file in the same chunks and find every line (no parsing). */
async function readAndSplit(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(4 << 20);
  let lines = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
    }
  } finally {
    await handle.close();
  }
  return lines;
}

function sortedHas(sorted: Float64Array, key: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const value = sorted[mid];
    if (value === key) return true;
    if (value < key) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/** Queries: half listed numbers, half unlisted numbers of the same exchanges, shuffled; and the truth. */
function makeQueries(keys: Float64Array, count: number): { queries: Float64Array; truth: Uint8Array } {
  const random = seededRandom(99);
  const queries = new Float64Array(count);
  const truth = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const listed = keys[Math.floor(random() * keys.length)];
    if (i % 2 === 0) {
      queries[i] = listed;
      truth[i] = 1;
    } else {
      // Another suffix in the same exchange; listed or not, the sorted array says which.
      const other = Math.floor(listed / 10_000) * 10_000 + Math.floor(random() * 10_000);
      queries[i] = other;
      truth[i] = sortedHas(keys, other) ? 1 : 0;
    }
  }
  return { queries, truth };
}

function rate(fn: () => void, operations: number, minMs = 1500): number {
  fn();
  let runs = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    fn();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (runs * operations * 1000) / elapsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnc-registry-bench-'));
  try {
    const density = NUMBERS / SPACE;
    let t = performance.now();
    const { keys, starts } = generate(density);
    const textPath = join(dir, 'us-ndnc-full.txt');
    writeFullList(textPath, keys, starts);
    const textBytes = statSync(textPath).size;
    console.log(
      `generated ${keys.length} numbers (${(density * 100).toFixed(1)}% of ${GROUPS} exchanges), ` +
        `${(textBytes / 1e9).toFixed(2)} GB of text in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // ---- build from text, against reading and splitting the lines
    t = performance.now();
    const splitLines = await readAndSplit(textPath);
    const splitMs = performance.now() - t;
    t = performance.now();
    const builder = new NumberIndexBuilder();
    const report = await parseLineFile(textPath, { layout: 'nanp' }, builder);
    const parseMs = performance.now() - t;
    t = performance.now();
    const index = await builder.build();
    const buildMs = performance.now() - t;
    if (report.numbers !== keys.length || splitLines !== keys.length || report.malformedLines !== 0) {
      throw new Error(
        `parsed ${report.numbers} of ${keys.length} lines (${report.malformedLines} malformed)`,
      );
    }
    if (index.count !== keys.length) throw new Error(`index holds ${index.count} of ${keys.length}`);
    const totalBuildMs = parseMs + buildMs;
    record({
      suite: SUITE,
      case: `build from text, ${label} lines (parse ${(parseMs / 1000).toFixed(1)} s + index ${(buildMs / 1000).toFixed(1)} s)`,
      value: Math.round((keys.length * 1000) / totalBuildMs),
      unit: 'lines/s',
      baseline: {
        case: 'read the file and find its lines only',
        value: Math.round((splitLines * 1000) / splitMs),
      },
      goal: '>= 3,000,000 lines/s',
      met: (keys.length * 1000) / totalBuildMs >= 3_000_000,
    });

    // ---- size
    const bits = (index.byteLength * 8) / index.count;
    record({
      suite: SUITE,
      case: `index size, ${label} numbers (${index.directory} directory, ${index.groupCount} exchanges)`,
      value: Number(bits.toFixed(3)),
      unit: 'bits/number',
      baseline: { case: 'sorted Float64Array', value: 64 },
      goal: '<= 8 bits/number',
      met: bits <= 8,
      note: `${(index.byteLength / 1e6).toFixed(1)} MB in all`,
    });
    if (NUMBERS >= 100_000_000) {
      record({
        suite: SUITE,
        case: `index bytes, ${label} numbers`,
        value: index.byteLength,
        unit: 'bytes',
        baseline: { case: 'sorted Float64Array', value: keys.byteLength },
        goal: NUMBERS === 100_000_000 ? '<= 100 MB' : undefined,
        met: NUMBERS === 100_000_000 ? index.byteLength <= 100e6 : undefined,
      });
    }

    // ---- persistence and restart
    const indexPath = join(dir, 'us-ndnc-full.txt.dncidx');
    const metadata = {
      registry: 'US_NDNC',
      layoutKey: '{"layout":"nanp"}',
      asOf: Date.now(),
      builtAt: Date.now(),
      sources: [],
      parseSummary: [],
    };
    t = performance.now();
    await writeIndexFile(indexPath, index, metadata);
    const writeMs = performance.now() - t;
    t = performance.now();
    const restored = (await readIndexFile(indexPath)).index;
    const restartMs = performance.now() - t;
    record({
      suite: SUITE,
      case: `restart from the binary index, ${label} numbers (${(statSync(indexPath).size / 1e6).toFixed(1)} MB file, CRC checked)`,
      value: Number((restartMs / 1000).toFixed(3)),
      unit: 's',
      baseline: { case: 'build from text', value: Number((totalBuildMs / 1000).toFixed(3)) },
      goal: NUMBERS >= 100_000_000 ? '<= 2 s at 100M' : undefined,
      met: NUMBERS >= 100_000_000 ? restartMs <= 2000 : undefined,
      note: `written in ${(writeMs / 1000).toFixed(2)} s`,
    });

    // ---- batch lookups, with exactness
    const { queries, truth } = makeQueries(keys, QUERIES);
    const out = new Uint8Array(QUERIES);
    let falsePositives = 0;
    let falseNegatives = 0;
    for (const candidate of [index, restored]) {
      candidate.hasMany(queries, out);
      for (let i = 0; i < QUERIES; i++) {
        if (out[i] === 1 && truth[i] === 0) falsePositives++;
        if (out[i] === 0 && truth[i] === 1) falseNegatives++;
      }
    }
    // Every listed number of a sample of exchanges, and every unlisted one: exhaustive there.
    for (let g = 0; g < GROUPS; g += 997) {
      let i = starts[g];
      const base = Math.floor(keys[starts[g]] / 10_000) * 10_000;
      if (starts[g] === starts[g + 1]) continue;
      for (let suffix = 0; suffix < 10_000; suffix++) {
        const listed = i < starts[g + 1] && keys[i] === base + suffix;
        if (listed) i++;
        const found = restored.has(base + suffix);
        if (found && !listed) falsePositives++;
        if (!found && listed) falseNegatives++;
      }
    }
    const indexRate = rate(() => index.hasMany(queries, out), QUERIES);
    const sortedRate = rate(() => {
      for (let i = 0; i < QUERIES; i++) out[i] = sortedHas(keys, queries[i]) ? 1 : 0;
    }, QUERIES);
    record({
      suite: SUITE,
      case: `batch lookups (hasMany, Float64Array keys, batch of 2M sorted by exchange then swept), ${label}-number index, half listed`,
      value: Math.round(indexRate),
      unit: 'lookups/s',
      baseline: { case: `binary search in a sorted Float64Array of ${label}`, value: Math.round(sortedRate) },
      goal: '>= 5,000,000 lookups/s, no false positive or negative',
      met: indexRate >= 5_000_000 && falsePositives === 0 && falseNegatives === 0,
      note: `${falsePositives} false positives, ${falseNegatives} false negatives over ${2 * QUERIES} batch answers and ${Math.ceil(GROUPS / 997)} exchanges checked exhaustively`,
    });
    // The same queries in batches too small to be sorted (hasMany looks them up in stages, unsorted).
    const SMALL = 8192;
    const stagedRate = rate(() => {
      for (let from = 0; from < QUERIES; from += SMALL) {
        index.hasMany(queries.subarray(from, from + SMALL), out.subarray(from, from + SMALL));
      }
    }, QUERIES);
    record({
      suite: SUITE,
      case: `batch lookups (hasMany, Float64Array keys, batch of 2M sorted by exchange then swept), ${label}-number index: sorted against staged`,
      value: Math.round(indexRate),
      unit: 'lookups/s',
      baseline: {
        case: `the same queries in batches of ${SMALL} (staged, unsorted)`,
        value: Math.round(stagedRate),
      },
    });
    const strings = Array.from(queries.subarray(0, 500_000), (key) => `+${key}`);
    const stringOut = new Uint8Array(strings.length);
    const stringRate = rate(() => index.hasMany(strings, stringOut), strings.length);
    const stringBatches: string[][] = [];
    for (let from = 0; from < strings.length; from += SMALL)
      stringBatches.push(strings.slice(from, from + SMALL));
    const stagedStringRate = rate(() => {
      let from = 0;
      for (const batch of stringBatches) {
        index.hasMany(batch, stringOut.subarray(from, from + batch.length));
        from += batch.length;
      }
    }, strings.length);
    record({
      suite: SUITE,
      case: `batch lookups (hasMany, E.164 strings parsed in place, batch of 500k sorted by exchange then swept)`,
      value: Math.round(stringRate),
      unit: 'lookups/s',
      baseline: { case: 'Float64Array keys', value: Math.round(indexRate) },
      goal: '>= 5,000,000 lookups/s',
      met: stringRate >= 5_000_000,
    });
    record({
      suite: SUITE,
      case: `batch lookups (hasMany, E.164 strings, batch of 500k sorted): sorted against staged`,
      value: Math.round(stringRate),
      unit: 'lookups/s',
      baseline: {
        case: `the same strings in batches of ${SMALL} (staged, unsorted)`,
        value: Math.round(stagedStringRate),
      },
    });

    // ---- JS Set on a 10M subset (a Set cannot hold more than 2^24 entries)
    const subsetSize = Math.min(SET_SUBSET, keys.length);
    const step = keys.length / subsetSize;
    const heapBefore = heapUsedAfterGc();
    const set = new Set<number>();
    for (let i = 0; i < subsetSize; i++) set.add(keys[Math.floor(i * step)]);
    const setBytes = heapUsedAfterGc() - heapBefore;
    const setRate = rate(() => {
      for (let i = 0; i < QUERIES; i++) out[i] = set.has(queries[i]) ? 1 : 0;
    }, QUERIES);
    record({
      suite: SUITE,
      case: `memory per number: index at ${label}`,
      value: Number((index.byteLength / index.count).toFixed(3)),
      unit: 'bytes/number',
      baseline: {
        case: `JS Set of ${subsetSize / 1e6}M numbers (heap after GC)`,
        value: Number((setBytes / subsetSize).toFixed(1)),
      },
      note: `sorted Float64Array: 8 bytes/number (${(keys.byteLength / 1e6).toFixed(0)} MB)`,
    });
    record({
      suite: SUITE,
      case: `batch lookups: index of ${label} against a JS Set of ${subsetSize / 1e6}M`,
      value: Math.round(indexRate),
      unit: 'lookups/s',
      baseline: { case: `Set.has, ${subsetSize / 1e6}M-number Set`, value: Math.round(setRate) },
    });
    set.clear();

    // ---- 250M: extrapolated from encoding a sample of exchanges at 250M's density, unless measured
    if (NUMBERS < 250_000_000) {
      const sampleGroups = 24_000; // 10% of the exchanges
      const sample = generate(250_000_000 / SPACE, sampleGroups);
      const sampleBuilder = new NumberIndexBuilder();
      for (let i = 0; i < sample.keys.length; i++) sampleBuilder.add(sample.keys[i]);
      const sampleIndex = await sampleBuilder.build();
      // Data words scale with the exchanges; the directory is the same size as at N (same exchanges).
      const parts = sampleIndex.parts();
      const dataBytesPerGroup = (parts.words.byteLength - 4) / sampleIndex.groupCount;
      const directoryBytes = index.parts().offsets.byteLength + index.parts().prefixes.byteLength;
      const projectedBytes = dataBytesPerGroup * GROUPS + directoryBytes;
      const projectedNumbers = (sample.keys.length / sampleGroups) * GROUPS;
      const projectedBits = (projectedBytes * 8) / projectedNumbers;
      record({
        suite: SUITE,
        case: 'index size, 250M numbers (extrapolated)',
        value: Number(projectedBits.toFixed(3)),
        unit: 'bits/number',
        baseline: { case: `measured at ${label}`, value: Number(bits.toFixed(3)) },
        goal: '<= 8 bits/number',
        met: projectedBits <= 8,
        note:
          `${(projectedBytes / 1e6).toFixed(1)} MB: ${sampleGroups} exchanges encoded at 10.4% density ` +
          `(${(dataBytesPerGroup * 8).toFixed(0)} bits each) x ${GROUPS} + the ${(directoryBytes / 1e6).toFixed(1)} MB directory`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
