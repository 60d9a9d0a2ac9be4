import { threadSleeps } from './fileio.ts';

/** A write that slept at least this long stalled the event loop: the kernel's throttling of writers sleeps for milliseconds at a time. */
const STALL_MS = 1;
/** How long the gate stays shut after the first write that stalled, and at most after many in a row. */
const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 32_000;

/**
 * Decides whether a small write may be made on the event loop's thread.
 *
 * A 4 KiB write into the page cache costs a few microseconds to a few tens
 * (ext4's large folios make overwrites dearer), and a round trip through
 * libuv's thread pool costs more than that on a virtual machine, where waking
 * a thread is slow: at one command at a time the round trip is what bounds a
 * block LUN's write IOPS. But a buffered write can block: when the machine has
 * more dirty pages than it lets writers add, the kernel puts writers to sleep
 * for up to 200 ms, and on the event loop's thread that would stall every
 * session of the gateway. ext4 refuses RWF_NOWAIT for buffered writes, so that
 * cannot be asked for up front.
 *
 * So the gate lets writes through and watches whether each one slept in the
 * kernel, and for how long. A short sleep (a lock held for a moment) is let
 * be; after a write that slept and took a millisecond or more, the gate stays
 * shut for a second, doubling for each further such write right after
 * reopening, up to 32 s; the writes go through the pool meanwhile. The first
 * write that does not stall resets it. Where the system cannot tell whether
 * a thread slept, the gate stays shut.
 */
export class InlineWriteGate {
  /**
   * [0] when the gate reopens, [1] the pause the next stall shuts it for, both
   * in microseconds of the common clock. Dirty pages are counted for the whole
   * machine, so every thread that writes inline must see one gate: the state
   * lives in shared memory that another thread's gate can be made over
   * (`new InlineWriteGate(gate.memory)`), and a stall seen by any of them shuts
   * them all.
   */
  private readonly state: BigInt64Array;

  constructor(
    /** Another gate's `memory`, to share its state; a gate of its own when absent. */
    memory: SharedArrayBuffer = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT),
    /** Milliseconds on a clock every thread of the process reads alike. */
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
    private readonly sleeps: () => number = threadSleeps,
  ) {
    this.state = new BigInt64Array(memory, 0, 2);
    Atomics.compareExchange(this.state, 1, 0n, micros(FIRST_PAUSE_MS));
  }

  /** The shared state, for a gate in another thread (it can be posted to a worker). */
  get memory(): SharedArrayBuffer {
    return this.state.buffer as SharedArrayBuffer;
  }

  /**
   * Runs `write` now, on this thread, and returns true; or returns false at
   * once, without running it, while the gate is shut. An error `write` throws
   * passes through.
   */
  tryWrite(write: () => void): boolean {
    const started = this.now();
    if (micros(started) < Atomics.load(this.state, 0)) return false;
    const before = this.sleeps();
    if (before < 0) return false;
    try {
      write();
    } finally {
      const ended = this.now();
      // The count is asked again only after a slow write: asking costs microseconds, as much as a fast write.
      if (ended - started >= STALL_MS && this.sleeps() !== before) {
        const pause = Atomics.load(this.state, 1);
        Atomics.store(this.state, 0, micros(ended) + pause);
        Atomics.store(this.state, 1, pause * 2n < micros(LONGEST_PAUSE_MS) ? pause * 2n : micros(LONGEST_PAUSE_MS));
      } else if (Atomics.load(this.state, 1) !== micros(FIRST_PAUSE_MS)) {
        Atomics.store(this.state, 1, micros(FIRST_PAUSE_MS));
      }
    }
    return true;
  }
}

function micros(ms: number): bigint {
  return BigInt(Math.round(ms * 1000));
}

/** Most a write made on the event loop's thread moves. */
export const INLINE_WRITE_MAX = 128 * 1024;
const PAGE = 4096;

/** Whether a write may be tried on the event loop's thread: small, and of whole pages, so the kernel never has to read the rest of a page from disk first. */
export function inlineWritable(position: number, length: number): boolean {
  return length <= INLINE_WRITE_MAX && position % PAGE === 0 && length % PAGE === 0;
}
