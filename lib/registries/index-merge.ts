/**
 * Applying change lists: a new NumberIndex from a base, additions and deletions, copying untouched groups
 * word for word.
 */
import { BITMAP_WORDS, drainBitmap, encodeGroup, WordSink } from './group-codec';
import { packDirectory, type BuildYield } from './index-build';
import type { NumberIndex } from './number-index';
import { GROUP_SIZE } from './number-keys';

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
    const n = drainBitmap(bitmap, values);
    if (n > 0) {
      outPrefixes.push(prefix);
      outOffsets.push(encodeGroup(sink, values, n));
      count += n;
    }
    if (pause && g % 16384 === 16383) await pause(g, prefixes.length);
  }
  return packDirectory(outPrefixes, outOffsets, sink, count);
}
