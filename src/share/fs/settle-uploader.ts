// Uploads a file once it has been quiet for the share's settling time: its
// metadata goes onto the object, its bytes are made durable and queued, and
// once the bucket holds them the node is marked clean (unless it changed
// meanwhile). Failures are retried at the next sweep and counted.
import type { Logger } from '../../log.ts';

export interface SettleTarget {
  /** Uploads the node as it is now; resolves once the bucket holds it, to false when it changed meanwhile. */
  upload(id: number): Promise<boolean>;
}

/** Uploads in flight at once: the engine uploads a few at a time anyway, and thousands of waiting drains would swamp the event loop. */
const CONCURRENCY = 32;

export class SettleUploader {
  /** Ids with changes to upload, and when each last changed (ms). */
  private readonly pending = new Map<number, number>();
  private readonly running = new Map<number, Promise<void>>();
  /** Bytes each node with changes uploads (its size when it last changed): what the operator sees waiting. */
  private readonly sizes = new Map<number, number>();
  private readonly failing = new Set<number>();
  private readonly waiters: { ids: Set<number>; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly target: SettleTarget,
    private readonly settleMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.sweep(false), Math.max(50, Math.min(1000, settleMs / 2)));
    this.timer.unref();
  }

  /** The node changed (its object is now `bytes` long; 0 for a directory): its upload waits until it has been quiet for the settling time. */
  touched(id: number, bytes = 0): void {
    this.pending.set(id, Date.now());
    this.sizes.set(id, bytes);
  }

  /** The node is gone: nothing to upload. */
  forget(id: number): void {
    this.pending.delete(id);
    this.failing.delete(id);
    this.sizes.delete(id);
    this.settleWaiters(id);
  }

  get dirtyCount(): number {
    return new Set([...this.pending.keys(), ...this.running.keys()]).size;
  }

  /** Bytes of the files counted in dirtyCount. */
  get dirtyBytes(): number {
    let bytes = 0;
    for (const id of new Set([...this.pending.keys(), ...this.running.keys()])) bytes += this.sizes.get(id) ?? 0;
    return bytes;
  }

  get failingCount(): number {
    return this.failing.size;
  }

  /** Resolves once every change made before the call is in the bucket; starts those uploads now. */
  async flush(): Promise<void> {
    const ids = new Set([...this.pending.keys(), ...this.running.keys()]);
    if (ids.size === 0) return;
    const done = new Promise<void>((resolve) => this.waiters.push({ ids, resolve }));
    this.sweep(true);
    await done;
  }

  private sweep(now: boolean): void {
    if (this.closed) return;
    const quietSince = Date.now() - this.settleMs;
    for (const [id, changed] of this.pending) {
      if (this.running.size >= CONCURRENCY) break;
      // A failed upload waits a settling time before its next try, flush or not.
      if (this.running.has(id) || ((!now || this.failing.has(id)) && changed > quietSince)) continue;
      this.pending.delete(id);
      this.running.set(id, this.run(id));
    }
  }

  private async run(id: number): Promise<void> {
    try {
      const clean = await this.target.upload(id);
      this.failing.delete(id);
      if (!clean && !this.pending.has(id)) this.pending.set(id, Date.now());
    } catch (err) {
      if (!this.failing.has(id)) this.logger.warn({ err, fileId: id }, 'upload of a shared file failed; retrying');
      this.failing.add(id);
      if (!this.pending.has(id)) this.pending.set(id, Date.now());
    } finally {
      this.running.delete(id);
    }
    if (!this.pending.has(id)) {
      this.sizes.delete(id);
      this.settleWaiters(id);
    }
    // A slot is free: the next upload goes, at once while someone waits in flush().
    this.sweep(this.waiters.length > 0);
  }

  private settleWaiters(id: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      waiter.ids.delete(id);
      if (waiter.ids.size === 0) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled(this.running.values());
  }
}
