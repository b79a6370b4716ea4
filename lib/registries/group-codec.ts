/**
 * The group codec of a NumberIndex: one group holds the sorted 4-digit suffixes of the keys sharing a
 * prefix (`key / 10^4`; for NANP the up to 10,000 line numbers of one exchange), stored in whichever of
 * three encodings is smallest for it:
 * - SORTED: the suffixes as 14-bit fields (binary search), for groups of a handful of numbers;
 * - BITMAP: 10,000 bits, for groups listing more than ~1/4 of their exchange;
 * - ELIAS_FANO: low `l` bits of each suffix packed, high bits in unary (one 1 per number, one 0 per bucket of
 *   2^l suffixes), plus a select sample every 64 buckets so a lookup jumps near its bucket and scans at most
 *   ~2 words. At 4% density (100M numbers over 300 area codes x 800 exchanges) this is ~7 bits a number;
 *   at 10% ~5.5; the information-theoretic floor is ~6 and ~4.7.
 * Groups are appended to one growing Uint32Array (WordSink), each starting on a 32-bit word; a group is
 * addressed by the word offset of its header. Everything here is a plain function over that array: the
 * lookups of number-index.ts call groupHas directly (no object, no closure per lookup).
 */
import { GROUP_SIZE } from './number-keys';

export const SUFFIX_BITS = 14; // bits to hold 0..9999
export const BITMAP_WORDS = Math.ceil(GROUP_SIZE / 32); // 313
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
export function groupHas(words: Uint32Array, at: number, suffix: number): boolean {
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

/**
 * Reads (and so brings into cache) the words a search of the group at `at` for `suffix` will read first:
 * the header, the select sample, and where the bucket's high and low bits are expected to be.
 */
export function touchGroup(words: Uint32Array, at: number, suffix: number): number {
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
export class WordSink {
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
export function encodeGroup(sink: WordSink, values: Uint16Array, count: number): number {
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

/**
 * Writes the suffixes set in a group bitmap (BITMAP_WORDS words) to values, ascending, clearing the bitmap
 * for the next group; returns their count. Builds and merges sort and deduplicate a group this way.
 */
export function drainBitmap(bitmap: Uint32Array, values: Uint16Array): number {
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
  return n;
}

/** Calls fn(suffix) for each suffix of the group at `at`, ascending. */
export function forEachInGroup(words: Uint32Array, at: number, fn: (suffix: number) => void): void {
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

export function encodedWordsOf(header: number, count: number): number {
  const encoding = (header >>> 14) & 3;
  if (encoding === BITMAP) return 1 + BITMAP_WORDS;
  if (encoding === SORTED) return 1 + Math.ceil((count * SUFFIX_BITS) / 32);
  const lowBits = (header >>> 16) & 15;
  const lastBucket = header >>> 20;
  return (
    1 + (((lastBucket >>> SAMPLE_SHIFT) + 1) >>> 1) + Math.ceil((lastBucket + count + count * lowBits) / 32)
  );
}
