// The engine's durable state in the catalog: the 'cache' section (one record
// per extent) and the 'uploads' section (the persistent upload queue). Writes
// go one at a time, in call order, so an older state never lands over a newer;
// those asked for while one is under way go together in the next (group
// commit), so that concurrent sync points share one flush of LevelDB's log.
import type { Catalog, Section } from '../catalog/catalog.ts';
import type { CacheState } from './cache-state.ts';
import type { Extent, ExtentRecord } from './extent.ts';

/** One operation of the upload queue, as persisted. */
export interface QueueEntry {
  op: 'put' | 'delete';
  seq: number;
}

export type Batch = ReturnType<Catalog['batch']>;

interface PendingWrite {
  readonly compose: (batch: Batch) => void;
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class CatalogLog {
  readonly index: Section<ExtentRecord>;
  readonly uploads: Section<QueueEntry>;
  /** Writes asked for while the one under way lands: the next batch. */
  private waiting: PendingWrite[] = [];
  private writing = false;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalog: Catalog,
    private readonly state: CacheState,
  ) {
    this.index = catalog.section<ExtentRecord>('cache');
    this.uploads = catalog.section<QueueEntry>('uploads');
  }

  /**
   * A catalog write, after those asked for before it. `compose` runs when its
   * turn comes, so what it records is current, and the in-memory queue changes
   * with it; it goes in one atomic batch with the other writes waiting then.
   * `sync`: durable (LevelDB's synchronous write) once it resolves.
   */
  persist(compose: (batch: Batch) => void, sync = false): Promise<void> {
    const written = new Promise<void>((resolve, reject) => this.waiting.push({ compose, sync, resolve, reject }));
    if (!this.writing) {
      this.writing = true;
      // From the next microtask: writes asked for in the same turn go in the same batch.
      queueMicrotask(() => void this.writeWaiting());
    }
    this.last = written.catch(() => undefined);
    return written;
  }

  /** Writes what waits, a batch at a time, until nothing does; a compose that throws fails its whole batch. */
  private async writeWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      try {
        const batch = this.catalog.batch();
        for (const write of group) write.compose(batch);
        await batch.write(group.some((w) => w.sync) ? { sync: true } : {});
        for (const write of group) write.resolve();
      } catch (error) {
        for (const write of group) write.reject(error);
      }
    }
    this.writing = false;
  }

  /** Records the extent's current state, unless it has been deleted meanwhile. */
  putRecord(extent: Extent): Promise<void> {
    return this.persist((batch) => this.record(batch, extent));
  }

  /** Adds the extent's current record to `batch`, unless it has been deleted meanwhile. */
  record(batch: Batch, extent: Extent): void {
    if (this.state.extents.get(extent.key) === extent) batch.put(extent.key, extent.toRecord(), { sublevel: this.index });
  }

  /** Resolves once every write asked for so far has landed. */
  settled(): Promise<void> {
    return this.last;
  }
}
