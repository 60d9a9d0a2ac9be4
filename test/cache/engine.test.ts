import assert from 'node:assert/strict';
import { open, readdir, readlink, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { CacheCorruptionError, DamagedDataError, ExtentNotFoundError } from '../../src/cache/errors.ts';
import { extentPath } from '../../src/cache/extent.ts';
import { flipStoredByte, startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { cacheFiles, countingGets, flipByte, MiB, metric, openEngine, pattern } from './helpers.ts';

// The bucket of the suite running, a store that reads it directly, and scratch directories.
let s3: S3Fixture;
let direct: ObjectStore;
const dirs: string[] = [];
const scratch = async () => {
  const d = await tempDir('engine-');
  dirs.push(d);
  return d;
};

/** Gives the suite its bucket from `bucket`, and removes its scratch directories after it. */
function useBucket(bucket: () => Promise<S3Fixture>): void {
  before(async () => {
    s3 = await bucket();
    direct = new ObjectStore(s3.settings);
  });
  after(async () => {
    direct.close();
    await s3.close();
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
}

/** The files under the engine's cache folder in `dir` this process holds open. */
async function cacheFilesOpen(dir: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  // Not the spare empty files, which are kept open until taken.
  return targets.filter((t) => t.startsWith(join(dir, 'cache')) && !t.startsWith(join(dir, 'cache', 'spare')));
}

describe('@slow cache engine against s3rver', function () {
  this.timeout(60_000);
  useBucket(() => startS3());

  it('writes a fresh extent without asking the cloud, so a new tape segment is written while S3 is unreachable', async () => {
    // Nothing listens on port 9: every request to this "cloud" fails at once.
    const unreachable = { ...s3.settings, endpoint: 'http://127.0.0.1:9', retry: { maxAttempts: 1 } };
    const opened = await openEngine(await scratch(), unreachable);
    try {
      const data = pattern('fresh', 3 * MiB);
      await opened.store.writev('tape/seg-1', 0, [data], { fresh: true });
      assert.ok((await opened.store.read('tape/seg-1', 0, data.length)).equals(data));
      await assert.rejects(opened.store.write('tape/seg-2', 0, data), 'without fresh, a key unknown here is first looked up in the cloud');
    } finally {
      await opened.close();
    }
  });

  it('keeps appends, overwrites, gaps and truncation exact, across upload and reopen', async () => {
    const dir = await scratch();
    const settings = { ...s3.settings, prefix: 'model/' };
    let opened = await openEngine(dir, settings);
    const key = 'vol/v2/chunk-1';
    let model = Buffer.alloc(0);
    const apply = async (offset: number, data: Buffer) => {
      // In uneven pieces, so that blocks are checksummed across their boundaries.
      const cuts = [Math.floor(data.length / 3), Math.floor((data.length * 3) / 4)];
      const pieces = [data.subarray(0, cuts[0]), data.subarray(cuts[0], cuts[1]), data.subarray(cuts[1])];
      assert.deepEqual(
        await opened.store.writev(key, offset, pieces),
        pieces.map((p) => crc32c(p) >>> 0),
        'the CRC of each piece',
      );
      const end = Math.max(model.length, offset + data.length);
      const next = Buffer.alloc(end);
      model.copy(next);
      data.copy(next, offset);
      model = next;
    };
    await apply(0, pattern('a', 100_000));
    await apply(100_000, pattern('b', 300_000)); // append across a block boundary
    await apply(5, pattern('c', 10)); // small overwrite inside a block
    await apply(1_000_000, pattern('d', 70_000)); // a gap that reads as zeros
    await apply(262_100, pattern('e', 600_000)); // overwrite spanning blocks and growing past the gap
    assert.ok((await opened.store.read(key, 0, model.length)).equals(model));
    await opened.store.truncate(key, 500_001);
    model = model.subarray(0, 500_001);
    await apply(500_001, pattern('f', 7));
    assert.ok((await opened.store.read(key, 0, model.length)).equals(model));
    await opened.store.drain();
    assert.ok((await direct.get(`model/${key}`)).data.equals(model));
    await apply(3, pattern('g', 4));
    await opened.store.sync([key]);
    await opened.close();

    opened = await openEngine(dir, settings);
    try {
      assert.ok((await opened.store.read(key, 0, model.length)).equals(model), 'synced writes survive a reopen');
      await opened.store.drain();
      assert.ok((await direct.get(`model/${key}`)).data.equals(model), 'and are uploaded after it');
    } finally {
      await opened.close();
    }
  });

  it("keeps a key's writes in the order called: a small write made at once never overtakes one still waiting for its turn", async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'order/' });
    try {
      const { store } = opened;
      await store.write('order', 0, Buffer.alloc(4096, 1)); // the extent known, its file open
      // Not of whole pages: this one takes the queued path (admission, then the extent's lock)...
      const first = store.write('order', 100, Buffer.alloc(50, 2));
      // ...while this one, a whole block of whole pages, could be made at once.
      const second = store.write('order', 0, Buffer.alloc(4096, 3));
      await Promise.all([first, second]);
      assert.ok((await store.read('order', 0, 4096)).equals(Buffer.alloc(4096, 3)), 'the later write is over the earlier one');
    } finally {
      await opened.close();
    }
  });

  it('keeps a few extent files open, lets go of one on delete, and never serves a remembered block after a write over it', async () => {
    const dir = await scratch();
    const opened = await openEngine(dir, { ...s3.settings, prefix: 'open-files/' });
    const openCacheFiles = () => cacheFilesOpen(dir);
    try {
      const data = pattern('kept', MiB);
      await opened.store.write('kept', 0, data);
      const KiB = 1024;
      assert.ok((await opened.store.read('kept', 0, 64 * KiB)).equals(data.subarray(0, 64 * KiB)));
      const held = await opened.store.read('kept', 64 * KiB, 64 * KiB);
      const patch = pattern('patch', 100 * KiB);
      await opened.store.write('kept', 100 * KiB, patch);
      data.set(patch, 100 * KiB);
      assert.ok(
        (await opened.store.read('kept', 64 * KiB, 128 * KiB)).equals(data.subarray(64 * KiB, 192 * KiB)),
        'the bytes written, not the block read before',
      );
      assert.ok(held.equals(pattern('kept', MiB).subarray(64 * KiB, 128 * KiB)), 'a buffer already returned keeps its bytes');
      await opened.store.truncate('kept', 200 * KiB);
      await opened.store.write('kept', 200 * KiB, Buffer.alloc(10, 7));
      assert.ok(
        (await opened.store.read('kept', 192 * KiB, 8 * KiB + 10)).equals(
          Buffer.concat([data.subarray(192 * KiB, 200 * KiB), Buffer.alloc(10, 7)]),
        ),
      );

      for (let i = 0; i < 40; i++) await opened.store.write(`many-${i}`, 0, Buffer.alloc(100, i));
      for (let i = 0; i < 40; i++) assert.ok((await opened.store.read(`many-${i}`, 0, 100)).equals(Buffer.alloc(100, i)));
      assert.ok((await openCacheFiles()).length <= 16, 'open extent files are bounded');

      await opened.store.read('kept', 0, 10);
      assert.ok((await openCacheFiles()).some((t) => !t.endsWith('(deleted)')));
      for (let i = 0; i < 40; i++) await opened.store.delete(`many-${i}`);
      await opened.store.delete('kept');
      assert.deepEqual(await openCacheFiles(), [], 'no deleted extent file is held open');
    } finally {
      await opened.close();
    }
  });

  it("makes a fresh key's small first write at once, bounds the new files held open, lets go of each at its sync, and keeps them through a reopen", async () => {
    const dir = await scratch();
    let opened = await openEngine(dir, { ...s3.settings, prefix: 'new-files/' });
    const openCacheFiles = () => cacheFilesOpen(dir);
    const KiB = 1024;
    try {
      for (let i = 0; i < 40; i++) await opened.store.write(`new-${i}`, 0, pattern(`new-${i}`, 4 * KiB), { fresh: true });
      // Not of whole pages: an empty file has no page to read first, so it is made at once too; the rest goes through the pool.
      await opened.store.write('odd', 0, pattern('odd', 1000), { fresh: true });
      await opened.store.write('odd', 1000, pattern('more', 3000));
      const odd = Buffer.concat([pattern('odd', 1000), pattern('more', 3000)]);
      assert.ok((await opened.store.read('odd', 0, 4000)).equals(odd));
      assert.ok((await openCacheFiles()).length <= 32, 'new files held open are bounded, beside the extent files kept open');
      // A second small write to a new file, through the descriptor its first one left open.
      await opened.store.write('new-39', 4 * KiB, pattern('more', 4 * KiB));
      for (let i = 0; i < 39; i++) assert.ok((await opened.store.read(`new-${i}`, 0, 4 * KiB)).equals(pattern(`new-${i}`, 4 * KiB)));
      assert.ok(
        (await opened.store.read('new-39', 0, 8 * KiB)).equals(Buffer.concat([pattern('new-39', 4 * KiB), pattern('more', 4 * KiB)])),
      );
      await opened.store.sync([...Array.from({ length: 40 }, (_, i) => `new-${i}`), 'odd']);
      assert.ok((await openCacheFiles()).length <= 16, 'each new file is let go of at its sync');
      await opened.store.write('deleted', 0, pattern('deleted', 4 * KiB), { fresh: true });
      await opened.store.delete('deleted');
      assert.ok(!(await openCacheFiles()).some((t) => t.endsWith('(deleted)')), 'a new file deleted before its sync is not held open');
      await opened.close();
      opened = await openEngine(dir, { ...s3.settings, prefix: 'new-files/' });
      for (let i = 0; i < 39; i++) assert.ok((await opened.store.read(`new-${i}`, 0, 4 * KiB)).equals(pattern(`new-${i}`, 4 * KiB)));
      assert.equal(await opened.store.size('new-39'), 8 * KiB);
      assert.ok((await opened.store.read('odd', 0, 4000)).equals(odd), 'a first write not of whole pages survives the reopen');
    } finally {
      await opened.close();
    }
  });

  it('refetches a clean block damaged on the cache disk, and refuses a damaged dirty one', async () => {
    const dir = await scratch();
    const opened = await openEngine(dir, { ...s3.settings, prefix: 'rot/' });
    try {
      const clean = pattern('clean', 3 * MiB);
      await opened.store.write('clean', 0, clean);
      await opened.store.drain();
      const [file] = await cacheFiles(dir);
      await flipByte(file!, MiB + 10);
      // A megabyte read on the calling thread (the share's read-ahead) is checked as one on the pool is.
      const inline = await opened.store.readv('clean', MiB, [MiB], undefined, undefined, { onThisThread: true });
      assert.ok(inline.data.equals(clean.subarray(MiB, 2 * MiB)), 'served from the cloud copy');
      inline.release();
      await flipByte(file!, MiB + 20);
      assert.ok((await opened.store.read('clean', MiB, 100)).equals(clean.subarray(MiB, MiB + 100)), 'served from the cloud copy');
      assert.ok((await opened.store.read('clean', 0, clean.length)).equals(clean));

      await opened.store.write('dirty', 0, pattern('dirty', MiB));
      const dirtyFile = (await cacheFiles(dir)).find((f) => f !== file)!;
      await flipByte(dirtyFile, 5);
      await assert.rejects(opened.store.readv('dirty', 0, [MiB], undefined, undefined, { onThisThread: true }), CacheCorruptionError);
      await assert.rejects(opened.store.read('dirty', 0, 10), CacheCorruptionError);
    } finally {
      await opened.store.delete('dirty');
      await opened.close();
    }
  });

  it('reads and checks, for a write inside an extent, only the blocks the write covers in part, not those after it', async () => {
    const dir = await scratch();
    const opened = await openEngine(dir, { ...s3.settings, prefix: 'inside/' });
    try {
      const key = 'vol/v3/chunk-0';
      const model = pattern(key, 4 * MiB);
      await opened.store.write(key, 0, model);
      // Damage far after the write: a write that read the rest of the extent would trip over it.
      const h = await open(extentPath(join(dir, 'cache'), key), 'r+');
      await h.write(Buffer.from([model[3 * MiB + 10]! ^ 1]), 0, 1, 3 * MiB + 10);
      await h.close();
      const data = pattern(key, 300_000, 1);
      assert.deepEqual(await opened.store.writev(key, 100, [data.subarray(0, 7), data.subarray(7)]), [
        crc32c(data.subarray(0, 7)),
        crc32c(data.subarray(7)),
      ]);
      data.copy(model, 100);
      assert.ok((await opened.store.read(key, 0, 2 * MiB)).equals(model.subarray(0, 2 * MiB)));
      await assert.rejects(opened.store.read(key, 3 * MiB, 100), CacheCorruptionError, 'the damage is still found by a read');
    } finally {
      await opened.close();
    }
  });

  it('in a small cache: stays under its limit, slows a writer that outruns the uploader, then evicts and refetches', async function () {
    const dir = await scratch();
    const cacheBytes = 8 * MiB;
    const opened = await openEngine(
      dir,
      { ...s3.settings, prefix: 'small/' },
      {
        cacheBytes,
        uploadBufferBytes: 3 * MiB,
        uploadConcurrency: 2,
        // 64 Mbit/s: slower than the disk, so the writer outruns the uploader.
        bandwidth: { defaultUploadBitsPerSecond: 64_000_000 },
      },
    );
    const { engine, store } = opened;
    const keys = Array.from({ length: 16 }, (_, i) => `vol/small/chunk-${i}`);
    let waitedForUpload = 0;
    try {
      for (const key of keys) {
        const data = pattern(key, MiB);
        for (let at = 0; at < MiB; at += 256 * 1024) {
          const full = engine.stats().dirtyBytes >= 3 * MiB;
          const uploadedBefore = await metric(engine, 'CloudBytesUploaded');
          await store.write(key, at, data.subarray(at, at + 256 * 1024));
          if (full && (await metric(engine, 'CloudBytesUploaded')) > uploadedBefore) waitedForUpload++;
          assert.ok(engine.stats().usedBytes <= cacheBytes, 'usage within the limit');
          assert.ok((await metric(engine, 'CachePercentUsed')) <= 100);
        }
      }
      assert.ok(waitedForUpload > 0, 'writes that met a full upload buffer resumed only after uploads made room');
      await store.drain();
      let onDisk = 0;
      for (const sub of await readdir(join(dir, 'cache'))) {
        for (const f of await readdir(join(dir, 'cache', sub))) onDisk += (await stat(join(dir, 'cache', sub, f))).blocks * 512;
      }
      assert.ok(onDisk <= cacheBytes, `cache files take ${onDisk} bytes on disk`);
      const downloaded = await metric(engine, 'CloudBytesDownloaded');
      for (const key of keys) assert.ok((await store.read(key, 0, MiB)).equals(pattern(key, MiB)), key);
      assert.ok((await metric(engine, 'CloudBytesDownloaded')) - downloaded >= 8 * MiB, 'evicted extents came back from the cloud');
      assert.ok(engine.stats().usedBytes <= cacheBytes);
      assert.equal(await metric(engine, 'CachePercentDirty'), 0);
    } finally {
      await opened.close();
    }
  });

  it('uploads from the cache file a piece at a time: never holds an extent in memory, in one PUT or in parts', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settings = { ...s3.settings, prefix: 'stream/', multipartThreshold: 16 * MiB, minPartSize: 5 * MiB, partConcurrency: 2 };
    // Paced, so that uploads last seconds and whatever they hold is seen while they hold it.
    const opened = await openEngine(await scratch(), settings, { bandwidth: { defaultUploadBitsPerSecond: 128_000_000 } });
    const sizes = { 'tape/S/single': 12 * MiB, 'tape/S/parts': 24 * MiB };
    try {
      for (const [key, size] of Object.entries(sizes)) await opened.store.write(key, 0, pattern(key, size));
      // Buffers are freed a little after the collection that finds them dead.
      for (let i = 0; i < 3; i++, await sleep(20)) gc();
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sampler = setInterval(() => {
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }, 20);
      await opened.store.drain().finally(() => clearInterval(sampler));
      // Less than the smaller extent: copying either whole (as uploads once did, 22 MiB here) fails; the
      // margin is for what the rest of a full test run allocates meanwhile.
      assert.ok(peak - before < sizes['tape/S/single'], `${((peak - before) / MiB).toFixed(1)} MiB held while uploading 36 MiB`);
      for (const [key, size] of Object.entries(sizes)) assert.ok((await direct.get(`stream/${key}`)).data.equals(pattern(key, size)), key);
    } finally {
      await opened.close();
    }
  });

  it('uploads what an extent holds after a write over bytes an upload was still to send', async () => {
    const settings = { ...s3.settings, prefix: 'race/' };
    // Not yielding to the write below: the upload must be under way when it comes.
    const opened = await openEngine(await scratch(), settings, { bandwidth: { defaultUploadBitsPerSecond: 64_000_000 }, uploadQuietMs: 0 });
    const key = 'vol/race/chunk-0';
    const want = Buffer.concat([pattern(key, 7 * MiB), pattern(key, MiB, 1)]);
    try {
      await opened.store.write(key, 0, pattern(key, 8 * MiB));
      await opened.store.sync([key]); // the upload starts, paced over a second
      await sleep(100);
      await opened.store.write(key, 7 * MiB, want.subarray(7 * MiB));
      await opened.store.drain([key]);
      assert.ok((await direct.get(`race/${key}`)).data.equals(want));
    } finally {
      await opened.close();
    }
  });

  it('gives the CRC32C of each range readv reads, from cached blocks and from the cloud alike', async () => {
    const settings = { ...s3.settings, prefix: 'readv/' };
    const key = 'tape/R/seg';
    const data = pattern(key, 3 * MiB);
    const lengths = [100_000, 262_144, 0, 700_001, 5, 0];
    const offset = 12_345;
    const check = async (opened: Awaited<ReturnType<typeof openEngine>>) => {
      const got = await opened.store.readv(key, offset, lengths);
      let at = offset;
      assert.ok(got.data.equals(data.subarray(offset, offset + 1_062_150)));
      assert.deepEqual(
        got.crcs,
        lengths.map((l) => crc32c(data.subarray(at, (at += l))) >>> 0),
      );
    };
    const writer = await openEngine(await scratch(), settings);
    try {
      await writer.store.write(key, 0, data);
      await check(writer);
      await writer.store.drain();
    } finally {
      await writer.close();
    }
    const reader = await openEngine(await scratch(), settings);
    try {
      await check(reader); // fetched
      await check(reader); // cached
      assert.deepEqual(reader.engine.stats().hits, 1);
    } finally {
      await reader.close();
    }
  });

  it('writes pieces across several blocks, the first and last in part, with the right CRCs for pieces, blocks and readv ranges, after a reopen too', async () => {
    const dir = await scratch();
    const settings = { ...s3.settings, prefix: 'pieces/' };
    const key = 'tape/P/seg';
    let opened = await openEngine(dir, settings);
    let model = Buffer.alloc(0);
    const writes: { offset: number; lengths: number[] }[] = [];
    const writev = async (offset: number, lengths: number[], salt: number) => {
      let at = 0;
      const data = pattern(
        key,
        lengths.reduce((a, b) => a + b),
        salt,
      );
      const pieces = lengths.map((l) => data.subarray(at, (at += l)));
      assert.deepEqual(
        await opened.store.writev(key, offset, pieces),
        pieces.map((p) => crc32c(p)),
        `the pieces' CRCs of the write at ${offset}`,
      );
      const next = Buffer.alloc(Math.max(model.length, offset + data.length));
      model.copy(next);
      data.copy(next, offset);
      model = next;
      writes.push({ offset, lengths });
    };
    const check = async (when: string) => {
      assert.ok((await opened.store.read(key, 0, model.length)).equals(model), `the bytes, ${when}`);
      // Each write's pieces read back as ranges, and the whole extent in ranges that cut blocks at other places.
      for (const { offset, lengths } of [...writes, { offset: 1, lengths: [262_140, 9, 524_288, 1_000_003, model.length - 1_786_441] }]) {
        const got = await opened.store.readv(key, offset, lengths);
        let at = offset;
        const want = lengths.map((l) => model.subarray(at, (at += l)));
        assert.ok(got.data.equals(model.subarray(offset, at)), `readv's bytes at ${offset}, ${when}`);
        assert.deepEqual(
          got.crcs,
          want.map((w) => crc32c(w)),
          `readv's CRCs at ${offset}, ${when}`,
        );
        got.release();
      }
    };
    try {
      // Large writes (their checksums taken on libuv's pool) and a small one (on this thread), 256 KiB blocks:
      await writev(0, [2 * MiB + 1000], 0); // eight whole blocks and a partial last one
      await writev(100_003, [5, 262_144, 1, 0, 300_000, 140_000, 77], 1); // inside: blocks 0 and 3 in part, pieces across 1 and 2
      await writev(2 * MiB + 1000, [10_000, 500_000, 3], 2); // an append to the partial last block, past two more boundaries
      await writev(3 * 262_144 - 50, [20, 60, 1000], 3); // small, across a boundary
      await writev(model.length + 5000, [262_145, 7], 4); // after a gap: the gap's block in part, then a partial last block
      await check('after the writes');
      await opened.store.sync([key]);
      await opened.close();
      opened = await openEngine(dir, settings);
      await check('after a reopen');
    } finally {
      await opened.close();
    }
  });

  it('reads a large range from the cache into a buffer it reuses only once the reader has released it', async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'reuse/' });
    try {
      const key = 'tape/R/seg';
      const data = pattern(key, 8 * MiB);
      await opened.store.write(key, 0, data);
      const lengths = [MiB, 2 * MiB + 7];
      const first = await opened.store.readv(key, 100, lengths);
      const held = await opened.store.readv(key, 200, lengths);
      assert.notEqual(held.data.buffer, first.data.buffer, 'a buffer not released is not lent again');
      first.release();
      first.release(); // a second release changes nothing
      const second = await opened.store.readv(key, 300, lengths);
      const third = await opened.store.readv(key, 400, lengths);
      assert.equal(second.data.buffer, first.data.buffer, 'the released buffer serves the next read');
      assert.notEqual(third.data.buffer, second.data.buffer);
      assert.ok(held.data.equals(data.subarray(200, 200 + 3 * MiB + 7)), 'a held result keeps its bytes while other reads go on');
      assert.ok(second.data.equals(data.subarray(300, 300 + 3 * MiB + 7)));
      assert.ok(third.data.equals(data.subarray(400, 400 + 3 * MiB + 7)));
    } finally {
      await opened.close();
    }
  });

  it('reads ahead for a sequential reader', async () => {
    const settings = { ...s3.settings, prefix: 'ahead/' };
    const size = 12 * MiB;
    const data = pattern('seq', size);
    const writer = await openEngine(await scratch(), settings);
    await writer.store.write('tape/seq', 0, data);
    await writer.store.drain();
    await writer.close();
    const reader = await openEngine(await scratch(), settings);
    try {
      const record = 64 * 1024;
      for (let at = 0; at < size; at += record)
        assert.ok((await reader.store.read('tape/seq', at, record)).equals(data.subarray(at, at + record)));
      const { hits, misses } = reader.engine.stats();
      assert.equal(hits + misses, size / record);
      assert.ok(misses <= 8, `${misses} of ${size / record} reads went to the cloud`);
      assert.ok((await metric(reader.engine, 'CacheHitPercent')) > 90);
    } finally {
      await reader.close();
    }
  });

  it('keeps two read-ahead GETs in flight for a reader of 4 MiB pieces, as a tape drive reads from an empty cache, and waits for the cloud only at its start', async () => {
    const settings = { ...s3.settings, prefix: 'ahead-pieces/' };
    const size = 48 * MiB;
    const data = pattern('pieces', size);
    const writer = await openEngine(await scratch(), settings);
    await writer.store.write('tape/pieces', 0, data);
    await writer.store.drain();
    await writer.close();
    let gets: ReturnType<typeof countingGets> | undefined;
    const reader = await openEngine(await scratch(), settings, {}, (backend) => (gets = countingGets(backend)).backend);
    try {
      const piece = 4 * MiB;
      for (let at = 0; at < size; at += piece) {
        const { data: got, release } = await reader.store.readv('tape/pieces', at, [piece]);
        assert.ok(got.equals(data.subarray(at, at + piece)), `piece at ${at / MiB} MiB`);
        release();
      }
      assert.equal(reader.engine.stats().misses, 2, 'a miss for the first piece and one for the first sequential one, none after');
      assert.equal(gets?.mostAtOnce(), 2, 'GETs in flight at once');
    } finally {
      await reader.close();
    }
  });

  for (const blockSize of [256 * 1024, 4096]) {
    it(`fetches the next window while a sequential reader is still going through the one it has, so it waits for the cloud only at its start (${blockSize / 1024} KiB blocks)`, async () => {
      const settings = { ...s3.settings, prefix: `ahead-async-${blockSize}/` };
      const size = 24 * MiB;
      const data = pattern('async', size);
      const writer = await openEngine(await scratch(), settings);
      await writer.engine.namespace('seq/', { blockSize }).write('seq/data', 0, data);
      await writer.engine.namespace('seq/', { blockSize }).drain();
      await writer.close();
      const reader = await openEngine(await scratch(), settings);
      const store = reader.engine.namespace('seq/', { blockSize });
      try {
        const record = 256 * 1024;
        const readOn = async (to: number) => {
          for (; at < to; at += record) assert.ok((await store.read('seq/data', at, record)).equals(data.subarray(at, at + record)));
        };
        let at = 0;
        await readOn(2 * MiB);
        // The reader pauses; the window ahead of it still arrives.
        for (let waited = 0; reader.engine.stats().usedBytes < 3 * at; waited += 20) {
          assert.ok(waited < 30_000, `only ${reader.engine.stats().usedBytes} bytes are cached for a reader at ${at}`);
          await sleep(20);
        }
        await readOn(size);
        assert.equal(reader.engine.stats().misses, 2, 'a miss for the first read and one for the first sequential one, none after');
      } finally {
        await reader.close();
      }
    });
  }
});

