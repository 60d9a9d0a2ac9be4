// The tape library's inventory: which cartridge sits in which storage slot,
// import/export slot or drive, kept in the catalog's 'library' section and
// written through (a move is durable before it is reported done).
//
// Choices:
// - Moving a cartridge out of a drive unloads it first (a sync point), as most
//   libraries do, unless an initiator of the drive prevents medium removal.
// - Moving a cartridge into a drive loads it (opens the cartridge); if it
//   cannot be opened nothing moves.
// - A move into an import/export slot from anywhere else is an export: the
//   onExported listeners hear the barcode once the move is durable.
// - Operator actions (insert, remove, move) tell onInventoryChanged listeners,
//   and the changer turns that into a unit attention; MOVE MEDIUM does not.
// - INITIALIZE ELEMENT STATUS has nothing to re-read: the inventory is exact.
import type { Catalog, Section } from '../catalog/catalog.ts';
import {
  ElementType,
  MoveMediumError,
  type DriveIdentity,
  type ElementLayout,
  type ElementStatus,
  type InventoryChange,
  type MediaLibrary,
} from '../../scsi/smc/media-library.ts';
import { BarcodeError, validateBarcode } from './barcode.ts';
import { DEFAULT_SHAPE, elementLayout, LibraryConfigError, type LibraryShape } from './element-plan.ts';
import { EMPTY_BAY, LibraryBay, type BayReport, type CartridgeFactory, type LoadedMedium } from './library-bay.ts';
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';
import { OneAtATime } from './one-at-a-time.ts';
import { TapeServiceError, type ElementKind, type TapeLocation } from './tape-service.ts';

/** A place in the library by kind and 1-based index, as mtx and operators count; addresses follow the layout. */
export interface Place {
  readonly kind: ElementKind;
  readonly index: number;
}

/** The persisted record of one cartridge: key = barcode in the catalog's 'library' section. */
export interface CartridgeRecord {
  readonly at: Place;
  /** Where the changer last took it from (SVALID + source address in element status). */
  readonly from?: Place;
  /** Put in an import/export slot by an operator (IMPEXP=1) rather than exported by the changer. */
  readonly imported?: boolean;
}

export interface LibraryOptions<M extends LoadedMedium = TapeMedium> {
  readonly catalog: Catalog;
  readonly cartridges: CartridgeFactory<M>;
  /** One per drive, in drive order: vendor, product and the unit serial its VPD 80h reports (DVCID). */
  readonly drives: readonly DriveIdentity[];
  /** Default 1600. */
  readonly storageSlots?: number;
  /** Default 1600. */
  readonly importExportSlots?: number;
  readonly firstAddresses?: LibraryShape['firstAddresses'];
  /** A cartridge in a drive that fails to load at start-up is logged here. */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

interface Content {
  readonly barcode: string;
  readonly from?: Place;
  readonly imported: boolean;
}

interface Cell<M extends LoadedMedium> {
  readonly place: Place;
  readonly address: number;
  readonly type: ElementType;
  content: Content | undefined;
  readonly bay?: LibraryBay<M>;
  /** What the drive's bay last reported: the changer reads this, never the bay. */
  mirror?: BayReport;
  readonly drive?: DriveIdentity;
}

const KIND_NAMES: Record<ElementKind, string> = { slot: 'storage slot', 'import-export': 'import/export slot', drive: 'drive' };

const describePlace = (p: Place): string => `${KIND_NAMES[p.kind]} ${p.index}`;

export class Library<M extends LoadedMedium = TapeMedium> implements MediaLibrary {
  readonly bays: readonly LibraryBay<M>[];
  private readonly shape: ElementLayout;
  private readonly cells: readonly Cell<M>[];
  private readonly byKind: Record<ElementKind, readonly Cell<M>[]>;
  private readonly byAddress = new Map<number, Cell<M>>();
  private readonly byBarcode = new Map<string, Cell<M>>();
  private readonly changeListeners: ((change: InventoryChange) => void)[] = [];
  private readonly exportListeners: ((barcode: string) => void)[] = [];
  private readonly changes = new OneAtATime();

