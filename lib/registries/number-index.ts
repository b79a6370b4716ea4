/**
 * A compact, immutable set of telephone numbers, sized for whole national registries (the US list holds
 * about 250 million numbers; a JavaScript Set caps at 16.7 million entries and spends ~40 bytes on each).
 *
 * Keys. A number is keyed by its E.164 digits read as an integer: `+12015551234` -> 12015551234. E.164
 * digits never start with 0 (no calling code does), so the mapping is injective across countries and
 * lengths, and every key is below 10^15 < 2^53: an exact double. One index can therefore hold any mix of
 * countries; a registry of one country simply has all its keys in one narrow range.
 *
 * Layout. Keys are grouped by `key / 10^4` (for NANP: calling code 1 + area code + exchange, so a group holds
 * the up to 10,000 line numbers of one exchange). Each group's sorted 4-digit suffixes are stored in
 * whichever of three encodings is smallest for it:
 * - SORTED: the suffixes as 14-bit fields (binary search), for groups of a handful of numbers;
 * - BITMAP: 10,000 bits, for groups listing more than ~1/4 of their exchange;
 * - ELIAS_FANO: low `l` bits of each suffix packed, high bits in unary (one 1 per number, one 0 per bucket of
 *   2^l suffixes), plus a select sample every 64 buckets so a lookup jumps near its bucket and scans at most
 *   ~2 words. At 4% density (100M numbers over 300 area codes x 800 exchanges) this is ~7 bits a number;
 *   at 10% ~5.5; the information-theoretic floor is ~6 and ~4.7.
 * Groups are packed one after another (each starting on a 32-bit word) in ONE Uint32Array; the directory is
 * a second Uint32Array of word offsets (dense over the range of prefixes when that range is small relative to
 * the number of groups, as for one country's registry; otherwise sparse: sorted prefixes in a Float64Array
 * and a binary search). No per-group or per-number JS object exists, so the heap cost is a few typed arrays
 * and persisting or restoring the index is a copy of those arrays.
 */

/** Numbers per group: the group is `key / GROUP_SIZE`, the suffix `key % GROUP_SIZE`. */
export const GROUP_SIZE = 10_000;
const SUFFIX_BITS = 14; // bits to hold 0..9999
const BITMAP_WORDS = Math.ceil(GROUP_SIZE / 32); // 313
/** Elias-Fano select samples: one every 2^SAMPLE_SHIFT buckets (16 bits each). */
const SAMPLE_SHIFT = 6;

// Group encodings (the 2-bit field of a group's header word).
const SORTED = 0;
const BITMAP = 1;
const ELIAS_FANO = 2;

/*
 * Group header word: bits 0-13 count-1 | 14-15 encoding | 16-19 EF low bits l | 20-31 EF highest bucket Z.
 * Elias-Fano is only ever chosen with l >= 2 (with l <= 1 a bitmap is always at least as small, see
 * encodedBits), so Z = max suffix >> l <= 2499 fits in 12 bits.
 */

/** Smallest and largest key accepted: 7 to 15 E.164 digits. */
export const MIN_KEY = 1_000_000;
export const MAX_KEY = 999_999_999_999_999;

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Position (0-31) of the r-th (1-based) set bit of x; x must have at least r set bits. */
function selectInWord(x: number, r: number): number {
  while (--r > 0) x &= x - 1;
  return 31 - Math.clz32(x & -x);
}

/** Reads `width` (<= 16) bits at bit position `pos` (LSB-first within each word). */
function readBits(words: Uint32Array, pos: number, width: number): number {
  const index = pos >>> 5;
  const shift = pos & 31;
  let value = words[index] >>> shift;
  if (shift + width > 32) value |= words[index + 1] << (32 - shift);
  return value & ((1 << width) - 1);
}

/** 32 bits starting at bit position `pos`. */
function readWindow(words: Uint32Array, pos: number): number {
  const index = pos >>> 5;
  const shift = pos & 31;
  if (shift === 0) return words[index];
  return ((words[index] >>> shift) | (words[index + 1] << (32 - shift))) >>> 0;
}

function writeBits(words: Uint32Array, pos: number, width: number, value: number): void {
  const index = pos >>> 5;
  const shift = pos & 31;
  words[index] |= value << shift;
  if (shift + width > 32) words[index + 1] |= value >>> (32 - shift);
}

