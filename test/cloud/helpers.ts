// A real s3rver with a fresh bucket per suite, and the settings to reach it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/cloud/local-s3.ts';
import type { S3Settings } from '../../src/cloud/object-store.ts';

export const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Fixture {
  s3: LocalS3;
  settings: S3Settings;
  /** A plain SDK client, to act behind the gateway's back. */
  raw: S3Client;
  close(): Promise<void>;
}

export async function startS3(bucket = 'gateway-test'): Promise<S3Fixture> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3 = await startLocalS3({ directory });
  const raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    s3,
    raw,
    settings: { endpoint: s3.endpoint, region: 'us-east-1', credentials, bucket, forcePathStyle: true },
    async close() {
      raw.destroy();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
