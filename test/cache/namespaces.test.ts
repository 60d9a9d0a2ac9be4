// The engine's namespaces and what shares need of it, against a real s3rver:
// a consumer confined to its keys, a namespace routed to a bucket and prefix of
// its own (uploads wait for it across a restart), listings that merge the cache
// with the bucket, user metadata, copies, and objects other S3 clients put in.
import assert from 'node:assert/strict';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DamagedDataError, ExtentNotFoundError } from '../../src/cache/errors.ts';
import type { ExtentListing, ExtentStore } from '../../src/cache/extent-store.ts';
import { extentPath } from '../../src/cache/extent.ts';
import { KeyOutsideNamespaceError } from '../../src/cache/namespace-store.ts';
import { readCached } from '../../src/fileio/fileio.ts';
import type { BackendHooks } from '../../src/cloud/object-backend.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { kernelAtLeast } from '../helpers/kernel.ts';
import { metric, MiB, openEngine, pattern } from './helpers.ts';

async function listed(store: ExtentStore, prefix: string, delimiter?: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of store.list(prefix, delimiter ? { delimiter } : {})) names.push(shown(entry));
  return names;
}

function shown(entry: ExtentListing): string {
  return entry.kind === 'extent' ? `${entry.key}=${entry.size}` : `${entry.prefix}*`;
}

