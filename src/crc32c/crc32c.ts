// CRC32C (Castagnoli), the one implementation every checksum in the gateway
// uses: iSCSI digests, cache blocks, cartridge records and manifests, cloud
// objects. Native (src/crc32c/crc32c.c, built by `npm ci` through node-gyp).
import { createRequire } from 'node:module';
import { packageFile } from '../package-files.ts';

const addon = createRequire(import.meta.url)(packageFile('build', 'Release', 'crc32c.node')) as {
  crc32c(data: Uint8Array, previous: number): number;
  crc32cEach(slices: readonly Uint8Array[]): Promise<number[]>;
};

/** The CRC32C of `data`, continuing `previous`: crc32c(b, crc32c(a)) is the CRC of a then b. Unsigned. */
export function crc32c(data: Uint8Array, previous = 0): number {
  return addon.crc32c(data, previous);
}

/**
 * The CRC32C of each slice (unsigned, as crc32c() gives), taken on a thread of
 * libuv's pool. The slices' bytes must not change until it resolves; the array
 * may (the addon holds the slices itself). Anything but an array of
 * Uint8Arrays throws a TypeError here, as crc32c() does.
 */
export function crc32cEach(slices: readonly Uint8Array[]): Promise<number[]> {
  return addon.crc32cEach(slices);
}

/**
 * Runs `walk`, a computation over the CRC32Cs of slices it asks for in an
 * order that depends only on where they are (not on their bytes), with those
 * CRCs taken off this thread by `take` (crc32cEach(), or a job that reads the
 * bytes first): a first run learns the slices, a second gets their CRCs.
 */
export async function withCrcsOffThread<T>(
  walk: (crcOf: (slice: Uint8Array) => number) => T,
  take: (slices: readonly Uint8Array[]) => Promise<number[]> = crc32cEach,
): Promise<T> {
  const slices: Uint8Array[] = [];
  walk((slice) => {
    slices.push(slice);
    return 0;
  });
  const crcs = await take(slices);
  let next = 0;
  return walk(() => crcs[next++]!);
}
