/**
 * The store's in-memory index: every identifier key to the immutable profile holding it.
 *
 * A check is one lookup in this index, and at a million contacts a `Map<string, ...>` lookup of a
 * fresh input string costs about three cache misses (bucket, entry, key string): it alone capped
 * checks near a million per second. Phone keys (`+` and 7-15 digits, the bulk of any store and
 * the key of almost every check) therefore live in an open-addressing table over typed arrays,
 * keyed by the number's digits as an integer (exact: at most 15 digits < 2^53): one or two misses,
 * no string hashing, no allocation. Every other key (emails, `id:` ids, anything unusual) stays in
 * a Map. The class offers the part of the Map API the store uses, so callers cannot tell.
 */
import type { ContactState } from './types';

const EMPTY = -1;
const MIN_CAPACITY = 1 << 10;
const TWO_32 = 4_294_967_296;

/** The digits of a phone key as an integer, or -1 when the key is not `+` and 7 to 15 digits. */
export function phoneKeyValue(key: string): number {
  const length = key.length;
  if (length < 8 || length > 16 || key.charCodeAt(0) !== 43 /* + */) return -1;
  let value = 0;
  for (let i = 1; i < length; i++) {
    const digit = key.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  // A leading zero after + would render back differently (no calling code starts with 0).
  return key.charCodeAt(1) === 48 ? -1 : value;
}

/**
 * Multiplicative hashing: the top bits of the product are the well-mixed ones, so the slot is the
 * top log2(capacity) bits (`mask + 1` is the capacity, a power of two up to 2^31).
 */
function slotOf(value: number, mask: number): number {
  const low = (value % TWO_32) >>> 0;
  const high = (value / TWO_32) >>> 0;
  // For a capacity of 2^k, clz32(2^k) + 1 = 32 - k: shift the top k bits down.
  return Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b) >>> (Math.clz32(mask + 1) + 1);
}

export class KeyIndex {
  private phoneValues: Float64Array;
  /** For each table slot, the position of its profile in `phoneStates`, or EMPTY. */
  private phoneSlots: Int32Array;
  private phoneStates: ContactState[] = [];
  /** The digits of the phone key at each position of `phoneStates` (insertion order). */
  private phoneKeyValues: number[] = [];
  private phoneKeys = 0;
  private readonly others = new Map<string, ContactState>();

  constructor(expectedPhoneKeys = 0) {
    const capacity = Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(Math.max(1, expectedPhoneKeys) * 2)));
    this.phoneValues = new Float64Array(capacity);
    this.phoneSlots = new Int32Array(capacity).fill(EMPTY);
  }

  get size(): number {
    return this.phoneKeys + this.others.size;
  }

  get(key: string): ContactState | undefined {
    const value = phoneKeyValue(key);
    if (value < 0) return this.others.get(key);
    const mask = this.phoneSlots.length - 1;
    let slot = slotOf(value, mask);
    for (;;) {
      const position = this.phoneSlots[slot];
      if (position === EMPTY) return undefined;
      if (this.phoneValues[slot] === value) return this.phoneStates[position];
      slot = (slot + 1) & mask;
    }
  }

  set(key: string, state: ContactState): this {
    const value = phoneKeyValue(key);
    if (value < 0) {
      this.others.set(key, state);
      return this;
    }
    const mask = this.phoneSlots.length - 1;
    let slot = slotOf(value, mask);
    for (;;) {
      const position = this.phoneSlots[slot];
      if (position === EMPTY) break;
      if (this.phoneValues[slot] === value) {
        this.phoneStates[position] = state;
        return this;
      }
      slot = (slot + 1) & mask;
    }
    this.phoneValues[slot] = value;
    this.phoneSlots[slot] = this.phoneStates.length;
    this.phoneStates.push(state);
    this.phoneKeyValues.push(value);
    this.phoneKeys += 1;
    // Linear probing stays short below half full.
    if (this.phoneKeys * 2 > this.phoneSlots.length) this.grow();
    return this;
  }

  /** Every [key, profile] pair; phone keys are rendered back from their digits. */
  *[Symbol.iterator](): IterableIterator<[string, ContactState]> {
    const slots = this.phoneSlots;
    const values = this.phoneValues;
    for (let slot = 0; slot < slots.length; slot++) {
      const position = slots[slot];
      if (position !== EMPTY) yield [`+${values[slot]}`, this.phoneStates[position]];
    }
    yield* this.others;
  }

  /**
   * Every distinct profile once (each is held under each of its keys: it is listed at its first),
   * in insertion order, which follows allocation order: a snapshot of a million profiles walks
   * memory mostly forward instead of in hash order. No key is rendered back to a string.
   */
  *profiles(): IterableIterator<ContactState> {
    const states = this.phoneStates;
    const values = this.phoneKeyValues;
    for (let position = 0; position < states.length; position++) {
      const state = states[position];
      if (phoneKeyValue(state.keys[0]) === values[position]) yield state;
    }
    for (const [key, state] of this.others) if (state.keys[0] === key) yield state;
  }

  private grow(): void {
    const oldValues = this.phoneValues;
    const oldSlots = this.phoneSlots;
    const capacity = oldSlots.length * 2;
    const mask = capacity - 1;
    this.phoneValues = new Float64Array(capacity);
    this.phoneSlots = new Int32Array(capacity).fill(EMPTY);
    for (let old = 0; old < oldSlots.length; old++) {
      const position = oldSlots[old];
      if (position === EMPTY) continue;
      const value = oldValues[old];
      let slot = slotOf(value, mask);
      while (this.phoneSlots[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.phoneValues[slot] = value;
      this.phoneSlots[slot] = position;
    }
  }
}