/** Whether `suffix` is in the group whose header word is at `at`. */
function groupHas(words: Uint32Array, at: number, suffix: number): boolean {
  const header = words[at];
  const encoding = (header >>> 14) & 3;
  if (encoding === BITMAP) {
    return ((words[at + 1 + (suffix >>> 5)] >>> (suffix & 31)) & 1) === 1;
  }
  const count = (header & 0x3fff) + 1;
  if (encoding === SORTED) {
    const base = (at + 1) * 32;
    let low = 0;
    let high = count - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = readBits(words, base + mid * SUFFIX_BITS, SUFFIX_BITS);
      if (value === suffix) return true;
      if (value < suffix) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }
  // Elias-Fano.
  const lowBits = (header >>> 16) & 15;
  const lastBucket = header >>> 20;
  const bucket = suffix >>> lowBits;
  if (bucket > lastBucket) return false;
  const sampleCount = lastBucket >>> SAMPLE_SHIFT;
  const highStart = (at + 1 + ((sampleCount + 1) >>> 1)) * 32;
  // Position (relative to highStart) just after the bucket-th zero: the first number of the bucket.
  const sampleIndex = bucket >>> SAMPLE_SHIFT;
  let position = 0;
  if (sampleIndex > 0) {
    const sampleAt = sampleIndex - 1;
    position = (words[at + 1 + (sampleAt >>> 1)] >>> ((sampleAt & 1) << 4)) & 0xffff;
  }
  let zerosToSkip = bucket - (sampleIndex << SAMPLE_SHIFT);
  while (zerosToSkip > 0) {
    const zeros = ~readWindow(words, highStart + position);
    const zeroCount = popcount32(zeros);
    if (zeroCount >= zerosToSkip) {
      position += selectInWord(zeros, zerosToSkip) + 1;
      break;
    }
    zerosToSkip -= zeroCount;
    position += 32;
  }
  const highLength = lastBucket + count;
  const lowStart = highStart + highLength;
  const target = suffix & ((1 << lowBits) - 1);
  // Ones from here on are this bucket's numbers, in ascending order; a zero ends the bucket.
  for (let index = position - bucket; position < highLength; position++, index++) {
    const bitPosition = highStart + position;
    if (((words[bitPosition >>> 5] >>> (bitPosition & 31)) & 1) === 0) return false;
    const low = readBits(words, lowStart + index * lowBits, lowBits);
    if (low === target) return true;
    if (low > target) return false;
  }
  return false;
}

/** Numbers per stage of a batch lookup. */
const BATCH = 64;

/**
 * Reads (and so brings into cache) the words a search of the group at `at` for `suffix` will read first:
 * the header, the select sample, and where the bucket's high and low bits are expected to be.
 */
function touchGroup(words: Uint32Array, at: number, suffix: number): number {
  const header = words[at];
  const encoding = (header >>> 14) & 3;
  if (encoding === BITMAP) return header ^ words[at + 1 + (suffix >>> 5)];
  const count = (header & 0x3fff) + 1;
  if (encoding === SORTED) return header ^ words[at + 1 + ((count * SUFFIX_BITS) >>> 6)];
  const lowBits = (header >>> 16) & 15;
  const lastBucket = header >>> 20;
  const bucket = suffix >>> lowBits;
  if (bucket > lastBucket) return header;
  const sampleCount = lastBucket >>> SAMPLE_SHIFT;
  const sampleIndex = bucket >>> SAMPLE_SHIFT;
  const highStart = (at + 1 + ((sampleCount + 1) >>> 1)) * 32;
  // Numbers are spread evenly over the buckets, so bucket b starts near b * (1 + count / buckets).
  const expectedIndex = Math.floor((bucket * count) / (lastBucket + 1));
  const highWord = (highStart + bucket + expectedIndex) >>> 5;
  const lowWord = (highStart + lastBucket + count + expectedIndex * lowBits) >>> 5;
  const sample = sampleIndex > 0 ? words[at + 1 + ((sampleIndex - 1) >>> 1)] : 0;
  return header ^ sample ^ words[highWord] ^ words[lowWord];
}

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

/** Bits each encoding needs for `count` sorted suffixes whose largest is `largest`, and the best EF l. */
function encodedBits(count: number, largest: number): { encoding: number; words: number; lowBits: number } {
  let best = { encoding: BITMAP, words: 1 + BITMAP_WORDS, lowBits: 0 };
  const sortedWords = 1 + Math.ceil((count * SUFFIX_BITS) / 32);
  if (sortedWords < best.words) best = { encoding: SORTED, words: sortedWords, lowBits: 0 };
  if (count <= 0x4000) {
    for (let lowBits = 2; lowBits <= SUFFIX_BITS - 1; lowBits++) {
      const lastBucket = largest >>> lowBits;
      const sampleWords = ((lastBucket >>> SAMPLE_SHIFT) + 1) >>> 1;
      const words = 1 + sampleWords + Math.ceil((lastBucket + count + count * lowBits) / 32);
      if (words < best.words) best = { encoding: ELIAS_FANO, words, lowBits };
    }
  }
  return best;
}

