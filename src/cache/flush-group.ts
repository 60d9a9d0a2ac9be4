// Group commit for one thing to flush (a folder of the cache disk): callers who
// ask while a flush runs share the next one, which starts when it ends, so
// that N callers arriving together cost two flushes, not N.

export class FlushGroup {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  /** Resolves once a flush that started after this call has ended. */
  request(): Promise<void> {
    if (!this.running) return this.start();
    // The one running may have started before what the caller wants flushed: the next one covers it.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.start();
      });
    return this.next;
  }

  private start(): Promise<void> {
    const run = this.flush().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
