// Frames PDUs out of a TCP byte stream. Checks lengths before allocating and
// digests when negotiated. It streams: bytes are copied out of each chunk as
// they arrive, the header into a buffer of its own and the data segment
// straight into the buffer `placement` names for it (Data-Out into its
// command's buffer) or else into a new one. So it keeps no reference to a
// chunk, and the socket can read every chunk into the same memory. Where a
// large data segment is coming, it tells the socket where to read it straight
// to (directTarget), which saves copying it out of the socket's memory.
import { BHS_LENGTH, dataSegmentLengthOf, totalAhsLengthOf, type RawPdu } from './pdu.ts';
import { crc32c } from '../crc32c/crc32c.ts';
import { Filling, PushedChunks } from '../buffers/stream-filling.ts';

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

/**
 * Data segments at least this large are read straight to where they go, and
 * so is the header after one: a copy this size costs more than the extra read
 * that reading that header alone takes.
 */
const DIRECT_READ_MIN = 32 * 1024;

/** The PDU whose header has arrived: its data segment and trailer (padding, data digest) are still coming. */
interface Framing {
  readonly bhs: Buffer;
  readonly ahs: Buffer;
  readonly data: Filling;
  readonly trailer: Filling;
}

export class PduReader {
  /** Pushed bytes not yet copied out: borrowed from the caller until next() returns undefined. */
  private readonly pushed = new PushedChunks();
  /** The header of the next PDU, as far as it has arrived. */
  private header = new Filling(Buffer.allocUnsafe(BHS_LENGTH));
  private framing: Framing | undefined;
  /** The data segment length of the PDU being framed, or of the last one until the next header is whole. */
  private lastDataLength = 0;
  placement: DataPlacement | undefined;

  constructor(readonly limits: ReaderLimits) {}

  /** The caller may reuse `chunk`'s memory once next() has returned undefined: every byte is copied out by then. */
  push(chunk: Buffer): void {
    this.pushed.push(chunk);
  }

  /**
   * Memory the next bytes from the socket may be read straight into, once
   * next() has used up the pushed bytes: while a large data segment is coming,
   * the unfilled rest of it, then of its padding and digest, then of the next
   * header, so that no read runs past the end of that header into the shared
   * buffer and the next PDU's data can be read straight to its place too.
   * Undefined otherwise, where copying costs less than a read of its own.
   */
  directTarget(): Buffer | undefined {
    const part = this.directPart();
    return part?.buffer.subarray(part.filled);
  }

  /** `bytes` bytes were read into the start of what directTarget() returned last; next() goes on from there. */
  landed(bytes: number): void {
    this.directPart()!.filled += bytes;
  }

  private directPart(): Filling | undefined {
    if (!this.pushed.empty || this.lastDataLength < DIRECT_READ_MIN) return undefined;
    const framing = this.framing;
    const part = !framing ? this.header : framing.data.full ? framing.trailer : framing.data;
    return part.full ? undefined : part;
  }

  /** The next whole PDU, or undefined when the pushed bytes are used up. Throws FramingError. */
  next(): FramedPdu | undefined {
    if (!this.framing) {
      if (!this.pushed.fill(this.header)) return undefined;
      if (this.header.buffer.length === BHS_LENGTH && this.headerLength() > BHS_LENGTH) {
        this.header = this.grown(this.header, this.headerLength());
        if (!this.pushed.fill(this.header)) return undefined;
      }
      this.framing = this.frame(this.header.buffer);
      this.header = new Filling(Buffer.allocUnsafe(BHS_LENGTH));
    }
    const framing = this.framing;
    if (!this.pushed.fill(framing.data) || !this.pushed.fill(framing.trailer)) return undefined;
    this.framing = undefined;
    const data = framing.data.buffer;
    const pdu: RawPdu = { bhs: framing.bhs, ahs: framing.ahs, data };
    if (this.limits.dataDigest && data.length > 0) {
      const trailer = framing.trailer.buffer;
      const pad = trailer.subarray(0, trailer.length - 4);
      if (crc32c(pad, crc32c(data)) !== trailer.readUInt32LE(trailer.length - 4)) return { kind: 'data-digest-error', pdu };
    }
    return { kind: 'pdu', pdu };
  }

  /** The whole header's length, from its first BHS_LENGTH bytes. */
  private headerLength(): number {
    return BHS_LENGTH + totalAhsLengthOf(this.header.buffer) + (this.limits.headerDigest ? 4 : 0);
  }

  private grown(from: Filling, length: number): Filling {
    const to = new Filling(Buffer.allocUnsafe(length));
    to.filled = from.buffer.copy(to.buffer);
    return to;
  }

  /** Checks a complete header and decides where its data segment goes. */
  private frame(head: Buffer): Framing {
    const ahsLength = totalAhsLengthOf(head);
    const dataLength = dataSegmentLengthOf(head);
    this.lastDataLength = dataLength;
    if (dataLength > this.limits.maxDataSegmentLength) {
      throw new FramingError(`data segment of ${dataLength} bytes exceeds MaxRecvDataSegmentLength ${this.limits.maxDataSegmentLength}`);
    }
    if (this.limits.headerDigest) {
      const expected = head.readUInt32LE(BHS_LENGTH + ahsLength);
      if (crc32c(head.subarray(0, BHS_LENGTH + ahsLength)) !== expected) throw new FramingError('header digest mismatch');
    }
    const bhs = head.length === BHS_LENGTH ? head : head.subarray(0, BHS_LENGTH);
    const ahs = ahsLength === 0 ? EMPTY : head.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength);
    if (dataLength === 0) return { bhs, ahs, data: new Filling(EMPTY), trailer: new Filling(EMPTY) };
    const placed = this.placement?.(bhs, dataLength);
    const data = placed?.length === dataLength ? placed : Buffer.allocUnsafe(dataLength);
    const trailerLength = ((4 - (dataLength & 3)) & 3) + (this.limits.dataDigest ? 4 : 0);
    return { bhs, ahs, data: new Filling(data), trailer: new Filling(trailerLength === 0 ? EMPTY : Buffer.allocUnsafe(trailerLength)) };
  }

  /** No byte is held: nothing pushed is left, and no PDU has begun. */
  get idle(): boolean {
    return this.pushed.empty && !this.framing && this.header.filled === 0;
  }
}
