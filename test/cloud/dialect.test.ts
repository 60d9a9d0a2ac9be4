// Where the S3 endpoints the gateway runs on answer differently, pinned: each
// row of `dialects` is what that backend was measured to do, and a test below
// asserts it through a plain SDK client. When a backend changes (a new Ceph, a
// new s3rver) a failure here says which assumption broke. What the gateway
// does about each difference is said beside the row.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { probeUploadChecks, type UploadChecks } from '../../src/cloud/upload-checks.ts';
import { describeEachBackend, type BackendName } from '../helpers/s3-backends.ts';
import type { S3Fixture } from './helpers.ts';

interface Dialect {
  /** What the endpoint checks of an upload: the gateway sends the cheapest of these (src/cloud/upload-checks.ts). */
  verifies: UploadChecks;
  /** CompleteMultipartUpload's ETag: never used by the gateway (only UploadPart's, to complete). */
  completeEtag: 'quoted' | 'empty';
  /**
   * The same Complete again, as the shelf sends it after a restart (AWS: NoSuchUpload): the
   * shelf's ArchiveBucket counts the upload done when the object has the size it recorded.
   */
  completeAgain: 'InternalError' | 'ok';
  /** HeadObject's ETag of an object uploaded in two parts. */
  multipartEtag: RegExp;
  /** CopyObject's ETag: never used by the gateway. */
  copyEtag: 'quoted' | 'unquoted';
  /**
   * A streamed body in the SDK's default checksum mode (aws-chunked with a
   * trailing checksum): the gateway's clients that stream use
   * requestChecksumCalculation 'WHEN_REQUIRED' and send plain bodies.
   */
  streamedWithTrailer: 'refused 411' | 'stored with its chunk framing';
  /** A storage class S3 has and the endpoint was not set up with. */
  unknownStorageClass: 'accepted' | 'refused';
  /** A Range on an empty object: the engine never asks one (an empty read is answered by HEAD). */
  rangeOfEmpty: 'InvalidRange' | 'announces a byte and stalls';
  /**
   * A bucket created in a region that is not the endpoint's (RGW: us-east-1 or the
   * zonegroup's name): the gateway's start-up says S3_BUCKET_UNUSABLE, and the README
   * says which --s3-region to give.
   */
  foreignRegion: 'refused' | 'accepted';
}

const dialects: Record<BackendName, Dialect> = {
  s3rver: {
    verifies: { crc32c: false, sha256: false, contentMd5: false },
    completeEtag: 'quoted',
    completeAgain: 'InternalError',
    multipartEtag: /^"[0-9a-f]{32}"$/,
    copyEtag: 'quoted',
    streamedWithTrailer: 'stored with its chunk framing',
    unknownStorageClass: 'accepted',
    rangeOfEmpty: 'announces a byte and stalls',
    foreignRegion: 'accepted',
  },
  rgw: {
    verifies: { crc32c: false, sha256: true, contentMd5: true },
    completeEtag: 'empty',
    completeAgain: 'ok',
    multipartEtag: /^"[0-9a-f]{32}-2"$/,
    copyEtag: 'unquoted',
    streamedWithTrailer: 'refused 411',
    unknownStorageClass: 'refused',
    rangeOfEmpty: 'InvalidRange',
    foreignRegion: 'refused',
  },
};

/** An assert.rejects() check: the endpoint answered `status` with error code `name`. */
function refusal(name: string, status: number) {
  return (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.name, name);
    assert.equal(error.$metadata?.httpStatusCode, status);
    return true;
  };
}

