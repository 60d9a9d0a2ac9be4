// A real BufferPool that counts the buffers it has out: tests of code that
// lends read buffers check that each comes back, once.
import { BufferPool } from '../../src/buffers/buffer-pool.ts';

export class CountingPool extends BufferPool {
  /** Buffers of pooled sizes handed out so far. */
  taken = 0;
  /** Handed out and not given back; a buffer given back twice (and so lent twice at once) shows as a negative count. */
  out = 0;

  override take(size: number): Buffer {
    const buffer = super.take(size);
    if (this.pools(size)) {
      this.taken++;
      this.out++;
    }
    return buffer;
  }

  override give(buffer: Buffer): void {
    this.out--;
    super.give(buffer);
  }
}
