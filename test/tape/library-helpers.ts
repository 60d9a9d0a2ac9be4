// A library over a real LevelDB catalog in a temporary directory and real
// cartridges on an in-memory stand-in of the cache engine.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriveIdentity } from '../../scsi/smc/media-library.ts';
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { Cartridge, type CartridgeStore } from '../../src/tape/cartridge.ts';
import { CartridgeLifecycle } from '../../src/tape/cartridge-lifecycle.ts';
import { LibraryService } from '../../src/tape/library-service.ts';
import { PoolCatalog } from '../../src/tape/pools.ts';
import { TapeCatalog } from '../../src/tape/tape-catalog.ts';
import type { CartridgeFactory } from '../../src/tape/library-bay.ts';
import { Library, type LibraryOptions, type Place } from '../../src/tape/library.ts';
import type { TapeLocation } from '../../src/tape/tape-service.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';

/** The real cartridge factory as the gateway builds it, over an in-memory engine; it records opens and closes. */
export class RecordingCartridges implements CartridgeFactory {
  readonly store = new MemoryCartridgeStore();
  readonly open = new Set<string>();
  readonly log: string[] = [];

  async openCartridge(barcode: string): Promise<TapeMedium> {
    if (this.open.has(barcode)) throw new Error(`${barcode} is already open`);
    const medium = await Cartridge.open(this.store, barcode);
    this.open.add(barcode);
    this.log.push(`open ${barcode}`);
    return medium;
  }

  async closeCartridge(medium: TapeMedium): Promise<void> {
    this.open.delete(medium.barcode);
    this.log.push(`close ${medium.barcode}`);
  }

  create(barcode: string): Promise<Cartridge> {
    return Cartridge.create(this.store, { barcode, capacityBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024 });
  }
}

export function driveIdentities(count: number, serial = (i: number) => `10130000${String(i + 1).padStart(2, '0')}`): DriveIdentity[] {
  return Array.from({ length: count }, (_, i) => ({ vendor: 'IBM', product: 'ULT3580-TD5', serial: serial(i) }));
}

export interface LibraryFixture {
  library: Library;
  catalog: Catalog;
  cartridges: RecordingCartridges;
  /** Creates a cartridge and has the operator insert it (default: the first free I/E slot). */
  tape(barcode: string, into?: Place | 'slot' | 'import-export'): Promise<TapeLocation>;
  /** Closes the catalog and opens library and catalog again from the same directory. */
  reopen(overrides?: Partial<LibraryOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function libraryFixture(options: Partial<LibraryOptions> = {}): Promise<LibraryFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'library-'));
  const cartridges = new RecordingCartridges();
  const build = async (overrides: Partial<LibraryOptions>): Promise<{ catalog: Catalog; library: Library }> => {
    const catalog = await Catalog.open(join(dir, 'catalog'));
    try {
      const library = await Library.open({
        catalog,
        cartridges,
        drives: driveIdentities(2),
        storageSlots: 4,
        importExportSlots: 2,
        ...options,
        ...overrides,
      });
      return { catalog, library };
    } catch (err) {
      await catalog.close();
      throw err;
    }
  };
  const fixture = {
    ...(await build({})),
    cartridges,
    async tape(barcode: string, into?: Place | 'slot' | 'import-export') {
      await cartridges.create(barcode);
      return fixture.library.insert(barcode, into);
    },
    async reopen(overrides: Partial<LibraryOptions> = {}) {
      await fixture.catalog.close();
      cartridges.open.clear(); // a restart: nothing is open any more
      Object.assign(fixture, await build(overrides));
    },
    async close() {
      await fixture.catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export const TEST_MiB = 1024 * 1024;

/**
 * The operator's library service as the gateway builds it, over `catalog` and a
 * cartridge store: one drive, the slots given, cartridges of 1 MiB to 1 GiB in
 * 1 MiB segments, GLACIER to a vault and DEEP_ARCHIVE to its storage class.
 */
export async function libraryServiceOn(
  catalog: Catalog,
  store: CartridgeStore,
  slots: { storageSlots: number; importExportSlots: number },
) {
  const tapes = new TapeCatalog(catalog);
  const cartridges = new CartridgeLifecycle(store, tapes, TEST_MiB);
  const library = await Library.open({ catalog, cartridges, drives: driveIdentities(1), ...slots });
  const pools = new PoolCatalog(catalog, {
    GLACIER: { kind: 'vault', vault: 'archive' },
    DEEP_ARCHIVE: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' },
  });
  const service = new LibraryService({
    library,
    cartridges,
    tapes,
    pools,
    minTapeBytes: TEST_MiB,
    maxTapeBytes: 1024 * TEST_MiB,
    mediaSuffix: 'L5',
    changer: { target: 'iqn.2026-11.test:changer', lun: 0, serial: 'CHANGER001' },
    drives: [{ target: 'iqn.2026-11.test:drive1', lun: 0, serial: '1013000001' }],
  });
  return { service, library, tapes, cartridges, pools };
}
