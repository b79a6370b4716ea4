import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readIndexFile,
  readIndexFileHeader,
  writeIndexFile,
  IndexFileError,
} from '../lib/registries/index-file';
import { buildIndex, NumberIndexBuilder } from '../lib/registries/index-build';
import { mergeIndex } from '../lib/registries/index-merge';
import { NumberIndex } from '../lib/registries/number-index';
import { e164ToKey } from '../lib/registries/number-keys';

/** Deterministic pseudo-random numbers (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Groups of NANP numbers, each group listing a share of its exchange drawn from `density()`. */
function randomNanpKeys(
  seed: number,
  groups: number,
  density: () => number,
  prefixRange = 799_000,
): Set<number> {
  const random = seeded(seed);
  const keys = new Set<number>();
  for (let g = 0; g < groups; g++) {
    const prefix = 1_200_200 + Math.floor(random() * prefixRange);
    const share = density();
    // Each suffix is listed with probability `share`: drawn as geometric gaps between listed suffixes (the
    // same distribution as a coin per suffix, with one draw per listed number instead of 10,000 per group).
    const logMiss = Math.log1p(-Math.min(share, 1 - 1e-12));
    for (let suffix = -1; ;) {
      suffix += share >= 1 ? 1 : 1 + Math.floor(Math.log(1 - random()) / logMiss);
      if (suffix >= 10_000) break;
      keys.add(prefix * 10_000 + suffix);
    }
  }
  return keys;
}

async function indexOf(keys: Iterable<number>): Promise<NumberIndex> {
  const builder = new NumberIndexBuilder();
  for (const key of keys) builder.add(key);
  return builder.build();
}

/** Every key of every group the set touches, plus its neighbours outside: no false positive or negative. */
function assertSameAsSet(index: NumberIndex, expected: Set<number>): void {
  assert.equal(index.count, expected.size);
  const prefixes = new Set<number>();
  for (const key of expected) prefixes.add(Math.floor(key / 10_000));
  let checked = 0;
  for (const prefix of prefixes) {
    for (let key = prefix * 10_000 - 3; key < prefix * 10_000 + 10_003; key++) {
      if (index.has(key) !== expected.has(key))
        assert.fail(`key ${key}: index ${index.has(key)}, set ${expected.has(key)}`);
      checked++;
    }
  }
  assert.ok(checked >= prefixes.size * 10_000);
  assert.deepEqual(
    Array.from(index.toKeys()),
    [...expected].sort((a, b) => a - b),
  );
}

