import assert from 'node:assert/strict';
import { seededRandom } from '../bench/harness';
import { KeyIndex, phoneKeyValue } from '../lib/store/key-index';
import type { ContactState } from '../lib/store/types';

function state(key: string, n: number): ContactState {
  return {
    keys: [key],
    labels: [
      {
        label: `L${n}`,
        appliedAt: n,
        expiresAt: null,
        source: 'api',
        actor: null,
        reason: null,
        campaign: null,
        channel: null,
      },
    ],
  };
}

describe('store key index', () => {
  it('recognises phone keys exactly: + and 7 to 15 digits, no leading zero', () => {
    assert.equal(phoneKeyValue('+14155550123'), 14155550123);
    assert.equal(phoneKeyValue('+999999999999999'), 999999999999999);
    for (const other of [
      '+1415555012a',
      '14155550123',
      '+123456',
      '+1234567890123456',
      '+01234567',
      'ana@example.com',
      'id:+14155550123',
      '',
      '+',
    ]) {
      assert.equal(phoneKeyValue(other), -1, other);
    }
  });

  it('answers exactly like a Map under random inserts and overwrites of every kind of key, growing as it fills', () => {
    const random = seededRandom(9);
    const index = new KeyIndex();
    const reference = new Map<string, ContactState>();
    const keys: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const kind = random();
      let key: string;
      if (kind < 0.05 && keys.length > 0)
        key = keys[Math.floor(random() * keys.length)]!; // overwrite
      else if (kind < 0.8)
        key =
          `+${1 + Math.floor(random() * 9)}${String(Math.floor(random() * 1e11)).padStart(11, '0')}`.slice(
            0,
            8 + Math.floor(random() * 9),
          );
      else if (kind < 0.9) key = `user${i}@example.com`;
      else if (kind < 0.95) key = `id:${i}`;
      else key = `+0${i}`; // not a phone key: kept in the map
      const value = state(key, i);
      index.set(key, value);
      reference.set(key, value);
      keys.push(key);
    }
    assert.equal(index.size, reference.size);
    for (const [key, value] of reference) assert.equal(index.get(key), value, key);
    for (let i = 0; i < 20_000; i++) {
      const absent = `+44${String(Math.floor(random() * 1e10)).padStart(10, '0')}`;
      assert.equal(index.get(absent), reference.get(absent));
    }
    const iterated = new Map([...index]);
    assert.equal(iterated.size, reference.size, 'iteration yields every key once');
    for (const [key, value] of reference) assert.equal(iterated.get(key), value, `iterated ${key}`);
  });

  it('lists every distinct profile once, at its first key, whatever kinds of keys it holds', () => {
    const index = new KeyIndex();
    const single = state('+14155550100', 1);
    const merged: ContactState = { keys: ['+14155550101', 'ana@example.com', '+14155550102'], labels: [] };
    const emailFirst: ContactState = { keys: ['bo@example.com', '+14155550103', 'id:7'], labels: [] };
    const oddFirst: ContactState = { keys: ['+0123456789', '+14155550104'], labels: [] };
    index.set('+14155550100', single);
    // +14155550102 first had a profile of its own, then was linked into `merged`.
    index.set('+14155550102', state('+14155550102', 2));
    for (const profile of [merged, emailFirst, oddFirst])
      for (const key of profile.keys) index.set(key, profile);
    const listed = [...index.profiles()];
    assert.equal(listed.length, 4);
    assert.deepEqual(new Set(listed), new Set([single, merged, emailFirst, oddFirst]));
  });

  it('spreads numbers over the whole table at every size (no half of a large table left unused)', () => {
    // A table for 40M keys has 2^27 slots; the first-choice slots of numbers must reach its upper half.
    const index = new KeyIndex(40_000_000);
    const slots = (index as unknown as { phoneSlots: Int32Array }).phoneSlots;
    const random = seededRandom(4);
    let upper = 0;
    for (let i = 0; i < 2000; i++) {
      index.set(`+1${2_000_000_000 + Math.floor(random() * 7_999_999_999)}`.slice(0, 12), state('x', i));
    }
    for (let slot = slots.length / 2; slot < slots.length; slot++) if (slots[slot] !== -1) upper++;
    assert.ok(upper > 800 && upper < 1200, `about half the keys land in the upper half (${upper} of 2000)`);
  });
});
