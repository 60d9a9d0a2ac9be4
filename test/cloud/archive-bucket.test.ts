// ArchiveBucket against the embedded s3rver: a multipart upload in an archive
// storage class, read back whole; a repeated Complete (after a crash) counts as
// done when the object is there; one that S3 cannot complete any more asks for
// the upload again; the answer to RestoreObject of s3rver and RGW (501) means
// readable now.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ArchiveBucket, UploadGoneError, type PendingObject } from '../../src/cloud/archive-bucket.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import type { S3Fixture } from './helpers.ts';

describeEachBackend('@slow ArchiveBucket', function (backend) {
  this.timeout(60_000);
  let s3: S3Fixture;
  let bucket: ArchiveBucket;

  before(async () => {
    s3 = await backend.bucket();
    bucket = new ArchiveBucket({ ...s3.settings, prefix: 'gw/' });
  });
  after(async () => {
    bucket.close();
    await s3.close();
  });

  it('uploads in parts with the storage class, completes again idempotently, and reads back every byte', async () => {
    const data = randomBytes(40 * 1024 * 1024 + 12_345);
    const source = async function* () {
      for (let at = 0; at < data.length; at += 3 * 1024 * 1024) yield data.subarray(at, at + 3 * 1024 * 1024);
    };
    const key = bucket.keyOf('ARC001L5');
    assert.equal(key, 'gw/shelf/ARC001L5.tape');
    let uploadId = '';
    let pending: PendingObject | undefined;
    const done = await bucket.upload(key, 'GLACIER', source(), {
      sizeHint: data.length,
      onInitiated: async (id) => void (uploadId = id),
      onCompleting: async (_id, p) => void (pending = p),
    });
    assert.equal(done.size, data.length);
    assert.equal(pending?.etags.length, 3, '16 MiB parts');
    const head = await bucket.head(key);
    assert.deepEqual([head?.size, head?.storageClass], [data.length, 'GLACIER']);

    // A restart after Complete: s3rver no longer knows the upload (RGW answers it again), the object is there.
    await bucket.complete(key, uploadId, pending);
    await assert.rejects(bucket.complete(bucket.keyOf('ARC999L5'), uploadId, pending), UploadGoneError);

    assert.equal(
      await bucket.requestRestore(key, 'Bulk'),
      'readable',
      's3rver answers RestoreObject 501 NotImplemented: nothing to restore',
    );
    const hash = createHash('sha256');
    for await (const chunk of bucket.read(key)) hash.update(chunk);
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));

    await bucket.delete(key);
    assert.equal(await bucket.head(key), undefined);
    await bucket.delete(key);
  });
});
