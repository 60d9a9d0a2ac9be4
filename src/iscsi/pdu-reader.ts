// Frames PDUs out of a TCP byte stream. Checks lengths before allocating and
// digests when negotiated. A data segment that lies within one socket chunk is
// handed on as a slice of it (no copy); one that spans chunks is copied once,
// into the buffer `placement` names for it (Data-Out straight into its
// command's buffer) or else into a new one.
import { BHS_LENGTH, dataSegmentLengthOf, totalAhsLengthOf, type RawPdu } from './pdu.ts';
import { crc32c } from '../crc32c/crc32c.ts';

export interface ReaderLimits {
  /** Largest data segment we accept (our MaxRecvDataSegmentLength). */
  maxDataSegmentLength: number;
  headerDigest: boolean;
  dataDigest: boolean;
}

export type FramedPdu =
  | { readonly kind: 'pdu'; readonly pdu: RawPdu }
  /** Header intact, data digest wrong: the header is trustworthy, the data is not. */
  | { readonly kind: 'data-digest-error'; readonly pdu: RawPdu };

/** Where the data segment of the PDU with this (verified) header should land: exactly dataLength bytes, or undefined. */
export type DataPlacement = (bhs: Buffer, dataLength: number) => Buffer | undefined;

/** Framing cannot continue: the connection must be dropped. */
export class FramingError extends Error {}

const EMPTY: Buffer = Buffer.alloc(0);

export class PduReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  placement: DataPlacement | undefined;

  constructor(readonly limits: ReaderLimits) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole PDU, or undefined until more bytes arrive. Throws FramingError. */
  next(): FramedPdu | undefined {
    if (this.buffered < BHS_LENGTH) return undefined;
    const peeked = this.peek(BHS_LENGTH);
    const ahsLength = totalAhsLengthOf(peeked);
    const dataLength = dataSegmentLengthOf(peeked);
    if (dataLength > this.limits.maxDataSegmentLength) {
      throw new FramingError(`data segment of ${dataLength} bytes exceeds MaxRecvDataSegmentLength ${this.limits.maxDataSegmentLength}`);
    }
    const headerLength = BHS_LENGTH + ahsLength + (this.limits.headerDigest ? 4 : 0);
    const paddedData = (dataLength + 3) & ~3;
    const total = headerLength + paddedData + (this.limits.dataDigest && dataLength > 0 ? 4 : 0);
    if (this.buffered < total) return undefined;

    const head = this.take(headerLength);
    if (this.limits.headerDigest) {
      const expected = head.readUInt32LE(BHS_LENGTH + ahsLength);
      if (crc32c(head.subarray(0, BHS_LENGTH + ahsLength)) !== expected) {
        throw new FramingError('header digest mismatch');
      }
    }
    const bhs = headerLength === BHS_LENGTH ? head : head.subarray(0, BHS_LENGTH);
    let data: Buffer = EMPTY;
    let pad: Buffer = EMPTY;
    if (dataLength > 0) {
      const destination = this.placement?.(bhs, dataLength);
      if (destination?.length === dataLength) {
        data = this.take(dataLength, destination);
        if (paddedData > dataLength) pad = this.take(paddedData - dataLength);
      } else {
        const padded = this.take(paddedData);
        data = paddedData === dataLength ? padded : padded.subarray(0, dataLength);
        if (this.limits.dataDigest) pad = padded.subarray(dataLength);
      }
    }
    const pdu: RawPdu = { bhs, ahs: ahsLength === 0 ? EMPTY : head.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength), data };
    if (this.limits.dataDigest && dataLength > 0) {
      const expected = this.take(4).readUInt32LE(0);
      if (crc32c(pad, crc32c(data)) !== expected) return { kind: 'data-digest-error', pdu };
    }
    return { kind: 'pdu', pdu };
  }

  private peek(length: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= length) return first.subarray(0, length);
    return Buffer.concat(this.chunks, length);
  }

  /** The next `length` bytes: a slice of a chunk when they lie in one, else a copy (into `into` when given, always). */
  private take(length: number, into?: Buffer): Buffer {
    this.buffered -= length;
    const first = this.chunks[0];
    if (!into && first.length > length) {
      this.chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    if (!into && first.length === length) {
      this.chunks.shift();
      return first;
    }
    const out = into ?? Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0];
      const n = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return out;
  }
}
