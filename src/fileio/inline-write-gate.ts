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
  private shutUntil = 0;
  private pause = FIRST_PAUSE_MS;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly sleeps: () => number = threadSleeps,
  ) {}

  /**
   * Runs `write` now, on this thread, and returns true; or returns false at
   * once, without running it, while the gate is shut. An error `write` throws
   * passes through.
   */
  tryWrite(write: () => void): boolean {
    const started = this.now();
    if (started < this.shutUntil) return false;
    const before = this.sleeps();
    if (before < 0) return false;
    try {
      write();
    } finally {
      const ended = this.now();
      // The count is asked again only after a slow write: asking costs microseconds, as much as a fast write.
      if (ended - started >= STALL_MS && this.sleeps() !== before) {
        this.shutUntil = ended + this.pause;
        this.pause = Math.min(this.pause * 2, LONGEST_PAUSE_MS);
      } else {
        this.pause = FIRST_PAUSE_MS;
      }
    }
    return true;
  }
}

/** Dirty pages are counted for the whole machine, so every file written inline shares one gate. */
export const machineInlineWriteGate = new InlineWriteGate();

/** Most a write made on the event loop's thread moves. */
export const INLINE_WRITE_MAX = 128 * 1024;
const PAGE = 4096;

/** Whether a write may be tried on the event loop's thread: small, and of whole pages, so the kernel never has to read the rest of a page from disk first. */
export function inlineWritable(position: number, length: number): boolean {
  return length <= INLINE_WRITE_MAX && position % PAGE === 0 && length % PAGE === 0;
}