/** A growable Uint32Array that group encodings are appended to. */
class WordSink {
  words = new Uint32Array(1 << 16);
  length = 0;

  reserve(count: number): number {
    const at = this.length;
    const needed = at + count + 1; // +1: readers may touch one word past a group
    if (needed > this.words.length) {
      let capacity = this.words.length;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint32Array(capacity);
      grown.set(this.words.subarray(0, this.length));
      this.words = grown;
    }
    this.length += count;
    return at;
  }

  /** The used words plus one zero word of padding (for readWindow at the very end). */
  finish(): Uint32Array {
    return this.words.slice(0, this.length + 1);
  }
}

/** Appends one group (sorted, distinct suffixes values[0..count)) and returns its word offset. */
function encodeGroup(sink: WordSink, values: Uint16Array, count: number): number {
  const largest = values[count - 1];
  const { encoding, words: size, lowBits } = encodedBits(count, largest);
  const at = sink.reserve(size);
  const words = sink.words;
  words[at] = ((count - 1) | (encoding << 14)) >>> 0;
  if (encoding === BITMAP) {
    for (let i = 0; i < count; i++) words[at + 1 + (values[i] >>> 5)] |= 1 << (values[i] & 31);
  } else if (encoding === SORTED) {
    const base = (at + 1) * 32;
    for (let i = 0; i < count; i++) writeBits(words, base + i * SUFFIX_BITS, SUFFIX_BITS, values[i]);
  } else {
    const lastBucket = largest >>> lowBits;
    words[at] = (words[at] | (lowBits << 16) | (lastBucket << 20)) >>> 0;
    const sampleCount = lastBucket >>> SAMPLE_SHIFT;
    const highStart = (at + 1 + ((sampleCount + 1) >>> 1)) * 32;
    const lowStart = highStart + lastBucket + count;
    const mask = (1 << lowBits) - 1;
    let sample = 1;
    for (let i = 0; i < count; i++) {
      const bucket = values[i] >>> lowBits;
      // The first number of a sampled bucket 64k sits just after the 64k-th zero: record where.
      while (sample <= sampleCount && bucket >= sample << SAMPLE_SHIFT) {
        const position = (sample << SAMPLE_SHIFT) + i;
        words[at + 1 + ((sample - 1) >>> 1)] |= position << (((sample - 1) & 1) << 4);
        sample++;
      }
      const bit = highStart + bucket + i;
      words[bit >>> 5] |= 1 << (bit & 31);
      if (lowBits > 0) writeBits(words, lowStart + i * lowBits, lowBits, values[i] & mask);
    }
  }
  return at;
}

/** Calls fn(suffix) for each suffix of the group at `at`, ascending. */
function forEachInGroup(words: Uint32Array, at: number, fn: (suffix: number) => void): void {
  const header = words[at];
  const encoding = (header >>> 14) & 3;
  const count = (header & 0x3fff) + 1;
  if (encoding === BITMAP) {
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let bits = words[at + 1 + w];
      while (bits !== 0) {
        fn(w * 32 + (31 - Math.clz32(bits & -bits)));
        bits &= bits - 1;
      }
    }
  } else if (encoding === SORTED) {
    const base = (at + 1) * 32;
    for (let i = 0; i < count; i++) fn(readBits(words, base + i * SUFFIX_BITS, SUFFIX_BITS));
  } else {
    const lowBits = (header >>> 16) & 15;
    const lastBucket = header >>> 20;
    const highStart = (at + 1 + (((lastBucket >>> SAMPLE_SHIFT) + 1) >>> 1)) * 32;
    const lowStart = highStart + lastBucket + count;
    let bucket = 0;
    let i = 0;
    for (let position = 0; i < count; position++) {
      const bit = highStart + position;
      if (((words[bit >>> 5] >>> (bit & 31)) & 1) === 0) {
        bucket++;
      } else {
        fn((bucket << lowBits) | readBits(words, lowStart + i * lowBits, lowBits));
        i++;
      }
    }
  }
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

/** Parses `+` and 7-15 digits into a key; NaN when the text is not E.164-shaped. */
export function e164ToKey(e164: string): number {
  const length = e164.length;
  if (length < 8 || length > 16 || e164.charCodeAt(0) !== 43 /* + */ || e164.charCodeAt(1) === 48) return NaN;
  let key = 0;
  for (let i = 1; i < length; i++) {
    const digit = e164.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    key = key * 10 + digit;
  }
  return key;
}

