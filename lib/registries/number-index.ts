/**
 * A compact, immutable set of telephone numbers, sized for whole national registries (the US list holds
 * about 250 million numbers; a JavaScript Set caps at 16.7 million entries and spends ~40 bytes on each).
 *
 * Keys are E.164 digits as integers (number-keys.ts), grouped by `key / 10^4`; each group is encoded by
 * group-codec.ts (sorted fields, bitmap or Elias-Fano, whichever is smallest).
 * Groups are packed one after another (each starting on a 32-bit word) in ONE Uint32Array; the directory is
 * a second Uint32Array of word offsets (dense over the range of prefixes when that range is small relative to
 * the number of groups, as for one country's registry; otherwise sparse: sorted prefixes in a Float64Array
 * and a binary search). No per-group or per-number JS object exists, so the heap cost is a few typed arrays
 * and persisting or restoring the index is a copy of those arrays.
 *
 * This module is the index and its queries (has, hasMany, iteration); index-build.ts builds one from keys,
 * index-merge.ts applies change lists to one, index-file.ts persists one.
 */
import { encodedWordsOf, forEachInGroup, groupHas, SUFFIX_BITS, touchGroup } from './group-codec';
import { e164ToKey, exactPrefix, GROUP_SIZE, MAX_KEY, MIN_KEY } from './number-keys';

/** Numbers per stage of a batch lookup. */
const BATCH = 64;

/** Batches at least this long are grouped by directory slot before lookup (see NumberIndex.hasMany). */
const GROUPED_MIN_BATCH = 1 << 14;
/** Grouped batches are sorted in chunks of this many numbers (the scratch arrays hold 18 bytes each). */
const GROUPED_CHUNK = 1 << 20;
/** At most 2^BUCKET_BITS buckets: their counters (16 KB) stay in L1/L2 while a batch is scattered. */
const BUCKET_BITS = 12;
/** Slots per bucket at most (a slot's offset within its bucket and a suffix share 32 bits). */
const MAX_BUCKET_STEP = 1 << 17;

/** Scratch arrays of grouped batch lookups (one set for all indexes: lookups are synchronous). */
interface BatchScratch {
  bucketOf: Int16Array;
  codes: Uint32Array;
  order: Uint32Array;
  sortedCodes: Uint32Array;
  order2: Uint32Array;
  counts: Uint32Array;
  localCounts: Uint32Array;
}
let scratchArrays: BatchScratch | null = null;

function batchScratch(length: number): BatchScratch {
  if (!scratchArrays || scratchArrays.order.length < length) {
    scratchArrays = {
      bucketOf: new Int16Array(length),
      codes: new Uint32Array(length),
      order: new Uint32Array(length),
      sortedCodes: new Uint32Array(length),
      order2: new Uint32Array(length),
      counts: new Uint32Array((1 << BUCKET_BITS) + 1),
      localCounts: new Uint32Array(MAX_BUCKET_STEP + 1),
    };
  }
  return scratchArrays;
}

/** How the directory maps a group prefix to its offset. */
export type DirectoryKind = 'dense' | 'sparse';

/** The typed arrays an index consists of: what is persisted, and all a restore needs. */
export interface NumberIndexParts {
  readonly count: number;
  readonly groupCount: number;
  readonly directory: DirectoryKind;
  /** Dense: the smallest prefix (offsets[p - basePrefix]). Sparse: 0. */
  readonly basePrefix: number;
  /** Dense: range + 1 offsets (group p spans offsets[i]..offsets[i+1]). Sparse: groupCount + 1 offsets. */
  readonly offsets: Uint32Array;
  /** Sparse only: the prefix of each group, ascending. Dense: empty. */
  readonly prefixes: Float64Array;
  /** All groups' encodings, plus one padding word. */
  readonly words: Uint32Array;
}

