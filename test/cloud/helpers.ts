// A real s3rver with a fresh bucket per suite, and the settings to reach it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/cloud/local-s3.ts';
import type { S3Settings } from '../../src/cloud/object-store.ts';
import { flipBits } from '../helpers/bytes.ts';

export const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A bucket of its own on some S3 endpoint. */
export interface S3Fixture {
  settings: S3Settings;
  /** A plain SDK client, to act behind the gateway's back. */
  raw: S3Client;
  /** Flags and environment that point a gateway process (test/helpers/gateway-process.ts) at the bucket. */
  gateway: { args: string[]; env: Record<string, string> };
  close(): Promise<void>;
}

export interface S3rverFixture extends S3Fixture {
  s3: LocalS3;
}

export async function startS3(bucket = 'gateway-test'): Promise<S3rverFixture> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3 = await startLocalS3({ directory });
  const raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  const settings = { endpoint: s3.endpoint, region: 'us-east-1', credentials, bucket, forcePathStyle: true };
  return {
    s3,
    raw,
    settings,
    gateway: gatewayS3(settings),
    async close() {
      raw.destroy();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Flags and environment that point a gateway process at the bucket of `settings`. */
export function gatewayS3(settings: S3Settings): S3Fixture['gateway'] {
  return {
    args: [
      '--s3-endpoint',
      settings.endpoint!,
      '--s3-region',
      settings.region,
      '--s3-bucket',
      settings.bucket,
      '--s3-force-path-style',
      'true',
    ],
    env: {
      GATEWAY_S3_ACCESS_KEY_ID: settings.credentials!.accessKeyId,
      GATEWAY_S3_SECRET_ACCESS_KEY: settings.credentials!.secretAccessKey,
    },
  };
}

/**
 * Damages an object behind the gateway's back, through the SDK as anyone with
 * the bucket's keys could: the byte at `position` is inverted, the object's
 * metadata (our CRC32Cs among it) and storage class kept.
 */
export async function flipStoredByte(raw: S3Client, bucket: string, key: string, position: number): Promise<void> {
  const original = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const damaged = Buffer.from(await original.Body!.transformToByteArray());
  flipBits(damaged, position);
  await raw.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: damaged, Metadata: original.Metadata, StorageClass: original.StorageClass }),
  );
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