export function keyToE164(key: number): string {
  return `+${key}`;
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

function encodedWordsOf(header: number, count: number): number {
  const encoding = (header >>> 14) & 3;
  if (encoding === BITMAP) return 1 + BITMAP_WORDS;
  if (encoding === SORTED) return 1 + Math.ceil((count * SUFFIX_BITS) / 32);
  const lowBits = (header >>> 16) & 15;
  const lastBucket = header >>> 20;
  return (
    1 + (((lastBucket >>> SAMPLE_SHIFT) + 1) >>> 1) + Math.ceil((lastBucket + count + count * lowBits) / 32)
  );
}

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
      let n = 0;
      for (let w = 0; w < BITMAP_WORDS; w++) {
        let bits = bitmap[w];
        if (bits === 0) continue;
        bitmap[w] = 0;
        while (bits !== 0) {
          values[n++] = w * 32 + (31 - Math.clz32(bits & -bits));
          bits &= bits - 1;
        }
      }
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

/** key / 10^4, exactly (double division can round up across a multiple of 10^4). */
function exactPrefix(key: number): number {
  let prefix = Math.floor(key / GROUP_SIZE);
  const suffix = key - prefix * GROUP_SIZE;
  if (suffix < 0) prefix -= 1;
  else if (suffix >= GROUP_SIZE) prefix += 1;
  return prefix;
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

/**
 * A new index = base + additions - deletions (the base is not modified: a change list is applied by
 * building a new index and swapping it in). Groups no change touches are copied word for word; touched
 * groups are decoded, changed and re-encoded. A number both added and deleted by the same change set is
 * kept listed: between two contradicting instructions, the one that blocks calls is the safe one.
 */
export async function mergeIndex(
  base: NumberIndex,
  additions: NumberIndex,
  deletions: NumberIndex,
  pause?: BuildYield,
): Promise<NumberIndex> {
  // Every prefix present anywhere, ascending, with where to find it.
  const prefixSet = new Map<number, [number, number, number]>();
  const note = (index: NumberIndex, which: 0 | 1 | 2): void =>
    index.forEachGroup((prefix, at) => {
      let entry = prefixSet.get(prefix);
      if (!entry) prefixSet.set(prefix, (entry = [-1, -1, -1]));
      entry[which] = at;
    });
  note(base, 0);
  note(additions, 1);
  note(deletions, 2);
  const prefixes = Float64Array.from(prefixSet.keys()).sort();

  const sink = new WordSink();
  const bitmap = new Uint32Array(BITMAP_WORDS);
  const scratch = new Uint16Array(GROUP_SIZE);
  const values = new Uint16Array(GROUP_SIZE);
  const outPrefixes: number[] = [];
  const outOffsets: number[] = [];
  let count = 0;
  for (let g = 0; g < prefixes.length; g++) {
    const prefix = prefixes[g];
    const [baseAt, addAt, deleteAt] = prefixSet.get(prefix)!;
    if (addAt < 0 && deleteAt < 0) {
      // Untouched group: copy its words.
      const view = base.groupView(baseAt);
      const at = sink.reserve(view.length);
      sink.words.set(view, at);
      outPrefixes.push(prefix);
      outOffsets.push(at);
      count += (view[0] & 0x3fff) + 1;
      continue;
    }
    const set = (n: number): void => {
      for (let i = 0; i < n; i++) bitmap[scratch[i] >>> 5] |= 1 << (scratch[i] & 31);
    };
    if (baseAt >= 0) set(base.decodeGroup(baseAt, scratch));
    if (deleteAt >= 0) {
      const n = deletions.decodeGroup(deleteAt, scratch);
      for (let i = 0; i < n; i++) bitmap[scratch[i] >>> 5] &= ~(1 << (scratch[i] & 31));
    }
    if (addAt >= 0) set(additions.decodeGroup(addAt, scratch));
    let n = 0;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let bits = bitmap[w];
      if (bits === 0) continue;
      bitmap[w] = 0;
      while (bits !== 0) {
        values[n++] = w * 32 + (31 - Math.clz32(bits & -bits));
        bits &= bits - 1;
      }
    }
    if (n > 0) {
      outPrefixes.push(prefix);
      outOffsets.push(encodeGroup(sink, values, n));
      count += n;
    }
    if (pause && g % 16384 === 16383) await pause(g, prefixes.length);
  }
  return packDirectory(outPrefixes, outOffsets, sink, count);
}

/** Chooses a dense or sparse directory for ascending prefixes with their offsets. */
function packDirectory(
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
