// The operator's view of the library (TapeService) over the inventory, the
// cartridges and the tape catalog.
import { formatSize } from '../config/size.ts';
import { BarcodeError, validateBarcode } from './barcode.ts';
import { CartridgeExistsError, CartridgeNotFoundError } from './cartridge.ts';
import type { CartridgeLifecycle } from './cartridge-lifecycle.ts';
import type { Library } from './library.ts';
import type { LoadedMedium } from './library-bay.ts';
import { OneAtATime } from './one-at-a-time.ts';
import { checkDeletable, DEFAULT_POOL, retentionUntil, type PoolCatalog } from './pools.ts';
import type { TapeCatalog, TapeRecord } from './tape-catalog.ts';
import {
  TapeServiceError,
  type CreatePoolRequest,
  type CreateTapeRequest,
  type CreateTapesRequest,
  type DeleteTapeOptions,
  type LibraryStatus,
  type MoveTapeRequest,
  type PoolInfo,
  type TapeInfo,
  type TapeService,
} from './tape-service.ts';

export interface DeviceAddress {
  readonly target: string;
  readonly lun: number;
  readonly serial: string;
}

export interface LibraryServiceOptions {
  readonly library: Library<LoadedMedium>;
  readonly cartridges: CartridgeLifecycle;
  readonly tapes: TapeCatalog;
  readonly pools: PoolCatalog;
  readonly minTapeBytes: number;
  readonly maxTapeBytes: number;
  /** LTO media ID after the six label characters of generated barcodes, e.g. "L5". */
  readonly mediaSuffix: string;
  readonly changer: DeviceAddress;
  readonly drives: readonly DeviceAddress[];
}

const MAX_TAPES_PER_REQUEST = 100;
const LABEL_LENGTH = 6;
const PREFIX = /^[A-Z]{1,4}$/;
const GiB = 1024 ** 3;

/**
 * Changes to what the library holds (creates, imports, pool changes) run one
 * at a time, so that each answer names exactly what it made: two creates
 * never pick the same barcode or the same free slot. A multi-tape create that
 * fails part-way undoes the tapes it had made.
 */
export class LibraryService implements TapeService {
  private readonly changes = new OneAtATime();

  constructor(private readonly options: LibraryServiceOptions) {}

  async createTapes(request: CreateTapesRequest): Promise<TapeInfo[]> {
    const { count, barcodePrefix: prefix } = request;
    if (!Number.isInteger(count) || count < 1 || count > MAX_TAPES_PER_REQUEST) {
      throw new TapeServiceError('INVALID_COUNT', `cannot create ${count} tapes at once: ask for 1 to ${MAX_TAPES_PER_REQUEST}`);
    }
    if (!PREFIX.test(prefix)) {
      const hint =
        prefix
          .toUpperCase()
          .replace(/[^A-Z]/g, '')
          .slice(0, 4) || 'TAPE';
      throw new TapeServiceError('INVALID_BARCODE', `barcode prefix "${prefix}" must be 1 to 4 letters A-Z: e.g. --prefix ${hint}`);
    }
    this.checkSize(request.sizeBytes);
    return this.changes.run(async () => {
      await this.options.pools.require(request.pool ?? DEFAULT_POOL);
      const barcodes = await this.nextBarcodes(prefix, count);
      this.checkRoom(count);
      const created: TapeInfo[] = [];
      try {
        for (const barcode of barcodes) created.push(await this.add({ ...request, barcode }));
      } catch (error) {
        await this.undo(
          created.map((tape) => tape.barcode),
          error,
        );
        throw error;
      }
      return created;
    });
  }

  async createTape(request: CreateTapeRequest): Promise<TapeInfo> {
    checkBarcode(request.barcode);
    this.checkSize(request.sizeBytes);
    return this.changes.run(async () => {
      await this.options.pools.require(request.pool ?? DEFAULT_POOL);
      const existing = await this.options.tapes.get(request.barcode);
      if (existing) {
        const why = existing.deletedAt
          ? `was used by a cartridge deleted on ${existing.deletedAt}, and barcodes are never reused`
          : 'is taken';
        throw new TapeServiceError('DUPLICATE_BARCODE', `barcode ${request.barcode} ${why}: choose another barcode`);
      }
      this.checkRoom(1);
      return this.add(request);
    });
  }

  async listTapes(): Promise<TapeInfo[]> {
    const records = (await this.options.tapes.all()).filter((r) => !r.deletedAt && this.options.library.locate(r.barcode));
    const pools = new Map((await this.options.pools.all()).map((p) => [p.name, p]));
    return records.map((r) => this.info(r, pools.get(r.pool)));
  }

