// XDR (RFC 4506): a reader that checks every length against what is left and
// against the caller's maximum before it allocates or slices, and a writer that
// lays values out in pieces, so that large opaque data (READ replies) goes to
// the socket without being copied.

/** The bytes do not decode as the XDR type asked for: the call gets GARBAGE_ARGS, a reply is refused. */
export class XdrError extends Error {}

const PAD = Buffer.alloc(4);

function padding(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Writes a non-negative safe integer as a big-endian unsigned hyper without a BigInt: file ids, sizes and cookies are numbers. */
export function writeUint64Number(target: Buffer, value: number, offset: number): void {
  target.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}

export class XdrReader {
  private position: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    private readonly end = buffer.length,
  ) {
    this.position = offset;
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) throw new XdrError(`${what} needs ${bytes} bytes, ${this.remaining} left`);
  }

  uint32(): number {
    this.need(4, 'an unsigned int');
    const value = this.buffer.readUInt32BE(this.position);
    this.position += 4;
    return value;
  }

  int32(): number {
    this.need(4, 'an int');
    const value = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8, 'an unsigned hyper');
    const value = this.buffer.readBigUInt64BE(this.position);
    this.position += 8;
    return value;
  }

  /** An unsigned hyper that must fit a JavaScript number (offsets, sizes, file ids). */
  uint64Number(): number {
    const value = this.uint64();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new XdrError(`the hyper ${value} is larger than this server handles`);
    return Number(value);
  }

  bool(): boolean {
    const value = this.uint32();
    if (value > 1) throw new XdrError(`a bool must be 0 or 1, not ${value}`);
    return value === 1;
  }

  /** Fixed-length opaque data: a view into the buffer, not a copy. */
  fixedOpaque(length: number): Buffer {
    this.need(length + padding(length), `opaque[${length}]`);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length + padding(length);
    return value;
  }

  /** Variable-length opaque data of at most `max` bytes: a view into the buffer, not a copy. */
  opaque(max: number): Buffer {
    const length = this.uint32();
    if (length > max) throw new XdrError(`opaque data of ${length} bytes exceeds its limit of ${max}`);
    return this.fixedOpaque(length);
  }

  /** A string of at most `max` bytes, decoded as UTF-8 (invalid sequences become U+FFFD). */
  string(max: number): string {
    return this.opaque(max).toString('utf8');
  }

  /** `*T`: a bool, then the value when it is true. */
  optional<T>(item: (reader: XdrReader) => T): T | undefined {
    return this.bool() ? item(this) : undefined;
  }

  /** `T<max>`: a count, then that many values. */
  array<T>(max: number, item: (reader: XdrReader) => T): T[] {
    const count = this.uint32();
    if (count > max) throw new XdrError(`an array of ${count} items exceeds its limit of ${max}`);
    // Each item takes at least 4 bytes: a count the record cannot hold is refused before any item is read.
    this.need(count * 4, `an array of ${count} items`);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item(this));
    return items;
  }
}

/** Writes into one growing buffer; large opaque data is kept as a piece of its own. */
export class XdrWriter {
  private readonly pieces: Buffer[] = [];
  /** Called once the bytes are written out (or will never be): pieces lent to the writer go back to their owner. */
  private readonly doneHooks: (() => void)[] = [];
  private chunk: Buffer;
  private used = 0;
  private total = 0;

  constructor(initial = 256) {
    this.chunk = Buffer.allocUnsafe(initial);
  }

  /** Opaque data at least this long is referenced, not copied. */
  static readonly ZERO_COPY_MIN = 2048;

  get length(): number {
    return this.total;
  }

  private room(bytes: number): void {
    if (this.used + bytes <= this.chunk.length) return;
    this.flushChunk();
    this.chunk = Buffer.allocUnsafe(Math.max(bytes, this.chunk.length * 2));
  }

  private flushChunk(): void {
    if (this.used > 0) this.pieces.push(this.chunk.subarray(0, this.used));
    this.chunk = this.chunk.subarray(this.used);
    this.used = 0;
  }

  uint32(value: number): this {
    this.room(4);
    this.chunk.writeUInt32BE(value >>> 0, this.used);
    this.used += 4;
    this.total += 4;
    return this;
  }

  int32(value: number): this {
    this.room(4);
    this.chunk.writeInt32BE(value, this.used);
    this.used += 4;
    this.total += 4;
    return this;
  }

  uint64(value: bigint | number): this {
    this.room(8);
    // READDIRPLUS writes five hypers per entry: numbers skip the BigInt.
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) writeUint64Number(this.chunk, value, this.used);
    else this.chunk.writeBigUInt64BE(BigInt(value), this.used);
    this.used += 8;
    this.total += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  fixedOpaque(data: Uint8Array): this {
    const pad = padding(data.length);
    if (data.length >= XdrWriter.ZERO_COPY_MIN) {
      this.flushChunk();
      this.pieces.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
      this.total += data.length;
      if (pad > 0) {
        this.room(pad);
        PAD.copy(this.chunk, this.used, 0, pad);
        this.used += pad;
        this.total += pad;
      }
      return this;
    }
    this.room(data.length + pad);
    this.chunk.set(data, this.used);
    this.chunk.fill(0, this.used + data.length, this.used + data.length + pad);
    this.used += data.length + pad;
    this.total += data.length + pad;
    return this;
  }

  opaque(data: Uint8Array): this {
    return this.uint32(data.length).fixedOpaque(data);
  }

  string(value: string): this {
    return this.opaque(Buffer.from(value, 'utf8'));
  }

  optional<T>(value: T | undefined, item: (writer: this, value: T) => void): this {
    this.bool(value !== undefined);
    if (value !== undefined) item(this, value);
    return this;
  }

  /** Appends what another writer wrote, and what it must be told once done. */
  append(other: XdrWriter): this {
    this.flushChunk();
    for (const piece of other.buffers()) this.pieces.push(piece);
    this.total += other.length;
    this.doneHooks.push(...other.doneHooks);
    return this;
  }

  /** `hook` is called by done(): for a piece referenced, not copied (fixedOpaque), whose memory is to be reused after. */
  whenDone(hook: () => void): this {
    this.doneHooks.push(hook);
    return this;
  }

  /** The bytes have been written out, or will not be: the hooks given to whenDone() run, once. */
  done(): void {
    for (const hook of this.doneHooks.splice(0)) hook();
  }

  /** The bytes written, in order; the writer must not be used afterwards. */
  buffers(): Buffer[] {
    this.flushChunk();
    return this.pieces;
  }

  toBuffer(): Buffer {
    const pieces = this.buffers();
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.total);
  }
}
