// Checks an AWS Signature Version 4 Authorization header as AWS does: the
// canonical request rebuilt from what arrived, signed with the configured
// secret, compared in constant time. The payload hash is the one the client
// declared in x-amz-content-sha256; the caller checks the body against it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GlacierError } from './errors.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');
const MAX_SKEW_MS = 15 * 60_000;
const header =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

const incomplete = (message: string) => new GlacierError(400, 'IncompleteSignatureException', message);
const badSignature = (message: string) => new GlacierError(403, 'InvalidSignatureException', message);

/** Verifies the request's signature for service `glacier`, and `region` when given; throws GlacierError. */
export function verifySignature(req: IncomingMessage, credentials: Credentials, region: string | undefined, now = Date.now()): void {
  const authorization = req.headers.authorization;
  if (authorization === undefined) throw new GlacierError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const match = header.exec(authorization);
  if (!match)
    throw incomplete(
      `Authorization header requires AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature: ${authorization.slice(0, 200)}`,
    );
  const [, accessKeyId, date, scopeRegion, service, signedHeaderList, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId)
    throw new GlacierError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (credentials.sessionToken !== undefined && req.headers['x-amz-security-token'] !== credentials.sessionToken) {
    throw new GlacierError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (service !== 'glacier') throw badSignature(`Credential should be scoped to correct service: 'glacier', not '${service}'.`);
  if (region !== undefined && scopeRegion !== region)
    throw badSignature(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  const amzDate = single(req.headers['x-amz-date']);
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate))
    throw incomplete('x-amz-date is missing or not in the form YYYYMMDDTHHMMSSZ');
  if (!amzDate.startsWith(date!)) throw badSignature(`Credential date ${date} does not match x-amz-date ${amzDate}`);
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (!(Math.abs(now - signedAt) <= MAX_SKEW_MS))
    throw badSignature(`Signature expired: ${amzDate} is not within 15 minutes of the server's time.`);
  const signedHeaders = signedHeaderList!.split(';');
  if (!signedHeaders.includes('host')) throw incomplete('SignedHeaders must include host');
  const canonicalHeaders = signedHeaders.map((name) => {
    const value = req.headers[name];
    if (value === undefined) throw incomplete(`signed header ${name} is absent`);
    return `${name}:${(Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ')}\n`;
  });
  const { path, query } = splitUrl(req.url ?? '/');
  const canonicalRequest = [
    req.method,
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders.join(''),
    signedHeaderList,
    single(req.headers['x-amz-content-sha256']) ?? EMPTY_SHA256,
  ].join('\n');
  const scope = `${date}/${scopeRegion}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date!);
  for (const part of [scopeRegion!, service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    throw badSignature(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** RFC 3986 escaping, as SigV4 wants it. */
function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Services other than S3 sign the normalized path escaped once more than it travels. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escape(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  const pairs = [...new URLSearchParams(query)].map(([k, v]) => [escape(k), escape(v)] as const);
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}
