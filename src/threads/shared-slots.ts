// Shared memory one thread lends another for the bytes of a call, kept for the
// next call once it comes back: a drive's thread and the engine's (src/tape/
// remote-store.ts) fill and read the same pages, where a transfer of fresh
// memory per call cost a copy, the pages' first touch and the collector's work
// on external memory (with ten drives reading, 3.1 s of CPU per GiB against
// 0.8 with every drive on one thread).

const MiB = 1024 * 1024;
/** Idle slots kept: a drive's two pieces read ahead, one lent to a reader, one batch being written. */
const KEPT_SLOTS = 4;

export class SharedSlots {
  private readonly idle: SharedArrayBuffer[] = [];

  /** A slot of at least `size` bytes: the smallest idle one that fits, or a new one of whole MiB. */
  take(size: number): SharedArrayBuffer {
    const fits = this.idle.filter((slot) => slot.byteLength >= size);
    if (fits.length === 0) return new SharedArrayBuffer(Math.max(MiB, Math.ceil(size / MiB) * MiB));
    const slot = fits.reduce((a, b) => (b.byteLength < a.byteLength ? b : a));
    this.idle.splice(this.idle.indexOf(slot), 1);
    return slot;
  }

  /** Returns a slot from take(): nobody on either side may use it afterwards. */
  give(slot: SharedArrayBuffer): void {
    if (this.idle.length < KEPT_SLOTS) this.idle.push(slot);
  }
}