  private constructor(
    private readonly section: Section<CartridgeRecord>,
    readonly cartridges: CartridgeFactory<M>,
    options: LibraryOptions<M>,
  ) {
    this.shape = elementLayout({
      drives: options.drives.length,
      storageSlots: options.storageSlots ?? DEFAULT_SHAPE.storageSlots,
      importExportSlots: options.importExportSlots ?? DEFAULT_SHAPE.importExportSlots,
      ...(options.firstAddresses ? { firstAddresses: options.firstAddresses } : {}),
    });
    const make = (kind: ElementKind, type: ElementType, first: number, count: number): Cell<M>[] =>
      Array.from({ length: count }, (_, i) => ({ place: { kind, index: i + 1 }, address: first + i, type, content: undefined }));
    const drives = options.drives.map((drive, i) => {
      const cell: Cell<M> & { bay: LibraryBay<M> } = {
        place: { kind: 'drive' as const, index: i + 1 },
        address: this.shape.dataTransfer.first + i,
        type: ElementType.DataTransfer,
        content: undefined,
        mirror: EMPTY_BAY,
        bay: new LibraryBay<M>({
          cartridges: {
            openCartridge: (barcode) => cartridges.openCartridge(barcode, i + 1),
            closeCartridge: (medium) => cartridges.closeCartridge(medium),
          },
          exclusive: (work) => this.exclusive(work),
          report: (state) => (cell.mirror = state),
        }),
        drive,
      };
      return cell;
    });
    this.byKind = {
      slot: make('slot', ElementType.Storage, this.shape.storage.first, this.shape.storage.count),
      'import-export': make('import-export', ElementType.ImportExport, this.shape.importExport.first, this.shape.importExport.count),
      drive: drives,
    };
    this.bays = drives.map((d) => d.bay);
    this.cells = [...this.byKind.slot, ...this.byKind['import-export'], ...drives].sort((a, b) => a.address - b.address);
    for (const c of this.cells) this.byAddress.set(c.address, c);
  }

  /** Reads the inventory from the catalog and loads the cartridges found in drives. */
  static async open<M extends LoadedMedium>(options: LibraryOptions<M>): Promise<Library<M>> {
    const library = new Library(options.catalog.section<CartridgeRecord>('library'), options.cartridges, options);
    for await (const [barcode, record] of library.section.iterator()) {
      if (!isPlace(record?.at) || (record.from !== undefined && !isPlace(record.from))) {
        throw new LibraryConfigError(`the catalog's record of cartridge ${barcode} is not a library record: ${JSON.stringify(record)}`);
      }
      const cell = library.cellOf(record.at);
      if (!cell) {
        throw new LibraryConfigError(
          `cartridge ${barcode} is in ${describePlace(record.at)}, which this library no longer has: configure at least ${record.at.index} ${KIND_NAMES[record.at.kind]}s`,
        );
      }
      if (cell.content)
        throw new LibraryConfigError(`the catalog puts both ${cell.content.barcode} and ${barcode} in ${describePlace(record.at)}`);
      library.place(cell, { barcode, imported: record.imported === true, ...(record.from ? { from: record.from } : {}) });
    }
    for (const cell of library.byKind.drive) {
      if (!cell.content) continue;
      const err = await cell.bay!.restore(cell.content.barcode);
      if (err)
        options.log?.('cartridge in a drive failed to load at start-up', { err, barcode: cell.content.barcode, drive: cell.place.index });
    }
    return library;
  }

  layout(): ElementLayout {
    return this.shape;
  }

  elements(): readonly ElementStatus[] {
    const transport: ElementStatus = {
      address: this.shape.transport.first,
      type: ElementType.MediumTransport,
      full: false,
      accessible: true,
    };
    const all = this.cells.map((c) => this.status(c));
    const at = all.findIndex((e) => e.address > transport.address);
    all.splice(at < 0 ? all.length : at, 0, transport);
    return all;
  }

  /** Where a cartridge is, or undefined when the library does not hold it. */
  locate(barcode: string): TapeLocation | undefined {
    const cell = this.byBarcode.get(barcode);
    return cell && location(cell);
  }

