// A stored volume's marks on its chunks (see Mark), in memory and in the
// catalog. Changes are written in the order they are made, many to a batch
// (group commit): a chunk's first write after a flush waits for one
// synchronous catalog write, shared with every other write waiting then.
import type { Mark, VolumeCatalog } from './volume-catalog.ts';

export class Marks {
  private readonly pending = new Map<number, Mark | null>();
  /** The batch not yet started: changes made now ride in it. */
  private next: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalog: VolumeCatalog,
    private readonly volumeId: string,
    private readonly marks: Map<number, Mark>,
  ) {}

  get(index: number): Mark | undefined {
    return this.marks.get(index);
  }

  count(mark: Mark): number {
    let n = 0;
    for (const m of this.marks.values()) if (m === mark) n++;
    return n;
  }

  /** Chunks with `mark`, in index order. */
  indexes(mark: Mark): number[] {
    return [...this.marks]
      .filter(([, m]) => m === mark)
      .map(([index]) => index)
      .sort((a, b) => a - b);
  }

  /** Sets (or with null clears) a mark at once; the promise resolves once it is durable. */
  set(index: number, mark: Mark | null): Promise<void> {
    if (mark === null) this.marks.delete(index);
    else this.marks.set(index, mark);
    this.pending.set(index, mark);
    this.next ??= this.chain.then(() => {
      this.next = undefined;
      const changes = [...this.pending];
      this.pending.clear();
      return this.catalog.putMarks(this.volumeId, changes, true);
    });
    const batch = this.next;
    this.chain = batch.catch(() => undefined);
    return batch;
  }

  /** Resolves once every change made so far is durable. */
  async settled(): Promise<void> {
    await this.chain;
  }
}
