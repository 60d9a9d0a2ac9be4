// CRC32C (Castagnoli), the iSCSI header and data digest. Sent little-endian.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export function crc32c(data: Buffer, previous = 0): number {
  return nativeCrc32c(data, previous) >>> 0;
}

export function digestOf(parts: readonly Buffer[]): Buffer {
  let crc = 0;
  for (const part of parts) crc = crc32c(part, crc);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(crc, 0);
  return out;
}
