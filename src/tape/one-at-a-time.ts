// Runs changes one at a time, in the order they were asked for: a change that
// reads the state, decides, then writes can take no decision on a state that
// another change is about to alter.
export class OneAtATime {
  private queue: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
