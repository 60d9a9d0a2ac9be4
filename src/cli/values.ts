// Values as an operator types them on the command line, turned into what the
// management API takes; each refusal says what to type instead.
import { parseSize } from '../config/size.ts';
import { BarcodeError, validateBarcode } from '../tape/barcode.ts';
import type { RetrievalTier } from '../shelf/shelf-service.ts';
import type { ElementKind, RetentionMode, TapeLocation } from '../tape/tape-service.ts';
import { usageError } from './errors.ts';

const DECIMAL_SIZE = /^(\d+(?:\.\d+)?)\s*([KMGTP])B$/i;

/** Bytes from "2.5TiB", "100GiB" or a number of bytes; `what` and `example` for the refusal. */
function parseBinarySize(text: string, what: string, example: string): number {
  const bytes = parseSize(text);
  if (bytes !== undefined && bytes > 0) return bytes;
  const decimal = DECIMAL_SIZE.exec(text.trim());
  if (decimal) {
    throw usageError(
      `--size ${text}: decimal units are not taken, ${what} sizes are binary: type --size ${decimal[1]}${decimal[2]!.toUpperCase()}iB`,
    );
  }
  throw usageError(
    `--size ${JSON.stringify(text)} is not a size: type a whole number of bytes or a number with KiB, MiB, GiB or TiB, e.g. --size ${example}`,
  );
}

export const parseTapeSize = (text: string): number => parseBinarySize(text, 'tape', '2.5TiB');

export const parseVolumeSize = (text: string): number => parseBinarySize(text, 'volume', '10GiB');

export const parseVolumeType = (text: string): 'cached' | 'stored' =>
  choice('type', text, ['cached', 'stored'] as const, 'a volume type (cached: the bucket holds it; stored: this machine does)');

export function parseBlockSize(size: number): 512 | 4096 {
  if (size === 512 || size === 4096) return size;
  throw usageError(`--block-size ${size} is not offered: type --block-size 512 or --block-size 4096`);
}

const EVERY = /^(\d+)\s*([mhd])$/i;
const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400 };

/** "24h", "30m", "2d" as seconds; "off" as null. */
export function parseEvery(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'off' || trimmed === 'none') return null;
  const match = EVERY.exec(trimmed);
  const count = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(count) || count < 1) {
    throw usageError(
      `--every ${JSON.stringify(text)} is not an interval: type a number of hours, minutes or days such as --every 24h, --every 90m, --every 7d, or --every off`,
    );
  }
  return count * UNIT_SECONDS[match[2]!.toLowerCase()]!;
}

export function parseCount(count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) throw usageError('--count takes a whole number of tapes, 1 or more: e.g. --count 10');
  return count;
}

/** The barcode itself when it is a valid label; the gateway checks again, this only answers sooner. */
export function checkBarcode(barcode: string): string {
  try {
    return validateBarcode(barcode);
  } catch (error) {
    if (error instanceof BarcodeError) throw usageError(error.message);
    throw error;
  }
}

const ELEMENT_KINDS: readonly ElementKind[] = ['slot', 'drive', 'import-export'];

/** "slot:12", "drive:3", "import-export:1": an element by kind and 1-based number. */
export function parseElement(text: string): { kind: ElementKind; index: number } {
  const match = /^([a-z-]+):(\d+)$/.exec(text.trim());
  const kind = ELEMENT_KINDS.find((k) => k === match?.[1]);
  const index = Number(match?.[2]);
  if (!kind || !Number.isSafeInteger(index) || index < 1) {
    throw usageError(
      `--to ${JSON.stringify(text)} names no place in the library: type slot:N, drive:N or import-export:N (N counts from 1), e.g. --to slot:12`,
    );
  }
  return { kind, index };
}

/** The inverse of parseElement, so what `tape list` shows can be typed after `--to`. */
export function formatElement(location: Pick<TapeLocation, 'kind' | 'index'>): string {
  return `${location.kind}:${location.index}`;
}

/** One of `choices`, typed in any case: "bulk" is Bulk. */
function choice<T extends string>(option: string, text: string, choices: readonly T[], what: string): T {
  const found = choices.find((c) => c.toLowerCase() === text.trim().toLowerCase());
  if (found) return found;
  throw usageError(
    `--${option} ${JSON.stringify(text)} is not ${what}: type --${option} ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`,
  );
}

export const parseTier = (text: string): RetrievalTier =>
  choice('tier', text, ['Expedited', 'Standard', 'Bulk'] as const, 'a retrieval tier');

export const parseStorageClass = (text: string): 'GLACIER' | 'DEEP_ARCHIVE' =>
  choice('storage-class', text, ['GLACIER', 'DEEP_ARCHIVE'] as const, 'an archive storage class');

export const parseRetentionLock = (text: string): Exclude<RetentionMode, 'NONE'> =>
  choice('retention-lock', text, ['GOVERNANCE', 'COMPLIANCE'] as const, 'a retention lock');

/** Whole days, 1 to 36500 (100 years). */
export function parseRetentionDays(days: number): number {
  if (!Number.isSafeInteger(days) || days < 1 || days > 36_500)
    throw usageError(`--retention-days takes whole days from 1 to 36500: e.g. --retention-days 2555 for 7 years`);
  return days;
}

/** Seconds between checks while waiting, as milliseconds. */
export function parseInterval(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw usageError('--interval takes the seconds between checks, more than 0: e.g. --interval 30');
  return seconds * 1000;
}
