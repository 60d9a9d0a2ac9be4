// What a sync point flushes: the file's data, its folder only while its name is new and only where the
// file's own flush does not make a new name durable, and the catalog, each at most once for callers that
// arrive together. Counted with strace attached to this process (real system calls, not a stand-in), and
// for the catalog on a real LevelDB.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheState } from '../../src/cache/cache-state.ts';
import { CatalogLog } from '../../src/cache/catalog-log.ts';
import { extentPath } from '../../src/cache/extent.ts';
import { FlushGroup } from '../../src/cache/flush-group.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { fileSystemType, namesDurableWithData } from '../../src/fileio/name-durability.ts';
import { startS3, tempDir } from '../cloud/helpers.ts';
import { requirePeer } from '../helpers/peers.ts';
import { openEngine } from './helpers.ts';

describe('group commit of flushes', () => {
  it('serves everyone who asks while a flush runs with one next flush, which starts after they asked', async () => {
    const ends: (() => void)[] = [];
    const group = new FlushGroup(() => new Promise<void>((resolve) => ends.push(resolve)));
    const first = group.request();
    const later = [group.request(), group.request(), group.request()];
    assert.equal(ends.length, 1, 'the later callers wait for the flush under way to end');
    ends[0]!();
    await first;
    await sleep(0);
    assert.equal(ends.length, 2, 'then one flush for all three');
    ends[1]!();
    await Promise.all(later);
    assert.equal(ends.length, 2);
  });

  it('writes the catalog writes asked for together in one LevelDB batch, synchronous if any asks, in call order', async () => {
    const dir = await tempDir('catalog-group-');
    const catalog = await Catalog.open(dir);
    try {
      let batches = 0;
      const batch = catalog.batch.bind(catalog);
      catalog.batch = () => (batches++, batch());
      const log = new CatalogLog(catalog, new CacheState());
      const composed: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          log.persist((b) => {
            composed.push(i);
            b.put(`k${i}`, { i }, { sublevel: log.index });
          }, i === 5),
        ),
      );
      assert.equal(batches, 1);
      assert.deepEqual(composed, [...Array(10).keys()]);
      for (let i = 0; i < 10; i++) assert.deepEqual(await log.index.get(`k${i}`), { i });
      // One under way, five asked for meanwhile: two batches.
      batches = 0;
      const underWay = log.persist((b) => b.put('a', { i: 0 } as never, { sublevel: log.index }), true);
      await sleep(0);
      await Promise.all([
        underWay,
        ...Array.from({ length: 5 }, (_, i) => log.persist((b) => b.put(`b${i}`, { i } as never, { sublevel: log.index }), true)),
      ]);
      assert.equal(batches, 2);
    } finally {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('@peer what a sync point flushes', function () {
  const MiB = 1024 * 1024;
  const BATCH = 4 * MiB;
  /** A bucket never asked: keys are fresh, and uploads wait for a minute of quiet. */
  const UNREACHABLE_S3 = {
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    bucket: 'none',
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  };
  this.timeout(30_000);
  before(function () {
    requirePeer(this, 'strace');
  });

  /** The paths fdatasync'ed while `work` runs, with how many times each, from strace attached to this process's threads. */
  async function fdatasyncs(work: () => Promise<void>): Promise<Map<string, number>> {
    const dir = await tempDir('strace-');
    const out = join(dir, 'trace');
    const strace = spawn('strace', ['-f', '-qq', '-y', '-e', 'trace=fdatasync,fsync', '-o', out, '-p', String(process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise((resolve) => strace.once('close', resolve));
    try {
      // strace has attached once a flush of ours shows in its output; what came before is not counted.
      const probe = join(dir, 'probe');
      for (let seen = false; !seen;) {
        if (strace.exitCode !== null) assert.fail('strace could not attach to the test process');
        const handle = await open(probe, 'w');
        await handle.datasync();
        await handle.close();
        seen = (await readFile(out, 'utf8').catch(() => '')).includes(probe);
        if (!seen) await sleep(50);
      }
      const before = (await readFile(out, 'utf8')).length;
      await work();
      const counts = new Map<string, number>();
      for (const match of (await readFile(out, 'utf8')).slice(before).matchAll(/f(?:data)?sync\(\d+<([^>]+)>/g))
        counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
      return counts;
    } finally {
      strace.kill('SIGINT'); // detaches
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  }

  // On ext4 and XFS a new file's fdatasync makes its name durable too (src/fileio/name-durability.ts): its
  // folder is not flushed. Elsewhere it is, at the file's first sync point only.
  it("flushes a new file's folder at its first sync only where the file's flush does not cover its name (tmpfs), and the catalog once per sync", async function () {
    if ((await fileSystemType('/dev/shm').catch(() => undefined)) !== 'tmpfs') this.skip();
    await flushesOfTwoSyncs(await mkdtemp('/dev/shm/flushes-'), false);
  });

  it('flushes no folder where the file system makes a new name durable with its file (ext4, XFS), and the catalog once per sync', async function () {
    const dir = await tempDir('flushes-');
    if (!(await namesDurableWithData(dir))) {
      await rm(dir, { recursive: true });
      this.skip();
    }
    await flushesOfTwoSyncs(dir, true);
  });

  it('does not flush a synced file again when its upload queues it (a share file drained after its COMMIT)', async () => {
    const s3 = await startS3();
    const dir = await tempDir('flushes-');
    const opened = await openEngine(dir, s3.settings);
    try {
      const shares = opened.engine.namespace('shares/s/', { uploadsWhenDrained: true });
      const file = extentPath(join(dir, 'cache'), 'shares/s/a');
      const committed = await fdatasyncs(async () => {
        await shares.write('shares/s/a', 0, Buffer.alloc(4096, 1), { fresh: true });
        await shares.sync(['shares/s/a']);
      });
      assert.equal(committed.get(file), 1, 'the sync point flushes the file');
      const uploaded = await fdatasyncs(() => shares.drain(['shares/s/a']));
      assert.equal(uploaded.get(file) ?? 0, 0, 'its upload does not: nothing was written since');
      assert.equal(opened.engine.stats().queueDepth, 0);
    } finally {
      await opened.close();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('flushes a streamed file once it has taken 64 MiB, before any sync point, and a file not streamed not before its sync point', async () => {
    const s3 = await startS3();
    const dir = await tempDir('flushes-');
    // Nothing is uploaded while the test runs (an upload flushes what it sends): uploads wait for a minute of quiet, and
    // the upload buffer holds both files, so that no write waits for it. Closing the engine uploads them.
    const opened = await openEngine(dir, s3.settings, { uploadQuietMs: 60_000, cacheBytes: 512 * MiB, uploadBufferBytes: 256 * MiB });
    try {
      const written = async (namespace: string, streamed: boolean): Promise<number> => {
        const store = opened.engine.namespace(namespace, { streamed });
        const key = `${namespace}a`;
        const file = extentPath(join(dir, 'cache'), key);
        const counts = await fdatasyncs(async () => {
          // As a tape drive hands over its batches: 4 MiB at a time, one after another, 68 MiB in all.
          for (let i = 0; i < 17; i++) await store.write(key, i * BATCH, Buffer.alloc(BATCH, i), { fresh: i === 0 });
          // The sync point waits for a flush ahead still running on its file, then flushes what came after it.
          await store.sync([key]);
        });
        return counts.get(file) ?? 0;
      };
      assert.equal(
        await written('tapes/', true),
        2,
        "the streamed file: once at 64 MiB, whose bytes would otherwise wait in the disk's cache, and at its sync point",
      );
      assert.equal(await written('shares/s/', false), 1, 'the file not streamed: at its sync point alone');
    } finally {
      await opened.close();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  async function flushesOfTwoSyncs(dir: string, namesDurable: boolean): Promise<void> {
    // The bucket is never asked (fresh keys) and nothing reaches it while the test runs: uploads wait for a minute of quiet.
    const opened = await openEngine(dir, UNREACHABLE_S3, { uploadQuietMs: 60_000 });
    try {
      const file = extentPath(join(dir, 'cache'), 'share/a');
      const flushed = (counts: Map<string, number>, path: string) => counts.get(path) ?? 0;
      const catalogLog = (counts: Map<string, number>) =>
        [...counts].filter(([p]) => p.startsWith(join(dir, 'catalog')) && p.endsWith('.log')).reduce((n, [, c]) => n + c, 0);

      const first = await fdatasyncs(async () => {
        await opened.store.write('share/a', 0, Buffer.alloc(4096, 1), { fresh: true });
        await opened.store.sync(['share/a']);
      });
      assert.equal(flushed(first, file), 1, 'the file');
      assert.equal(
        flushed(first, dirname(file)),
        namesDurable ? 0 : 1,
        namesDurable ? "not its folder: the file's flush covers its new name" : 'its folder: its name is new',
      );
      assert.equal(catalogLog(first), 1, 'the catalog');

      const second = await fdatasyncs(async () => {
        await opened.store.write('share/a', 4096, Buffer.alloc(4096, 2), { fresh: true });
        await opened.store.sync(['share/a']);
      });
      assert.equal(flushed(second, file), 1, 'the file');
      assert.equal(flushed(second, dirname(file)), 0, 'not its folder: its name is durable');
      assert.equal(catalogLog(second), 1, 'the catalog');
    } finally {
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
});