describe('@slow cache engine namespaces', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  const dirs: string[] = [];
  const scratch = async () => {
    const d = await tempDir('namespaces-');
    dirs.push(d);
    return d;
  };

  before(async () => {
    s3 = await startS3();
    await s3.raw.send(new CreateBucketCommand({ Bucket: 'share-bucket' }));
  });
  after(async () => {
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('keeps each consumer to its own keys, which are the same keys in the bucket', async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'confined/' });
    try {
      const tapes = opened.engine.namespace('tapes/');
      await tapes.write('tapes/A/seg', 0, pattern('a', 1000));
      await assert.rejects(tapes.write('volumes/v/chunk', 0, Buffer.from('x')), KeyOutsideNamespaceError);
      await assert.rejects(tapes.read('shares/s/file', 0, 1), KeyOutsideNamespaceError);
      assert.throws(() => opened.engine.namespace('tapes'), /must end with '\/'/);
      await tapes.drain();
      const object = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: 'confined/tapes/A/seg' }));
      assert.ok(Buffer.from(await object.Body!.transformToByteArray()).equals(pattern('a', 1000)));
    } finally {
      await opened.close();
    }
  });

  it("leaves a streamed namespace's large writes out of the page cache once on disk, uploaded and read back, and keeps a plain one's", async function () {
    // RWF_DONTCACHE came with Linux 6.14 (ext4's from 6.15); before, streamed writes are plain ones.
    if (!kernelAtLeast(6, 15)) return this.skip();
    const dir = await scratch();
    const opened = await openEngine(dir, { ...s3.settings, prefix: 'streamed/' });
    try {
      const tapes = opened.engine.namespace('tapes/', { streamed: true });
      const volumes = opened.engine.namespace('volumes/');
      const held = async (key: string) => {
        const file = await open(extentPath(join(dir, 'cache'), key), 'r');
        try {
          return readCached(file.fd, Buffer.alloc(4096), 2 * MiB) === 4096;
        } finally {
          await file.close();
        }
      };
      for (const [store, key] of [
        [tapes, 'tapes/T/seg'],
        [volumes, 'volumes/v/chunk'],
      ] as const) {
        await store.write(key, 0, pattern(key, 4 * MiB));
        await store.sync([key]);
        await store.drain([key]);
      }
      assert.ok((await tapes.read('tapes/T/seg', 0, 4 * MiB)).equals(pattern('tapes/T/seg', 4 * MiB)), 'read back from the disk');
      // Asked once each: a read that finds no page (readCached's RWF_NOWAIT) starts the kernel's read-ahead.
      assert.equal(await held('tapes/T/seg'), false, "the tape's pages left the page cache, and its reads kept none");
      assert.equal(await held('volumes/v/chunk'), true, "the volume's stayed");
      const object = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: 'streamed/tapes/T/seg' }));
      assert.ok(Buffer.from(await object.Body!.transformToByteArray()).equals(pattern('tapes/T/seg', 4 * MiB)), 'uploaded whole');
    } finally {
      await opened.close();
    }
  });

  it('sends a namespace to its own bucket and prefix, and holds its queued uploads until it opens again after a restart', async () => {
    const dir = await scratch();
    const shareBucket = { ...s3.settings, bucket: 'share-bucket' };
    const route = { backend: (hooks: BackendHooks) => new ObjectStore(shareBucket, hooks), remotePrefix: 'exported/' };
    let opened = await openEngine(dir, { ...s3.settings, prefix: 'gw/' });
    let share = opened.engine.namespace('shares/docs/', route);
    await share.write('shares/docs/a.txt', 0, Buffer.from('first'));
    await share.drain();
    const head = await s3.raw.send(new HeadObjectCommand({ Bucket: 'share-bucket', Key: 'exported/a.txt' }));
    assert.equal(head.ContentLength, 5, 'in the share bucket under its prefix, not under the namespace');

    await share.write('shares/docs/b.txt', 0, Buffer.from('second'));
    await share.sync(); // queued, then the gateway stops before its namespace uploads it
    opened.engine.closeNamespace('shares/docs/');
    await opened.close();

    opened = await openEngine(dir, { ...s3.settings, prefix: 'gw/' });
    try {
      const tapes = opened.engine.namespace('tapes/'); // the gateway's other namespaces open as usual
      await tapes.drain();
      await assert.rejects(
        s3.raw.send(new HeadObjectCommand({ Bucket: s3.settings.bucket, Key: 'gw/shares/docs/b.txt' })),
        /NotFound/,
        'never sent to the gateway bucket',
      );
      assert.equal(opened.engine.stats().queueDepth, 1, 'still queued while its namespace is closed');
      share = opened.engine.namespace('shares/docs/', route);
      await share.drain();
      const b = await s3.raw.send(new GetObjectCommand({ Bucket: 'share-bucket', Key: 'exported/b.txt' }));
      assert.equal(await b.Body!.transformToString(), 'second');
    } finally {
      await opened.close();
    }
  });

  it("counts the uploads of a namespace's own backend in CloudBytesUploaded and holds them to the bandwidth schedule", async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'gw/' });
    try {
      const share = opened.engine.namespace('shares/metered/', {
        backend: (hooks) => new ObjectStore({ ...s3.settings, bucket: 'share-bucket' }, hooks),
        remotePrefix: 'metered/',
      });
      await share.write('shares/metered/a', 0, pattern('a', 256 * 1024));
      await share.drain();
      assert.equal(await metric(opened.engine, 'CloudBytesUploaded'), 256 * 1024);
      // At 1 Mbit/s, 256 KiB take 2 s, less the one 64 KiB chunk an idle limiter lets go at once.
      opened.engine.setBandwidth({ defaultUploadBitsPerSecond: 1_000_000 });
      const started = performance.now();
      await share.write('shares/metered/b', 0, pattern('b', 256 * 1024));
      await share.drain();
      assert.ok(
        performance.now() - started >= 1_500,
        `uploaded in ${Math.round(performance.now() - started)} ms, faster than the schedule allows`,
      );
      assert.equal(await metric(opened.engine, 'CloudBytesUploaded'), 512 * 1024);
    } finally {
      await opened.close();
    }
  });

  it('lists what the cache holds and what only the bucket holds, in key order, with common prefixes, without what was deleted here', async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'listing/' });
    try {
      const store = opened.engine.namespace('s/');
      for (const key of ['s/d/x', 's/d/y', 's/a', 's/e/z']) await store.write(key, 0, Buffer.from(key));
      await store.drain();
      // Behind the gateway's back: an object only the bucket holds.
      await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: 'listing/s/c', Body: 'foreign' }));
      await store.write('s/b', 0, Buffer.from('only here, not yet uploaded'));
      await store.delete('s/e/z'); // gone here at once, though its cloud delete may wait
      assert.deepEqual(await listed(store, 's/'), ['s/a=3', 's/b=27', 's/c=7', 's/d/x=5', 's/d/y=5']);
      assert.deepEqual(await listed(store, 's/', '/'), ['s/a=3', 's/b=27', 's/c=7', 's/d/*']);
      assert.deepEqual(await listed(store, 's/d/', '/'), ['s/d/x=5', 's/d/y=5']);
    } finally {
      await opened.close();
    }
  });

  it('keeps user metadata with an extent, in the bucket and across a wiped cache', async () => {
    const settings = { ...s3.settings, prefix: 'meta/' };
    const first = await openEngine(await scratch(), settings);
    try {
      const store = first.engine.namespace('');
      await store.write('f', 0, pattern('f', 2 * MiB));
      await store.setMetadata('f', { 'file-permissions': '0644', 'file-owner': '1000' });
      assert.deepEqual((await store.head('f'))?.metadata, { 'file-permissions': '0644', 'file-owner': '1000' });
      await store.drain();
      const raw = await s3.raw.send(new HeadObjectCommand({ Bucket: s3.settings.bucket, Key: 'meta/f' }));
      assert.equal(raw.Metadata?.['file-permissions'], '0644', 'as any S3 client sees it');
    } finally {
      await first.close();
    }
    const second = await openEngine(await scratch(), settings);
    try {
      const store = second.engine.namespace('');
      const head = await store.head('f');
      assert.equal(head?.size, 2 * MiB);
      assert.deepEqual(head?.metadata, { 'file-permissions': '0644', 'file-owner': '1000' });
      assert.ok(head?.cloudModified instanceof Date);
      assert.ok((await store.read('f', MiB, 10)).equals(pattern('f', 2 * MiB).subarray(MiB, MiB + 10)));
      // On a clean extent a change of metadata goes to the bucket at once, without the bytes.
      await store.setMetadata('f', { 'file-permissions': '0600' });
      const raw = await s3.raw.send(new HeadObjectCommand({ Bucket: s3.settings.bucket, Key: 'meta/f' }));
      assert.equal(raw.Metadata?.['file-permissions'], '0600');
      assert.equal(raw.Metadata?.['file-owner'], undefined, 'replaced, not merged');
      assert.equal(second.engine.stats().dirtyBytes, 0);
      assert.ok((await store.read('f', 0, 2 * MiB)).equals(pattern('f', 2 * MiB)), 'its bytes and checksums intact');
    } finally {
      await second.close();
    }
  });

  it('copies an extent, bytes and metadata: a dirty one through the cache, a clean one in the bucket', async () => {
    const settings = { ...s3.settings, prefix: 'copy/' };
    const dir = await scratch();
    const first = await openEngine(dir, settings);
    try {
      const store = first.engine.namespace('');
      await store.write('old', 0, pattern('old', 5 * MiB + 7));
      await store.setMetadata('old', { 'file-mtime': '1700000000' });
      await store.copy('old', 'new-from-cache');
      assert.ok((await store.read('new-from-cache', 0, 5 * MiB + 7)).equals(pattern('old', 5 * MiB + 7)));
      await store.drain();
    } finally {
      await first.close();
    }
    const second = await openEngine(await scratch(), settings);
    try {
      const store = second.engine.namespace('');
      await store.copy('old', 'new-from-bucket');
      assert.equal(await metric(second.engine, 'CloudBytesDownloaded'), 0, 'a clean extent is copied in the bucket, not through the cache');
      await store.delete('old');
      await store.drain();
      const copied = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: 'copy/new-from-bucket' }));
      assert.ok(Buffer.from(await copied.Body!.transformToByteArray()).equals(pattern('old', 5 * MiB + 7)));
      assert.equal(copied.Metadata?.['file-mtime'], '1700000000');
      await assert.rejects(store.read('old', 0, 1), ExtentNotFoundError);
      await assert.rejects(store.copy('old', 'nowhere'), ExtentNotFoundError);
    } finally {
      await second.close();
    }
  });

  it('serves objects other S3 clients put in only where the namespace allows it', async () => {
    await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: 'foreign/doc.txt', Body: 'written by another client' }));
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'foreign/' });
    const backend = (hooks: BackendHooks) => new ObjectStore({ ...s3.settings, prefix: 'foreign/' }, hooks);
    try {
      const strict = opened.engine.namespace('');
      await assert.rejects(strict.read('doc.txt', 0, 5), DamagedDataError, 'bytes without our checksums are not served by default');
      opened.engine.closeNamespace('');
      const open = opened.engine.namespace('', { backend, allowUnverified: true });
      assert.equal((await open.read('doc.txt', 11, 7)).toString(), 'another');
    } finally {
      await opened.close();
    }
  });

  it('leaves the writes of a namespace that uploads when drained to drain(): neither sync() nor the writeback queues them', async () => {
    const opened = await openEngine(await scratch(), { ...s3.settings, prefix: 'drained/' }, { writebackIntervalMs: 50 });
    const exists = (key: string) =>
      s3.raw.send(new HeadObjectCommand({ Bucket: s3.settings.bucket, Key: `drained/${key}` })).then(
        () => true,
        () => false,
      );
    try {
      const shares = opened.engine.namespace('shares/s/', { uploadsWhenDrained: true });
      const tapes = opened.engine.namespace('tapes/');
      await shares.write('shares/s/file', 0, Buffer.from('half written'));
      await shares.sync(); // durable (a COMMIT), but the file is not complete
      await tapes.write('tapes/T/seg', 0, Buffer.from('queued by the writeback'));
      while (!(await exists('tapes/T/seg'))) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await exists('shares/s/file'), false, 'the writeback uploaded the tape, not the file');
      assert.equal(opened.engine.stats().queueDepth, 0);

      await shares.drain(['shares/s/file']);
      assert.equal(await exists('shares/s/file'), true);
      await shares.write('shares/s/file', 12, Buffer.from(', then whole'));
      await shares.drain(['shares/s/file']);
      const object = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: 'drained/shares/s/file' }));
      assert.equal(await object.Body!.transformToString(), 'half written, then whole');
    } finally {
      await opened.close();
    }
  });
});
