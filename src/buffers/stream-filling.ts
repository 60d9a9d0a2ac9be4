// Bytes pushed from a stream and copied out into buffers being filled: how the
// iSCSI PDU reader and the RPC record reader both frame what a socket gives them.

/** A buffer being filled from the stream. */
export class Filling {
  filled = 0;
  constructor(readonly buffer: Buffer) {}

  get full(): boolean {
    return this.filled === this.buffer.length;
  }
}

/** Pushed bytes not yet copied out: borrowed from the caller until it has taken them all. */
export class PushedChunks {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already copied out. */
  private offset = 0;

  push(chunk: Buffer): void {
    if (chunk.length > 0) this.chunks.push(chunk);
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** Copies pushed bytes into `target` until it is full (true) or they run out (false). */
  fill(target: Filling): boolean {
    while (!target.full) {
      const chunk = this.chunks[0];
      if (!chunk) return false;
      const n = chunk.copy(target.buffer, target.filled, this.offset, this.offset + target.buffer.length - target.filled);
      target.filled += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return true;
  }
}
