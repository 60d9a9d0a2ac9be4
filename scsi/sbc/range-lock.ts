// Serialises commands that modify overlapping block ranges. COMPARE AND WRITE
// and ORWRITE read, decide and write; a write landing in between would be
// lost or compared against stale data, so every modifying command holds its
// range for its whole duration. Reads take no lock.
//
// Every WRITE takes it, so the uncontended path allocates one entry and one
// promise: no promise for waiters until one waits.

interface Held {
  readonly start: number;
  readonly end: number;
  waiters: (() => void)[] | undefined;
}

export class RangeLock {
  private readonly held = new Set<Held>();

  /** Runs `fn` while no other holder overlaps [start, end) (block numbers). */
  run<T>(start: number, end: number, fn: () => Promise<T>): Promise<T> {
    for (const h of this.held) {
      if (h.start < end && start < h.end) {
        return new Promise<void>((resolve) => (h.waiters ??= []).push(resolve)).then(() => this.run(start, end, fn));
      }
    }
    const entry: Held = { start, end, waiters: undefined };
    this.held.add(entry);
    let running: Promise<T>;
    try {
      running = fn();
    } catch (err) {
      this.release(entry);
      return Promise.reject(err);
    }
    return running.then(
      (value) => {
        this.release(entry);
        return value;
      },
      (err: unknown) => {
        this.release(entry);
        throw err;
      },
    );
  }

  private release(entry: Held): void {
    this.held.delete(entry);
    if (entry.waiters) for (const wake of entry.waiters) wake();
  }
}