  /** Every cartridge and where it sits, in element address order. */
  contents(): { barcode: string; location: TapeLocation }[] {
    return this.cells.filter((c) => c.content).map((c) => ({ barcode: c.content!.barcode, location: location(c) }));
  }

  moveMedium(source: number, destination: number): Promise<void> {
    return this.exclusive(async () => {
      const from = this.byAddress.get(source);
      const to = this.byAddress.get(destination);
      if (!from) throw new MoveMediumError('invalid-element', 'source', `no storage, import/export or drive element at address ${source}`);
      if (!to)
        throw new MoveMediumError('invalid-element', 'destination', `no storage, import/export or drive element at address ${destination}`);
      await this.transfer(from, to);
    });
  }

  async initializeElementStatus(): Promise<void> {}

  onInventoryChanged(listener: (change: InventoryChange) => void): void {
    this.changeListeners.push(listener);
  }

  /** A cartridge was moved into an import/export slot (the vault shelf archives it). */
  onExported(listener: (barcode: string) => void): void {
    this.exportListeners.push(listener);
  }

  /** Operator: a new cartridge goes into the slot given, or the first empty one of a kind (default import/export). */
  insert(barcode: string, into: Place | 'slot' | 'import-export' = 'import-export'): Promise<TapeLocation> {
    return this.exclusive(async () => {
      try {
        validateBarcode(barcode);
      } catch (err) {
        throw err instanceof BarcodeError ? new TapeServiceError('INVALID_BARCODE', err.message) : err;
      }
      const found = this.byBarcode.get(barcode);
      if (found)
        throw new TapeServiceError(
          'DUPLICATE_BARCODE',
          `cartridge ${barcode} is already in ${describePlace(found.place)}: choose another barcode`,
        );
      const cell = typeof into === 'object' ? this.operatorCell(into) : this.byKind[into].find((c) => !c.content);
      if (!cell) {
        const other = into === 'slot' ? 'an import/export slot' : 'a storage slot';
        throw new TapeServiceError(
          'NO_FREE_SLOT',
          `every ${KIND_NAMES[into as ElementKind]} is full: remove a cartridge from one, or insert into ${other}`,
        );
      }
      if (cell.content)
        throw new TapeServiceError('ELEMENT_FULL', `${describePlace(cell.place)} holds ${cell.content.barcode}: choose an empty one`);
      const content: Content = { barcode, imported: cell.place.kind === 'import-export' };
      await this.section.put(barcode, record(cell.place, content));
      this.place(cell, content);
      this.changed([cell]);
      return location(cell);
    });
  }

  /** Operator: a cartridge leaves the library (it must be in a slot, not a drive). */
  remove(barcode: string): Promise<void> {
    return this.exclusive(async () => {
      const cell = this.cellWith(barcode);
      if (cell.bay)
        throw new TapeServiceError('TAPE_IN_DRIVE', `cartridge ${barcode} is in ${describePlace(cell.place)}: move it to a slot first`);
      await this.section.del(barcode);
      this.byBarcode.delete(barcode);
      cell.content = undefined;
      this.changed([cell]);
    });
  }

  /** Operator: moves a cartridge between slots (or into a drive) as MOVE MEDIUM would, and tells the changer. */
  move(barcode: string, to: Place): Promise<void> {
    return this.exclusive(async () => {
      const from = this.cellWith(barcode);
      const cell = this.operatorCell(to, true);
      try {
        await this.transfer(from, cell);
      } catch (err) {
        if (!(err instanceof MoveMediumError)) throw err;
        throw new TapeServiceError(
          err.reason === 'destination-full' ? 'ELEMENT_FULL' : 'MOVE_REFUSED',
          `cannot move ${barcode} to ${describePlace(to)}: ${err.message}`,
        );
      }
      this.changed([from, cell]);
    });
  }

