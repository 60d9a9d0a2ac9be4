// CRC32C (Castagnoli), the one implementation every checksum in the gateway
// uses: iSCSI digests, cache blocks, cartridge records and manifests, cloud
// objects. Native (src/crc32c/crc32c.c, built by `npm ci` through node-gyp).
import { createRequire } from 'node:module';
import { packageFile } from '../package-files.ts';

const addon = createRequire(import.meta.url)(packageFile('build', 'Release', 'crc32c.node')) as {
  crc32c(data: Uint8Array, previous: number): number;
  implementation: string;
};

/** Which implementation this CPU runs: 'vpclmulqdq-avx512', 'sse4.2' or 'software'. */
export function crc32cImplementation(): string {
  return addon.implementation;
}

/** The CRC32C of `data`, continuing `previous`: crc32c(b, crc32c(a)) is the CRC of a then b. Unsigned. */
export function crc32c(data: Uint8Array, previous = 0): number {
  return addon.crc32c(data, previous);
}

/**
 * Runs `walk`, a computation over the CRC32Cs of slices it asks for in an
 * order that depends only on where they are (not on their bytes), with those
 * CRCs taken off this thread by `take` (a pool job that also reads or writes
 * the bytes): a first run learns the slices, a second gets their CRCs.
 */
export async function withCrcsOffThread<T>(
  walk: (crcOf: (slice: Uint8Array) => number) => T,
  take: (slices: readonly Uint8Array[]) => Promise<number[]>,
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
