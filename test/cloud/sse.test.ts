// Server-side encryption as the gateway asks S3 for it: every request that
// writes an object (PutObject, CreateMultipartUpload, CopyObject, and the
// shelf's storage-class archives) carries SSE-S3's or SSE-KMS's headers, and
// no other request does (S3 refuses them on UploadPart unless the key is the
// client's). Seen on the wire by a proxy in front of s3rver, which stores
// objects as given: whether S3 then encrypts is S3's part.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ArchiveBucket } from '../../src/cloud/archive-bucket.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import type { ServerSideEncryption } from '../../src/cloud/sse.ts';
import { startFaultInjector, type FaultInjector } from './fault-injector.ts';
import { startS3, type S3Fixture } from './helpers.ts';

const MiB = 1024 * 1024;
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

async function* chunks(data: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += MiB) yield data.subarray(at, at + MiB);
}

describe('@slow server-side encryption requested of S3', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  let wire: FaultInjector;

  before(async () => {
    s3 = await startS3();
    wire = await startFaultInjector({ target: s3.settings.endpoint!, rate: 0, seed: 1 });
  });
  after(async () => {
    await wire.close();
    await s3.close();
  });

  for (const [sse, headers] of [
    [
      { mode: 'SSE-KMS', kmsKeyArn: KEY_ARN },
      { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN },
    ],
    [{ mode: 'SSE-S3' }, { 'x-amz-server-side-encryption': 'AES256' }],
  ] as [ServerSideEncryption, Record<string, string>][]) {
    it(`${sse.mode}: on every write of the cache's objects and the shelf's archives, and on nothing else`, async () => {
      const settings = {
        ...s3.settings,
        endpoint: wire.endpoint,
        prefix: `${sse.mode}/`,
        serverSideEncryption: sse,
        multipartThreshold: 8 * MiB,
        minPartSize: 5 * MiB,
      };
      const store = new ObjectStore(settings);
      const archives = new ArchiveBucket(settings);
      wire.seen.length = 0;
      try {
        const small = randomBytes(MiB);
        const large = randomBytes(12 * MiB);
        await store.put('small', small);
        await store.put('large', large);
        await store.copy('small', 'copied', { metadata: { mode: '0644' } });
        const archive = randomBytes(17 * MiB);
        const key = archives.keyOf('SSE001L5');
        await archives.upload(key, 'GLACIER', chunks(archive), {
          sizeHint: archive.length,
          onInitiated: async () => undefined,
          onCompleting: async () => undefined,
        });

        const writes = wire.seen.filter(
          (r) => (r.method === 'PUT' && !r.url.includes('partNumber=')) || (r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url)),
        );
        assert.deepEqual(
          writes.map((r) => `${r.method} ${r.url.split('?')[0]}${r.headers['x-amz-copy-source'] ? ' (copy)' : ''}`),
          [
            `PUT /gateway-test/${sse.mode}/small`,
            `POST /gateway-test/${sse.mode}/large`,
            `PUT /gateway-test/${sse.mode}/copied (copy)`,
            `POST /gateway-test/${key}`,
          ],
        );
        for (const request of writes) {
          for (const [name, value] of Object.entries(headers))
            assert.equal(request.headers[name], value, `${name} on ${request.method} ${request.url}`);
        }
        const others = wire.seen.filter((r) => !writes.includes(r));
        assert.ok(
          others.some((r) => r.url.includes('partNumber=')),
          'parts were sent',
        );
        for (const request of others)
          assert.equal(request.headers['x-amz-server-side-encryption'], undefined, `${request.method} ${request.url}`);

        // Read back without any key: S3 decrypts what it encrypted.
        assert.ok((await store.get('large')).data.equals(large));
        assert.ok((await store.get('copied')).data.equals(small));
      } finally {
        store.close();
        archives.close();
      }
    });
  }

  it('asks nothing without a setting: the bucket default applies', async () => {
    const store = new ObjectStore({ ...s3.settings, endpoint: wire.endpoint, prefix: 'plain/' });
    wire.seen.length = 0;
    try {
      await store.put('small', randomBytes(1000));
      assert.equal(wire.seen.filter((r) => r.method === 'PUT').length, 1);
      assert.ok(wire.seen.every((r) => r.headers['x-amz-server-side-encryption'] === undefined));
    } finally {
      store.close();
    }
  });
});
