// What the gateway remembers of each cartridge beyond its own manifest: size,
// pool, when it was made, how full it was when last unloaded. Barcodes are
// never reused, so a deleted cartridge leaves a tombstone.
import type { Catalog, Section } from '../catalog/catalog.ts';

export interface TapeRecord {
  readonly barcode: string;
  readonly sizeBytes: number;
  readonly pool: string;
  readonly worm: boolean;
  readonly createdAt: string;
  readonly usedBytes: number;
  /** Retrieved from the vault shelf: opened write-protected. */
  readonly readOnly?: boolean;
  readonly deletedAt?: string;
}

export class TapeCatalog {
  private readonly section: Section<TapeRecord>;

  constructor(catalog: Catalog) {
    this.section = catalog.section<TapeRecord>('tapes');
  }

  async get(barcode: string): Promise<TapeRecord | undefined> {
    return this.section.get(barcode);
  }

  async put(record: TapeRecord): Promise<void> {
    await this.section.put(record.barcode, record);
  }

  /** Drops the record of a cartridge nobody was ever told of (a create undone): its barcode is free again. */
  async forget(barcode: string): Promise<void> {
    await this.section.del(barcode);
  }

  /** Every record, tombstones included, in barcode order. */
  async all(): Promise<TapeRecord[]> {
    return this.section.values().all();
  }
}