  async describeTape(barcode: string): Promise<TapeInfo> {
    const record = await this.record(barcode);
    return this.info(record, await this.options.pools.get(record.pool));
  }

  async deleteTape(barcode: string, options: DeleteTapeOptions = {}): Promise<void> {
    const record = await this.record(barcode);
    if (record.readOnly) {
      throw new TapeServiceError(
        'TAPE_ON_SHELF',
        `cartridge ${barcode} was retrieved from the vault shelf, where its archive still is: return it with "tapegw tape archive ${barcode}", then delete the archive with "tapegw shelf delete ${barcode}"`,
      );
    }
    const pool = await this.options.pools.get(record.pool);
    if (pool) checkDeletable(record, pool, options);
    await this.options.library.remove(barcode);
    await this.options.cartridges.destroy(record);
  }

  async moveTape(request: MoveTapeRequest): Promise<TapeInfo> {
    await this.record(request.barcode);
    await this.options.library.move(request.barcode, request.to);
    return this.describeTape(request.barcode);
  }

  async importTape(barcode: string): Promise<TapeInfo> {
    checkBarcode(barcode);
    return this.changes.run(async () => {
      const existing = await this.options.tapes.get(barcode);
      if (existing && !existing.deletedAt && !this.options.library.locate(barcode)) {
        throw new TapeServiceError(
          'TAPE_ON_SHELF',
          `cartridge ${barcode} is on this gateway's vault shelf: bring it back with "tapegw shelf retrieve ${barcode}"`,
        );
      }
      if (existing && !existing.deletedAt)
        throw new TapeServiceError('DUPLICATE_BARCODE', `cartridge ${barcode} is already in this library`);
      if (existing?.deletedAt)
        throw new TapeServiceError(
          'DUPLICATE_BARCODE',
          `cartridge ${barcode} was deleted from this gateway on ${existing.deletedAt}; barcodes are never reused`,
        );
      this.checkRoom(1);
      let record: TapeRecord;
      try {
        record = await this.options.cartridges.adopt(barcode, DEFAULT_POOL);
      } catch (err) {
        if (err instanceof CartridgeNotFoundError) {
          throw new TapeServiceError(
            'TAPE_NOT_FOUND',
            `the bucket holds no cartridge ${barcode}: check the barcode and the gateway's s3.bucket and s3.prefix`,
          );
        }
        throw err;
      }
      await this.options.library.insert(barcode, 'slot');
      return this.describeTape(record.barcode);
    });
  }

  createPool(request: CreatePoolRequest): Promise<PoolInfo> {
    return this.changes.run(() => this.options.pools.create(request));
  }

  listPools(): Promise<PoolInfo[]> {
    return this.options.pools.all();
  }

  describePool(name: string): Promise<PoolInfo> {
    return this.options.pools.require(name);
  }

  deletePool(name: string): Promise<void> {
    return this.changes.run(() =>
      this.options.pools.delete(name, async (pool) => (await this.options.tapes.all()).some((r) => !r.deletedAt && r.pool === pool)),
    );
  }

  async libraryStatus(): Promise<LibraryStatus> {
    const { library, changer, drives } = this.options;
    const contents = library.contents();
    const count = (kind: string) => contents.filter((c) => c.location.kind === kind).length;
    const layout = library.layout();
    return {
      changer,
      drives: drives.map((drive, i) => {
        const inDrive = contents.find((c) => c.location.kind === 'drive' && c.location.index === i + 1);
        return {
          index: i + 1,
          address: layout.dataTransfer.first + i,
          ...drive,
          ...(inDrive ? { barcode: inDrive.barcode } : {}),
          loaded: library.loaded(i + 1),
        };
      }),
      slots: { total: layout.storage.count, full: count('slot') },
      importExport: { total: layout.importExport.count, full: count('import-export') },
      tapes: contents.length,
    };
  }

  /** A new cartridge in a free storage slot; if it cannot be placed there, it is discarded. */
  private async add(request: CreateTapeRequest): Promise<TapeInfo> {
    const { cartridges, library } = this.options;
    let record: TapeRecord;
    try {
      record = await cartridges.create({
        barcode: request.barcode,
        sizeBytes: request.sizeBytes,
        pool: request.pool ?? DEFAULT_POOL,
        worm: request.worm ?? false,
      });
    } catch (error) {
      if (!(error instanceof CartridgeExistsError)) throw error;
      throw new TapeServiceError(
        'DUPLICATE_BARCODE',
        `the bucket already holds a cartridge ${request.barcode} that this gateway does not know: take it in with "tapegw tape import ${request.barcode}", or choose another barcode`,
      );
    }
    try {
      await library.insert(record.barcode, 'slot');
    } catch (error) {
      await cartridges.discard(record.barcode);
      throw error;
    }
    return this.describeTape(record.barcode);
  }

