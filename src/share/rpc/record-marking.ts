// ONC RPC over TCP frames each message as a record of one or more fragments,
// each preceded by a 4-byte mark: the top bit says "last fragment", the other
// 31 bits the fragment's length (RFC 5531 section 11). The reader checks every
// length against the largest record it accepts before it allocates anything.
// It streams, as the iSCSI PDU reader does: bytes are copied out of each chunk
// as they arrive, into a buffer of the fragment's own, so that it keeps no
// reference to a chunk and the socket can read every chunk into the same
// memory; and while a large fragment (a WRITE's megabyte) is coming it tells
// the socket to read the rest of it straight to its place (directTarget).
import type { BufferPool } from '../../buffers/buffer-pool.ts';
import { Filling, PushedChunks } from '../../buffers/stream-filling.ts';

export const LAST_FRAGMENT = 0x8000_0000;
const MARK_LENGTH = 4;
/**
 * Fragments at least this large are read straight to their buffer, and so is
 * the mark after one: a copy this size costs more than the extra read that
 * reading that mark alone takes.
 */
const DIRECT_READ_MIN = 32 * 1024;

/** The stream cannot be framed any further (a fragment or record over the limit): drop the connection. */
export class RecordError extends Error {}

export class RecordReader {
  /** Pushed bytes not yet copied out: borrowed from the caller until next() returns undefined. */
  private readonly pushed = new PushedChunks();
  private readonly mark = new Filling(Buffer.allocUnsafe(MARK_LENGTH));
  /** The fragment whose mark has come, and whether it ends its record. */
  private fragment: { readonly data: Filling; readonly last: boolean } | undefined;
  /** Earlier fragments of the record being assembled. */
  private fragments: Buffer[] = [];
  private recordLength = 0;
  /** The length of the fragment being read, or of the last one until the next mark is whole. */
  private lastFragmentLength = 0;

  constructor(
    readonly maxRecordBytes: number,
    /** Where large fragments and records are read to; the caller gives each record back once done with it. */
    private readonly pool?: BufferPool,
  ) {}

  /** The caller may reuse `chunk`'s memory once next() has returned undefined: every byte is copied out by then. */
  push(chunk: Buffer): void {
    this.pushed.push(chunk);
  }

  /**
   * Memory the next bytes from the socket may be read straight into, once
   * next() has used up the pushed bytes: while a large fragment is coming, the
   * unfilled rest of it, then of the next mark, so that no read runs past the
   * end of that mark and the next fragment can be read straight to its place
   * too. Undefined otherwise, where copying costs less than a read of its own.
   */
  directTarget(): Buffer | undefined {
    const part = this.directPart();
    return part?.buffer.subarray(part.filled);
  }

  /** `bytes` bytes were read into the start of what directTarget() returned last; next() goes on from there. */
  landed(bytes: number): void {
    const part = this.directPart();
    if (!part || bytes > part.buffer.length - part.filled) throw new RangeError(`${bytes} bytes landed where none were asked for`);
    part.filled += bytes;
  }

  private directPart(): Filling | undefined {
    if (!this.pushed.empty || this.lastFragmentLength < DIRECT_READ_MIN) return undefined;
    const part = this.fragment?.data ?? this.mark;
    return part.full ? undefined : part;
  }

  /** The next whole record, or undefined when the pushed bytes are used up. Throws RecordError. */
  next(): Buffer | undefined {
    for (;;) {
      if (!this.fragment) {
        if (!this.pushed.fill(this.mark)) return undefined;
        const word = this.mark.buffer.readUInt32BE(0);
        this.mark.filled = 0;
        const length = word & ~LAST_FRAGMENT;
        if (this.recordLength + length > this.maxRecordBytes) {
          throw new RecordError(
            `a record of more than ${this.maxRecordBytes} bytes (a fragment of ${length} bytes after ${this.recordLength})`,
          );
        }
        this.lastFragmentLength = length;
        this.fragment = { data: new Filling(this.allocate(length)), last: (word & LAST_FRAGMENT) !== 0 };
      }
      if (!this.pushed.fill(this.fragment.data)) return undefined;
      const { data, last } = this.fragment;
      this.fragment = undefined;
      if (!last) {
        this.fragments.push(data.buffer);
        this.recordLength += data.buffer.length;
        continue;
      }
      if (this.fragments.length === 0) return data.buffer;
      const record = this.allocate(this.recordLength + data.buffer.length);
      let at = 0;
      for (const fragment of [...this.fragments, data.buffer]) {
        at += fragment.copy(record, at);
        this.pool?.give(fragment);
      }
      this.fragments = [];
      this.recordLength = 0;
      return record;
    }
  }

  private allocate(length: number): Buffer {
    return this.pool ? this.pool.take(length) : Buffer.allocUnsafe(length);
  }
}

/** The mark that precedes a one-fragment record of `length` bytes. */
export function recordMark(length: number): Buffer {
  if (length > ~LAST_FRAGMENT >>> 0) throw new RangeError(`a fragment of ${length} bytes does not fit a record mark`);
  const mark = Buffer.allocUnsafe(MARK_LENGTH);
  mark.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return mark;
}
