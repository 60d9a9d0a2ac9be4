import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  TreeHasher,
  alignedRanges,
  combineTreeHashes,
  isMegabyteAligned,
  isTreeHashAligned,
  isValidPartSize,
  partSizeAtLeast,
  treeHash,
} from '../../src/cloud/tree-hash.ts';

const MiB = 1024 * 1024;
const h = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest();
};

// The worked examples of AWS's "Computing Checksums" and "Receiving Checksums When
// Downloading Data": a 6.5 MB archive, its seven leaves H1..H7, H7 promoted a level.
describe('Glacier SHA-256 tree hash', () => {
  const archive = randomBytes(6.5 * MiB);
  const leaf = (i: number) => h(archive.subarray((i - 1) * MiB, i * MiB));
  const [H1, H2, H3, H4, H5, H6, H7] = [1, 2, 3, 4, 5, 6, 7].map(leaf) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const H12 = h(H1, H2);
  const H34 = h(H3, H4);
  const H56 = h(H5, H6);
  const H1234 = h(H12, H34);
  const H567 = h(H56, H7);
  const root = h(H1234, H567);

  it('example 1: an archive uploaded in one request', () => {
    assert.deepEqual(treeHash(archive), root);
  });

  it('example 2: the same archive from its parts (1, 2 and 4 MiB) has the same tree hash', () => {
    for (const partSize of [MiB, 2 * MiB, 4 * MiB]) {
      const parts: Buffer[] = [];
      for (let at = 0; at < archive.length; at += partSize) parts.push(treeHash(archive.subarray(at, at + partSize)));
      assert.deepEqual(combineTreeHashes(parts), root, `parts of ${partSize}`);
    }
    assert.deepEqual(treeHash(archive.subarray(0, 2 * MiB)), H12);
    assert.deepEqual(treeHash(archive.subarray(4 * MiB)), H567);
  });

  it('is the plain SHA-256 of data of 1 MiB or less, the empty payload included', () => {
    assert.equal(treeHash(Buffer.alloc(0)).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.deepEqual(
      treeHash(Buffer.from('Nobody inspects the spammish repetition')),
      h(Buffer.from('Nobody inspects the spammish repetition')),
    );
    assert.deepEqual(treeHash(archive.subarray(0, MiB)), H1);
    assert.deepEqual(treeHash(archive.subarray(0, MiB + 1)), h(H1, h(archive.subarray(MiB, MiB + 1))));
  });

  it('gives the same hash however the stream is sliced', () => {
    const hasher = new TreeHasher();
    for (let at = 0; at < archive.length;) {
      const n = 1 + Math.floor(Math.random() * 700_000);
      hasher.update(archive.subarray(at, at + n));
      at += n;
    }
    assert.equal(hasher.length, archive.length);
    assert.deepEqual(hasher.digest(), root);
  });

  it('tells the tree-hash-aligned ranges of the 6.5 MB example, whose hashes are nodes of its tree', () => {
    const size = archive.length;
    const nodes: [number, number, Buffer][] = [
      [0, 2 * MiB, H12],
      [2 * MiB, 4 * MiB, H34],
      [4 * MiB, 6 * MiB, H56],
      [4 * MiB, size, H567],
      [6 * MiB, size, H7],
      [0, 4 * MiB, H1234],
      [0, size, root],
      [3 * MiB, 4 * MiB, H4],
    ];
    for (const [start, end, node] of nodes) {
      assert.ok(isTreeHashAligned(start, end, size), `${start}-${end}`);
      assert.deepEqual(treeHash(archive.subarray(start, end)), node);
    }
    for (const [start, end] of [
      [MiB, 3 * MiB],
      [0, 3 * MiB],
      [2 * MiB, 6 * MiB],
      [0, 6 * MiB],
      [2 * MiB, size],
      [5 * MiB, size],
      [1, MiB],
      [0, MiB - 1],
      [0, 0],
    ]) {
      assert.ok(!isTreeHashAligned(start!, end!, size), `${start}-${end}`);
    }
    assert.ok(isMegabyteAligned(MiB, 3 * MiB, size));
    assert.ok(isMegabyteAligned(5 * MiB, size, size));
    assert.ok(!isMegabyteAligned(MiB, 3 * MiB - 1, size));
    assert.ok(!isMegabyteAligned(MiB + 1, 3 * MiB, size));
    assert.ok(!isMegabyteAligned(0, size + 1, size));
  });

  it('cuts downloads into aligned ranges and knows the part sizes Glacier accepts', () => {
    const ranges = [...alignedRanges(archive.length, 2 * MiB)];
    assert.deepEqual(
      ranges.map((r) => r.start),
      [0, 2 * MiB, 4 * MiB, 6 * MiB],
    );
    assert.equal(ranges.at(-1)!.end, archive.length);
    assert.ok(ranges.every((r) => isTreeHashAligned(r.start, r.end, archive.length)));
    assert.throws(() => [...alignedRanges(10, 3 * MiB)], RangeError);
    assert.ok(isValidPartSize(MiB) && isValidPartSize(4096 * MiB) && isValidPartSize(64 * MiB));
    assert.ok(!isValidPartSize(MiB / 2) && !isValidPartSize(3 * MiB) && !isValidPartSize(8192 * MiB) && !isValidPartSize(NaN));
    assert.equal(partSizeAtLeast(1), MiB);
    assert.equal(partSizeAtLeast(5 * MiB), 8 * MiB);
    assert.equal(partSizeAtLeast(4096 * MiB + 1), undefined);
  });
});
