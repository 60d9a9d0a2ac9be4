// CRC32C over fixed-size blocks: the unit in which every byte read back from
// disk or cloud is checked. Native CRC32C (@node-rs/crc32) runs at ~4 GB/s.
import { crc32c } from '@node-rs/crc32';

export { crc32c };

/** CRC32C of each `blockSize` slice of `data` (the last may be shorter). */
export function blockCrcs(data: Uint8Array, blockSize: number): number[] {
  const crcs: number[] = [];
  for (let at = 0; at < data.length; at += blockSize) crcs.push(crc32c(data.subarray(at, at + blockSize)));
  return crcs;
}

/** Big-endian uint32s, base64: compact enough for S3 metadata and JSON records. */
export function encodeCrcs(crcs: readonly number[]): string {
  const out = Buffer.allocUnsafe(crcs.length * 4);
  crcs.forEach((c, i) => out.writeUInt32BE(c >>> 0, i * 4));
  return out.toString('base64');
}

export function decodeCrcs(text: string): number[] {
  const raw = Buffer.from(text, 'base64');
  if (raw.length % 4 !== 0) throw new Error('checksum list is not a whole number of CRC32C values');
  const crcs: number[] = [];
  for (let at = 0; at < raw.length; at += 4) crcs.push(raw.readUInt32BE(at));
  return crcs;
}

/** The form S3's x-amz-checksum-crc32c header takes. */
export function crc32cBase64(data: Uint8Array): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(crc32c(data) >>> 0);
  return out.toString('base64');
}
