// A namespace whose extents are checked in blocks smaller than the default 256
// KiB (volumes use 4 KiB): damage is found and repaired block by block, and the
// block size holds across a restart and for extents learnt from the cloud.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { CacheCorruptionError } from '../../src/cache/errors.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { cacheFiles, flipByte, MiB, openEngine, pattern } from './helpers.ts';

describe('cache engine: a namespace with small checksum blocks', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  const dirs: string[] = [];
  const scratch = async () => {
    const d = await tempDir('block-size-');
    dirs.push(d);
    return d;
  };

  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('finds damage in the 4 KiB block that holds it, and serves the blocks around it', async () => {
    const dir = await scratch();
    const opened = await openEngine(dir, s3.settings);
    const small = opened.engine.namespace('small/', { blockSize: 4096 });
    const data = pattern('small', MiB);
    try {
      await small.write('small/dirty', 0, data);
      await small.sync(['small/dirty']);
      const [file] = await cacheFiles(dir);
      await flipByte(file!, 5 * 4096 + 7);
      // The default 256 KiB block would hold the damage for every read below.
      assert.ok((await small.read('small/dirty', 4 * 4096, 4096)).equals(data.subarray(4 * 4096, 5 * 4096)));
      assert.ok((await small.read('small/dirty', 6 * 4096, 4096)).equals(data.subarray(6 * 4096, 7 * 4096)));
      await assert.rejects(
        small.read('small/dirty', 5 * 4096, 16),
        (e: unknown) => e instanceof CacheCorruptionError && e.block === 5 && /bytes 20480/.test(e.message),
      );
      await flipByte(file!, 5 * 4096 + 7);
      // A write that covers blocks whole needs none of their old bytes.
      await small.write('small/dirty', 8 * 4096, pattern('over', 2 * 4096));
      await small.drain();
    } finally {
      await opened.close();
    }
    // After a restart, and in a new cache that learns the extent from the cloud, blocks stay 4 KiB.
    const again = await openEngine(dir, s3.settings);
    try {
      const store = again.engine.namespace('small/', { blockSize: 4096 });
      const expected = Buffer.from(data);
      pattern('over', 2 * 4096).copy(expected, 8 * 4096);
      assert.ok((await store.read('small/dirty', 0, MiB)).equals(expected));
      const [file] = await cacheFiles(dir);
      await flipByte(file!, 9 * 4096 + 1); // clean now: the block is fetched again from the cloud
      assert.ok((await store.read('small/dirty', 9 * 4096, 4096)).equals(expected.subarray(9 * 4096, 10 * 4096)));
    } finally {
      await again.close();
    }
    const fresh = await openEngine(await scratch(), s3.settings);
    try {
      const store = fresh.engine.namespace('small/', { blockSize: 4096 });
      assert.ok((await store.read('small/dirty', 12 * 4096, 4096)).equals(data.subarray(12 * 4096, 13 * 4096)));
    } finally {
      await fresh.close();
    }
  });

  it('refuses a block size that is not a power of two from 4 KiB to 256 KiB', async () => {
    const opened = await openEngine(await scratch(), s3.settings);
    try {
      assert.throws(() => opened.engine.namespace('odd/', { blockSize: 6000 }), /power of two from 4096 to 262144/);
      assert.throws(() => opened.engine.namespace('odd/', { blockSize: 1 << 20 }), /power of two/);
    } finally {
      await opened.close();
    }
  });
});