  /** Takes back the cartridges a create made before it failed with `cause`: no answer named them. */
  private async undo(barcodes: readonly string[], cause: unknown): Promise<void> {
    const left: string[] = [];
    for (const barcode of [...barcodes].reverse()) {
      try {
        await this.options.library.remove(barcode);
        await this.options.cartridges.discard(barcode);
      } catch {
        left.push(barcode);
      }
    }
    if (left.length > 0) {
      throw new Error(
        `creating tapes failed (${(cause as Error).message ?? String(cause)}), and ${left.join(', ')}, made before the failure, could not be taken back: delete them with "tapegw tape delete"`,
        { cause },
      );
    }
  }

  /** `pool` is the record's pool, for its retention lock. */
  private info(record: TapeRecord, pool: PoolInfo | undefined): TapeInfo {
    const location = this.options.library.locate(record.barcode);
    if (!location) throw new TapeServiceError('TAPE_NOT_FOUND', `cartridge ${record.barcode} is not in the library`);
    const medium = location.kind === 'drive' ? this.options.library.bays[location.index - 1]?.medium : undefined;
    const until = pool && retentionUntil(record, pool);
    return {
      barcode: record.barcode,
      sizeBytes: record.sizeBytes,
      usedBytes: medium ? medium.capacity().usedBytes : record.usedBytes,
      status: record.readOnly
        ? 'RETRIEVED'
        : location.kind === 'drive'
          ? 'IN_DRIVE'
          : location.kind === 'import-export'
            ? 'IN_IMPORT_EXPORT'
            : 'AVAILABLE',
      location,
      worm: record.worm,
      pool: record.pool,
      createdAt: record.createdAt,
      ...(until ? { retentionUntil: until.toISOString() } : {}),
    };
  }

  private async record(barcode: string): Promise<TapeRecord> {
    const record = await this.options.tapes.get(barcode);
    if (!record || record.deletedAt || !this.options.library.locate(barcode)) {
      throw new TapeServiceError('TAPE_NOT_FOUND', `there is no cartridge ${barcode}: list them with "tapegw tape list"`);
    }
    return record;
  }

  private checkSize(bytes: number): void {
    const { minTapeBytes, maxTapeBytes } = this.options;
    if (!Number.isSafeInteger(bytes) || bytes < minTapeBytes || bytes > maxTapeBytes) {
      throw new TapeServiceError(
        'INVALID_SIZE',
        `a cartridge must hold ${formatSize(minTapeBytes)} to ${formatSize(maxTapeBytes)}: e.g. --size ${formatSize(Math.max(minTapeBytes, Math.min(maxTapeBytes, 2500 * GiB)))}`,
      );
    }
  }

  private checkRoom(count: number): void {
    const status =
      this.options.library.layout().storage.count - this.options.library.contents().filter((c) => c.location.kind === 'slot').length;
    if (status < count) {
      throw new TapeServiceError(
        'NO_FREE_SLOT',
        `only ${status} storage slots are free for ${count} new cartridges: delete or export cartridges first, or create fewer`,
      );
    }
  }

  /** The next unused barcodes for a prefix: prefix, a number filling six characters, the media suffix. */
  private async nextBarcodes(prefix: string, count: number): Promise<string[]> {
    const digits = LABEL_LENGTH - prefix.length;
    const pattern = new RegExp(`^${prefix}(\\d{${digits}})${this.options.mediaSuffix}$`);
    let last = 0;
    for (const record of await this.options.tapes.all()) {
      const match = pattern.exec(record.barcode);
      if (match) last = Math.max(last, Number(match[1]));
    }
    if (last + count >= 10 ** digits) {
      throw new TapeServiceError(
        'INVALID_COUNT',
        `prefix ${prefix} has only ${10 ** digits - 1 - last} barcodes left: choose another prefix`,
      );
    }
    return Array.from({ length: count }, (_, i) => `${prefix}${String(last + 1 + i).padStart(digits, '0')}${this.options.mediaSuffix}`);
  }
}

/** Refuses a barcode that is no label before it goes near a key in the bucket. */
export function checkBarcode(barcode: string): void {
  try {
    validateBarcode(barcode);
  } catch (err) {
    throw err instanceof BarcodeError ? new TapeServiceError('INVALID_BARCODE', err.message) : err;
  }
}
