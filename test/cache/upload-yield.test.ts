// Uploads yield to reads and writes, within firm bounds: against a real s3rver.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExtentNotFoundError } from '../../src/cache/errors.ts';
import { ObjectStore, type S3Settings } from '../../src/cloud/object-store.ts';
import { startFaultInjector, type FaultInjector } from '../cloud/fault-injector.ts';
import { startS3, tempDir, type S3rverFixture } from '../cloud/helpers.ts';
import { MiB, openEngine, pattern, type OpenedEngine } from './helpers.ts';

/** Foreground work done every 100 ms, as a streaming backup or a browsing client would, until stopped. */
interface Writer {
  /** Resolves once it has worked `count` more times. */
  wrote(count: number): Promise<void>;
  stop(): Promise<void>;
}

function keepBusy(work: (round: number) => Promise<void> | void): Writer {
  let stopped = false;
  let written = 0;
  const writing = (async () => {
    for (; !stopped; written++) {
      await work(written);
      await sleep(100);
    }
  })();
  return {
    async wrote(count) {
      const target = written + count;
      await until(() => written >= target, 30_000, `${count} writes`);
    },
    async stop() {
      stopped = true;
      await writing;
    },
  };
}

/** A little written to another extent every 100 ms. */
const keepWriting = (engine: OpenedEngine): Writer =>
  keepBusy((round) => engine.store.write('busy/foreground', round * 4096, Buffer.alloc(4096, round)));

