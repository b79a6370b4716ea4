import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { seededRandom } from '../bench/harness';
import { crc32Portable } from '../lib/registries/crc32';

describe('CRC-32 on runtimes without zlib.crc32 (Node 18, 20 before 20.15)', () => {
  it('gives the standard check value and the same answers as zlib, in one piece or running', () => {
    assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32Portable(new Uint8Array(0)), 0);
    const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
    const random = seededRandom(3);
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(
        Array.from({ length: Math.floor(random() * 3000) }, () => Math.floor(random() * 256)),
      );
      const cut = Math.floor(random() * data.length);
      const running = crc32Portable(data.subarray(cut), crc32Portable(data.subarray(0, cut)));
      assert.equal(running, crc32Portable(data), 'a running CRC over two pieces equals the whole');
      if (native) assert.equal(crc32Portable(data), native(data) >>> 0);
    }
  });
});
