// The object store in a worker thread (src/cloud/worker-backend.ts), against a
// real s3rver: what a caller of ObjectBackend sees must be what the in-process
// ObjectStore gives, errors' types included; bodies cross threads without a copy.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { blockCrcs } from '../../src/crc32c/block-checksums.ts';
import {
  ObjectNotFoundError,
  StoreUnavailableError,
  UnverifiableObjectError,
  type PutSource,
  type UploadShaper,
} from '../../src/cloud/object-backend.ts';
import { ChecksumMismatchError, type RetryCause } from '../../src/cloud/retry.ts';
import { WorkerBackend } from '../../src/cloud/worker-backend.ts';
import { flipStoredByte, startS3, type S3rverFixture } from './helpers.ts';

const MiB = 1024 * 1024;

/** A PutSource over bytes in memory whose read can be made to fail. */
function sourceOf(data: Buffer, fail?: { at: number; error: Error }): PutSource {
  return {
    size: data.length,
    checksums: { blockSize: MiB, crcs: blockCrcs(data, MiB) },
    async read(offset, length) {
      if (fail && offset >= fail.at) throw fail.error;
      return data.subarray(offset, offset + length);
    },
  };
}

describe('cloud WorkerBackend: the object store in a worker thread', function () {
  this.timeout(60_000);
  let s3: S3rverFixture;
  let store: WorkerBackend;
  const moved = { uploaded: 0, downloaded: 0 };
  const retries: RetryCause[] = [];
  const grants: number[] = [];
  /** Lets 64 KiB through at a time, as the engine's limiter does when a rate is set. */
  const shaper: UploadShaper = {
    async *pace(length) {
      for (let at = 0; at < length; at += 64 * 1024) {
        const grant = Math.min(64 * 1024, length - at);
        grants.push(grant);
        yield grant;
      }
    },
  };

  before(async () => {
    s3 = await startS3();
    store = new WorkerBackend(
      { ...s3.settings, prefix: 'gw/', multipartThreshold: 8 * MiB, minPartSize: 5 * MiB, retry: { maxAttempts: 3, baseDelayMs: 10 } },
      {
        observer: {
          uploaded: (n) => (moved.uploaded += n),
          downloaded: (n) => (moved.downloaded += n),
          retried: (cause) => retries.push(cause),
        },
        shaper,
      },
    );
    await store.ready();
  });
  after(async () => {
    store.close();
    await s3.close();
  });

  it("puts single and multipart, paced by the engine thread's shaper, and tells the observer the bytes", async () => {
    const small = randomBytes(3 * MiB + 17);
    const large = randomBytes(21 * MiB + 5);
    moved.uploaded = 0;
    grants.length = 0;
    await store.put('a/small', small);
    await store.put('a/large', sourceOf(large));
    assert.equal(moved.uploaded, small.length + large.length);
    assert.equal(
      grants.reduce((a, b) => a + b, 0),
      small.length + large.length,
      'every byte sent was granted first',
    );
    assert.ok((await store.get('a/small')).data.equals(small));
    assert.ok((await store.get('a/large')).data.equals(large));
    assert.equal((await store.head('a/large'))?.size, large.length);
  });

  it('hands a GET body over by transfer: its memory leaves this thread when released, and ranged reads still come right', async () => {
    const body = randomBytes(6 * MiB);
    await store.put('b/body', body);
    moved.downloaded = 0;
    const whole = await store.get('b/body');
    assert.ok(whole.data.equals(body));
    assert.equal(moved.downloaded, body.length, 'counted by the time the GET resolves');
    assert.ok(whole.release, 'a large body is lent');
    whole.release();
    assert.equal(whole.data.buffer.byteLength, 0, 'the memory went back to the worker, not a copy of it');
    for (const [offset, length] of [
      [0, 1],
      [MiB - 1, 2],
      [3 * MiB + 5, 2 * MiB],
      [6 * MiB - 3, 3],
    ] as const) {
      const got = await store.get('b/body', { offset, length }, { sizeHint: body.length });
      assert.ok(got.data.equals(body.subarray(offset, offset + length)), `range ${offset}+${length}`);
      got.release?.();
    }
  });

  it("keeps the errors' types: not found, unverifiable, damaged, unavailable", async () => {
    await assert.rejects(store.get('c/none'), (e: unknown) => e instanceof ObjectNotFoundError && e.key === 'c/none');
    assert.equal(await store.head('c/none'), undefined);
    await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: 'gw/c/foreign', Body: 'put by another client' }));
    await assert.rejects(store.get('c/foreign'), UnverifiableObjectError);
    assert.equal((await store.get('c/foreign', undefined, { allowUnverified: true })).data.toString(), 'put by another client');
    await store.put('c/victim', randomBytes(2 * MiB));
    await flipStoredByte(s3.raw, s3.settings.bucket, 'gw/c/victim', MiB + 3);
    retries.length = 0;
    await assert.rejects(store.get('c/victim'), ChecksumMismatchError);
    assert.ok(retries.length > 0 && retries.every((c) => c === 'checksum'), 'retries counted on this thread by cause');
    const nowhere = new WorkerBackend({ ...s3.settings, endpoint: 'http://127.0.0.1:1', retry: { maxAttempts: 2, baseDelayMs: 1 } });
    try {
      await assert.rejects(
        nowhere.head('x'),
        (e: unknown) => e instanceof StoreUnavailableError && e.location === 'http://127.0.0.1:1, bucket gateway-test',
      );
    } finally {
      nowhere.close();
    }
  });

  it('fails a put with the very error its source threw', async () => {
    class SourceGone extends Error {}
    const thrown = new SourceGone('the extent changed under the upload');
    await assert.rejects(
      store.put('d/broken', sourceOf(randomBytes(3 * MiB), { at: 2 * MiB, error: thrown })),
      (e: unknown) => e === thrown,
    );
    await assert.rejects(
      store.put('d/broken-parts', sourceOf(randomBytes(12 * MiB), { at: 6 * MiB, error: thrown })),
      (e: unknown) => e === thrown,
    );
    // (s3rver keeps what a cut single PUT sent; a multipart upload is aborted.)
    assert.equal(await store.head('d/broken-parts'), undefined);
  });

  it('lists, copies with new metadata and deletes many; a listing left early ends', async () => {
    for (const key of ['e/1', 'e/2', 'e/sub/3']) await store.put(key, Buffer.from(key), { metadata: { origin: key } });
    const listed: string[] = [];
    for await (const o of store.list('e/', { delimiter: '/' })) listed.push(o.commonPrefix ? `${o.key}*` : o.key);
    assert.deepEqual(listed, ['e/1', 'e/2', 'e/sub/*']);
    for await (const o of store.list('e/')) {
      assert.equal(o.key, 'e/1');
      break;
    }
    await store.copy('e/1', 'e/copy', { metadata: { origin: 'copied' } });
    assert.deepEqual((await store.head('e/copy'))?.metadata, { origin: 'copied' });
    assert.ok((await store.get('e/copy')).data.equals(Buffer.from('e/1')));
    assert.deepEqual(await store.deleteMany(['e/1', 'e/2', 'e/never']), new Map());
    await store.delete('e/sub/3');
    const left: string[] = [];
    for await (const o of store.list('e/')) left.push(o.key);
    assert.deepEqual(left, ['e/copy']);
  });

  it('fails what is in flight, and every later request, once closed', async () => {
    const closing = new WorkerBackend(s3.settings);
    const inFlight = closing.put('f/late', randomBytes(MiB));
    closing.close();
    await assert.rejects(inFlight, /closed/);
    await assert.rejects(closing.head('f/late'), /closed/);
  });

  it("leaves the AWS SDK's notice of an unsupported Node to the process's own first client: printed once, not once more per worker", async () => {
    const script = `
      import { S3Client } from '@aws-sdk/client-s3';
      import { WorkerBackend } from ${JSON.stringify(new URL('../../src/cloud/worker-backend.ts', import.meta.url).href)};
      new S3Client({ region: 'us-east-1' }).destroy();
      const backend = new WorkerBackend(JSON.parse(process.env.SETTINGS));
      await backend.ready();
      await backend.head('nothing-here').catch(() => undefined);
      backend.close();`;
    const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, SETTINGS: JSON.stringify(s3.settings) },
    });
    const notices = stderr.split('NodeVersionSupportWarning').length - 1;
    assert.equal(notices, Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0, stderr);
  });
});