describe('registry number index', function () {
  // Its large random cases take 3-8 s on a busy 2-core machine: room for one four times slower.
  this.timeout(120_000);
  it('equals a Set exactly on random data of every density (every key of every touched group checked)', async () => {
    const random = seeded(1);
    // Densities from 1 number per group to 90% of the exchange: sorted, Elias-Fano and bitmap groups.
    const density = (): number => {
      const r = random();
      return r < 0.2 ? 0.0003 : r < 0.5 ? 0.04 : r < 0.8 ? 0.1 : r < 0.9 ? 0.3 : 0.9;
    };
    // Groups close together (one area code's exchanges): a dense directory.
    const near = randomNanpKeys(2, 400, density, 2000);
    const nearIndex = await indexOf(near);
    assert.equal(nearIndex.directory, 'dense');
    assertSameAsSet(nearIndex, near);
    // Groups spread thinly over the whole NANP: a sparse directory.
    const far = randomNanpKeys(3, 200, density);
    const farIndex = await indexOf(far);
    assert.equal(farIndex.directory, 'sparse');
    assertSameAsSet(farIndex, far);
  });

  it('answers batches from keys and from E.164 strings, and rejects what is not E.164', async () => {
    const keys = randomNanpKeys(3, 50, () => 0.05);
    const index = await indexOf(keys);
    const listed = [...keys].slice(0, 1000);
    const queries = listed.flatMap((key) => [key, key + 1]);
    const out = new Uint8Array(queries.length);
    const hits = index.hasMany(Float64Array.from(queries), out);
    assert.equal(hits, queries.filter((key) => keys.has(key)).length);
    queries.forEach((key, i) => assert.equal(out[i], keys.has(key) ? 1 : 0));
    const strings = queries.map((key) => `+${key}`);
    const outStrings = new Uint8Array(strings.length);
    assert.equal(index.hasMany(strings, outStrings), hits);
    assert.deepEqual(outStrings, out);
    for (const bad of [
      '',
      '+',
      '12015550123',
      '+0201555',
      '+1201555012x',
      '+1234567890123456',
      'tel:+1201',
    ]) {
      assert.equal(index.hasE164(bad), false, bad);
      assert.ok(Number.isNaN(e164ToKey(bad)), bad);
    }
    assert.equal(index.has(NaN), false);
    assert.equal(index.has(listed[0] + 0.5), false);
  });

  // 30,000 groups: a 40,000-number batch is sorted and searched directly (>= 1 per group), a 20,000-number
  // batch is sorted and searched in stages (< 1 per group), and 1,100,000 numbers span two sorted chunks;
  // both dense and sparse directories.
  for (const [prefixRange, directory] of [
    [60_000, 'dense'],
    [799_000, 'sparse'],
  ] as const) {
    it(`answers large (grouped, sorted) batches in the caller's order, with duplicates and unlisted numbers (${directory} directory)`, async () => {
      const random = seeded(7);
      const keys = randomNanpKeys(8, 30_000, () => 0.0006 + random() * 0.002, prefixRange);
      const index = await indexOf(keys);
      assert.equal(index.directory, directory);
      const listed = [...keys];
      for (const size of [20_000, 40_000, 1_100_000]) {
        const queries = new Float64Array(size);
        const strings: string[] = [];
        for (let i = 0; i < size; i++) {
          const r = random();
          const key = listed[Math.floor(random() * listed.length)];
          // Listed, a neighbour (mostly unlisted), a repeat of an earlier query, another exchange, not a key.
          let query =
            r < 0.4
              ? key
              : r < 0.7
                ? key + 1 + Math.floor(random() * 20)
                : r < 0.85 && i > 0
                  ? queries[Math.floor(random() * i)]
                  : r < 0.95
                    ? 1_200_000_0000 + Math.floor(random() * 8_000_000_0000)
                    : [NaN, key + 0.5, 123, 1e16, -key, 99_999_999_999_999][i % 6];
          if (!Number.isFinite(query) && r >= 0.95) query = NaN;
          queries[i] = query;
          strings.push(i % 50 === 0 ? `+${query}x` : `+${query}`);
        }
        const out = new Uint8Array(size).fill(7);
        const hits = index.hasMany(queries, out);
        let expectedHits = 0;
        for (let i = 0; i < size; i++) {
          const expected = keys.has(queries[i]) ? 1 : 0;
          if (out[i] !== expected)
            assert.fail(`${directory} batch of ${size}: query ${i} (${queries[i]}) answered ${out[i]}`);
          expectedHits += expected;
        }
        assert.equal(hits, expectedHits);
        assert.ok(expectedHits > size / 4 && expectedHits < size / 2, `${expectedHits} listed of ${size}`);
        const outStrings = new Uint8Array(size).fill(7);
        const stringHits = index.hasMany(strings, outStrings);
        for (let i = 0; i < size; i++) {
          const expected = i % 50 !== 0 && keys.has(queries[i]) ? 1 : 0;
          if (outStrings[i] !== expected)
            assert.fail(`${directory} strings of ${size}: ${strings[i]} answered ${outStrings[i]}`);
        }
        assert.equal(
          stringHits,
          expectedHits - queries.filter((key, i) => i % 50 === 0 && keys.has(key)).length,
        );
      }
    });
  }

  it('answers a large batch whose numbers all fall in one exchange (one bucket, one slot)', async () => {
    const one = await buildIndex([12015550123, 12015550125]);
    const queries = Float64Array.from({ length: 50_000 }, (_, i) => 12015550120 + (i % 7));
    const out = new Uint8Array(queries.length);
    const hits = one.hasMany(queries, out);
    let expected = 0;
    queries.forEach((key, i) => {
      const listed = key === 12015550123 || key === 12015550125 ? 1 : 0;
      assert.equal(out[i], listed);
      expected += listed;
    });
    assert.equal(hits, expected);
    assert.equal(expected, 14_286);
  });

  it('holds numbers of several countries and lengths apart (sparse directory)', async () => {
    const keys = [12015550123, 442073787244, 44161496000, 61212345678, 6591234567, 12015550124, 1234567];
    const index = await buildIndex([...keys, ...keys]);
    assert.equal(index.directory, 'sparse');
    assert.equal(index.count, keys.length);
    for (const key of keys) assert.equal(index.has(key), true, String(key));
    for (const key of [12015550125, 4420737872440, 4416149600, 1234568]) assert.equal(index.has(key), false);
  });

  it('is empty when nothing was added', async () => {
    const index = await new NumberIndexBuilder().build();
    assert.equal(index.count, 0);
    assert.equal(index.has(12015550123), false);
    assert.throws(() => new NumberIndexBuilder().add(123), RangeError);
  });

  it('merges additions and deletions into a new index, leaving the old one as it was', async () => {
    const base = randomNanpKeys(4, 60, () => 0.05);
    const baseIndex = await indexOf(base);
    const listed = [...base];
    const deleted = listed.filter((_, i) => i % 7 === 0);
    const added = [12015550001, 12015550002, 19995559999, ...listed.slice(0, 5).map((k) => k + 1)];
    const bothAddedAndDeleted = 12015550002;
    const merged = await mergeIndex(
      baseIndex,
      await buildIndex(added),
      await buildIndex([...deleted, bothAddedAndDeleted]),
    );
    const expected = new Set(base);
    for (const key of deleted) expected.delete(key);
    for (const key of added) expected.add(key);
    assertSameAsSet(merged, expected);
    assert.equal(merged.has(bothAddedAndDeleted), true, 'a number both added and deleted stays listed');
    assertSameAsSet(baseIndex, base);
  });

  describe('binary file', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'registry-index-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const metadata = {
      registry: 'US_NDNC',
      layoutKey: '{"layout":"nanp"}',
      asOf: Date.UTC(2026, 2, 1),
      builtAt: Date.UTC(2026, 2, 2),
      sources: [{ name: 'a.txt', size: 10, mtimeMs: 1 }],
      parseSummary: [{ source: 'a.txt', lines: 1, numbers: 1, malformedLines: 0 }],
    };

    it('round-trips the index and its header', async () => {
      const keys = randomNanpKeys(5, 100, () => 0.04);
      const index = await indexOf(keys);
      const path = join(dir, 'us.dncidx');
      await writeIndexFile(path, index, metadata);
      const header = await readIndexFileHeader(path);
      assert.equal(header.count, keys.size);
      assert.equal(header.asOf, metadata.asOf);
      assert.deepEqual(header.sources, metadata.sources);
      const restored = await readIndexFile(path);
      assertSameAsSet(restored.index, keys);
      // Sparse too.
      const sparse = await buildIndex([442073787244, 12015550123]);
      await writeIndexFile(path, sparse, metadata);
      assert.deepEqual(Array.from((await readIndexFile(path)).index.toKeys()), [12015550123, 442073787244]);
    });

    it('detects a damaged file by its checksum, and refuses other files and versions', async () => {
      const index = await indexOf(randomNanpKeys(6, 20, () => 0.04));
      const path = join(dir, 'us.dncidx');
      await writeIndexFile(path, index, metadata);
      const bytes = readFileSync(path);
      bytes[bytes.length - 10] ^= 0x01; // one bit in the data
      writeFileSync(path, bytes);
      await assert.rejects(
        readIndexFile(path),
        (err: unknown) => err instanceof IndexFileError && /checksum/.test(err.message),
      );
      writeFileSync(path, bytes.subarray(0, bytes.length - 4));
      await assert.rejects(readIndexFile(path), IndexFileError);
      writeFileSync(path, 'not an index at all, just text');
      await assert.rejects(readIndexFile(path), /not a registry index file/);
      const versioned = readFileSync(path);
      await writeIndexFile(path, index, metadata);
      const future = readFileSync(path);
      future.writeUInt32LE(99, 8);
      writeFileSync(path, future);
      await assert.rejects(readIndexFile(path), /format version 99/);
      void versioned;
    });
  });
});