export class NumberIndex {
  /** Distinct numbers held. */
  readonly count: number;
  readonly groupCount: number;
  readonly directory: DirectoryKind;
  private readonly basePrefix: number;
  private readonly offsets: Uint32Array;
  private readonly prefixes: Float64Array;
  private readonly words: Uint32Array;
  /** Dense: number of prefixes covered; sparse: number of groups. */
  private readonly slots: number;
  private readonly batchGroupAt = new Int32Array(BATCH);
  private readonly batchSuffix = new Int32Array(BATCH);
  private readonly batchPosition = new Uint32Array(BATCH);
  /** Grouped batches: directory slots per bucket (a power of two, at most 2^17; buckets <= 2^12). */
  private readonly bucketStep: number;
  /** Where touchGroup's reads go, so that they are not optimised away. */
  touchSink = 0;

  constructor(parts: NumberIndexParts) {
    this.count = parts.count;
    this.groupCount = parts.groupCount;
    this.directory = parts.directory;
    this.basePrefix = parts.basePrefix;
    this.offsets = parts.offsets;
    this.prefixes = parts.prefixes;
    this.words = parts.words;
    this.slots = parts.offsets.length - 1;
    if (this.slots < 0 || this.words.length < 1) throw new Error('index parts are inconsistent');
    if (this.directory === 'sparse' && this.prefixes.length !== this.slots) {
      throw new Error('index parts are inconsistent: sparse prefixes and offsets differ in length');
    }
    if (this.offsets[this.slots] > this.words.length - 1) throw new Error('index offsets exceed its data');
    this.bucketStep = 2 ** Math.max(0, 32 - Math.clz32(Math.max(1, this.slots - 1)) - BUCKET_BITS);
  }

  static empty(): NumberIndex {
    return new NumberIndex({
      count: 0,
      groupCount: 0,
      directory: 'sparse',
      basePrefix: 0,
      offsets: new Uint32Array(1),
      prefixes: new Float64Array(0),
      words: new Uint32Array(1),
    });
  }

  /** The arrays (shared, not copied) for persistence. */
  parts(): NumberIndexParts {
    return {
      count: this.count,
      groupCount: this.groupCount,
      directory: this.directory,
      basePrefix: this.basePrefix,
      offsets: this.offsets,
      prefixes: this.prefixes,
      words: this.words,
    };
  }

  /** Bytes held by the index's arrays. */
  get byteLength(): number {
    return this.offsets.byteLength + this.prefixes.byteLength + this.words.byteLength;
  }