  /** Runs library changes one at a time, in the order they were asked for. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.changes.run(work);
  }

  private async transfer(from: Cell<M>, to: Cell<M>): Promise<void> {
    const content = from.content;
    if (!content) throw new MoveMediumError('source-empty', 'source', `${describePlace(from.place)} is empty`);
    if (from === to) return;
    if (to.content) throw new MoveMediumError('destination-full', 'destination', `${describePlace(to.place)} holds ${to.content.barcode}`);
    if (from.mirror?.prevented)
      throw new MoveMediumError('removal-prevented', 'source', `an initiator of ${describePlace(from.place)} prevents medium removal`);
    await from.bay?.release();
    if (to.bay) {
      try {
        await to.bay.insert(content.barcode);
      } catch (err) {
        throw new MoveMediumError(
          'load-failed',
          'destination',
          `cartridge ${content.barcode} could not be loaded: ${(err as Error).message}`,
        );
      }
    }
    const moved: Content = { barcode: content.barcode, from: from.place, imported: false };
    try {
      await this.section.put(content.barcode, record(to.place, moved));
    } catch (err) {
      await to.bay?.eject();
      throw err;
    }
    await from.bay?.eject();
    from.content = undefined;
    this.place(to, moved);
    from.bay?.notify();
    to.bay?.notify();
    if (to.type === ElementType.ImportExport && from.type !== ElementType.ImportExport) {
      for (const l of this.exportListeners) l(content.barcode);
    }
  }

  private place(cell: Cell<M>, content: Content): void {
    cell.content = content;
    this.byBarcode.set(content.barcode, cell);
  }

  private changed(cells: readonly Cell<M>[]): void {
    const change: InventoryChange = { importExportOnly: cells.every((c) => c.type === ElementType.ImportExport) };
    for (const l of this.changeListeners) l(change);
  }

  private cellOf(place: Place): Cell<M> | undefined {
    return this.byKind[place.kind]?.[place.index - 1];
  }

  private cellWith(barcode: string): Cell<M> {
    const cell = this.byBarcode.get(barcode);
    if (!cell) throw new TapeServiceError('TAPE_NOT_FOUND', `cartridge ${barcode} is not in the library: check the barcode`);
    return cell;
  }

  private operatorCell(place: Place, drivesToo = false): Cell<M> {
    const cell = this.cellOf(place);
    if (!cell || (place.kind === 'drive' && !drivesToo)) {
      const kinds = drivesToo ? 'storage slots, import/export slots or drives' : 'storage or import/export slots';
      throw new TapeServiceError(
        'ELEMENT_NOT_FOUND',
        `there is no ${describePlace(place)}: this library has ${this.summary()}; choose one of its ${kinds}`,
      );
    }
    return cell;
  }

  private summary(): string {
    return `${this.byKind.slot.length} storage slots, ${this.byKind['import-export'].length} import/export slots and ${this.byKind.drive.length} drives`;
  }

  /** Whether the cartridge in a drive (1-based) is threaded, as its bay last reported. */
  loaded(drive: number): boolean {
    return this.byKind.drive[drive - 1]?.mirror?.loaded === true;
  }

  private status(c: Cell<M>): ElementStatus {
    const content = c.content;
    const mirror = c.mirror;
    const source = content?.from && this.cellOf(content.from);
    return {
      address: c.address,
      type: c.type,
      full: content !== undefined,
      accessible: !mirror?.prevented,
      ...(content ? { barcode: content.barcode, importedByOperator: content.imported } : {}),
      ...(source ? { sourceAddress: source.address } : {}),
      ...(c.drive ? { drive: c.drive } : {}),
      ...(mirror?.exception !== undefined ? { exception: mirror.exception } : {}),
    };
  }
}

function isPlace(p: unknown): p is Place {
  const place = p as Place | undefined;
  return (
    typeof place === 'object' &&
    place !== null &&
    Object.hasOwn(KIND_NAMES, place.kind) &&
    Number.isInteger(place.index) &&
    place.index >= 1
  );
}

function location(cell: Cell<LoadedMedium>): TapeLocation {
  return { ...cell.place, address: cell.address };
}

function record(at: Place, content: Content): CartridgeRecord {
  return { at, ...(content.from ? { from: content.from } : {}), ...(content.imported ? { imported: true } : {}) };
}
