// The embedded S3 endpoint: its own process, which outlives no gateway and
// starts cleanly on a store an interrupted PUT left torn.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../src/cloud/local-s3.ts';
import { credentials, tempDir } from './helpers.ts';

function client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('@slow embedded S3 endpoint', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('local-s3-');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes an object whose PUT was interrupted, keeps the others, and serves the bucket', async () => {
    let s3 = await startLocalS3({ directory: dir });
    let sdk = client(s3.endpoint);
    await sdk.send(new CreateBucketCommand({ Bucket: 'bucket' }));
    await sdk.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'whole', Body: 'kept' }));
    await sdk.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'torn', Body: 'lost' }));
    sdk.destroy();
    await s3.close();
    // What a process stopped in the middle of writing the metadata leaves.
    await writeFile(join(dir, 'bucket', 'torn._S3rver_metadata.json'), '{"content-type":');

    s3 = await startLocalS3({ directory: dir });
    sdk = client(s3.endpoint);
    try {
      assert.deepEqual(s3.repaired, [join(dir, 'bucket', 'torn')]);
      await sdk.send(new HeadBucketCommand({ Bucket: 'bucket' }));
      const kept = await sdk.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'whole' }));
      assert.equal(await kept.Body!.transformToString(), 'kept');
      await assert.rejects(sdk.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'torn' })), { name: 'NoSuchKey' });
    } finally {
      sdk.destroy();
      await s3.close();
    }
    assert.equal(alive(s3.pid), false, 'close() ends its process');
  });

  it('deletes many objects of one folder in one request, at the first attempt', async () => {
    const s3 = await startLocalS3({ directory: dir });
    const sdk = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'bucket' }));
      const keys = Array.from({ length: 40 }, (_, i) => `tapes/T00001L5/segments/${i}.data`);
      await Promise.all(keys.map((Key) => sdk.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: Key }))));
      const res = await sdk.send(new DeleteObjectsCommand({ Bucket: 'bucket', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      assert.equal(res.Errors, undefined);
      const left = await sdk.send(new ListObjectsV2Command({ Bucket: 'bucket' }));
      assert.equal(left.KeyCount, 0);
    } finally {
      sdk.destroy();
      await s3.close();
    }
  });

  it("lists past the first page of 1,000 keys (s3rver's continuation tokens)", async () => {
    const s3 = await startLocalS3({ directory: dir });
    const sdk = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'bucket' }));
      const keys = Array.from({ length: 1002 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let at = 0; at < keys.length; at += 64) {
        await Promise.all(keys.slice(at, at + 64).map((Key) => sdk.send(new PutObjectCommand({ Bucket: 'bucket', Key, Body: 'x' }))));
      }
      const first = await sdk.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'many/', Delimiter: '/' }));
      assert.equal(first.KeyCount, 1000);
      assert.ok(first.NextContinuationToken);
      const second = await sdk.send(
        new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'many/', Delimiter: '/', ContinuationToken: first.NextContinuationToken }),
      );
      assert.deepEqual(
        second.Contents?.map((o) => o.Key),
        ['many/1000', 'many/1001'],
      );
    } finally {
      sdk.destroy();
      await s3.close();
    }
  });

  it('ends when the process that started it is killed', async () => {
    const starter = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const s = await (await import(${JSON.stringify(new URL('../../src/cloud/local-s3.ts', import.meta.url).href)})).startLocalS3({ directory: process.argv[1] }); console.log(s.pid); setInterval(() => {}, 1000);`,
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = await new Promise<number>((resolve) =>
      starter.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    assert.ok(alive(pid));
    starter.kill('SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'the S3 process went away with the gateway');
  });
});
