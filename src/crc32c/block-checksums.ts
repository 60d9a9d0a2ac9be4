// CRC32C over fixed-size blocks: the unit in which every byte read back from
// disk or cloud is checked. Used by the fabric, the engine and the cloud alike.
import { crc32c, withCrcsOffThread } from './crc32c.ts';

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

/** The CRC-32C polynomial, bit-reversed. */
const POLY = 0x82f63b78;

/** a(x)·b(x) modulo the polynomial, in the reflected bit order of the CRC. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0…31 (the powers repeat with period dividing 2^32 - 1). */
const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++, p = multiplyModP(p, p)) X2N.push(p);

/**
 * CRC32C of A followed by B, from crc(A), crc(B) and B's length (zlib's
 * crc32_combine): lets checksums of pieces already taken be joined into those
 * of larger ranges without another pass over the bytes. O(log length).
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  // Nothing before B (or bytes whose CRC is 0) carries nothing past it: the common case of a checksum begun with a slice.
  if (crcA === 0) return crcB >>> 0;
  return (multiplyModP(shiftFor(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}

/** Lengths repeat (blocks, records): their shifts are kept, up to a bound. */
const shifts = new Map<number, number>();

/** x^(8·length) modulo the polynomial: the factor that carries crc(A) past `length` more bytes. */
function shiftFor(length: number): number {
  let shift = shifts.get(length);
  if (shift === undefined) {
    shift = 0x80000000;
    for (let n = length, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) shift = multiplyModP(X2N[k % 32]!, shift);
    if (shifts.size >= 1024) shifts.clear();
    shifts.set(length, shift);
  }
  return shift;
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

/**
 * In one pass over `data`, which begins on a block boundary: the CRC32C of each
 * `blockSize` block in it (the last may be shorter), and of each of the
 * consecutive ranges of `lengths` laid end to end from `from`.
 */
export function blockAndRangeCrcs(
  data: Uint8Array,
  blockSize: number,
  from: number,
  lengths: readonly number[],
): { blocks: number[]; ranges: number[] } {
  return blocksAndRanges(data, blockSize, from, lengths, crc32c);
}

/**
 * blockAndRangeCrcs() with the checksums taken off the event loop's thread by
 * `take` (see withCrcsOffThread()): `data` must not change until it resolves.
 */
export function blockAndRangeCrcsOffThread(
  data: Uint8Array,
  blockSize: number,
  from: number,
  lengths: readonly number[],
  take: (slices: readonly Uint8Array[]) => Promise<number[]>,
): Promise<{ blocks: number[]; ranges: number[] }> {
  return withCrcsOffThread((crcOf) => blocksAndRanges(data, blockSize, from, lengths, crcOf), take);
}

function blocksAndRanges(
  data: Uint8Array,
  blockSize: number,
  from: number,
  lengths: readonly number[],
  crcOf: (slice: Uint8Array) => number,
): { blocks: number[]; ranges: number[] } {
  const blocks: number[] = [];
  const ranges: number[] = [];
  let r = 0;
  let rangeStart = from;
  let blockCrc = 0;
  let rangeCrc = 0;
  const skipEmpty = (at: number) => {
    for (; r < lengths.length && lengths[r] === 0 && rangeStart === at; r++) ranges.push(0);
  };
  for (let at = 0; at < data.length;) {
    skipEmpty(at);
    const inRange = r < lengths.length && at >= rangeStart;
    const blockEnd = Math.min(data.length, (Math.floor(at / blockSize) + 1) * blockSize);
    const next = r < lengths.length ? Math.min(blockEnd, inRange ? rangeStart + lengths[r]! : rangeStart) : blockEnd;
    const crc = crcOf(data.subarray(at, next));
    blockCrc = crc32cCombine(blockCrc, crc, next - at);
    if (next === blockEnd) {
      blocks.push(blockCrc);
      blockCrc = 0;
    }
    if (inRange) {
      rangeCrc = crc32cCombine(rangeCrc, crc, next - at);
      if (next === rangeStart + lengths[r]!) {
        ranges.push(rangeCrc);
        rangeCrc = 0;
        rangeStart = next;
        r++;
      }
    }
    at = next;
  }
  skipEmpty(data.length);
  if (r < lengths.length) throw new RangeError(`ranges from ${from} pass the end of ${data.length} bytes`);
  return { blocks, ranges };
}
