// ONC RPC over TCP frames each message as a record of one or more fragments,
// each preceded by a 4-byte mark: the top bit says "last fragment", the other
// 31 bits the fragment's length (RFC 5531 section 11). The reader checks every
// length against the largest record it accepts before it allocates anything.
import type { BufferPool } from '../../buffers/buffer-pool.ts';

export const LAST_FRAGMENT = 0x8000_0000;
const MARK_LENGTH = 4;

/** The stream cannot be framed any further (a fragment or record over the limit): drop the connection. */
export class RecordError extends Error {}

export class RecordReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Fragments of the record being assembled. */
  private fragments: Buffer[] = [];
  private recordLength = 0;
  /** The mark of the fragment whose bytes are awaited. */
  private mark: { length: number; last: boolean } | undefined;

  constructor(
    readonly maxRecordBytes: number,
    /** Where a record gathered from several chunks is copied to (a WRITE's megabyte); the caller gives it back once done with it. */
    private readonly pool?: BufferPool,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole record, or undefined until more bytes come. Throws RecordError. */
  next(): Buffer | undefined {
    for (;;) {
      if (!this.mark) {
        if (this.buffered < MARK_LENGTH) return undefined;
        const word = this.take(MARK_LENGTH).readUInt32BE(0);
        const length = word & ~LAST_FRAGMENT;
        if (this.recordLength + length > this.maxRecordBytes) {
          throw new RecordError(
            `a record of more than ${this.maxRecordBytes} bytes (a fragment of ${length} bytes after ${this.recordLength})`,
          );
        }
        this.mark = { length, last: (word & LAST_FRAGMENT) !== 0 };
      }
      if (this.buffered < this.mark.length) return undefined;
      const fragment = this.take(this.mark.length);
      this.fragments.push(fragment);
      this.recordLength += fragment.length;
      const last = this.mark.last;
      this.mark = undefined;
      if (!last) continue;
      const record = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.recordLength);
      this.fragments = [];
      this.recordLength = 0;
      return record;
    }
  }

  /** Removes `length` buffered bytes; a view when one chunk holds them all, else a copy. */
  private take(length: number): Buffer {
    this.buffered -= length;
    const first = this.chunks[0];
    if (length === 0) return Buffer.alloc(0);
    if (first && first.length >= length) {
      const piece = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      return piece;
    }
    const out = this.pool ? this.pool.take(length) : Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

/** The mark that precedes a one-fragment record of `length` bytes. */
export function recordMark(length: number): Buffer {
  if (length > ~LAST_FRAGMENT >>> 0) throw new RangeError(`a fragment of ${length} bytes does not fit a record mark`);
  const mark = Buffer.allocUnsafe(MARK_LENGTH);
  mark.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return mark;
}
