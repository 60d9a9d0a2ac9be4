// A virtual cartridge: a sequence of records and filemarks kept as segment
// objects (record bytes back to back, plus an append-only index) and a
// manifest, all through the cache engine. Writes are buffered and become
// durable at sync points (flush); the last durable manifest always describes
// whole data, because nothing it counts is modified before a newer manifest
// replaces it: new data after a rewrite goes to a new segment, and segments
// dropped by a rewrite are deleted only after the manifest that drops them.
import { releaseOnce } from '../buffers/release-once.ts';
import {
  EndOfPartitionError,
  MediumError,
  WormOverwriteError,
  WriteProtectedError,
  type HostAttribute,
  type SpaceOutcome,
  type TapeCapacity,
  type TapeLocation,
  type TapeMedium,
  type TapeObject,
  type WriteOutcome,
} from '../../scsi/ssc/tape-medium.ts';
import { DamagedDataError } from '../cache/errors.ts';
import type { ExtentStore } from '../cache/extent-store.ts';
import { decodeManifest, encodeManifest, MANIFEST_FORMAT, CorruptManifestError, type Manifest, type SegmentSummary } from './manifest.ts';
import { decodeIndex, encodeEntries, indexHeader, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES, type IndexEntry } from './segment-index.ts';
import { must } from '../must.ts';

/** The engine's namespace of cartridges: every key of a cartridge starts with it. */
export const TAPES_NAMESPACE = 'tapes/';

/** What a cartridge uses of the engine's extent store (of the TAPES_NAMESPACE). */
export type CartridgeStore = Pick<ExtentStore, 'write' | 'writev' | 'read' | 'readv' | 'size' | 'truncate' | 'deleteMany' | 'sync'>;

export interface CartridgeSpec {
  readonly barcode: string;
  readonly capacityBytes: number;
  /** Remaining bytes at which early warning starts; default 1% of capacity, at least 1 MiB. */
  readonly earlyWarningBytes?: number;
  readonly densityCode?: number;
  readonly worm?: boolean;
  /** Size at which a segment is closed and the next begins; default 64 MiB. */
  readonly segmentBytes?: number;
}

export class CartridgeNotFoundError extends Error {}

/** create() found a manifest already there, here or in the bucket: another cartridge has the barcode. */
export class CartridgeExistsError extends Error {
  override readonly name = 'CartridgeExistsError';
}

const LTO5_DENSITY = 0x58;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Written records are handed to the engine in pieces of about this size. */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;
/** A record at least this large is kept in the writer's buffer when the writer lets it be held, rather than copied into a batch. */
const HOLD_MIN_BYTES = 64 * 1024;
/** A sequential reader is served from pieces of about this size read ahead from the engine. */
const READ_BATCH_BYTES = 4 * 1024 * 1024;
const CACHED_INDEXES = 8;
const SLOTS = ['a', 'b'] as const;

interface Segment {
  readonly seq: number;
  readonly firstObject: number;
  objects: number;
  bytes: number;
  /** Objects the last durable manifest counts in this segment: those bytes are never touched again. */
  durableObjects: number;
  /** Objects whose index entries are in the store. */
  indexedObjects: number;
  /** Index entries of the objects after indexedObjects, still only in memory (a record's CRC is set when it is handed over). */
  unindexed: IndexEntry[];
  /** Takes no more appends: full, or cut by a rewrite inside what a durable manifest counts. */
  sealed: boolean;
}

/** Whole records of one segment's data object, records `first` to `end` - 1, read from the store. */
interface Piece {
  readonly seq: number;
  readonly first: number;
  readonly end: number;
  readonly start: number;
  /** The records' bytes, and their CRC32Cs when the store gives them. */
  readonly read: ReturnType<CartridgeStore['readv']>;
  /** Records of the piece handed to readers and not yet released by them. */
  lent: number;
  /** No longer read ahead: its buffer goes back to the store once no record of it is lent. */
  dropped: boolean;
}

