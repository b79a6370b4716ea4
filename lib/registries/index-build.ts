/**
 * Building a NumberIndex from keys in any order: a counting sort by prefix when the keys span a narrow
 * range (one country's registry: dense directory), else a sort of all keys (sparse directory); each group
 * is then encoded by group-codec.ts. Long builds pause between slices so the host keeps serving.
 */
import { BITMAP_WORDS, drainBitmap, encodeGroup, WordSink } from './group-codec';
import { NumberIndex } from './number-index';
import { e164ToKey, exactPrefix, GROUP_SIZE, MAX_KEY, MIN_KEY } from './number-keys';

/** Called between slices of a long build so the event loop can run (and progress can be shown). */
export type BuildYield = (done: number, total: number) => Promise<void> | void;

const KEYS_PER_CHUNK = 1 << 20;

/**
 * Collects keys (in any order, duplicates allowed) and builds a NumberIndex. Keys are kept in 8 MB chunks,
 * never one giant array, so 250 million adds do not need a 2 GB contiguous allocation or re-copying.
 */
export class NumberIndexBuilder {
  private readonly chunks: Float64Array[] = [];
  private current = new Float64Array(KEYS_PER_CHUNK);
  private used = 0;
  private added = 0;

  /** Keys added so far (duplicates included). */
  get size(): number {
    return this.added;
  }

  /** Adds a key (E.164 digits as an integer, 7-15 digits). Throws on anything else: parsers check first. */
  add(key: number): void {
    if (!(key >= MIN_KEY && key <= MAX_KEY) || key !== Math.floor(key)) {
      throw new RangeError(`not a number key: ${key}`);
    }
    if (this.used === KEYS_PER_CHUNK) {
      this.chunks.push(this.current);
      this.current = new Float64Array(KEYS_PER_CHUNK);
      this.used = 0;
    }
    this.current[this.used++] = key;
    this.added++;
  }

  addE164(e164: string): void {
    this.add(e164ToKey(e164));
  }

  private allChunks(): Float64Array[] {
    return [...this.chunks, this.current.subarray(0, this.used)];
  }

  /**
   * Builds the index. `pause` is awaited between slices of work (every chunk of keys, every few thousand
   * groups) so a host can keep serving while a 250M-number index builds.
   */
  async build(pause?: BuildYield): Promise<NumberIndex> {
    const chunks = this.allChunks();
    if (this.added === 0) return NumberIndex.empty();
    const total = this.added;
    let done = 0;
    const step = async (work: number): Promise<void> => {
      done += work;
      if (pause) await pause(Math.min(done, total * 3), total * 3);
    };

    // Range of prefixes: a narrow range (one country's registry) gets a counting sort and a dense directory.
    let minPrefix = Infinity;
    let maxPrefix = -Infinity;
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++) {
        const prefix = Math.floor(chunk[i] / GROUP_SIZE);
        if (prefix < minPrefix) minPrefix = prefix;
        if (prefix > maxPrefix) maxPrefix = prefix;
      }
    }
    const range = maxPrefix - minPrefix + 1;
    if (range > 1 << 24 || total >= 2 ** 32) return this.buildBySorting(chunks, step);

    // Counting sort of the 16-bit suffixes by prefix.
    const counts = new Uint32Array(range + 1);
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++) {
        const key = chunk[i];
        const prefix = exactPrefix(key);
        counts[prefix - minPrefix]++;
      }
      await step(chunk.length);
    }
    let groupCount = 0;
    const starts = new Uint32Array(range + 1);
    for (let slot = 0, sum = 0; slot < range; slot++) {
      starts[slot] = sum;
      sum += counts[slot];
      if (counts[slot] !== 0) groupCount++;
    }
    starts[range] = total;
    const cursor = starts.slice();
    const suffixes = new Uint16Array(total);
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++) {
        const key = chunk[i];
        const prefix = exactPrefix(key);
        suffixes[cursor[prefix - minPrefix]++] = key - prefix * GROUP_SIZE;
      }
      await step(chunk.length);
    }

    const dense = range <= Math.max(1 << 16, 8 * groupCount);
    const offsets = new Uint32Array((dense ? range : groupCount) + 1);
    const prefixes = new Float64Array(dense ? 0 : groupCount);
    const sink = new WordSink();
    const bitmap = new Uint32Array(BITMAP_WORDS);
    const values = new Uint16Array(GROUP_SIZE);
    let count = 0;
    let group = 0;
    let sinceYield = 0;
    for (let slot = 0; slot < range; slot++) {
      const from = starts[slot];
      const to = starts[slot + 1];
      if (dense) offsets[slot] = sink.length;
      if (from === to) continue;
      // Sort and deduplicate through a bitmap of the group's 10,000 suffixes.
      for (let i = from; i < to; i++) bitmap[suffixes[i] >>> 5] |= 1 << (suffixes[i] & 31);
      const n = drainBitmap(bitmap, values);
      const at = encodeGroup(sink, values, n);
      if (!dense) {
        offsets[group] = at;
        prefixes[group] = minPrefix + slot;
      }
      group++;
      count += n;
      sinceYield += to - from;
      if (sinceYield >= KEYS_PER_CHUNK) {
        await step(sinceYield);
        sinceYield = 0;
      }
    }
    offsets[dense ? range : groupCount] = sink.length;
    return new NumberIndex({
      count,
      groupCount,
      directory: dense ? 'dense' : 'sparse',
      basePrefix: dense ? minPrefix : 0,
      offsets,
      prefixes,
      words: sink.finish(),
    });
  }

  /** Wide key ranges (lists mixing countries): sort all keys, then encode group by group. */
  private async buildBySorting(
    chunks: Float64Array[],
    step: (work: number) => Promise<void>,
  ): Promise<NumberIndex> {
    const keys = new Float64Array(this.added);
    let at = 0;
    for (const chunk of chunks) {
      keys.set(chunk, at);
      at += chunk.length;
    }
    keys.sort();
    await step(keys.length);
    return encodeSortedKeys(keys, step);
  }
}

