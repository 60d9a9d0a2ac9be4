// Cached volumes on a real engine over s3rver: chunks as objects, thin
// provisioning, durability across a restart with the cache wiped, the cache
// hit percent of the volume's reads.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { pattern } from '../cache/helpers.ts';
import { must } from '../../src/must.ts';
import { CountingPool } from '../helpers/counting-pool.ts';
import { GiB, MiB, openVolumes } from './helpers.ts';

describe('cached volumes', function () {
  this.timeout(120_000);
  let s3: S3Fixture;
  const dirs: string[] = [];
  const scratch = async () => {
    const d = await tempDir('volumes-');
    dirs.push(d);
    return d;
  };
  const bucketKeys = async (prefix: string) => {
    const out = await s3.raw.send(new ListObjectsV2Command({ Bucket: s3.settings.bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  };

  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('stores only written chunks, reads unwritten ones as zeros, and reads everything back after the cache is wiped', async () => {
    const dir = await scratch();
    const v = await openVolumes(dir, s3.settings);
    const info = await v.service.createVolume({ name: 'db', type: 'cached', sizeBytes: 4 * GiB, blockSize: 4096 });
    assert.equal(info.status, 'AVAILABLE');
    assert.equal(info.usedBytes, 0);
    assert.equal(info.cacheHitPercent, undefined, 'no read yet');
    const disk = v.exposure.device('db');
    assert.equal(disk.size, 4 * GiB);
    assert.equal(disk.blockSize, 4096);
    // Writes within a chunk, across a chunk boundary, and far out.
    const a = pattern('a', 8192);
    const b = pattern('b', 3 * MiB);
    const c = pattern('c', 4096);
    await disk.write(4096, a);
    await disk.write(5 * MiB - 4096, b);
    await disk.write(4 * GiB - 4096, c);
    await disk.flush();
    assert.ok((await disk.read(4096, 8192)).equals(a));
    assert.ok((await disk.read(5 * MiB - 4096, 3 * MiB)).equals(b));
    assert.ok((await disk.read(2 * GiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024)), 'never written: zeros');
    const described = await v.service.describeVolume('db');
    assert.equal(described.usedBytes, 6 * MiB, 'chunks 0, 4, 5, 6, 7 and the last hold data');
    assert.equal(described.cacheHitPercent, 100, 'what was written is read from the cache (unmapped chunks are no reads of the cache)');
    await v.engine.namespace('volumes/').drain();
    const keys = await bucketKeys(`volumes/${info.id}/chunks/`);
    assert.equal(keys.length, 6, `one object per written chunk: ${keys.join(', ')}`);
    await v.close();

    // A new cache directory, the same catalog: every chunk comes back from the bucket.
    await rm(`${dir}/cache`, { recursive: true, force: true });
    const again = await openVolumes(dir, s3.settings);
    try {
      const disk2 = again.exposure.device('db');
      assert.ok((await disk2.read(4096, 8192)).equals(a));
      assert.equal((await again.service.describeVolume('db')).cacheHitPercent, 0, 'the first read after the wipe comes from the bucket');
      assert.ok((await disk2.read(4096, 8192)).equals(a));
      assert.equal((await again.service.describeVolume('db')).cacheHitPercent, 50, 'and the second from the cache');
      assert.ok((await disk2.read(5 * MiB - 4096, 3 * MiB)).equals(b));
      assert.ok((await disk2.read(4 * GiB - 4096, 4096)).equals(c));
    } finally {
      await again.close();
    }
  });

  it("lends its reads' buffers from the gateway's pool: a held read keeps its bytes while the blocks are rewritten, and every buffer comes back", async () => {
    const pool = new CountingPool();
    const v = await openVolumes(await scratch(), s3.settings, { engine: { readBuffers: pool }, service: { readBuffers: pool } });
    try {
      await v.service.createVolume({ name: 'lend', type: 'cached', sizeBytes: GiB });
      const disk = v.exposure.device('lend');
      const lend = (offset: number, length: number) => must(disk.readLent?.(offset, length), 'a cached volume lends its reads');
      const old = pattern('old', 4 * MiB);
      await disk.write(0, old);
      await disk.flush();
      // Within one chunk (the engine's buffer), across two (the volume's), and of a chunk never written (zeros, nothing lent).
      const reads = await Promise.all([lend(0, MiB), lend(MiB / 2, MiB), lend(8 * MiB, MiB)]);
      const taken = pool.taken;
      assert.ok(pool.out >= 2, `the mapped reads hold buffers of the pool (${pool.out} out)`);
      const fresh = pattern('new', 4 * MiB);
      await disk.write(0, fresh);
      assert.ok(must(reads[0], `read 0`).data.equals(old.subarray(0, MiB)));
      assert.ok(must(reads[1], `read 1`).data.equals(old.subarray(MiB / 2, MiB / 2 + MiB)));
      assert.ok(must(reads[2], `read 2`).data.equals(Buffer.alloc(MiB)));
      reads.forEach((read) => read.release());
      assert.equal(pool.out, 0, 'every buffer came back');
      const again = await lend(MiB / 2, MiB);
      assert.ok(again.data.equals(fresh.subarray(MiB / 2, MiB / 2 + MiB)));
      again.release();
      assert.ok(pool.taken > taken);
      assert.equal(pool.out, 0);
    } finally {
      await v.close();
    }
  });

  it('reads ahead of a sequential reader once per chunk: a warm volume is not read again and again from the cache', async () => {
    const v = await openVolumes(await scratch(), s3.settings);
    try {
      await v.service.createVolume({ name: 'seq', type: 'cached', sizeBytes: GiB });
      const disk = v.exposure.device('seq');
      const chunks = 16;
      const data = pattern('seq', chunks * MiB);
      await disk.write(0, data);
      await disk.flush();
      const read = 256 * 1024;
      const before = v.engine.stats();
      for (let at = 0; at < data.length; at += read) {
        assert.ok((await disk.read(at, read)).equals(data.subarray(at, at + read)), `bytes at ${at}`);
      }
      const after = v.engine.stats();
      assert.equal(after.misses, before.misses, 'every chunk is in the cache');
      const reads = data.length / read;
      // Each read, and at most one whole-chunk read-ahead per chunk (chunks past the data are unmapped: nothing to read).
      assert.ok(
        after.hits - before.hits <= reads + chunks,
        `${after.hits - before.hits} reads of the cache for ${reads} reads of the volume over ${chunks} chunks`,
      );
    } finally {
      await v.close();
    }
  });

  it('reports unmapped chunks and zeroed blocks as deallocated, and UNMAP of a whole chunk deletes its object', async () => {
    const v = await openVolumes(await scratch(), s3.settings);
    try {
      const info = await v.service.createVolume({ name: 'thin', type: 'cached', sizeBytes: GiB });
      const disk = v.exposure.device('thin');
      await disk.write(0, pattern('x', 2 * MiB));
      let runs = await disk.provisioning(0, 4 * MiB);
      assert.deepEqual(
        runs.map((r) => [r.offset, r.length, r.mapped]),
        [
          [0, 2 * MiB, true],
          [2 * MiB, 2 * MiB, false],
        ],
      );
      await disk.discard(MiB, MiB); // chunk 1 whole
      await disk.discard(4096, 512); // a block within chunk 0
      runs = await disk.provisioning(0, 2 * MiB);
      assert.deepEqual(
        runs.map((r) => [r.offset, r.length, r.mapped]),
        [
          [0, 4096, true],
          [4096, 512, false],
          [4608, MiB - 4608, true],
          [MiB, MiB, false],
        ],
      );
      assert.ok((await disk.read(MiB, MiB)).equals(Buffer.alloc(MiB)));
      await disk.flush();
      await v.engine.namespace('volumes/').drain();
      assert.equal((await bucketKeys(`volumes/${info.id}/chunks/`)).length, 1, 'only chunk 0 keeps an object');
      assert.equal((await v.service.describeVolume('thin')).usedBytes, MiB);
    } finally {
      await v.close();
    }
  });
});