interface LoadedIndex {
  readonly entries: IndexEntry[];
  /** Byte offset of each entry's record within the segment's data object. */
  readonly offsets: Float64Array;
}

export function cartridgeKeys(barcode: string) {
  const base = `${TAPES_NAMESPACE}${barcode}`;
  return {
    /** Every object of the cartridge has a key that starts with this. */
    prefix: `${base}/`,
    /** The manifest slots' keys (writes alternate between them; the newer whole one counts). */
    manifests: SLOTS.map((slot) => `${base}/manifest-${slot}`),
    manifest: (slot: string) => `${base}/manifest-${slot}`,
    data: (seq: number) => `${base}/segments/${seq.toString(16).padStart(8, '0')}.data`,
    index: (seq: number) => `${base}/segments/${seq.toString(16).padStart(8, '0')}.index`,
  };
}

/**
 * The objects that hold a cartridge's segments (those of its manifest), data then
 * index of each. `mayBeAbsent` where nothing of the object need have been written:
 * a segment of filemarks only has no data bytes, one just begun no index entries.
 */
export function segmentObjectKeys(
  barcode: string,
  segments: readonly Pick<SegmentSummary, 'seq' | 'objects' | 'bytes'>[],
): { key: string; mayBeAbsent: boolean }[] {
  const keys = cartridgeKeys(barcode);
  return segments.flatMap((segment) => [
    { key: keys.data(segment.seq), mayBeAbsent: segment.bytes === 0 },
    { key: keys.index(segment.seq), mayBeAbsent: segment.objects === 0 },
  ]);
}

export class Cartridge implements TapeMedium {
  private readonly keys: ReturnType<typeof cartridgeKeys>;
  private segments: Segment[];
  private filemarks: number[];
  private position = 0;
  private generation: number;
  private nextSeq: number;
  private readonly slotSizes = new Map<string, number>();
  /** Records written but not yet handed to the store, held in the writer's buffers or copied into a batch buffer: they belong to the last segment. */
  private pending: Buffer[] = [];
  /** Ends the holds of the pending records kept in their writer's buffers; called once their batch is written. */
  private pendingReleases: (() => void)[] = [];
  /**
   * Two batch buffers, allocated at the first copy: one fills while the other
   * is being written. A record the writer does not let us hold is copied in,
   * because the writer may reuse its buffer once writeRecords() returns.
   */
  private batches: [Buffer, Buffer] | undefined;
  private filling: 0 | 1 = 0;
  /** Bytes of the filling batch buffer taken by copied records. */
  private batchFill = 0;
  /** Their index entries, whose CRCs are taken as they are handed over. */
  private pendingEntries: { crc: number }[] = [];
  private pendingBytes = 0;
  /** The engine write of the previous batch, still running while the next one fills. */
  private inflight: Promise<void> | undefined;
  /** Pieces of a segment's data object read ahead of a sequential reader: the one it reads from, and the next one, already on its way. */
  private readAhead: Piece[] = [];
  private readonly indexes = new Map<number, LoadedIndex>();
  /** Keys written since the last sync point. */
  private readonly touched = new Set<string>();
  /** Segments dropped by a rewrite: deleted once a durable manifest no longer counts them. */
  private garbage: number[] = [];
  /** Garbage segments a durable manifest let go, whose deletion has not finished yet. */
  private readonly deleting = new Set<number>();
  /** The garbage the newest durable manifest lists. */
  private listedGarbage: readonly number[];
  /** Deletions of garbage segments, one after another, after the sync point that let them go. */
  private deletions: Promise<void> = Promise.resolve();

  /** The medium auxiliary memory's host attributes, kept in the manifest. */
  private attributes: readonly HostAttribute[];

  /** The manifest's fields that never change. */
  private readonly manifestBase: Omit<Manifest, 'generation' | 'segments' | 'filemarks' | 'nextSeq' | 'garbage' | 'attributes'>;

