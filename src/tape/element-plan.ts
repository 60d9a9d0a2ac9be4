// Where the library's elements live in the 16-bit element address space.
//
// The default follows StorageTek's L-series plan (L700e/L180 SCSI reference, as
// mhvtl's STK personality uses it): transport 1, drives from 500, storage slots
// from 1000. STK puts its few import/export slots at 10-55; AWS's gateway shows
// 1600 of them, which do not fit below the drives, so they start at the next
// thousand after the last storage slot (3000 with 1600 slots).
import type { ElementLayout, ElementRange } from '../../scsi/smc/media-library.ts';

export interface LibraryShape {
  readonly drives: number;
  readonly storageSlots: number;
  readonly importExportSlots: number;
  /** First addresses, to override the plan (e.g. NovaStor's drives 10000, slots 20000, I/E 30000, picker 0). */
  readonly firstAddresses?: Partial<Record<keyof ElementLayout, number>>;
}

/** AWS's tape gateway: 10 drives and 3200 slots, half of them import/export (its Bacula guide's I/E slot 1601). */
export const DEFAULT_SHAPE: LibraryShape = { drives: 10, storageSlots: 1600, importExportSlots: 1600 };

const ADDRESSES = 0x10000;
const FIRST_DRIVE = 500;
const FIRST_SLOT = 1000;

export class LibraryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryConfigError';
  }
}

const NAMES: Record<keyof ElementLayout, string> = {
  transport: 'the transport',
  dataTransfer: 'the drives',
  storage: 'the storage slots',
  importExport: 'the import/export slots',
};

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new LibraryConfigError(`${name} must be a whole number of at least ${min}, not ${value}`);
}

export function elementLayout(shape: LibraryShape): ElementLayout {
  checkCount('drives', shape.drives, 1);
  checkCount('storage slots', shape.storageSlots, 1);
  checkCount('import/export slots', shape.importExportSlots, 0);
  const first = shape.firstAddresses ?? {};
  const storage = first.storage ?? FIRST_SLOT;
  const layout: ElementLayout = {
    transport: { first: first.transport ?? 1, count: 1 },
    dataTransfer: { first: first.dataTransfer ?? FIRST_DRIVE, count: shape.drives },
    storage: { first: storage, count: shape.storageSlots },
    importExport: { first: first.importExport ?? Math.ceil((storage + shape.storageSlots) / 1000) * 1000, count: shape.importExportSlots },
  };
  const ranges = (Object.entries(layout) as [keyof ElementLayout, ElementRange][]).filter(([, r]) => r.count > 0);
  for (const [name, r] of ranges) {
    if (!Number.isInteger(r.first) || r.first < 0 || r.first + r.count > ADDRESSES) {
      throw new LibraryConfigError(
        `${NAMES[name]} (${r.count} from address ${r.first}) do not fit element addresses 0-65535: give a lower first address`,
      );
    }
  }
  for (const [a, ra] of ranges) {
    for (const [b, rb] of ranges) {
      if (a < b && ra.first < rb.first + rb.count && rb.first < ra.first + ra.count) {
        throw new LibraryConfigError(
          `${NAMES[a]} (${ra.first}-${ra.first + ra.count - 1}) overlap ${NAMES[b]} (${rb.first}-${rb.first + rb.count - 1}): give one of them another first address`,
        );
      }
    }
  }
  return layout;
}
