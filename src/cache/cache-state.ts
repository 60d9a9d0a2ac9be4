// What every part of the engine shares: the extents known, their locks, the
// byte counts that admission, eviction and the metrics read, and a way to wait
// for the next change of them.
import { type Extent } from './extent.ts';
import { KeyedLock } from './keyed-lock.ts';

export class CacheState {
  /** Every extent known, least recently used first. */
  readonly extents = new Map<string, Extent>();
  readonly locks = new KeyedLock();
  /** Bytes of cached blocks on the cache disk. */
  usedBytes = 0;
  /** Bytes of extents not yet uploaded. */
  dirtyBytes = 0;
  /** Bytes admitted to writes in progress, counted against the cache before they land. */
  reservedBytes = 0;
  hits = 0;
  misses = 0;
  /** Last time a caller wrote or read. */
  foregroundAt = 0;
  /** Last time a consumer served a request that reads and writes no extent (a share's LOOKUP or READDIR). */
  requestAt = 0;
  private readonly waiters: (() => void)[] = [];

  /** Marks the extent most recently used. */
  touch(extent: Extent): void {
    this.extents.delete(extent.key);
    this.extents.set(extent.key, extent);
  }

  /** Accounts for a write that took the extent from `sizeBefore` bytes to its size now: dirty, and a new generation. */
  written(extent: Extent, sizeBefore: number): void {
    this.dirtyBytes += extent.dirty ? extent.size - sizeBefore : extent.size;
    if (!extent.dirty) extent.state = 'dirty';
    extent.gen++;
    this.touch(extent);
  }

  /** Marks one block, or all, of a clean extent as no longer cached. */
  forget(extent: Extent, block?: number): void {
    for (let b = block ?? 0; b <= (block ?? extent.present.length - 1); b++) {
      if (extent.present[b]) this.usedBytes -= extent.blockLength(b);
      extent.present[b] = false;
      extent.crcs[b] = 0;
    }
  }

  /** Runs `task` holding the lock of every key, taken in the order given. */
  underLocks<T>(keys: readonly string[], task: () => Promise<T>, from = 0): Promise<T> {
    return from === keys.length ? task() : this.locks.run(keys[from]!, () => this.underLocks(keys, task, from + 1));
  }

  /** Resolves at the next change of usage or queue, or after `timeoutMs` for conditions no event reports. */
  changed(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (timeoutMs !== undefined) setTimeout(resolve, timeoutMs).unref();
    });
  }

  notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
