// Opens, creates and deletes cartridges on the cache engine, and keeps the
// tape catalog's record of each in step (the drives' CartridgeFactory).
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';
import { Cartridge, type CartridgeStore } from './cartridge.ts';
import type { CartridgeFactory } from './library-bay.ts';
import type { TapeCatalog, TapeRecord } from './tape-catalog.ts';

export class CartridgeLifecycle implements CartridgeFactory {
  constructor(
    private readonly store: CartridgeStore,
    private readonly tapes: TapeCatalog,
    private readonly segmentBytes: number,
  ) {}

  async create(record: Omit<TapeRecord, 'usedBytes' | 'createdAt'>): Promise<TapeRecord> {
    const cartridge = await Cartridge.create(this.store, {
      barcode: record.barcode,
      capacityBytes: record.sizeBytes,
      worm: record.worm,
      segmentBytes: this.segmentBytes,
    });
    const created: TapeRecord = { ...record, usedBytes: 0, createdAt: cartridge.createdAt };
    await this.tapes.put(created);
    return created;
  }

  /** Records a cartridge found in the bucket, as its newest manifest describes it. */
  async adopt(barcode: string, pool: string): Promise<TapeRecord> {
    const cartridge = await Cartridge.open(this.store, barcode);
    const record: TapeRecord = {
      barcode,
      sizeBytes: cartridge.capacity().totalBytes,
      usedBytes: cartridge.capacity().usedBytes,
      worm: cartridge.worm,
      pool,
      createdAt: cartridge.createdAt,
    };
    await this.tapes.put(record);
    return record;
  }

  /** A cartridge retrieved from the vault shelf opens write-protected. */
  async openCartridge(barcode: string): Promise<TapeMedium> {
    const record = await this.tapes.get(barcode);
    return Cartridge.open(this.store, barcode, { readOnly: record?.readOnly === true });
  }

  /** The drive is done with it (already flushed): its garbage segments deleted, remember how full it is. */
  async closeCartridge(medium: TapeMedium): Promise<void> {
    if (medium instanceof Cartridge) await medium.deleted();
    const record = await this.tapes.get(medium.barcode);
    if (record) await this.tapes.put({ ...record, usedBytes: medium.capacity().usedBytes });
  }

  async destroy(record: TapeRecord): Promise<void> {
    await Cartridge.destroy(this.store, record.barcode);
    await this.tapes.put({ ...record, deletedAt: new Date().toISOString() });
  }
}
