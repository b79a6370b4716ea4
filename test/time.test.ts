import assert from 'node:assert/strict';
import { isoTime } from '../lib/time';
import { seededRandom } from '../bench/harness';

describe('isoTime', () => {
  it('renders exactly what Date#toISOString renders, across years, leap days and the edges', () => {
    const edges = [
      0,
      -1,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 2, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(0, 0, 1) - 1,
      -62_167_219_200_000,
      253_402_300_800_000,
      8.64e15,
    ];
    for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    const random = seededRandom(5);
    for (let i = 0; i < 200_000; i++) {
      const ms = Math.floor((random() - 0.3) * 2 ** 45);
      assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    }
  });
});
