// What every AWS SDK client of the gateway shares: keep-alive agents with our
// connect and idle timeouts, no retries of the SDK's own (ours count each retry
// by cause), no console logging, and reading a response body of a known length.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { ChecksumMismatchError } from './retry.ts';

export interface SdkConnection {
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined;
  readonly connectTimeoutMs?: number | undefined;
  /** A socket, or a response body, silent this long is given up. */
  readonly idleTimeoutMs: number;
  readonly maxSockets?: number | undefined;
}

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** The configuration fields an S3Client or GlacierClient takes for a connection. */
export function sdkClientConfig(connection: SdkConnection) {
  const agent = { keepAlive: true, maxSockets: connection.maxSockets ?? 64 };
  return {
    endpoint: connection.endpoint,
    region: connection.region,
    credentials: connection.credentials,
    maxAttempts: 1,
    // The SDK would log a console line for each failed streamed body; the retries count those.
    logger: silent,
    requestHandler: {
      connectionTimeout: connection.connectTimeoutMs ?? 10_000,
      socketTimeout: connection.idleTimeoutMs,
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
    },
  };
}

/**
 * Reads a response body into one buffer of the announced length (`into`'s
 * start, when given), showing each chunk to `seen` as it arrives; more, less or
 * a stall of `idleMs` is an error.
 */
export async function collectBody(
  body: Readable,
  length: number,
  idleMs: number,
  seen: (chunk: Buffer) => void,
  into?: Buffer,
): Promise<Buffer> {
  const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let at = 0;
  const timer = setTimeout(() => body.destroy(Object.assign(new Error('response body stalled'), { name: 'TimeoutError' })), idleMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      timer.refresh();
      if (at + chunk.length > length) throw new ChecksumMismatchError(`response body longer than its ${length} bytes`);
      chunk.copy(out, at);
      at += chunk.length;
      seen(chunk);
    }
  } finally {
    clearTimeout(timer);
  }
  if (at !== length) throw new ChecksumMismatchError(`response body ended at ${at} of ${length} bytes`);
  return out;
}
