// Serialises commands that modify overlapping block ranges. COMPARE AND WRITE
// and ORWRITE read, decide and write; a write landing in between would be
// lost or compared against stale data, so every modifying command holds its
// range for its whole duration. Reads take no lock.

interface Held {
  readonly start: number;
  readonly end: number;
  readonly released: Promise<void>;
}

export class RangeLock {
  private readonly held = new Set<Held>();

  /** Runs `fn` while no other holder overlaps [start, end) (block numbers). */
  async run<T>(start: number, end: number, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      const overlapping = [...this.held].filter((h) => h.start < end && start < h.end);
      if (overlapping.length === 0) break;
      await Promise.all(overlapping.map((h) => h.released));
    }
    let release!: () => void;
    const entry: Held = { start, end, released: new Promise<void>((resolve) => (release = resolve)) };
    this.held.add(entry);
    try {
      return await fn();
    } finally {
      this.held.delete(entry);
      release();
    }
  }
}
