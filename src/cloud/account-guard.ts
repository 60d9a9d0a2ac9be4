// Start-up check that the account blocks public access to buckets. Endpoints
// other than AWS (s3rver, MinIO, Ceph RGW) have no S3 Control API: there the
// check is skipped with a log line rather than failing the start.
import { isIP } from 'node:net';
import { S3ControlClient, GetPublicAccessBlockCommand } from '@aws-sdk/client-s3-control';
import type { Logger } from '../log.ts';
import type { S3Settings } from './object-store.ts';

export type PublicAccessVerdict = 'blocked' | 'exposed' | 'skipped';

const FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

export async function checkPublicAccessBlock(
  settings: Pick<S3Settings, 'endpoint' | 'region' | 'credentials'> & { accountId?: string },
  logger: Logger,
): Promise<PublicAccessVerdict> {
  if (!settings.accountId) {
    logger.info({ check: 'public-access-block' }, 'no account id configured; public-access check skipped');
    return 'skipped';
  }
  // S3 Control addresses <account>.<host>, which an endpoint at an IP address cannot have.
  if (settings.endpoint !== undefined && isIP(new URL(settings.endpoint).hostname.replace(/^\[|\]$/g, '')) !== 0) {
    logger.info(
      { check: 'public-access-block', endpoint: settings.endpoint },
      'endpoint has no S3 Control API; public-access check skipped',
    );
    return 'skipped';
  }
  const client = new S3ControlClient({
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: settings.credentials,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 10_000 },
  });
  try {
    const res = await client.send(new GetPublicAccessBlockCommand({ AccountId: settings.accountId }));
    const config = res.PublicAccessBlockConfiguration ?? {};
    const open = FLAGS.filter((flag) => config[flag] !== true);
    if (open.length === 0) {
      logger.info({ check: 'public-access-block' }, 'account blocks public access to buckets');
      return 'blocked';
    }
    logger.warn({ check: 'public-access-block', open }, 'account does not fully block public access: buckets could be made public');
    return 'exposed';
  } catch (error) {
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchPublicAccessBlockConfiguration') {
      logger.warn({ check: 'public-access-block' }, 'account has no public-access block: buckets could be made public');
      return 'exposed';
    }
    logger.info(
      { check: 'public-access-block', endpoint: settings.endpoint, error: e.name ?? e.message, status: e.$metadata?.httpStatusCode },
      'endpoint has no S3 Control API; public-access check skipped',
    );
    return 'skipped';
  } finally {
    client.destroy();
  }
}
