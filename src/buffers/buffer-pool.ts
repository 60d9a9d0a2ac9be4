// Reusable large buffers: write commands' data in the fabric, reads of the cache,
// the bodies of GETs (a read-ahead window of 16 MiB comes as up to 17 MiB).
// Every large Buffer allocated per command is external memory to V8, and at a
// few hundred MB/s that churn kept its concurrent major-GC marking busy for more
// CPU than the data path itself (perf on a 256 MiB tape write: about 2 s of GC
// helper threads against 1 s of the main thread; on a 2 GiB read by four
// drives, 2 s against 2.2 s). A buffer goes back here once its user is done
// with it, so the next request of that size reuses it. One never given back
// is simply garbage.
//
// Sizes are rounded up to a power of two from the pool's smallest size (64 KiB
// unless told) to 1 MiB, then to a whole number of MiB; smaller requests and
// requests above MAX_POOLED are plain allocations that are never kept.

const MiB = 1024 * 1024;
const DEFAULT_SMALLEST = 64 * 1024;
const MAX_POOLED = 32 * 1024 * 1024;
/**
 * Idle memory kept per size: enough for a deep queue of one size, or for the
 * write buffers four tape drives hold until their batches are written (two
 * 4 MiB batches each), without holding much.
 */
const KEPT_BYTES_PER_SIZE = 32 * MiB;

export class BufferPool {
  private readonly smallest: number;
  private readonly idle = new Map<number, ArrayBuffer[]>();
  /** Handed out and not yet given back: give() accepts nothing else, so a second give() of one buffer is harmless. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  /** `smallest`: the smallest size kept for reuse (a power of two). */
  constructor(options: { smallest?: number } = {}) {
    this.smallest = options.smallest ?? DEFAULT_SMALLEST;
  }

  /** Whether buffers of `size` bytes are kept for reuse; others are plain allocations. */
  pools(size: number): boolean {
    return size >= this.smallest && size <= MAX_POOLED;
  }

  /** A buffer of exactly `size` bytes, of undefined content. */
  take(size: number): Buffer {
    if (!this.pools(size)) return Buffer.allocUnsafe(size);
    const capacity = size <= MiB ? 2 ** Math.ceil(Math.log2(size)) : Math.ceil(size / MiB) * MiB;
    const memory = this.idle.get(capacity)?.pop() ?? new ArrayBuffer(capacity);
    this.lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /**
   * Takes back memory a buffer from take() had, after it went to another thread
   * by transfer and came back the same way: its ArrayBuffer is a new object then.
   */
  adopt(memory: ArrayBuffer): void {
    this.lent.add(memory);
    this.give(Buffer.from(memory));
  }

  /** Returns a buffer from take(); nobody may use it afterwards. */
  give(buffer: Buffer): void {
    const memory = buffer.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.lent.delete(memory)) return;
    let kept = this.idle.get(memory.byteLength);
    if (!kept) this.idle.set(memory.byteLength, (kept = []));
    if ((kept.length + 1) * memory.byteLength <= KEPT_BYTES_PER_SIZE) kept.push(memory);
  }
}
