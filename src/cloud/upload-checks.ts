// What an S3 endpoint verifies of an upload's body, found by asking it: a PUT of
// a scratch key with one deliberately wrong checksum is refused only by an
// endpoint that checks that checksum. Endpoints differ (measured): AWS checks
// all three; Ceph RGW 16 accepts x-amz-checksum-crc32c without checking it
// (nor ever returning it) but checks the SigV4 payload hash and Content-MD5;
// s3rver checks none. The gateway uses the cheapest check the endpoint makes,
// and never counts on one it does not.
import { createHash, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client, type UploadPartCommand } from '@aws-sdk/client-s3';
import { crc32c } from '../crc32c/crc32c.ts';
import { crcBase64 } from '../crc32c/block-checksums.ts';

export interface UploadChecks {
  /** x-amz-checksum-crc32c */
  readonly crc32c: boolean;
  /** The SigV4 payload hash, x-amz-content-sha256 */
  readonly sha256: boolean;
  readonly contentMd5: boolean;
}

/**
 * What the gateway sends with each upload for the endpoint to refuse a body
 * damaged on the way. 'crc32c' costs no pass over the bytes (the cache's block
 * CRCs combine into it); 'sha256' and 'content-md5' cost one before the request
 * (about 1 GB/s and 0.25 GB/s here); 'none': only our own per-block CRC32C,
 * checked when the object is read.
 */
export type UploadCheck = 'crc32c' | 'sha256' | 'content-md5' | 'none';

/** The cheapest check the endpoint makes. */
export function uploadCheckFor(checks: UploadChecks): UploadCheck {
  if (checks.crc32c) return 'crc32c';
  if (checks.sha256) return 'sha256';
  if (checks.contentMd5) return 'content-md5';
  return 'none';
}

/** How one upload check reads in a log line. */
export const uploadCheckDescription: Readonly<Record<UploadCheck, string>> = {
  crc32c: 'the endpoint refuses an upload whose x-amz-checksum-crc32c does not match',
  sha256: 'the endpoint refuses an upload whose signed SHA-256 payload hash does not match (it does not check x-amz-checksum-crc32c)',
  'content-md5':
    'the endpoint refuses an upload whose Content-MD5 does not match (it checks neither x-amz-checksum-crc32c nor the payload hash)',
  none: 'the endpoint checks no checksum of an upload: a body damaged on the way is found only when it is read back (our per-block CRC32C)',
};

/**
 * PUTs `key` (a scratch key, deleted afterwards) once with every checksum right,
 * then once with each one wrong. A checksum is checked when its right value is
 * accepted and a wrong one refused with 400. Any other failure is thrown: the
 * bucket cannot be written.
 */
export async function probeUploadChecks(
  client: S3Client,
  bucket: string,
  key = `.tape-gateway-probe/${randomUUID()}`,
): Promise<UploadChecks> {
  const body = Buffer.from(`upload check probe ${key}`);
  const right = {
    crc32c: crcBase64(crc32c(body)),
    md5: createHash('md5').update(body).digest('base64'),
  };
  const wrong = {
    crc32c: crcBase64(crc32c(body) ^ 1),
    md5: createHash('md5').update(key).digest('base64'),
    sha256: createHash('sha256').update(key).digest('hex'),
  };
  const put = (input: { ChecksumCRC32C?: string; ContentMD5?: string }, sha256?: string) => {
    return client.send(
      withPayloadHash(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ...input }), sha256),
    );
  };
  /** true: refused as damaged; false: stored. */
  const refused = (attempt: Promise<unknown>) =>
    attempt.then(
      () => false,
      (error: unknown) => {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400) return true;
        throw error;
      },
    );
  try {
    await put({ ChecksumCRC32C: right.crc32c, ContentMD5: right.md5 });
    return {
      crc32c: await refused(put({ ChecksumCRC32C: wrong.crc32c })),
      sha256: await refused(put({}, wrong.sha256)),
      contentMd5: await refused(put({ ContentMD5: wrong.md5 })),
    };
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}

/** The part of a command's middleware stack withPayloadHash() uses, alike for every command. */
interface BuildStep {
  add(
    middleware: (next: (args: { request: unknown }) => Promise<unknown>) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: 'build'; name: string },
  ): void;
}

/**
 * Signs `command`'s body with `sha256` (hex), when given, as its payload hash:
 * an endpoint that checks SigV4 payloads refuses a body that does not match it.
 */
export function withPayloadHash<C extends PutObjectCommand | UploadPartCommand>(command: C, sha256: string | undefined): C {
  if (sha256 === undefined) return command;
  (command.middlewareStack as unknown as BuildStep).add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (headers) headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'payloadHash' },
  );
  return command;
}