/** Resolves once `condition` holds, looking every 25 ms; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await condition()); await sleep(25)) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
  }
}

// The quiet time uploads wait for is ten times the writer's interval, so that only
// a machine stalled for a second makes an upload start while writes still come.
const QUIET_MS = 1_000;

describe('@slow uploads yield to reads and writes', function () {
  this.timeout(60_000);
  let s3: S3rverFixture;
  let direct: ObjectStore;
  const dirs: string[] = [];
  let opened: OpenedEngine | undefined;
  let relay: FaultInjector | undefined;
  let writer: Writer | undefined;

  const open = async (options: Parameters<typeof openEngine>[2], settings: Partial<S3Settings> = {}) => {
    const dir = await tempDir('yield-');
    dirs.push(dir);
    opened = await openEngine(dir, { ...s3.settings, ...settings, prefix: `yield-${dirs.length}/` }, options);
    return opened;
  };
  /** Whether an upload of `key` has begun: s3rver shows an object while its body still streams in. */
  const begun = async (key: string) => (await direct.head(`yield-${dirs.length}/${key}`)) !== undefined;
  /** Waits until the queue is empty, then checks what reached the bucket. */
  const eventuallyUploaded = async (engine: OpenedEngine, sizes: Record<string, number>) => {
    await until(() => engine.engine.stats().queueDepth === 0, 20_000, `${Object.keys(sizes).join(', ')} uploaded`);
    for (const [key, size] of Object.entries(sizes))
      assert.ok((await direct.get(`yield-${dirs.length}/${key}`)).data.equals(pattern(key, size)), key);
  };
  /** Writes `size` bytes to `key` and syncs it: queued for upload. */
  const queue = async (engine: OpenedEngine, key: string, size: number) => {
    await engine.store.write(key, 0, pattern(key, size));
    await engine.store.sync([key]);
  };

  before(async () => {
    s3 = await startS3();
    direct = new ObjectStore(s3.settings);
  });
  afterEach(async () => {
    await writer?.stop();
    await opened?.close();
    await relay?.close();
    writer = opened = relay = undefined;
  });
  after(async () => {
    direct.close();
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('holds a synced extent back while writes keep arriving, and uploads it once they stop, without another call', async () => {
    const engine = await open({ uploadQuietMs: QUIET_MS });
    writer = keepWriting(engine);
    await queue(engine, 'tape/Y/seg-0', MiB);
    await writer.wrote(15);
    assert.equal(await begun('tape/Y/seg-0'), false, 'not uploaded while writes arrive');
    assert.equal(engine.engine.stats().queueDepth, 1);
    await writer.stop();
    await eventuallyUploaded(engine, { 'tape/Y/seg-0': MiB });
  });

  it('uploads at once for drain() while writes keep arriving', async () => {
    const engine = await open({ uploadQuietMs: QUIET_MS });
    writer = keepWriting(engine);
    await queue(engine, 'tape/Y/seg-1', MiB);
    await writer.wrote(5);
    assert.equal(await begun('tape/Y/seg-1'), false, 'held back before drain()');
    await engine.store.drain(['tape/Y/seg-1']);
    assert.equal(engine.engine.stats().queueDepth, 0, 'drain() resolved with the upload done, writes still coming');
    await eventuallyUploaded(engine, { 'tape/Y/seg-1': MiB });
  });

  /** A background drain() of `key` neither uploads nor resolves while `busy` keeps the engine busy, and does both once it stops. */
  const assertBackgroundDrainWaitsFor = async (key: string, busy: (engine: OpenedEngine) => Writer) => {
    const engine = await open({ uploadQuietMs: QUIET_MS });
    writer = busy(engine);
    await engine.store.write(key, 0, pattern(key, MiB));
    let drained = false;
    const draining = engine.store.drain([key], { yieldUntil: new AbortController().signal }).then(() => (drained = true));
    await writer.wrote(15);
    assert.equal(await begun(key), false, 'not uploaded while busy');
    assert.equal(drained, false);
    await writer.stop();
    await draining;
    await eventuallyUploaded(engine, { [key]: MiB });
  };

  it('holds a background drain() back while writes keep arriving, and resolves it once they stop', () =>
    assertBackgroundDrainWaitsFor('tape/Y/seg-1b', keepWriting));

  it('holds a background drain() back while requests that touch no extent keep coming, and resolves it once they stop', () =>
    assertBackgroundDrainWaitsFor('share/Y/listed', (engine) => keepBusy(() => engine.store.noteForeground())));

  it('stops holding a background drain() back once its hurry signal aborts, though writes keep coming', async () => {
    const engine = await open({ uploadQuietMs: QUIET_MS, uploadMaxDeferMs: 600_000 });
    writer = keepWriting(engine);
    await engine.store.write('share/Y/awaited', 0, pattern('share/Y/awaited', MiB));
    const hurry = new AbortController();
    const draining = engine.store.drain(['share/Y/awaited'], { yieldUntil: hurry.signal });
    await writer.wrote(15);
    assert.equal(await begun('share/Y/awaited'), false, 'held back before someone waits');
    hurry.abort();
    await draining;
    await eventuallyUploaded(engine, { 'share/Y/awaited': MiB });
  });

  it('uploads despite writes once a quarter of the upload buffer is dirty', async () => {
    const engine = await open({ uploadQuietMs: QUIET_MS, uploadBufferBytes: 16 * MiB });
    writer = keepWriting(engine);
    await queue(engine, 'tape/Y/seg-2', MiB);
    await writer.wrote(5);
    assert.equal(await begun('tape/Y/seg-2'), false, 'held back below a quarter');
    await queue(engine, 'tape/Y/seg-3', 3 * MiB); // 4 MiB dirty in all: a quarter of 16
    await eventuallyUploaded(engine, { 'tape/Y/seg-2': MiB, 'tape/Y/seg-3': 3 * MiB });
  });

  /** A queued `key` is held back while `busy` keeps the engine busy, and uploaded once `bound` (1.5 s) has passed, though it does not stop. */
  const assertUploadedAfterBound = async (
    key: string,
    bound: 'uploadMaxDeferMs' | 'uploadRequestMaxDeferMs',
    busy: (engine: OpenedEngine) => Writer,
  ) => {
    const engine = await open({ uploadQuietMs: QUIET_MS, [bound]: 1_500 });
    writer = busy(engine);
    const queued = Date.now();
    await queue(engine, key, MiB);
    await writer.wrote(5);
    assert.equal(await begun(key), false, 'held back before the bound');
    await eventuallyUploaded(engine, { [key]: MiB });
    assert.ok(Date.now() - queued >= 1_500, 'not before the bound either');
  };

  it('uploads despite writes once an upload has waited uploadMaxDeferMs', () =>
    assertUploadedAfterBound('tape/Y/seg-4', 'uploadMaxDeferMs', keepWriting));

  it('uploads despite requests that touch no extent once it has waited uploadRequestMaxDeferMs, though they keep coming', () =>
    assertUploadedAfterBound('share/Y/browsed', 'uploadRequestMaxDeferMs', (engine) => keepBusy(() => engine.store.noteForeground())));

  it('holds the cloud delete of an extent back while writes keep arriving, and deletes it once they stop', async () => {
    const engine = await open({ uploadQuietMs: QUIET_MS });
    await queue(engine, 'tape/Y/seg-8', MiB);
    await engine.store.drain(['tape/Y/seg-8']);
    writer = keepWriting(engine);
    await engine.store.delete('tape/Y/seg-8');
    await assert.rejects(engine.store.read('tape/Y/seg-8', 0, 1), ExtentNotFoundError, 'gone at once, though still in the bucket');
    assert.equal(await engine.store.size('tape/Y/seg-8'), undefined);
    await engine.store.write('tape/Y/seg-8', 0, Buffer.from('new'));
    assert.equal(await engine.store.size('tape/Y/seg-8'), 3, 'written afresh, not over what the bucket still holds');
    await writer.wrote(15);
    assert.equal(await begun('tape/Y/seg-8'), true, 'still in the bucket while writes arrive');
    assert.equal(engine.engine.stats().queueDepth, 1);
    await writer.stop();
    await until(async () => !(await begun('tape/Y/seg-8')), 20_000, 'deleted from the bucket once the writes stopped');
  });

  /** Waits until none of `keys` is in the bucket. */
  const eventuallyGone = (keys: readonly string[]) =>
    until(async () => !(await Promise.all(keys.map(begun))).some(Boolean), 20_000, `${keys.join(', ')} deleted from the bucket`);

  /** An engine whose requests go through a relay in front of s3rver (closed after the test), with `count` small extents uploaded. */
  const uploadedThroughRelay = async (count: number, options: Parameters<typeof openEngine>[2], settings: Partial<S3Settings> = {}) => {
    relay = await startFaultInjector({ target: s3.s3.endpoint, rate: 0, seed: 20261122 });
    const engine = await open(options, { ...settings, endpoint: relay.endpoint });
    const keys = Array.from({ length: count }, (_, i) => `tape/Z/seg-${i}`);
    for (const key of keys) await queue(engine, key, 4096);
    await engine.store.drain(keys);
    return { engine, relay, keys };
  };

  it('deletes what was held back together, in one request to the bucket', async () => {
    const { engine, relay, keys } = await uploadedThroughRelay(12, { uploadQuietMs: QUIET_MS });
    writer = keepWriting(engine);
    for (const key of keys) await engine.store.delete(key);
    const posts = relay.methods['POST'] ?? 0;
    await writer.stop();
    await eventuallyGone(keys);
    assert.equal(relay.methods['DELETE'], undefined, 'no DELETE of one object');
    assert.equal((relay.methods['POST'] ?? 0) - posts, 1, 'one DeleteObjects for all twelve');
  });

  it('retries a delete request that failed, until every key in it is gone', async () => {
    const { engine, relay, keys } = await uploadedThroughRelay(
      5,
      { uploadQuietMs: 0 },
      { idleTimeoutMs: 500, retry: { maxAttempts: 2, baseDelayMs: 10 } },
    );
    relay.setRate(1);
    for (const key of keys) await engine.store.delete(key);
    await until(() => Object.values(relay.injected).some((n) => n > 0), 20_000, 'the deletes met faults');
    assert.equal(engine.engine.stats().queueDepth, keys.length, 'none known to be deleted');
    relay.setRate(0);
    await until(() => engine.engine.stats().queueDepth === 0, 30_000, 'the deletes retried to the end');
    assert.deepEqual(
      await Promise.all(keys.map(begun)),
      keys.map(() => false),
    );
  });

  it('with uploadQuietMs 0, uploads right after sync() while writes keep arriving', async () => {
    const engine = await open({ uploadQuietMs: 0 });
    writer = keepWriting(engine);
    await queue(engine, 'tape/Y/seg-5', MiB);
    await eventuallyUploaded(engine, { 'tape/Y/seg-5': MiB });
  });

  // 4 MiB at 16 Mbit/s: an upload of about two seconds.
  const paced = { uploadQuietMs: QUIET_MS, bandwidth: { defaultUploadBitsPerSecond: 16_000_000 } };

  it('pauses an upload under way while writes come, and finishes it once they stop', async () => {
    const engine = await open(paced);
    await queue(engine, 'tape/Y/seg-6', 4 * MiB);
    await until(() => begun('tape/Y/seg-6'), 20_000, 'the upload under way');
    writer = keepWriting(engine);
    await writer.wrote(30); // three seconds of writes: longer than the whole upload would take
    assert.equal(engine.engine.stats().queueDepth, 1, 'paused while writes came');
    await writer.stop();
    await eventuallyUploaded(engine, { 'tape/Y/seg-6': 4 * MiB });
  });

  it('pauses an upload under way at most a third of the idle timeout, however long writes go on', async () => {
    const engine = await open(paced, { idleTimeoutMs: 1_500 });
    await queue(engine, 'tape/Y/seg-7', 4 * MiB);
    await until(() => begun('tape/Y/seg-7'), 20_000, 'the upload under way');
    writer = keepWriting(engine);
    await eventuallyUploaded(engine, { 'tape/Y/seg-7': 4 * MiB });
  });
});
