// Uploads a file once it has been quiet for the share's settling time: its
// metadata goes onto the object, its bytes are made durable and queued, and
// once the bucket holds them the node is marked clean (unless it changed
// meanwhile). Failures are retried after a settling time and counted.
//
// Each change is handled per id, never by rescanning the others: the pending
// ids are kept oldest change first (a sweep stops at the first one not yet
// quiet), and a flush() waits on its own ids, each of which tells its waiters
// once uploaded. An upload that comes back "not clean" without a change since
// it began (the node's key is moving) is not run again until the node is
// touched: run again at once, it would come back the same way without a pause
// for I/O, and starve the event loop for as long as a flush waited.
import type { Logger } from '../../log.ts';

export interface SettleTarget {
  /**
   * Uploads the node as it is now; resolves once the bucket holds it, to false when it was not
   * uploaded as it is now (changed or moving meanwhile). Its upload yields to the clients'
   * requests until `hurry` aborts: someone waits for it.
   */
  upload(id: number, hurry: AbortSignal): Promise<boolean>;
}

/** Uploads in flight at once: the engine uploads a few at a time anyway, and thousands of waiting drains would swamp the event loop. */
const CONCURRENCY = 32;

interface Waiter {
  /** Ids still to be uploaded. */
  left: number;
  resolve(): void;
}

export class SettleUploader {
  /** Ids with changes to upload, and when each last changed (ms), oldest change first. */
  private readonly pending = new Map<number, number>();
  private readonly running = new Map<number, Promise<void>>();
  /** Aborted once a flush waits for the running upload of the id. */
  private readonly hurries = new Map<number, AbortController>();
  /** Bytes each node with changes uploads (its size when it last changed): what the operator sees waiting. */
  private readonly sizes = new Map<number, number>();
  /** Ids whose last upload was not clean without a change since: they wait for touched(). */
  private readonly parked = new Set<number>();
  private readonly failing = new Set<number>();
  /** The flush() calls waiting on each id. */
  private readonly waiters = new Map<number, Set<Waiter>>();
  private flushing = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly target: SettleTarget,
    private readonly settleMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, settleMs / 2)));
    this.timer.unref();
  }

  /** The node changed (its object is now `bytes` long; 0 for a directory): its upload waits until it has been quiet for the settling time. */
  touched(id: number, bytes = 0): void {
    this.pending.delete(id); // to the end: the newest change
    this.pending.set(id, Date.now());
    this.sizes.set(id, bytes);
    this.parked.delete(id);
    if (this.waiters.has(id)) this.sweep(); // a flush waits for it
  }

  /** The node is gone: nothing to upload. */
  forget(id: number): void {
    this.pending.delete(id);
    this.parked.delete(id);
    this.failing.delete(id);
    this.sizes.delete(id);
    this.uploaded(id);
  }

  get dirtyCount(): number {
    let count = this.pending.size + this.parked.size;
    for (const id of this.running.keys()) if (!this.pending.has(id) && !this.parked.has(id)) count++;
    return count;
  }

  /** Bytes of the files counted in dirtyCount. */
  get dirtyBytes(): number {
    let bytes = 0;
    for (const id of new Set([...this.pending.keys(), ...this.parked.keys(), ...this.running.keys()])) bytes += this.sizes.get(id) ?? 0;
    return bytes;
  }

  get failingCount(): number {
    return this.failing.size;
  }

  /**
   * Resolves once every change made before the call is in the bucket; starts those
   * uploads now. An abort (e.g. the caller's timeout) stops the waiting, not the uploads.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    const ids = new Set([...this.pending.keys(), ...this.running.keys(), ...this.parked]);
    if (ids.size === 0 || signal?.aborted) return;
    let waiter: Waiter | undefined;
    const done = new Promise<void>((resolve) => (waiter = { left: ids.size, resolve }));
    for (const id of ids) {
      const set = this.waiters.get(id) ?? new Set();
      set.add(waiter!);
      this.waiters.set(id, set);
      this.hurries.get(id)?.abort();
    }
    const stop = () => {
      for (const id of ids) this.unwait(id, waiter!);
      waiter!.resolve();
    };
    signal?.addEventListener('abort', stop, { once: true });
    this.flushing++;
    try {
      this.sweep();
      await done;
    } finally {
      this.flushing--;
      signal?.removeEventListener('abort', stop);
    }
  }

  /** Starts uploads while there is room: quiet ones, or every one while a flush waits (a failing one only after a settling time). */
  private sweep(): void {
    if (this.closed) return;
    const quietSince = Date.now() - this.settleMs;
    for (const [id, changed] of this.pending) {
      if (this.running.size >= CONCURRENCY) break;
      const quiet = changed <= quietSince;
      // Oldest change first: past the first one not quiet, none is.
      if (!quiet && this.flushing === 0) break;
      if (this.running.has(id) || (!quiet && this.failing.has(id))) continue;
      this.pending.delete(id);
      this.running.set(id, this.run(id));
    }
  }

  private async run(id: number): Promise<void> {
    const hurry = new AbortController();
    if (this.waiters.has(id)) hurry.abort();
    this.hurries.set(id, hurry);
    try {
      const clean = await this.target.upload(id, hurry.signal);
      this.failing.delete(id);
      if (!clean && !this.pending.has(id)) this.parked.add(id);
    } catch (err) {
      if (!this.failing.has(id)) this.logger.warn({ err, fileId: id }, 'upload of a shared file failed; retrying');
      this.failing.add(id);
      if (!this.pending.has(id)) this.pending.set(id, Date.now());
    } finally {
      this.running.delete(id);
      this.hurries.delete(id);
    }
    if (!this.pending.has(id) && !this.parked.has(id)) {
      this.sizes.delete(id);
      this.uploaded(id);
    }
    this.sweep();
  }

  /** The node's changes are in the bucket (or it is gone): its waiters hear it. */
  private uploaded(id: number): void {
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const waiter of set) if (--waiter.left === 0) waiter.resolve();
  }

  private unwait(id: number, waiter: Waiter): void {
    const set = this.waiters.get(id);
    if (!set?.delete(waiter)) return;
    if (set.size === 0) this.waiters.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled(this.running.values());
  }
}
