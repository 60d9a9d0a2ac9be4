// The gateway's catalog: one LevelDB database with a sublevel per kind of record.
// Only the running gateway opens it (LevelDB takes a lock); everything else asks
// the gateway through the management API.
import { Level } from 'level';
import type { AbstractSublevel } from 'abstract-level';

/** The kinds of record the catalog keeps; each is its own sublevel. */
export type CatalogSection = 'gateway' | 'tapes' | 'library' | 'volumes' | 'cache' | 'uploads' | 'shelf' | 'pools' | 'shares';

export type Section<V> = AbstractSublevel<Level<string, unknown>, string | Buffer | Uint8Array, string, V>;

export class Catalog {
  private constructor(private readonly db: Level<string, unknown>) {}

  static async open(directory: string): Promise<Catalog> {
    const db = new Level<string, unknown>(directory, { valueEncoding: 'json' });
    await db.open();
    return new Catalog(db);
  }

  section<V>(name: CatalogSection): Section<V> {
    return this.db.sublevel<string, V>(name, { valueEncoding: 'json' });
  }

  /** Writes to several sections atomically. */
  batch(): ReturnType<Level<string, unknown>['batch']> {
    return this.db.batch();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