describeEachBackend('S3 dialect', function (backend) {
  this.timeout(60_000);
  const dialect = dialects[backend.name];
  let s3: S3Fixture;
  let Bucket: string;
  before(async () => {
    s3 = await backend.bucket();
    Bucket = s3.settings.bucket;
  });
  after(async () => {
    await s3.close();
  });

  it('checks on upload what the start-up probe says, and never returns x-amz-checksum-crc32c', async () => {
    assert.deepEqual(await probeUploadChecks(s3.raw, Bucket), dialect.verifies);
    const body = randomBytes(1000);
    await s3.raw.send(new PutObjectCommand({ Bucket, Key: 'crc', Body: body, ChecksumAlgorithm: 'CRC32C' }));
    const got = await s3.raw.send(new GetObjectCommand({ Bucket, Key: 'crc', ChecksumMode: 'ENABLED' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
    assert.equal(got.ChecksumCRC32C, undefined, 'no stored checksum to compare reads with: the gateway keeps its own in the metadata');
  });

  it('answers ETags of multipart uploads and copies in its own form', async () => {
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(100)];
    const { UploadId } = await s3.raw.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp' }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      const part = await s3.raw.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body }));
      assert.equal(part.ETag, `"${createHash('md5').update(Body).digest('hex')}"`, 'a part ETag is the quoted MD5 of the part everywhere');
      etags.push(part.ETag);
    }
    const complete = new CompleteMultipartUploadCommand({
      Bucket,
      Key: 'mp',
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    });
    const done = await s3.raw.send(complete);
    assert.equal(
      dialect.completeEtag === 'empty' ? done.ETag === '' : /^"[0-9a-f]{32}"$/.test(done.ETag ?? ''),
      true,
      `Complete answered ETag ${JSON.stringify(done.ETag)}`,
    );
    const once = new S3Client({ ...s3.settings, maxAttempts: 1 });
    try {
      if (dialect.completeAgain === 'ok') await once.send(complete);
      else await assert.rejects(once.send(complete), refusal('InternalError', 500));
    } finally {
      once.destroy();
    }
    const head = await s3.raw.send(new HeadObjectCommand({ Bucket, Key: 'mp' }));
    assert.match(head.ETag ?? '', dialect.multipartEtag);

    const copied = await s3.raw.send(new CopyObjectCommand({ Bucket, Key: 'mp-copy', CopySource: `${Bucket}/mp` }));
    const bare = head.ETag!.replace(/"/g, '');
    assert.equal(copied.CopyObjectResult?.ETag, dialect.copyEtag === 'unquoted' ? bare : `"${bare}"`);
  });

  it('takes or refuses a streamed body in the SDK default checksum mode', async () => {
    const body = Buffer.from('a streamed body with a trailing checksum');
    const defaults = new S3Client({ ...s3.settings, maxAttempts: 1, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    try {
      const put = defaults.send(new PutObjectCommand({ Bucket, Key: 'streamed', Body: Readable.from([body]), ContentLength: body.length }));
      if (dialect.streamedWithTrailer === 'refused 411') {
        await assert.rejects(put, refusal('MissingContentLength', 411));
      } else {
        await put;
        const got = await s3.raw.send(new GetObjectCommand({ Bucket, Key: 'streamed' }));
        const stored = Buffer.from(await got.Body!.transformToByteArray()).toString();
        assert.notEqual(stored, body.toString());
        assert.match(
          stored,
          /^[0-9a-f]+\r\na streamed body with a trailing checksum\r\n0\r\nx-amz-checksum-crc32:/,
          'the chunk framing is stored as the object',
        );
      }
    } finally {
      defaults.destroy();
    }
  });

  it('keeps the archive storage classes, refuses or takes an unknown one, and has no RestoreObject', async () => {
    for (const StorageClass of ['GLACIER', 'DEEP_ARCHIVE'] as StorageClass[]) {
      await s3.raw.send(new PutObjectCommand({ Bucket, Key: `class/${StorageClass}`, Body: 'archived', StorageClass }));
      assert.equal((await s3.raw.send(new HeadObjectCommand({ Bucket, Key: `class/${StorageClass}` }))).StorageClass, StorageClass);
      // Readable at once: neither has an archive tier (scripts/ceph-rgw.sh makes these classes plain pools).
      const got = await s3.raw.send(new GetObjectCommand({ Bucket, Key: `class/${StorageClass}` }));
      assert.equal(await got.Body!.transformToString(), 'archived');
      const restore = s3.raw.send(
        new RestoreObjectCommand({
          Bucket,
          Key: `class/${StorageClass}`,
          RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Bulk' } },
        }),
      );
      await assert.rejects(restore, refusal('NotImplemented', 501));
    }
    const unknown = s3.raw.send(new PutObjectCommand({ Bucket, Key: 'class/other', Body: 'x', StorageClass: 'ONEZONE_IA' }));
    if (dialect.unknownStorageClass === 'refused') await assert.rejects(unknown, refusal('InvalidArgument', 400));
    else await unknown;
  });

  it('answers a Range on an empty object in its own way', async () => {
    await s3.raw.send(new PutObjectCommand({ Bucket, Key: 'empty', Body: Buffer.alloc(0) }));
    const once = new S3Client({ ...s3.settings, maxAttempts: 1 });
    const read = async () => {
      const got = await once.send(new GetObjectCommand({ Bucket, Key: 'empty', Range: 'bytes=0-0' }), {
        abortSignal: AbortSignal.timeout(1_000),
      });
      return got.Body!.transformToByteArray();
    };
    try {
      if (dialect.rangeOfEmpty === 'InvalidRange') await assert.rejects(read(), refusal('InvalidRange', 416));
      else await assert.rejects(read(), /aborted/);
    } finally {
      once.destroy();
    }
  });

  it('creates buckets in a region of its own only', async () => {
    const elsewhere = new S3Client({ ...s3.settings, region: 'eu-west-1', maxAttempts: 1 });
    try {
      const create = elsewhere.send(
        new CreateBucketCommand({ Bucket: `${Bucket}-eu`, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
      );
      if (dialect.foreignRegion === 'refused') await assert.rejects(create, refusal('InvalidLocationConstraint', 400));
      else await create;
      await s3.raw.send(new CreateBucketCommand({ Bucket: `${Bucket}-us` }));
    } finally {
      elsewhere.destroy();
    }
  });
});