/** Encodes ascending keys (duplicates allowed) with a sparse directory. */
async function encodeSortedKeys(
  keys: Float64Array,
  step: (work: number) => Promise<void>,
): Promise<NumberIndex> {
  const sink = new WordSink();
  const values = new Uint16Array(GROUP_SIZE);
  const groupOffsets: number[] = [];
  const groupPrefixes: number[] = [];
  let count = 0;
  let sinceYield = 0;
  for (let i = 0; i < keys.length;) {
    const prefix = exactPrefix(keys[i]);
    let n = 0;
    let previous = -1;
    for (; i < keys.length && exactPrefix(keys[i]) === prefix; i++) {
      const suffix = keys[i] - prefix * GROUP_SIZE;
      if (suffix !== previous) values[n++] = suffix;
      previous = suffix;
      sinceYield++;
    }
    groupOffsets.push(encodeGroup(sink, values, n));
    groupPrefixes.push(prefix);
    count += n;
    if (sinceYield >= KEYS_PER_CHUNK) {
      await step(sinceYield);
      sinceYield = 0;
    }
  }
  const offsets = new Uint32Array(groupOffsets.length + 1);
  offsets.set(groupOffsets);
  offsets[groupOffsets.length] = sink.length;
  return new NumberIndex({
    count,
    groupCount: groupOffsets.length,
    directory: 'sparse',
    basePrefix: 0,
    offsets,
    prefixes: Float64Array.from(groupPrefixes),
    words: sink.finish(),
  });
}

/** Builds an index from keys in any order (convenience for tests and small lists). */
export async function buildIndex(keys: Iterable<number>, pause?: BuildYield): Promise<NumberIndex> {
  const builder = new NumberIndexBuilder();
  for (const key of keys) builder.add(key);
  return builder.build(pause);
}

/** Chooses a dense or sparse directory for ascending prefixes with their offsets. */
export function packDirectory(
  prefixes: number[],
  groupOffsets: number[],
  sink: WordSink,
  count: number,
): NumberIndex {
  const groupCount = prefixes.length;
  if (groupCount === 0) return NumberIndex.empty();
  const basePrefix = prefixes[0];
  const range = prefixes[groupCount - 1] - basePrefix + 1;
  const end = sink.length;
  if (range <= Math.max(1 << 16, 8 * groupCount)) {
    const offsets = new Uint32Array(range + 1);
    // Empty slots point at the next group's offset (start == end means empty).
    let g = groupCount - 1;
    let next = end;
    offsets[range] = end;
    for (let slot = range - 1; slot >= 0; slot--) {
      if (g >= 0 && prefixes[g] - basePrefix === slot) {
        next = groupOffsets[g];
        g--;
      }
      offsets[slot] = next;
    }
    return new NumberIndex({
      count,
      groupCount,
      directory: 'dense',
      basePrefix,
      offsets,
      prefixes: new Float64Array(0),
      words: sink.finish(),
    });
  }
  const offsets = new Uint32Array(groupCount + 1);
  offsets.set(groupOffsets);
  offsets[groupCount] = end;
  return new NumberIndex({
    count,
    groupCount,
    directory: 'sparse',
    basePrefix: 0,
    offsets,
    prefixes: Float64Array.from(prefixes),
    words: sink.finish(),
  });
}
