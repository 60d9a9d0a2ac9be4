// Opens, creates and deletes cartridges on the cache engine, and keeps the
// tape catalog's record of each in step (the drives' CartridgeFactory).
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';
import { Cartridge, CartridgeExistsError, cartridgeKeys, type CartridgeStore } from './cartridge.ts';
import type { CartridgeFactory } from './library-bay.ts';
import type { TapeCatalog, TapeRecord } from './tape-catalog.ts';

export class CartridgeLifecycle implements CartridgeFactory {
  constructor(
    private readonly store: CartridgeStore,
    private readonly tapes: TapeCatalog,
    private readonly segmentBytes: number,
  ) {}

  /** A new, empty cartridge and its record; if either cannot be made, neither is left behind. */
  async create(record: Omit<TapeRecord, 'usedBytes' | 'createdAt'>): Promise<TapeRecord> {
    let cartridge: Cartridge;
    try {
      cartridge = await Cartridge.create(this.store, {
        barcode: record.barcode,
        capacityBytes: record.sizeBytes,
        worm: record.worm,
        segmentBytes: this.segmentBytes,
      });
    } catch (error) {
      // The manifests found there are another cartridge's, not ours to delete.
      if (!(error instanceof CartridgeExistsError)) await this.discard(record.barcode).catch(() => undefined);
      throw error;
    }
    const created: TapeRecord = { ...record, usedBytes: 0, createdAt: cartridge.createdAt };
    try {
      await this.tapes.put(created);
    } catch (error) {
      await this.discard(record.barcode).catch(() => undefined);
      throw error;
    }
    return created;
  }

  /** Undoes create() for a cartridge nobody has used or been told of: its manifests (all a new one has) and its record go. */
  async discard(barcode: string): Promise<void> {
    await this.store.deleteMany(cartridgeKeys(barcode).manifests);
    await this.tapes.forget(barcode);
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

  async openCartridge(barcode: string): Promise<TapeMedium> {
    return Cartridge.open(this.store, barcode, { readOnly: await this.opensReadOnly(barcode) });
  }

  /** A cartridge retrieved from the vault shelf opens write-protected. */
  async opensReadOnly(barcode: string): Promise<boolean> {
    return (await this.tapes.get(barcode))?.readOnly === true;
  }

  /** The drive is done with it (already flushed): its garbage segments deleted, remember how full it is. */
  async closeCartridge(medium: TapeMedium): Promise<void> {
    if (medium instanceof Cartridge) await medium.deleted();
    await this.closed(medium.barcode, medium.capacity().usedBytes);
  }

  /** Remembers how full a cartridge a drive gave back is. */
  async closed(barcode: string, usedBytes: number): Promise<void> {
    const record = await this.tapes.get(barcode);
    if (record) await this.tapes.put({ ...record, usedBytes });
  }

  async destroy(record: TapeRecord): Promise<void> {
    await Cartridge.destroy(this.store, record.barcode);
    await this.tapes.put({ ...record, deletedAt: new Date().toISOString() });
  }
}
