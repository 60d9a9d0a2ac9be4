// Test stand-in for the gateway's TapeService: an in-memory library and pools
// with the same refusals (TapeServiceError codes) as the real one, and the
// real pool and retention rules, for API and CLI tests that need no
// cartridges, catalog or S3.
import { BarcodeError, validateBarcode } from '../../src/tape/barcode.ts';
import { checkDeletable, DEFAULT_POOL, newPool, retentionUntil } from '../../src/tape/pools.ts';
import {
  TapeServiceError,
  type CreatePoolRequest,
  type CreateTapeRequest,
  type CreateTapesRequest,
  type DeleteTapeOptions,
  type ElementKind,
  type LibraryStatus,
  type MoveTapeRequest,
  type PoolInfo,
  type TapeInfo,
  type TapeService,
  type TapeStatus,
} from '../../src/tape/tape-service.ts';

const GiB = 2 ** 30;
const FIRST_ADDRESS: Record<ElementKind, number> = { drive: 256, 'import-export': 768, slot: 1024 };
const STATUS: Record<ElementKind, TapeStatus> = { slot: 'AVAILABLE', drive: 'IN_DRIVE', 'import-export': 'IN_IMPORT_EXPORT' };

const BUILT_IN: readonly PoolInfo[] = [
  {
    name: 'GLACIER',
    destination: { kind: 'vault', vault: 'tapegw-archive' },
    retention: { mode: 'NONE', days: 0 },
    builtIn: true,
    createdAt: new Date(0).toISOString(),
  },
  {
    name: 'DEEP_ARCHIVE',
    destination: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' },
    retention: { mode: 'NONE', days: 0 },
    builtIn: true,
    createdAt: new Date(0).toISOString(),
  },
];

export class StandInTapeService implements TapeService {
  private readonly tapes = new Map<string, TapeInfo>();
  private readonly pools = new Map(BUILT_IN.map((p) => [p.name, p]));
  private readonly counts: Record<ElementKind, number>;

  constructor(shape: { slots?: number; drives?: number; importExport?: number } = {}) {
    this.counts = { slot: shape.slots ?? 20, drive: shape.drives ?? 2, 'import-export': shape.importExport ?? 4 };
  }

  async createTapes(request: CreateTapesRequest): Promise<TapeInfo[]> {
    if (!/^[A-Z]{1,4}$/.test(request.barcodePrefix)) {
      throw new TapeServiceError(
        'INVALID_BARCODE',
        `barcode prefix ${JSON.stringify(request.barcodePrefix)} must be 1 to 4 letters A-Z, e.g. ABC`,
      );
    }
    if (request.count > 100) throw new TapeServiceError('INVALID_COUNT', `${request.count} tapes at once is too many: create at most 100`);
    checkSize(request.sizeBytes);
    const pool = await this.describePool(request.pool ?? DEFAULT_POOL);
    const barcodes: string[] = [];
    for (let n = 1; barcodes.length < request.count; n++) {
      const barcode = `${request.barcodePrefix}${String(n).padStart(6 - request.barcodePrefix.length, '0')}`;
      if (!this.tapes.has(barcode)) barcodes.push(barcode);
    }
    return barcodes.map((barcode) => this.add(barcode, request, pool));
  }

  async createTape(request: CreateTapeRequest): Promise<TapeInfo> {
    try {
      validateBarcode(request.barcode);
    } catch (error) {
      if (error instanceof BarcodeError) throw new TapeServiceError('INVALID_BARCODE', error.message);
      throw error;
    }
    if (this.tapes.has(request.barcode)) {
      throw new TapeServiceError('DUPLICATE_BARCODE', `a tape with barcode ${request.barcode} exists already: choose another barcode`);
    }
    checkSize(request.sizeBytes);
    return this.add(request.barcode, request, await this.describePool(request.pool ?? DEFAULT_POOL));
  }

  async listTapes(): Promise<TapeInfo[]> {
    return [...this.tapes.values()].sort((a, b) => a.barcode.localeCompare(b.barcode));
  }

  async describeTape(barcode: string): Promise<TapeInfo> {
    const tape = this.tapes.get(barcode);
    if (!tape) throw new TapeServiceError('TAPE_NOT_FOUND', `no tape has barcode ${barcode}: list the tapes with tapegw tape list`);
    return tape;
  }

  async deleteTape(barcode: string, options?: DeleteTapeOptions): Promise<void> {
    const tape = await this.describeTape(barcode);
    checkDeletable(tape, this.pools.get(tape.pool)!, options);
    if (tape.status === 'IN_DRIVE') {
      throw new TapeServiceError(
        'TAPE_IN_DRIVE',
        `tape ${barcode} is in drive ${tape.location.index}: move it to a slot first (tapegw tape move ${barcode} --to slot:N)`,
      );
    }
    this.tapes.delete(barcode);
  }

  async createPool(request: CreatePoolRequest): Promise<PoolInfo> {
    const pool = newPool(request);
    if (this.pools.has(pool.name))
      throw new TapeServiceError('DUPLICATE_POOL', `pool ${pool.name} already exists, and pools never change: choose another name`);
    this.pools.set(pool.name, pool);
    return pool;
  }

  async listPools(): Promise<PoolInfo[]> {
    return [...this.pools.values()];
  }

