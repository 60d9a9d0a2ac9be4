// The gateway's S3 connection: the embedded endpoint when configured, one SDK
// client either way, the bucket created or checked before anything uses it, and
// what the endpoint verifies of an upload found out before anything is uploaded.
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../cloud/local-s3.ts';
import type { BackendHooks, ObjectBackend } from '../cloud/object-backend.ts';
import { ObjectStore, type S3Settings } from '../cloud/object-store.ts';
import { WorkerBackend } from '../cloud/worker-backend.ts';
import { probeUploadChecks, uploadCheckDescription, uploadCheckFor, type UploadCheck } from '../cloud/upload-checks.ts';
import type { S3Config } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { GatewayError } from './errors.ts';

export interface S3Connection {
  readonly client: S3Client;
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
  /** What goes with each upload for the endpoint to check. */
  readonly uploadCheck: UploadCheck;
  readonly close: () => Promise<void>;
}

/** The cache's backend on the bucket of `settings`, its requests on the thread the configuration names. */
export function openObjectBackend(settings: S3Settings, thread: S3Config['requestThread'], hooks: BackendHooks): ObjectBackend {
  return thread === 'worker' ? new WorkerBackend(settings, hooks) : new ObjectStore(settings, hooks);
}

export function isAwsEndpoint(endpoint: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname);
}

export async function connectS3(config: S3Config, embeddedDirectory: string, logger: Logger): Promise<S3Connection> {
  const local: LocalS3 | undefined = config.embedded ? await startLocalS3({ directory: embeddedDirectory }) : undefined;
  const endpoint = local?.endpoint ?? config.endpoint;
  const client = new S3Client({
    region: config.region,
    endpoint,
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });
  const close = async () => {
    client.destroy();
    await local?.close();
  };
  let uploadCheck: UploadCheck;
  try {
    await ensureBucket(client, config, endpoint, logger);
    uploadCheck = await findUploadCheck(client, config, endpoint, logger, local !== undefined);
  } catch (err) {
    await close();
    throw err;
  }
  if (local) logger.info({ endpoint, directory: embeddedDirectory, pid: local.pid }, 'embedded S3 endpoint started');
  if (local && local.repaired.length > 0) {
    logger.warn(
      { objects: local.repaired },
      'embedded S3: removed objects an interrupted upload had left torn (the cache uploads them again)',
    );
  }
  return { client, endpoint, bucket: config.bucket, prefix: config.prefix, uploadCheck, close };
}

/** Probes the endpoint with a scratch key under the prefix and says, once, which check protects uploads. */
async function findUploadCheck(
  client: S3Client,
  config: S3Config,
  endpoint: string,
  logger: Logger,
  embedded: boolean,
): Promise<UploadCheck> {
  let verifies;
  try {
    verifies = await probeUploadChecks(client, config.bucket, `${config.prefix}.tape-gateway-probe/${randomUUID()}`);
  } catch (err) {
    throw bucketError(err, config.bucket, endpoint, 'write to');
  }
  const uploadCheck = uploadCheckFor(verifies);
  // On the embedded endpoint nothing lies between the gateway and the disk but the loopback.
  const level = uploadCheck === 'none' && !embedded ? 'warn' : 'info';
  logger[level](
    { endpoint, verifies, uploadCheck },
    `uploads: ${uploadCheckDescription[uploadCheck]}; reads: every block is checked against its CRC32C`,
  );
  return uploadCheck;
}

async function ensureBucket(client: S3Client, config: S3Config, endpoint: string, logger: Logger): Promise<void> {
  const { bucket } = config;
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    logger.info({ bucket, endpoint }, 'bucket found');
    return;
  } catch (err) {
    if (httpStatus(err) !== 404) throw bucketError(err, bucket, endpoint, 'check');
  }
  try {
    // us-east-1 is the one region that must not be named as a location.
    const location =
      !config.embedded && config.region !== 'us-east-1'
        ? { CreateBucketConfiguration: { LocationConstraint: config.region as BucketLocationConstraint } }
        : {};
    await client.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
    logger.info({ bucket, endpoint }, 'bucket created');
  } catch (err) {
    if ((err as Error).name === 'BucketAlreadyOwnedByYou') return;
    throw bucketError(err, bucket, endpoint, 'create');
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function bucketError(err: unknown, bucket: string, endpoint: string, action: 'check' | 'create' | 'write to'): GatewayError {
  const status = httpStatus(err);
  if ((err as Error).name === 'CredentialsProviderError') {
    return new GatewayError(
      'S3_CREDENTIALS_MISSING',
      `no credentials for the S3 endpoint ${endpoint}: set GATEWAY_S3_ACCESS_KEY_ID and GATEWAY_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an AWS profile, or an instance role)`,
      { cause: err },
    );
  }
  if (status === undefined) {
    return new GatewayError(
      'S3_UNREACHABLE',
      `cannot reach the S3 endpoint ${endpoint} (${(err as Error).message}): check s3.endpoint (--s3-endpoint) and the network`,
      { cause: err },
    );
  }
  const hint =
    status === 403
      ? 'the credentials may not use this bucket, or another account owns it: check s3.credentials or choose another name with --s3-bucket'
      : status === 409
        ? 'another account owns this name: choose another with --s3-bucket'
        : 'check s3.bucket, s3.region and s3.credentials';
  return new GatewayError(
    'S3_BUCKET_UNUSABLE',
    `cannot ${action} bucket "${bucket}" at ${endpoint} (HTTP ${status}, ${(err as Error).name}): ${hint}`,
    { cause: err },
  );
}
