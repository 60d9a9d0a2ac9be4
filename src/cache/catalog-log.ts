// The engine's durable state in the catalog: the 'cache' section (one record
// per extent) and the 'uploads' section (the persistent upload queue). Writes
// go one at a time, in call order, so an older state never lands over a newer.
import type { Catalog, Section } from '../catalog/catalog.ts';
import type { CacheState } from './cache-state.ts';
import type { Extent, ExtentRecord } from './extent.ts';

/** One operation of the upload queue, as persisted. */
export interface QueueEntry {
  op: 'put' | 'delete';
  seq: number;
}

export type Batch = ReturnType<Catalog['batch']>;

export class CatalogLog {
  readonly index: Section<ExtentRecord>;
  readonly uploads: Section<QueueEntry>;
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalog: Catalog,
    private readonly state: CacheState,
  ) {
    this.index = catalog.section<ExtentRecord>('cache');
    this.uploads = catalog.section<QueueEntry>('uploads');
  }

  /**
   * Catalog writes, one at a time in call order. `compose` runs when its turn
   * comes, so what it records is current, and the in-memory queue changes with it.
   * `sync`: durable (LevelDB's synchronous write) once it resolves.
   */
  persist(compose: (batch: Batch) => void, sync = false): Promise<void> {
    const step = this.persisting.then(async () => {
      const batch = this.catalog.batch();
      compose(batch);
      await batch.write(sync ? ({ sync: true }) : {});
    });
    this.persisting = step.catch(() => undefined);
    return step;
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
    return this.persisting;
  }
}