  /** Word offset of the group with this prefix, or -1. */
  private groupAt(prefix: number): number {
    if (this.directory === 'dense') {
      const slot = prefix - this.basePrefix;
      if (slot < 0 || slot >= this.slots) return -1;
      const at = this.offsets[slot];
      return at === this.offsets[slot + 1] ? -1 : at;
    }
    const prefixes = this.prefixes;
    let low = 0;
    let high = this.slots - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = prefixes[mid];
      if (value === prefix) return this.offsets[mid];
      if (value < prefix) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Whether the key (E.164 digits as an integer) is in the index. */
  has(key: number): boolean {
    if (!(key >= MIN_KEY && key <= MAX_KEY)) return false; // also false for NaN
    let prefix = Math.floor(key / GROUP_SIZE);
    let suffix = key - prefix * GROUP_SIZE;
    // Division of a double may round up by one unit near a multiple of 10^4: correct it exactly.
    if (suffix < 0) {
      prefix -= 1;
      suffix += GROUP_SIZE;
    } else if (suffix >= GROUP_SIZE) {
      prefix += 1;
      suffix -= GROUP_SIZE;
    }
    if (suffix !== Math.floor(suffix)) return false; // not an integer
    const at = this.groupAt(prefix);
    return at >= 0 && groupHas(this.words, at, suffix);
  }

  /** Whether the E.164 number (`+` and digits) is in the index; false for anything not E.164-shaped. */
  hasE164(e164: string): boolean {
    return this.has(e164ToKey(e164));
  }

  /**
   * Batch lookup: out[i] = 1 when numbers[i] is listed, else 0. Numbers are keys (E.164 digits as integers)
   * or E.164 strings. Returns how many were listed.
   *
   * Random lookups in a 100 MB index are bound by memory latency (directory, group header, high bits, low
   * bits: ~3 cache misses each, one after the other). Batches of 16,384 or more are therefore sorted by
   * directory slot first, in chunks of 2^20 numbers: a counting sort into at most 4,096 buckets of
   * consecutive slots (16 KB of counters), then each bucket by slot (counters of one bucket, or insertion
   * sort when it holds few numbers). The index is then swept in ascending order: numbers of one exchange
   * share its header and data, and the reads are sequential enough for the hardware prefetcher. Answers are
   * written back through the permutation, in the caller's order. Smaller batches are done in stages (see
   * hasManyStaged). The scratch arrays (18 bytes per number of the largest chunk seen) are kept for reuse.
   */
  hasMany(numbers: Float64Array | readonly string[], out: Uint8Array): number {
    const length = numbers.length;
    if (out.length < length) throw new RangeError('out is shorter than numbers');
    if (length < GROUPED_MIN_BATCH || this.bucketStep > MAX_BUCKET_STEP)
      return this.hasManyStaged(numbers, 0, length, out);
    let listed = 0;
    for (let from = 0; from < length; from += GROUPED_CHUNK) {
      listed += this.hasManyGrouped(numbers, from, Math.min(GROUPED_CHUNK, length - from), out);
    }
    return listed;
  }

  /** hasMany for numbers[from..from+length), in stages over blocks of 64 (see hasMany). */
  private hasManyStaged(
    numbers: Float64Array | readonly string[],
    from: number,
    length: number,
    out: Uint8Array,
  ): number {
    // Blocks of 64 numbers: find every group, then touch every group's header, then the words its search
    // will read, then search. The loads of one stage are independent of each other, so the CPU overlaps
    // their misses instead of waiting for each in turn.
    const groupAts = this.batchGroupAt;
    const suffixes = this.batchSuffix;
    const words = this.words;
    const keys = numbers instanceof Float64Array ? numbers : null;
    const end = from + length;
    let listed = 0;
    let touched = 0;
    for (let start = from; start < end; start += BATCH) {
      const count = Math.min(BATCH, end - start);
      for (let j = 0; j < count; j++) {
        const key = keys ? keys[start + j] : e164ToKey((numbers as readonly string[])[start + j]);
        groupAts[j] = -1;
        if (!(key >= MIN_KEY && key <= MAX_KEY) || key !== Math.floor(key)) continue;
        const prefix = exactPrefix(key);
        suffixes[j] = key - prefix * GROUP_SIZE;
        groupAts[j] = this.groupAt(prefix);
      }
      for (let j = 0; j < count; j++) if (groupAts[j] >= 0) touched ^= words[groupAts[j]];
      for (let j = 0; j < count; j++)
        if (groupAts[j] >= 0) touched ^= touchGroup(words, groupAts[j], suffixes[j]);
      for (let j = 0; j < count; j++) {
        const hit = groupAts[j] >= 0 && groupHas(words, groupAts[j], suffixes[j]) ? 1 : 0;
        out[start + j] = hit;
        listed += hit;
      }
    }
    this.touchSink = touched;
    return listed;
  }

  /** hasMany for numbers[from..from+length), sorted by directory slot (see hasMany). */
  private hasManyGrouped(
    numbers: Float64Array | readonly string[],
    from: number,
    length: number,
    out: Uint8Array,
  ): number {
    const scratch = batchScratch(length);
    const keys = numbers instanceof Float64Array ? numbers : null;
    const strings = keys ? null : (numbers as readonly string[]);
    const dense = this.directory === 'dense';
    const slots = this.slots;
    const basePrefix = this.basePrefix;
    const step = this.bucketStep;
    const bucketCount = Math.ceil(slots / step);
    const counts = scratch.counts;
    counts.fill(0, 0, bucketCount + 1);
    const bucketOf = scratch.bucketOf;
    const codes = scratch.codes;
    // Pass 1: each number's bucket (slot / step; -1: not a key, or no group for it: not listed) and code
    // (slot % step, then the 14-bit suffix).
    for (let i = 0; i < length; i++) {
      const key = keys ? keys[from + i] : e164ToKey(strings![from + i]);
      let slot = -1;
      let suffix = 0;
      if (key >= MIN_KEY && key <= MAX_KEY && key === Math.floor(key)) {
        const prefix = exactPrefix(key);
        suffix = key - prefix * GROUP_SIZE;
        slot = dense
          ? prefix >= basePrefix && prefix - basePrefix < slots
            ? prefix - basePrefix
            : -1
          : this.sparseSlot(prefix);
      }
      if (slot < 0) {
        bucketOf[i] = -1;
        out[from + i] = 0;
        continue;
      }
      const bucket = Math.floor(slot / step);
      bucketOf[i] = bucket;
      codes[i] = ((slot - bucket * step) << SUFFIX_BITS) | suffix;
      counts[bucket + 1]++;
    }
    for (let b = 0; b < bucketCount; b++) counts[b + 1] += counts[b];
    // Pass 2: scatter positions and codes by bucket (counts[b] becomes the end of bucket b).
    const order = scratch.order;
    const sortedCodes = scratch.sortedCodes;
    for (let i = 0; i < length; i++) {
      const bucket = bucketOf[i];
      if (bucket < 0) continue;
      const p = counts[bucket]++;
      order[p] = i;
      sortedCodes[p] = codes[i];
    }
    // Sweep the buckets in ascending order, each sorted by slot first (its counters are L1-hot): the index
    // is then read in ascending order, numbers of one exchange one after the other.
    const words = this.words;
    const offsets = this.offsets;
    const localCounts = scratch.localCounts;
    const order2 = scratch.order2;
    const codes2 = codes; // pass 1's codes are not needed after the scatter
    const groupAts = this.batchGroupAt;
    const suffixes = this.batchSuffix;
    const positions = this.batchPosition;
    let pending = 0;
    let listed = 0;
    // At least one number per group on average: sorted, the lookups hit cache lines the previous ones
    // brought in (or the prefetcher did), and a direct search is fastest. Fewer: the lookups are far apart
    // in the index, and staging them (as in hasManyStaged) overlaps their misses.
    const direct = length >= this.groupCount;
    for (let b = 0, start = 0; b < bucketCount; b++) {
      const end = counts[b];
      const size = end - start;
      if (size === 0) continue;
      let o: Uint32Array = order;
      let c: Uint32Array = sortedCodes;
      let at0 = start;
      if (size > 1 && step > 1) {
        if (size <= 32) {
          // Insertion sort in place.
          for (let p = start + 1; p < end; p++) {
            const code = sortedCodes[p];
            const position = order[p];
            let q = p - 1;
            while (q >= start && sortedCodes[q] > code) {
              sortedCodes[q + 1] = sortedCodes[q];
              order[q + 1] = order[q];
              q--;
            }
            sortedCodes[q + 1] = code;
            order[q + 1] = position;
          }
        } else {
          localCounts.fill(0, 0, step + 1);
          for (let p = start; p < end; p++) localCounts[(sortedCodes[p] >>> SUFFIX_BITS) + 1]++;
          for (let s = 0; s < step; s++) localCounts[s + 1] += localCounts[s];
          for (let p = start; p < end; p++) {
            const q = localCounts[sortedCodes[p] >>> SUFFIX_BITS]++;
            order2[q] = order[p];
            codes2[q] = sortedCodes[p];
          }
          o = order2;
          c = codes2;
          at0 = 0;
        }
      }
      const slotBase = b * step;
      let lastSlot = -1;
      let at = -1;
      for (let p = at0, n = at0 + size; p < n; p++) {
        const code = c[p];
        const slot = slotBase + (code >>> SUFFIX_BITS);
        if (slot !== lastSlot) {
          lastSlot = slot;
          at = offsets[slot];
          if (dense && at === offsets[slot + 1]) at = -1;
        }
        if (at < 0) {
          out[from + o[p]] = 0;
          continue;
        }
        if (direct) {
          const hit = groupHas(words, at, code & 0x3fff) ? 1 : 0;
          out[from + o[p]] = hit;
          listed += hit;
          continue;
        }
        // Staged in blocks of 64, as in hasManyStaged: sorted, they rarely miss, but when the batch is
        // small for the index, the lookups are far apart and their misses overlap only in stages.
        groupAts[pending] = at;
        suffixes[pending] = code & 0x3fff;
        positions[pending] = from + o[p];
        if (++pending === BATCH) {
          listed += this.searchStaged(pending, out);
          pending = 0;
        }
      }
      start = end;
    }
    if (pending > 0) listed += this.searchStaged(pending, out);
    return listed;
  }

  /** The staged search of hasManyStaged over the first `count` pending lookups (groups found). */
  private searchStaged(count: number, out: Uint8Array): number {
    const groupAts = this.batchGroupAt;
    const suffixes = this.batchSuffix;
    const positions = this.batchPosition;
    const words = this.words;
    let touched = this.touchSink;
    for (let j = 0; j < count; j++) touched ^= words[groupAts[j]];
    for (let j = 0; j < count; j++) touched ^= touchGroup(words, groupAts[j], suffixes[j]);
    this.touchSink = touched;
    let listed = 0;
    for (let j = 0; j < count; j++) {
      const hit = groupHas(words, groupAts[j], suffixes[j]) ? 1 : 0;
      out[positions[j]] = hit;
      listed += hit;
    }
    return listed;
  }

  /** Sparse directory: the group (index into prefixes) with this prefix, or -1. */
  private sparseSlot(prefix: number): number {
    const prefixes = this.prefixes;
    let low = 0;
    let high = this.slots - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = prefixes[mid];
      if (value === prefix) return mid;
      if (value < prefix) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** Calls fn(key) for every key, ascending. */
  forEach(fn: (key: number) => void): void {
    for (let slot = 0; slot < this.slots; slot++) {
      const at = this.offsets[slot];
      if (at === this.offsets[slot + 1]) continue;
      const base = (this.directory === 'dense' ? this.basePrefix + slot : this.prefixes[slot]) * GROUP_SIZE;
      forEachInGroup(this.words, at, (suffix) => fn(base + suffix));
    }
  }

  /** Every key, ascending (for tests and small indexes). */
  toKeys(): Float64Array {
    const keys = new Float64Array(this.count);
    let i = 0;
    this.forEach((key) => (keys[i++] = key));
    return keys;
  }

  /** Prefixes present, ascending, with each group's word offset (used by merges). */
  forEachGroup(fn: (prefix: number, at: number) => void): void {
    for (let slot = 0; slot < this.slots; slot++) {
      const at = this.offsets[slot];
      if (at === this.offsets[slot + 1]) continue;
      fn(this.directory === 'dense' ? this.basePrefix + slot : this.prefixes[slot], at);
    }
  }

  /** Decodes the group at `at` into values (sorted), returning the count. */
  decodeGroup(at: number, values: Uint16Array): number {
    let n = 0;
    forEachInGroup(this.words, at, (suffix) => (values[n++] = suffix));
    return n;
  }

  /** Word length of the group at `at` (header included). */
  groupWords(at: number): number {
    const header = this.words[at];
    const count = (header & 0x3fff) + 1;
    return encodedWordsOf(header, count);
  }

  /** The raw words of the group at `at` (a view). */
  groupView(at: number): Uint32Array {
    return this.words.subarray(at, at + this.groupWords(at));
  }
}
