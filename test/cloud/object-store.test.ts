import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ObjectNotFoundError, UnverifiableObjectError } from '../../src/cloud/object-backend.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { ChecksumMismatchError } from '../../src/cloud/retry.ts';
import { checkPublicAccessBlock } from '../../src/cloud/account-guard.ts';
import { createLogger } from '../../src/log.ts';
import { probeUploadChecks, type UploadCheck } from '../../src/cloud/upload-checks.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { startFaultInjector } from './fault-injector.ts';
import { flipStoredByte, startS3, type S3Fixture } from './helpers.ts';

const MiB = 1024 * 1024;

describeEachBackend('@slow cloud ObjectStore through the AWS SDK', function (backend) {
  this.timeout(60_000);
  let s3: S3Fixture;
  let store: ObjectStore;
  const retries: string[] = [];

  beforeEach(async () => {
    s3 = await backend.bucket();
    store = new ObjectStore(
      { ...s3.settings, prefix: 'gw/', multipartThreshold: 8 * MiB, minPartSize: 5 * MiB, retry: { maxAttempts: 3, baseDelayMs: 10 } },
      { observer: { retried: (cause) => retries.push(cause) } },
    );
  });
  afterEach(async () => {
    store.close();
    await s3.close();
  });

  it('puts and gets objects whole and by range, single and multipart, under the key prefix', async () => {
    const small = randomBytes(3 * MiB + 17);
    const large = randomBytes(21 * MiB + 5);
    await store.put('a/small', small);
    await store.put('a/large', large);
    assert.ok((await store.get('a/small')).data.equals(small));
    assert.ok((await store.get('a/large')).data.equals(large));
    for (const [offset, length] of [
      [0, 1],
      [MiB - 1, 2],
      [7 * MiB + 5, 3 * MiB],
      [21 * MiB, 5],
      [123, 0],
    ] as const) {
      const got = await store.get('a/large', { offset, length });
      assert.equal(got.size, large.length);
      assert.ok(got.data.equals(large.subarray(offset, offset + length)), `range ${offset}+${length}`);
    }
    const raw = await s3.raw.send(new HeadObjectCommand({ Bucket: s3.settings.bucket, Key: 'gw/a/large' }));
    assert.equal(raw.ContentLength, large.length);
    assert.ok(raw.Metadata?.['gw-crc32c'], 'our checksum travels in the object metadata');
  });

  it('heads, lists, copies and deletes', async () => {
    const body = randomBytes(1000);
    await store.put('b/one', body);
    await store.put('b/two', Buffer.alloc(0));
    assert.deepEqual((await store.head('b/one'))?.size, 1000);
    assert.equal(await store.head('b/none'), undefined);
    await store.copy('b/one', 'b/three');
    assert.ok((await store.get('b/three')).data.equals(body));
    const keys: string[] = [];
    for await (const o of store.list('b/')) keys.push(o.key);
    assert.deepEqual(keys, ['b/one', 'b/three', 'b/two']);
    await store.delete('b/one');
    await store.delete('b/one');
    await assert.rejects(store.get('b/one'), ObjectNotFoundError);
    assert.equal((await store.get('b/two')).data.length, 0);
  });

  it('deletes many keys in one call, absent ones too, and only under its prefix', async () => {
    await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: 'c/kept', Body: 'outside the prefix' }));
    for (const key of ['c/one', 'c/two', 'c/kept']) await store.put(key, Buffer.from(key));
    assert.deepEqual(await store.deleteMany(['c/one', 'c/two', 'c/never']), new Map());
    const keys: string[] = [];
    for await (const o of store.list('c/')) keys.push(o.key);
    assert.deepEqual(keys, ['c/kept']);
    const outside = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: 'c/kept' }));
    assert.equal(await outside.Body!.transformToString(), 'outside the prefix');
  });

  it('detects an object altered behind its back, and never serves it', async () => {
    const body = randomBytes(2 * MiB);
    await store.put('c/victim', body);
    await flipStoredByte(s3.raw, s3.settings.bucket, 'gw/c/victim', MiB + 3);
    retries.length = 0;
    await assert.rejects(store.get('c/victim'), ChecksumMismatchError);
    await assert.rejects(store.get('c/victim', { offset: MiB, length: 10 }), ChecksumMismatchError);
    assert.ok(retries.every((c) => c === 'checksum') && retries.length > 0, 'counted as checksum retries');
    // The block that is intact still reads.
    assert.ok((await store.get('c/victim', { offset: 10, length: 10 })).data.equals(body.subarray(10, 20)));
  });

  it('refuses objects that carry no checksum of ours', async () => {
    await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: 'gw/d/foreign', Body: Buffer.from('unverified') }));
    await assert.rejects(store.get('d/foreign'), UnverifiableObjectError);
  });

  it('has a body damaged on its way refused and sent again exactly when the probe found the endpoint checks what went with it; else the damage is refused at read', async () => {
    const verifies = await probeUploadChecks(s3.raw, s3.settings.bucket);
    const checked: Record<UploadCheck, boolean> = {
      crc32c: verifies.crc32c,
      sha256: verifies.sha256,
      'content-md5': verifies.contentMd5,
      none: false,
    };
    const proxy = await startFaultInjector({ target: s3.settings.endpoint!, rate: 0, seed: 1 });
    try {
      for (const check of Object.keys(checked) as UploadCheck[]) {
        const through = new ObjectStore({
          ...s3.settings,
          endpoint: proxy.endpoint,
          uploadCheck: check,
          prefix: `transit/${check}/`,
          multipartThreshold: 5 * MiB,
          minPartSize: 5 * MiB,
          retry: { maxAttempts: 3, baseDelayMs: 10 },
        });
        try {
          for (const [name, size] of [
            ['single', MiB],
            ['in-parts', 5 * MiB + 1],
          ] as const) {
            const body = randomBytes(size);
            const damaged = proxy.damaged;
            proxy.damageBodies(1);
            await through.put(name, body);
            assert.equal(proxy.damaged, damaged + 1);
            if (checked[check])
              assert.ok((await through.get(name)).data.equals(body), `${check}: the damaged ${name} upload was refused and sent again`);
            else await assert.rejects(through.get(name), ChecksumMismatchError, `${check}: the damage landed and is refused at read`);
          }
        } finally {
          through.close();
        }
      }
    } finally {
      await proxy.close();
    }
  });
});

describe('cloud ObjectStore: the account guard', function () {
  this.timeout(60_000);
  let s3: S3Fixture;

  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3.close();
  });

  it('skips the public-access check, with a log line, where the endpoint has no S3 Control API', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' });
    const spy = logger.child({});
    spy.info = (obj: unknown, msg?: string) => lines.push(`${JSON.stringify(obj)} ${msg}`);
    assert.equal(await checkPublicAccessBlock({ ...s3.settings, accountId: '123456789012' }, spy), 'skipped');
    const local = s3.settings.endpoint!.replace('127.0.0.1', 'localhost');
    assert.equal(await checkPublicAccessBlock({ ...s3.settings, endpoint: local, accountId: '123456789012' }, spy), 'skipped');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => /skipped/.test(l)));
  });
});
