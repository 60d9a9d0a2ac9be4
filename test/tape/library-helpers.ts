// A library over a real LevelDB catalog in a temporary directory, with a
// stand-in for the cartridge (the library only opens, flushes and closes it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriveIdentity } from '../../scsi/smc/media-library.ts';
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import type { CartridgeFactory } from '../../src/tape/drive-bay.ts';
import { Library, type LibraryOptions } from '../../src/tape/library.ts';

/** Stand-in for the real cartridge: a TapeMedium that only counts flushes. */
export class StandInMedium {
  flushes = 0;
  constructor(readonly barcode: string) {}
  async flush(): Promise<void> {
    this.flushes++;
  }
}

/** Stand-in cartridge factory: records what was opened and closed; barcodes in `unreadable` fail to open. */
export class StandInCartridges implements CartridgeFactory {
  readonly open = new Map<string, StandInMedium>();
  readonly log: string[] = [];
  readonly unreadable = new Set<string>();

  async openCartridge(barcode: string): Promise<TapeMedium> {
    if (this.unreadable.has(barcode)) throw new Error(`manifest of ${barcode} is missing`);
    if (this.open.has(barcode)) throw new Error(`${barcode} is already open`);
    const medium = new StandInMedium(barcode);
    this.open.set(barcode, medium);
    this.log.push(`open ${barcode}`);
    return medium as unknown as TapeMedium;
  }

  async closeCartridge(medium: TapeMedium): Promise<void> {
    const m = medium as unknown as StandInMedium;
    if (m.flushes === 0) throw new Error(`${m.barcode} closed without a flush`);
    this.open.delete(m.barcode);
    this.log.push(`close ${m.barcode}`);
  }
}

export function driveIdentities(count: number, serial = (i: number) => `10130000${String(i + 1).padStart(2, '0')}`): DriveIdentity[] {
  return Array.from({ length: count }, (_, i) => ({ vendor: 'IBM', product: 'ULT3580-TD5', serial: serial(i) }));
}

export interface LibraryFixture {
  library: Library;
  catalog: Catalog;
  cartridges: StandInCartridges;
  /** Closes the catalog and opens library and catalog again from the same directory. */
  reopen(overrides?: Partial<LibraryOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function libraryFixture(options: Partial<LibraryOptions> = {}): Promise<LibraryFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'library-'));
  const cartridges = new StandInCartridges();
  const build = async (overrides: Partial<LibraryOptions>): Promise<{ catalog: Catalog; library: Library }> => {
    const catalog = await Catalog.open(join(dir, 'catalog'));
    try {
      const library = await Library.open({ catalog, cartridges, drives: driveIdentities(2), storageSlots: 4, importExportSlots: 2, ...options, ...overrides });
      return { catalog, library };
    } catch (err) {
      await catalog.close();
      throw err;
    }
  };
  const fixture = {
    ...(await build({})),
    cartridges,
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
