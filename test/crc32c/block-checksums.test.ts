import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  blockAndRangeCrcs,
  blockAndRangeCrcsOffThread,
  blockCrcs,
  crc32cCombine,
  decodeCrcs,
  encodeCrcs,
  regroup,
} from '../../src/crc32c/block-checksums.ts';
import { crc32c } from '../../src/crc32c/crc32c.ts';

describe('CRC32C blocks', () => {
  it('combines the CRCs of two pieces into the CRC of both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const both = Buffer.concat([a, b]);
        assert.equal(crc32cCombine(crc32c(Buffer.from(a)), crc32c(Buffer.from(b)), b.length), crc32c(both) >>> 0);
      }),
    );
  });

  it('combines over long pieces as well', () => {
    const a = Buffer.alloc(300_001, 7);
    const b = Buffer.alloc(5 * 1024 * 1024 + 13, 0x5a);
    assert.equal(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(Buffer.concat([a, b])) >>> 0);
  });

  it('takes the CRCs of blocks and of ranges across them in one pass, as computing each afresh', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.nat(),
        fc.array(fc.nat({ max: 1200 }), { maxLength: 12 }),
        (bytes, blockSize, fromSeed, wanted) => {
          const data = Buffer.from(bytes);
          const from = data.length === 0 ? 0 : fromSeed % (data.length + 1);
          const lengths: number[] = [];
          let end = from;
          for (const l of wanted) {
            if (end + l > data.length) continue;
            lengths.push(l);
            end += l;
          }
          const { blocks, ranges } = blockAndRangeCrcs(data, blockSize, from, lengths);
          assert.deepEqual(
            blocks,
            blockCrcs(data, blockSize).map((c) => c >>> 0),
          );
          let at = from;
          assert.deepEqual(
            ranges,
            lengths.map((l) => crc32c(data.subarray(at, (at += l))) >>> 0),
          );
        },
      ),
    );
    assert.throws(() => blockAndRangeCrcs(Buffer.alloc(10), 4, 8, [3]), RangeError);
  });

  it("takes the same CRCs off the event loop's thread", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.array(fc.nat({ max: 1200 }), { maxLength: 12 }),
        async (bytes, blockSize, wanted) => {
          const data = Buffer.from(bytes);
          const lengths: number[] = [];
          let end = 0;
          for (const l of wanted) {
            if (end + l > data.length) continue;
            lengths.push(l);
            end += l;
          }
          assert.deepEqual(
            await blockAndRangeCrcsOffThread(data, blockSize, 0, lengths, async (slices) => slices.map((slice) => crc32c(slice))),
            blockAndRangeCrcs(data, blockSize, 0, lengths),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('regroups block CRCs into larger blocks exactly as computing them afresh', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 1, max: 8 }), (size, factor) => {
        const data = Buffer.alloc(size, 0);
        for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
        const known = { blockSize: 1000, crcs: blockCrcs(data, 1000) };
        assert.deepEqual(
          regroup(known, size, 1000 * factor),
          blockCrcs(data, 1000 * factor).map((c) => c >>> 0),
        );
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
