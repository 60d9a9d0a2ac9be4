// Counts a volume's writes in flight and can hold new ones back until those
// have ended: a snapshot's point in time is a moment when no write is half done.

export class WriteGate {
  private inFlight = 0;
  private closedBy: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  /** Runs a write, after any pause in force. */
  run<T>(write: () => Promise<T>): Promise<T> {
    if (this.closedBy) return this.closedBy.then(() => this.run(write));
    this.inFlight++;
    let running: Promise<T>;
    try {
      running = write();
    } catch (err) {
      this.leave();
      return Promise.reject(err);
    }
    return running.then(
      (value) => {
        this.leave();
        return value;
      },
      (err: unknown) => {
        this.leave();
        throw err;
      },
    );
  }

  /**
   * Holds new writes back, waits for those in flight, runs `atMoment` (with no
   * write under way) and lets writes go on, whatever `atMoment` does.
   */
  async pause<T>(atMoment: () => Promise<T> | T): Promise<T> {
    while (this.closedBy) await this.closedBy;
    let reopen!: () => void;
    this.closedBy = new Promise<void>((resolve) => (reopen = resolve));
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      return await atMoment();
    } finally {
      this.closedBy = undefined;
      reopen();
    }
  }

  private leave(): void {
    if (--this.inFlight === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }
}
