// CRC32C (Castagnoli), the one implementation every checksum in the gateway
// uses: iSCSI digests, cache blocks, cartridge records and manifests, cloud
// objects. Native (src/crc32c/crc32c.c, built by `npm ci` through node-gyp).
import { createRequire } from 'node:module';

const addon = createRequire(import.meta.url)('../../build/Release/crc32c.node') as { crc32c(data: Uint8Array, previous: number): number };

/** The CRC32C of `data`, continuing `previous`: crc32c(b, crc32c(a)) is the CRC of a then b. Unsigned. */
export function crc32c(data: Uint8Array, previous = 0): number {
  return addon.crc32c(data, previous);
}