  private constructor(
    private readonly store: CartridgeStore,
    manifest: Manifest,
    readonly writeProtected: boolean,
  ) {
    const { generation, segments, filemarks, nextSeq, garbage, attributes, ...base } = manifest;
    this.manifestBase = base;
    this.attributes = (attributes ?? []).map(({ id, format, value }) => ({ id, format, value: Buffer.from(value, 'base64') }));
    this.keys = cartridgeKeys(manifest.barcode);
    this.generation = generation;
    this.nextSeq = nextSeq;
    this.filemarks = [...filemarks];
    this.segments = segments.map((s) => ({ ...s, durableObjects: s.objects, indexedObjects: s.objects, unindexed: [], sealed: true }));
    this.listedGarbage = garbage ?? [];
  }

  /** Creates a new, empty cartridge and makes it durable. */
  static async create(store: CartridgeStore, spec: CartridgeSpec): Promise<Cartridge> {
    const keys = cartridgeKeys(spec.barcode);
    for (const slot of SLOTS) {
      if ((await store.size(keys.manifest(slot))) !== undefined) throw new CartridgeExistsError(`cartridge ${spec.barcode} already exists`);
    }
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      barcode: spec.barcode,
      generation: 0,
      createdAt: new Date().toISOString(),
      capacityBytes: spec.capacityBytes,
      earlyWarningBytes: spec.earlyWarningBytes ?? Math.max(1024 * 1024, Math.floor(spec.capacityBytes / 100)),
      densityCode: spec.densityCode ?? LTO5_DENSITY,
      worm: spec.worm ?? false,
      segmentBytes: spec.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      segments: [],
      filemarks: [],
      nextSeq: 1,
    };
    const cartridge = new Cartridge(store, manifest, false);
    // Both manifest slots, so that neither is ever looked for in the bucket: a
    // cartridge loads and takes writes while the cloud is out of reach.
    await cartridge.flush(true);
    await cartridge.flush(true);
    return cartridge;
  }

  /** Opens a cartridge from its newest whole manifest, here or in the bucket. */
  static async open(store: CartridgeStore, barcode: string, options: { readOnly?: boolean } = {}): Promise<Cartridge> {
    const keys = cartridgeKeys(barcode);
    let newest: Manifest | undefined;
    const sizes = new Map<string, number>();
    let lastError: Error | undefined;
    for (const slot of SLOTS) {
      const key = keys.manifest(slot);
      const size = await store.size(key);
      if (size === undefined) continue;
      sizes.set(key, size);
      try {
        const manifest = decodeManifest(await store.read(key, 0, size));
        if (manifest.barcode !== barcode) throw new CorruptManifestError(`manifest of ${manifest.barcode} stored under ${barcode}`);
        if (!newest || manifest.generation > newest.generation) newest = manifest;
      } catch (error) {
        if (!(error instanceof CorruptManifestError)) throw error;
        lastError = error;
      }
    }
    if (!newest) throw lastError ?? new CartridgeNotFoundError(`no cartridge ${barcode} in the cache or the bucket`);
    const cartridge = new Cartridge(store, newest, options.readOnly ?? false);
    for (const [key, size] of sizes) cartridge.slotSizes.set(key, size);
    // Segments a crash kept from being deleted; a write-protected cartridge is left as it is.
    if (!cartridge.writeProtected) cartridge.deleteInBackground(cartridge.listedGarbage);
    return cartridge;
  }

  /** Deletes every object of a cartridge (its newest manifest says which). */
  static async destroy(store: CartridgeStore, barcode: string): Promise<void> {
    const cartridge = await Cartridge.open(store, barcode);
    await store.deleteMany(segmentObjectKeys(barcode, cartridge.segments).map(({ key }) => key));
    await store.deleteMany(cartridgeKeys(barcode).manifests);
  }

  get barcode(): string {
    return this.manifestBase.barcode;
  }

  get densityCode(): number {
    return this.manifestBase.densityCode;
  }

  get worm(): boolean {
    return this.manifestBase.worm;
  }

  get createdAt(): string {
    return this.manifestBase.createdAt;
  }

  get hostAttributes(): readonly HostAttribute[] {
    return this.attributes;
  }

  async writeHostAttributes(attributes: readonly HostAttribute[]): Promise<void> {
    if (this.writeProtected) throw new WriteProtectedError(`cartridge ${this.barcode} is write-protected`);
    this.attributes = attributes.map(({ id, format, value }) => ({ id, format, value: Buffer.from(value) }));
    await this.flush(true);
  }

  private get endOfData(): number {
    const last = this.segments.at(-1);
    return last ? last.firstObject + last.objects : 0;
  }

  capacity(): TapeCapacity {
    return {
      totalBytes: this.manifestBase.capacityBytes,
      usedBytes: this.usedBytes(),
      earlyWarningBytes: this.manifestBase.earlyWarningBytes,
    };
  }

  private usedBytes(): number {
    let used = 0;
    for (const s of this.segments) used += s.bytes;
    return used;
  }

  location(): TapeLocation {
    const fileNumber = countBelow(this.filemarks, this.position);
    const previousMark = this.filemarks[fileNumber - 1] ?? -1;
    return {
      objectNumber: this.position,
      fileNumber,
      recordInFile: this.position - previousMark - 1,
      atBeginning: this.position === 0,
      atEndOfData: this.position === this.endOfData,
    };
  }

  async rewind(): Promise<void> {
    await this.handOver();
    this.position = 0;
  }

  async peek(): Promise<TapeObject> {
    const at = this.position;
    try {
      return await this.read();
    } finally {
      this.position = at;
    }
  }

  async read(): Promise<TapeObject> {
    await this.handOver();
    if (this.position >= this.endOfData) return { kind: 'end-of-data' };
    const { segment, index } = await this.entryAt(this.position);
    const at = this.position - segment.firstObject;
    const entry = entryOf(index, at);
    this.position++;
    if (entry.filemark) return { kind: 'filemark' };
    const { data, crc, release } = await this.recordBytes(segment, index, at).catch((error: unknown) => {
      if (error instanceof DamagedDataError) {
        throw new MediumError(`record ${this.position - 1} of ${this.barcode} cannot be read intact: ${error.message}`);
      }
      throw error;
    });
    if (crc !== entry.crc) {
      release();
      throw new MediumError(`record ${this.position - 1} of ${this.barcode} fails its checksum`);
    }
    return entry.encrypted ? { kind: 'record', data, release, encrypted: true } : { kind: 'record', data, release };
  }

  /** Record `at` of the segment's bytes, from a piece read ahead; the next piece is read while this one is served. */
  private async recordBytes(segment: Segment, index: LoadedIndex, at: number): Promise<{ data: Buffer; crc: number; release: () => void }> {
    let next = this.readAhead.findIndex((p) => p.seq === segment.seq && p.first <= at && at < p.end);
    if (next < 0) {
      this.dropReadAhead();
      this.readAhead = [this.readPiece(segment, index, at)];
      next = 0;
    }
    this.readAhead.slice(0, next).forEach((p) => this.drop(p));
    this.readAhead = this.readAhead.slice(next);
    const piece = this.readAhead[0]!;
    if (this.readAhead.length === 1 && offsetOf(index, piece.end) < offsetOf(index, index.entries.length)) {
      this.readAhead.push(this.readPiece(segment, index, piece.end));
    }
    // Lent before the wait, so that the piece cannot go back to the store meanwhile.
    piece.lent++;
    const release = releaseOnce(() => {
      piece.lent--;
      this.giveBackIfUnused(piece);
    });
    try {
      const { data, crcs } = await piece.read;
      const from = offsetOf(index, at) - piece.start;
      const crc = must(crcs[at - piece.first], `the CRC of record ${at} in its piece`);
      return { data: data.subarray(from, from + entryOf(index, at).length), crc, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Starts reading whole records from `first` on: about READ_BATCH_BYTES of them, at least one. */
  private readPiece(segment: Segment, index: LoadedIndex, first: number): Piece {
    const start = offsetOf(index, first);
    const end = Math.max(first + 1, Math.min(index.entries.length, countBelow(index.offsets, start + READ_BATCH_BYTES + 1) - 1));
    const key = this.keys.data(segment.seq);
    const read = this.store.readv(
      key,
      start,
      index.entries.slice(first, end).map((e) => e.length),
    );
    // A piece read ahead may never be used: its failure is reported only to a reader that needs it.
    read.catch(() => undefined);
    return { seq: segment.seq, first, end, start, read, lent: 0, dropped: false };
  }

  private dropReadAhead(): void {
    this.readAhead.forEach((p) => this.drop(p));
    this.readAhead = [];
  }

  private drop(piece: Piece): void {
    piece.dropped = true;
    this.giveBackIfUnused(piece);
  }

  /** A dropped piece's buffer goes back to the store once no reader holds one of its records. */
  private giveBackIfUnused(piece: Piece): void {
    if (piece.dropped && piece.lent === 0)
      piece.read.then(
        ({ release }) => release(),
        () => undefined,
      );
  }

  async spaceRecords(count: number): Promise<SpaceOutcome> {
    await this.handOver();
    if (count >= 0) {
      const mark = this.filemarks[countBelow(this.filemarks, this.position)] ?? Infinity;
      const limit = Math.min(mark, this.endOfData);
      if (this.position + count <= limit) {
        this.position += count;
        return { moved: count };
      }
      const moved = limit - this.position;
      if (mark < this.endOfData) {
        this.position = mark + 1;
        return { moved, stoppedAt: 'filemark' };
      }
      this.position = this.endOfData;
      return { moved, stoppedAt: 'end-of-data' };
    }
    const back = -count;
    const below = countBelow(this.filemarks, this.position);
    const mark = this.filemarks[below - 1] ?? -1;
    if (this.position - back > mark) {
      this.position -= back;
      return { moved: back };
    }
    const moved = this.position - mark - 1;
    if (mark >= 0) {
      this.position = mark;
      return { moved, stoppedAt: 'filemark' };
    }
    this.position = 0;
    return { moved, stoppedAt: 'beginning-of-partition' };
  }

  async spaceFilemarks(count: number): Promise<SpaceOutcome> {
    await this.handOver();
    if (count >= 0) {
      const first = countBelow(this.filemarks, this.position);
      const target = first + count - 1;
      if (count === 0) return { moved: 0 };
      const mark = this.filemarks[target];
      if (mark !== undefined) {
        this.position = mark + 1;
        return { moved: count };
      }
      this.position = this.endOfData;
      return { moved: this.filemarks.length - first, stoppedAt: 'end-of-data' };
    }
    const below = countBelow(this.filemarks, this.position);
    const back = -count;
    const mark = this.filemarks[below - back];
    if (mark !== undefined) {
      this.position = mark;
      return { moved: back };
    }
    this.position = 0;
    return { moved: below, stoppedAt: 'beginning-of-partition' };
  }

  async spaceToEndOfData(): Promise<void> {
    await this.handOver();
    this.position = this.endOfData;
  }

  async locate(objectNumber: number): Promise<SpaceOutcome> {
    await this.handOver();
    if (objectNumber > this.endOfData) {
      this.position = this.endOfData;
      return { moved: 0, stoppedAt: 'end-of-data' };
    }
    this.position = objectNumber;
    return { moved: 0 };
  }

  async writeRecords(
    records: readonly Buffer[],
    hold?: () => () => void,
    options: { readonly encrypted?: boolean } = {},
  ): Promise<WriteOutcome> {
    await this.prepareWrite();
    const { capacityBytes } = this.manifestBase;
    let used = this.usedBytes();
    for (const [i, record] of records.entries()) {
      if (used + record.length > capacityBytes) throw new EndOfPartitionError(i);
      await this.append(
        { filemark: false, length: record.length, crc: 0, ...(options.encrypted ? { encrypted: true } : {}) },
        record,
        hold,
      );
      used += record.length;
    }
    return { earlyWarning: this.inEarlyWarning(used) };
  }

  async writeFilemarks(count: number): Promise<WriteOutcome> {
    await this.prepareWrite();
    for (let i = 0; i < count; i++) {
      this.filemarks.push(this.position);
      await this.append({ filemark: true, length: 0, crc: 0 });
    }
    return { earlyWarning: this.inEarlyWarning(this.usedBytes()) };
  }

  async erase(): Promise<void> {
    if (this.writeProtected) throw new WriteProtectedError(`cartridge ${this.barcode} is write-protected`);
    if (this.worm && this.position < this.endOfData) throw new WormOverwriteError(`WORM cartridge ${this.barcode} cannot be erased`);
    await this.truncateAt(this.position);
  }

  /** Sync point: records, index entries and then the manifest are durable when this resolves. */
  async flush(force = false): Promise<void> {
    await this.handOver();
    for (const segment of this.segments) {
      if (segment.unindexed.length === 0) continue;
      const indexKey = this.keys.index(segment.seq);
      if (segment.indexedObjects === 0) await this.store.write(indexKey, 0, indexHeader(), { fresh: true });
      await this.store.write(indexKey, INDEX_HEADER_BYTES + segment.indexedObjects * INDEX_ENTRY_BYTES, encodeEntries(segment.unindexed));
      segment.indexedObjects += segment.unindexed.length;
      segment.unindexed = [];
      this.touched.add(indexKey);
    }
    if (!force && this.touched.size === 0 && this.garbage.length === 0 && !this.listsDeletedGarbage()) return;
    await this.store.sync([...this.touched]);
    this.touched.clear();
    await this.writeManifest();
    for (const segment of this.segments) segment.durableObjects = segment.objects;
    this.deleteInBackground(this.garbage);
    this.garbage = [];
  }

  /**
   * Deletes garbage segments after the sync point, which does not wait for it:
   * on a tape rewritten from the start they took 0.2 s of every WRITE
   * FILEMARKS. If their deletion fails they are garbage again, for the next
   * sync point.
   */
  private deleteInBackground(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    for (const seq of seqs) this.deleting.add(seq);
    this.deletions = this.deletions.then(async () => {
      try {
        await this.store.deleteMany(seqs.flatMap((seq) => [this.keys.data(seq), this.keys.index(seq)]));
      } catch {
        this.garbage.push(...seqs);
      }
      for (const seq of seqs) this.deleting.delete(seq);
    });
  }

  /** The newest durable manifest lists garbage that is deleted by now. */
  private listsDeletedGarbage(): boolean {
    return this.listedGarbage.some((seq) => !this.deleting.has(seq) && !this.garbage.includes(seq));
  }

  /**
   * Resolves once the garbage segments let go so far are deleted (or are
   * garbage again after failing), and a durable manifest no longer lists the
   * deleted ones, so that the next to open the cartridge has nothing to redo.
   */
  async deleted(): Promise<void> {
    await this.deletions;
    if (!this.writeProtected && this.listsDeletedGarbage()) await this.flush();
  }

  private async writeManifest(): Promise<void> {
    this.generation++;
    const garbage = [...this.deleting, ...this.garbage].sort((a, b) => a - b);
    const manifest: Manifest = {
      ...this.manifestBase,
      generation: this.generation,
      segments: this.segments.map(({ seq, firstObject, objects, bytes }): SegmentSummary => ({ seq, firstObject, objects, bytes })),
      filemarks: this.filemarks,
      nextSeq: this.nextSeq,
      ...(garbage.length > 0 ? { garbage } : {}),
      ...(this.attributes.length > 0
        ? { attributes: this.attributes.map(({ id, format, value }) => ({ id, format, value: value.toString('base64') })) }
        : {}),
    };
    const key = this.keys.manifest(must(SLOTS[this.generation % 2], 'the manifest slot'));
    const bytes = encodeManifest(manifest);
    await this.store.write(key, 0, bytes);
    const previous = this.slotSizes.get(key) ?? 0;
    if (previous > bytes.length) await this.store.truncate(key, bytes.length);
    this.slotSizes.set(key, bytes.length);
    await this.store.sync([key]);
    this.listedGarbage = garbage;
  }

  private inEarlyWarning(used: number): boolean {
    return this.manifestBase.capacityBytes - used <= this.manifestBase.earlyWarningBytes;
  }

  private async prepareWrite(): Promise<void> {
    if (this.writeProtected) throw new WriteProtectedError(`cartridge ${this.barcode} is write-protected`);
    if (this.position < this.endOfData) {
      if (this.worm) throw new WormOverwriteError(`WORM cartridge ${this.barcode} cannot be overwritten`);
      await this.truncateAt(this.position);
    }
  }

  /**
   * Ends the data at `position`. Later segments become garbage; the one that
   * contains it is cut, and sealed if a durable manifest counts what was cut.
   */
  private async truncateAt(position: number): Promise<void> {
    await this.handOver();
    this.dropReadAhead();
    const keep: Segment[] = [];
    for (const segment of this.segments) {
      if (segment.firstObject >= position) {
        this.garbage.push(segment.seq);
        this.indexes.delete(segment.seq);
        continue;
      }
      const kept = position - segment.firstObject;
      if (kept < segment.objects) {
        const index = await this.indexOf(segment);
        this.indexes.delete(segment.seq);
        segment.bytes = offsetOf(index, kept);
        segment.objects = kept;
        segment.unindexed = segment.unindexed.slice(0, Math.max(0, kept - segment.indexedObjects));
        segment.indexedObjects = Math.min(segment.indexedObjects, kept);
        if (segment.durableObjects > kept) segment.sealed = true;
      }
      keep.push(segment);
    }
    this.segments = keep;
    this.filemarks = this.filemarks.filter((m) => m < position);
  }

  private async append(
    entry: { filemark: boolean; length: number; crc: number; encrypted?: boolean },
    data?: Buffer,
    hold?: () => () => void,
  ): Promise<void> {
    let segment = this.segments.at(-1);
    if (!segment || segment.sealed) {
      segment = {
        seq: this.nextSeq++,
        firstObject: this.endOfData,
        objects: 0,
        bytes: 0,
        durableObjects: 0,
        indexedObjects: 0,
        unindexed: [],
        sealed: false,
      };
      this.segments.push(segment);
    }
    if (data && data.length > 0) {
      if (this.pendingBytes + data.length > WRITE_BATCH_BYTES) await this.startHandOver();
      this.pending.push(this.keep(data, hold));
      this.pendingEntries.push(entry);
      this.pendingBytes += data.length;
    }
    segment.unindexed.push(entry);
    this.indexes.delete(segment.seq);
    segment.objects++;
    segment.bytes += entry.length;
    this.position++;
    if (this.pendingBytes >= WRITE_BATCH_BYTES) await this.startHandOver();
    if (segment.bytes >= this.manifestBase.segmentBytes) {
      await this.handOver();
      segment.sealed = true;
    }
  }

  /**
   * The record as its batch keeps it: in the writer's buffer when the writer
   * lets it be held and it is large; else copied to the end of the batch
   * filling now, or, larger than a batch, into a copy of its own.
   */
  private keep(record: Buffer, hold?: () => () => void): Buffer {
    if (hold && record.length >= HOLD_MIN_BYTES) {
      this.pendingReleases.push(hold());
      return record;
    }
    if (record.length > WRITE_BATCH_BYTES) return Buffer.from(record);
    this.batches ??= [Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES), Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES)];
    const copy = this.batches[this.filling].subarray(this.batchFill, this.batchFill + record.length);
    record.copy(copy);
    this.batchFill += record.length;
    return copy;
  }

  /** Passes every buffered record to the store and waits for it (not yet a sync point). */
  private async handOver(): Promise<void> {
    await this.startHandOver();
    const inflight = this.inflight;
    this.inflight = undefined;
    await inflight;
  }

  /**
   * Starts passing the buffered records to the store once the previous batch
   * is in: the writer goes on filling the next batch meanwhile. A failure of a
   * batch is reported by the next command that waits for it.
   */
  private async startHandOver(): Promise<void> {
    const previous = this.inflight;
    this.inflight = undefined;
    await previous;
    if (this.pendingBytes === 0) return;
    const segment = this.segments.at(-1)!;
    const { pending, pendingEntries, pendingReleases } = this;
    const key = this.keys.data(segment.seq);
    const offset = segment.bytes - this.pendingBytes;
    // A segment's data starts at offset 0 only in the batch that begins it: segments are never reused.
    const fresh = { fresh: offset === 0 };
    const written = this.store.writev(key, offset, pending, fresh);
    // Every reader of index entries (read, flush, truncation) waits for the hand-over first.
    const write = written.then((crcs) => crcs.forEach((crc, i) => (pendingEntries[i]!.crc = crc)));
    const releaseHeld = (): void => pendingReleases.forEach((release) => release());
    written.then(releaseHeld, releaseHeld);
    this.pending = [];
    this.pendingEntries = [];
    this.pendingReleases = [];
    this.pendingBytes = 0;
    this.batchFill = 0;
    // The other buffer's write was awaited above: it is free to fill.
    this.filling = this.filling === 0 ? 1 : 0;
    this.touched.add(key);
    this.dropReadAhead();
    // Awaited by the next command; until then a failure must not count as unhandled.
    write.catch(() => undefined);
    this.inflight = write;
  }

  private async entryAt(objectNumber: number): Promise<{ segment: Segment; index: LoadedIndex }> {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (must(this.segments[mid], 'a segment').firstObject <= objectNumber) lo = mid;
      else hi = mid - 1;
    }
    const segment = must(this.segments[lo], `the segment holding object ${objectNumber}`);
    return { segment, index: await this.indexOf(segment) };
  }

  private async indexOf(segment: Segment): Promise<LoadedIndex> {
    const cached = this.indexes.get(segment.seq);
    if (cached) return cached;
    let entries: IndexEntry[] = [];
    if (segment.indexedObjects > 0) {
      const length = INDEX_HEADER_BYTES + segment.indexedObjects * INDEX_ENTRY_BYTES;
      entries = decodeIndex(await this.store.read(this.keys.index(segment.seq), 0, length), segment.indexedObjects);
    }
    entries = entries.concat(segment.unindexed).slice(0, segment.objects);
    const offsets = new Float64Array(entries.length + 1);
    let end = 0;
    entries.forEach((entry, i) => {
      end += entry.length;
      offsets[i + 1] = end;
    });
    const index = { entries, offsets };
    const [oldest] = this.indexes.keys();
    if (this.indexes.size >= CACHED_INDEXES && oldest !== undefined) this.indexes.delete(oldest);
    this.indexes.set(segment.seq, index);
    return index;
  }
}

/** Byte offset of record `i` within the segment's data; `i` = the record count gives the end. */
const offsetOf = (index: LoadedIndex, i: number): number => must(index.offsets[i], `the offset of record ${i}`);
const entryOf = (index: LoadedIndex, i: number): IndexEntry => must(index.entries[i], `the index entry of record ${i}`);

/** How many of the sorted numbers are below `value`. */
function countBelow(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (must(sorted[mid], 'a middle element') < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