  async describePool(name: string): Promise<PoolInfo> {
    const pool = this.pools.get(name);
    if (!pool)
      throw new TapeServiceError(
        'POOL_NOT_FOUND',
        `there is no pool ${name}: choose one of ${[...this.pools.keys()].join(', ')}, or create it with "tapegw pool create"`,
      );
    return pool;
  }

  async deletePool(name: string): Promise<void> {
    const pool = await this.describePool(name);
    if (pool.builtIn) throw new TapeServiceError('INVALID_POOL', `${name} is a built-in pool and cannot be deleted`);
    if ([...this.tapes.values()].some((t) => t.pool === name))
      throw new TapeServiceError('POOL_IN_USE', `pool ${name} still has cartridges: delete them (or their archives) first`);
    this.pools.delete(name);
  }

  async moveTape(request: MoveTapeRequest): Promise<TapeInfo> {
    const tape = await this.describeTape(request.barcode);
    const { kind, index } = request.to;
    if (index > this.counts[kind])
      throw new TapeServiceError('ELEMENT_NOT_FOUND', `there is no ${kind} ${index}: the library has ${this.counts[kind]}`);
    const occupant = this.occupant(kind, index);
    if (occupant && occupant !== tape)
      throw new TapeServiceError('ELEMENT_FULL', `${kind} ${index} holds ${occupant.barcode}: choose an empty one`);
    const moved: TapeInfo = { ...tape, status: STATUS[kind], location: { kind, index, address: FIRST_ADDRESS[kind] + index - 1 } };
    this.tapes.set(tape.barcode, moved);
    return moved;
  }

  /** The stand-in's bucket holds nothing another gateway wrote. */
  async importTape(barcode: string): Promise<TapeInfo> {
    if (this.tapes.has(barcode)) throw new TapeServiceError('DUPLICATE_BARCODE', `cartridge ${barcode} is already in this library`);
    throw new TapeServiceError('TAPE_NOT_FOUND', `the bucket holds no cartridge ${barcode}`);
  }

  async libraryStatus(): Promise<LibraryStatus> {
    const full = (kind: ElementKind) => [...this.tapes.values()].filter((t) => t.location.kind === kind).length;
    return {
      changer: { target: 'iqn.2026-11.io.tapegateway:gw1-changer', lun: 0, serial: 'CHANGER0001' },
      drives: Array.from({ length: this.counts.drive }, (_, i) => {
        const barcode = this.occupant('drive', i + 1)?.barcode;
        return {
          index: i + 1,
          address: FIRST_ADDRESS.drive + i,
          serial: `DRIVE000${i + 1}`,
          target: `iqn.2026-11.io.tapegateway:gw1-drive${i + 1}`,
          lun: 0,
          ...(barcode ? { barcode } : {}),
          loaded: barcode !== undefined,
        };
      }),
      slots: { total: this.counts.slot, full: full('slot') },
      importExport: { total: this.counts['import-export'], full: full('import-export') },
      tapes: this.tapes.size,
    };
  }

  /** Takes a tape out of the library, as an export to the shelf does (refused while it is in a drive). */
  take(barcode: string): TapeInfo {
    const tape = this.tapes.get(barcode);
    if (!tape) throw new TapeServiceError('TAPE_NOT_FOUND', `no tape has barcode ${barcode}: list the tapes with tapegw tape list`);
    if (tape.status === 'IN_DRIVE') {
      throw new TapeServiceError(
        'TAPE_IN_DRIVE',
        `tape ${barcode} is in drive ${tape.location.index}: move it to a slot first (tapegw tape move ${barcode} --to slot:N)`,
      );
    }
    this.tapes.delete(barcode);
    return tape;
  }

  /** Puts a tape taken out back into the first free storage slot. */
  putBack(tape: TapeInfo): TapeInfo {
    const index = this.freeSlot();
    const back: TapeInfo = { ...tape, status: 'AVAILABLE', location: { kind: 'slot', index, address: FIRST_ADDRESS.slot + index - 1 } };
    this.tapes.set(back.barcode, back);
    return back;
  }

  private freeSlot(): number {
    let index = 1;
    while (this.occupant('slot', index)) index++;
    if (index > this.counts.slot) throw new TapeServiceError('NO_FREE_SLOT', 'every storage slot is full: delete or export a tape first');
    return index;
  }

  private occupant(kind: ElementKind, index: number): TapeInfo | undefined {
    return [...this.tapes.values()].find((t) => t.location.kind === kind && t.location.index === index);
  }

  private add(barcode: string, request: { sizeBytes: number; worm?: boolean }, pool: PoolInfo): TapeInfo {
    const index = this.freeSlot();
    let tape: TapeInfo = {
      barcode,
      sizeBytes: request.sizeBytes,
      usedBytes: 0,
      status: 'AVAILABLE',
      location: { kind: 'slot', index, address: FIRST_ADDRESS.slot + index - 1 },
      worm: request.worm ?? false,
      pool: pool.name,
      createdAt: new Date().toISOString(),
    };
    const until = retentionUntil(tape, pool);
    if (until) tape = { ...tape, retentionUntil: until.toISOString() };
    this.tapes.set(barcode, tape);
    return tape;
  }
}

function checkSize(sizeBytes: number): void {
  if (sizeBytes < 100 * GiB || sizeBytes > 15 * 1024 * GiB) {
    throw new TapeServiceError('INVALID_SIZE', `a tape holds 100 GiB to 15 TiB, not ${sizeBytes} bytes: e.g. --size 2.5TiB`);
  }
}
