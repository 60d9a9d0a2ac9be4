// Retries for cloud requests: exponential backoff with full jitter
// (delay = random(0, min(cap, base * 2^attempt))), a ceiling on attempts, and
// a cause for every retry so the metrics can tell throttling from failures.
import { setTimeout as sleep } from 'node:timers/promises';

export type RetryCause = 'throttle' | 'server' | 'timeout' | 'reset' | 'checksum';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Damage in transit is rare: a checksum failing this often is damage at rest, and no wait will mend it. */
const CHECKSUM_ATTEMPTS = 3;

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 20_000 };

/** Bytes that failed their checksum: retried, since the damage may be in transit. */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

/** The endpoint refused an upload whose body did not match the checksum sent with it (AWS, Ceph RGW). */
const uploadRefusals = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'XAmzContentChecksumMismatch']);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);
const timeoutCodes = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Why an error is worth another attempt, or undefined when it is not. */
export function retryCause(error: unknown): RetryCause | undefined {
  if (error instanceof ChecksumMismatchError) return 'checksum';
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  if (status === 400 && uploadRefusals.has(e?.name ?? '')) return 'checksum';
  if (status === 503 || e?.name === 'SlowDown' || e?.name === 'Throttling' || e?.name === 'ThrottlingException') return 'throttle';
  if (status !== undefined && status >= 500) return 'server';
  // Before the name: the SDK names a reset connection a TimeoutError, keeping its code.
  if (resetCodes.has(e?.code ?? '') || /socket hang up|ECONNRESET|aborted/i.test(e?.message ?? '')) return 'reset';
  if (e?.name === 'TimeoutError' || e?.name === 'RequestTimeout' || timeoutCodes.has(e?.code ?? '')) return 'timeout';
  // The SDK turns an unparseable error body (a reply cut short) into a status-less error.
  if (status === undefined && e?.name === 'Error' && /Deserialization|Unexpected end|non-XML/i.test(e?.message ?? '')) return 'reset';
  return undefined;
}

export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: (cause: RetryCause, error: unknown) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const cause = retryCause(error);
      if (cause === undefined || n >= (cause === 'checksum' ? Math.min(CHECKSUM_ATTEMPTS, policy.maxAttempts) : policy.maxAttempts))
        throw error;
      onRetry(cause, error);
      await sleep(Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1)));
    }
  }
}
