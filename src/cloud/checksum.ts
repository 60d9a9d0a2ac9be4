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
export function crcBase64(crc: number): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(crc >>> 0);
  return out.toString('base64');
}

export function crc32cBase64(data: Uint8Array): string {
  return crcBase64(crc32c(data));
}

/** The CRC-32C polynomial, bit-reversed. */
const POLY = 0x82f63b78;

function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(matrix, matrix[n]!);
}

/**
 * CRC32C of A followed by B, from crc(A), crc(B) and B's length (zlib's
 * crc32_combine): lets checksums of blocks already verified be reused for
 * larger blocks or whole objects without another pass over the bytes.
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  return (gf2Times(shiftOperator(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}

/** Block lengths repeat (whole blocks, the odd last one): their operators are kept. */
const operators = new Map<number, Uint32Array>();

/** The linear map taking crc(A) to crc(A followed by `length` zero bytes), as 32 columns. */
function shiftOperator(length: number): Uint32Array {
  let operator = operators.get(length);
  if (!operator) {
    operator = new Uint32Array(32);
    for (let i = 0; i < 32; i++) operator[i] = shiftSlowly((1 << i) >>> 0, length);
    if (operators.size < 64) operators.set(length, operator);
  }
  return operator;
}

function shiftSlowly(crcA: number, lengthB: number): number {
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY;
  for (let n = 1; n < 32; n++) odd[n] = (1 << (n - 1)) >>> 0;
  gf2Square(even, odd);
  gf2Square(odd, even);
  let crc = crcA >>> 0;
  let length = lengthB;
  for (;;) {
    gf2Square(even, odd);
    if (length % 2 === 1) crc = gf2Times(even, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
    gf2Square(odd, even);
    if (length % 2 === 1) crc = gf2Times(odd, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
  }
  return crc;
}

/** Checksums of `blockSize` blocks of a `size`-byte body. */
export interface BlockChecksums {
  blockSize: number;
  crcs: readonly number[];
}

/** The same body's checksums over blocks of `blockSize`, a multiple of the known ones; undefined otherwise. */
export function regroup(known: BlockChecksums, size: number, blockSize: number): number[] | undefined {
  if (blockSize % known.blockSize !== 0 || known.crcs.length !== Math.ceil(size / known.blockSize)) return undefined;
  const per = blockSize / known.blockSize;
  const out: number[] = [];
  for (let i = 0; i < known.crcs.length; i += per) {
    let crc = known.crcs[i]!;
    for (let j = i + 1; j < Math.min(i + per, known.crcs.length); j++) {
      crc = crc32cCombine(crc, known.crcs[j]!, Math.min(known.blockSize, size - j * known.blockSize));
    }
    out.push(crc >>> 0);
  }
  return out;
}
