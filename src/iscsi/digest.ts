// The iSCSI header and data digest: CRC32C (Castagnoli), sent little-endian.
import { crc32c } from '../crc32c/crc32c.ts';

export function digestOf(parts: readonly Buffer[]): Buffer {
  let crc = 0;
  for (const part of parts) crc = crc32c(part, crc);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(crc, 0);
  return out;
}