describeEachBackend('@slow cache engine: uploads, deletes and cold reads', function (backend) {
  this.timeout(60_000);
  useBucket(() => backend.bucket());

  it('uploads extents, after the cache is wiped reads them back from S3 byte for byte, and refuses an object altered in S3', async () => {
    const settings = { ...s3.settings, prefix: 'wipe/', multipartThreshold: 8 * MiB, minPartSize: 5 * MiB };
    const sizes: Record<string, number> = {
      'tape/A00001L5/seg-0': 12 * MiB + 3,
      'vol/v1/chunk-7': 4 * MiB,
      'share/docs/a.txt': 1234,
      'share/empty-ish': 1,
    };
    const dir = await scratch();
    const first = await openEngine(dir, settings);
    for (const [key, size] of Object.entries(sizes)) {
      const data = pattern(key, size);
      for (let at = 0; at < size; at += 1_000_003) await first.store.write(key, at, data.subarray(at, at + 1_000_003));
    }
    await first.store.drain();
    assert.equal(
      await metric(first.engine, 'CloudBytesUploaded'),
      Object.values(sizes).reduce((a, b) => a + b),
    );
    await first.close();
    for (const [key, size] of Object.entries(sizes))
      assert.ok((await direct.get(`wipe/${key}`)).data.equals(pattern(key, size)), `${key} in S3`);

    await rm(dir, { recursive: true, force: true });
    const second = await openEngine(await scratch(), settings);
    try {
      for (const [key, size] of Object.entries(sizes)) {
        assert.equal(await second.store.size(key), size);
        assert.ok((await second.store.read(key, 0, size)).equals(pattern(key, size)), `${key} read back`);
        const mid = Math.floor(size / 3);
        assert.ok((await second.store.read(key, mid, size - mid)).equals(pattern(key, size).subarray(mid)));
      }
      assert.ok((await metric(second.engine, 'CloudBytesDownloaded')) >= Object.values(sizes).reduce((a, b) => a + b));
      await assert.rejects(second.store.read('never/written', 0, 1), ExtentNotFoundError);
    } finally {
      await second.close();
    }

    // An object altered in S3 behind the gateway's back: a fresh cache refuses to serve it.
    const key = 'vol/v1/chunk-7';
    await flipStoredByte(s3.raw, s3.settings.bucket, `wipe/${key}`, 2 * MiB + 1);
    const third = await openEngine(await scratch(), settings);
    try {
      await assert.rejects(third.store.read(key, 2 * MiB, 10), DamagedDataError);
      assert.ok((await third.store.read(key, 0, 10)).equals(pattern(key, 10)), 'the intact blocks still read');
      assert.ok((await metric(third.engine, 'CloudRequestRetries', { cause: 'checksum' })) > 0);
    } finally {
      await third.close();
    }
  });

  it('deletes an extent here and in the cloud', async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'del/' });
    try {
      await opened.store.write('share/x', 0, pattern('x', 5000));
      await opened.store.drain();
      assert.ok(await direct.head('del/share/x'));
      await opened.store.delete('share/x');
      await opened.store.drain();
      assert.equal(await direct.head('del/share/x'), undefined);
      assert.equal(await opened.store.size('share/x'), undefined);
      await assert.rejects(opened.store.read('share/x', 0, 1), ExtentNotFoundError);
    } finally {
      await opened.close();
    }
  });

  it('deletes many extents at once, here at once and in the cloud after a restart that came first', async () => {
    const dir = await scratch();
    const settings = { ...s3.settings, prefix: 'many/' };
    const keys = Array.from({ length: 300 }, (_, i) => `tape/M00001L5/seg-${i}`);
    let opened = await openEngine(dir, settings, { uploadQuietMs: 60_000 }); // the cloud deletes wait past the restart
    try {
      await Promise.all(keys.map((key) => opened.store.write(key, 0, pattern(key, 100))));
      await opened.store.drain();
      await opened.store.deleteMany([...keys, keys[0]!]);
      for (const key of [keys[0]!, keys[299]!]) assert.equal(await opened.store.size(key), undefined, `${key} gone here`);
    } finally {
      await opened.close();
    }
    opened = await openEngine(dir, settings);
    try {
      for (const key of [keys[0]!, keys[255]!, keys[256]!, keys[299]!])
        assert.equal(await opened.store.size(key), undefined, `${key} still gone after the restart`);
      assert.equal(opened.engine.stats().queueDepth, keys.length, 'every cloud delete still queued');
      await opened.store.drain();
      let left = 0;
      for await (const _ of direct.list('many/')) left++;
      assert.equal(left, 0, 'every object deleted from the bucket');
    } finally {
      await opened.close();
    }
  });
});
