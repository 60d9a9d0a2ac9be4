import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockCrcs, crc32c, crc32cCombine, decodeCrcs, encodeCrcs, regroup } from '../../src/cloud/checksum.ts';

describe('CRC32C blocks', () => {
  it('combines the CRCs of two pieces into the CRC of both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const both = Buffer.concat([a, b]);
        assert.equal(crc32cCombine(crc32c(Buffer.from(a)), crc32c(Buffer.from(b)), b.length), crc32c(both) >>> 0);
      }),
    );
  });

  it('regroups block CRCs into larger blocks exactly as computing them afresh', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 1, max: 8 }), (size, factor) => {
        const data = Buffer.alloc(size, 0);
        for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
        const known = { blockSize: 1000, crcs: blockCrcs(data, 1000) };
        assert.deepEqual(regroup(known, size, 1000 * factor), blockCrcs(data, 1000 * factor).map((c) => c >>> 0));
        assert.equal(regroup(known, size, 1500), undefined, 'not a multiple');
      }),
    );
  });

  it('encodes CRC lists for metadata and back', () => {
    const crcs = [0, 1, 0xffffffff, 0x82f63b78];
    assert.deepEqual(decodeCrcs(encodeCrcs(crcs)), crcs);
    assert.throws(() => decodeCrcs('AAA'), /whole number/);
  });
});
