// What cached and stored volumes share: the record, the chunk image in the
// cache engine, the gate that gives snapshots their moment, and the status as
// AWS's Volume Gateway shows it.
import type { BufferPool } from '../buffers/buffer-pool.ts';
import { releaseOnce } from '../buffers/release-once.ts';
import type { LentRead, ProvisioningExtent } from '../../scsi/sbc/block-device.ts';
import type { ExtentStore } from '../cache/extent-store.ts';
import type { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import type { Logger } from '../log.ts';
import type { ChunkImage, ImageVolume } from './chunk-image.ts';
import type { ChunkRef } from './chunk-map.ts';
import type { VolumeCatalog, VolumeRecord, VolumeStatus } from './volume-catalog.ts';
import { WriteGate } from './write-gate.ts';

export interface VolumeContext {
  readonly store: ExtentStore;
  readonly catalog: VolumeCatalog;
  /** Where stored volumes keep their files. */
  readonly directory: string;
  /** How full the engine's upload buffer is, 0 to 1. */
  readonly uploadBufferUse: () => number;
  /** The gateway's one gate for small writes made on the event loop's thread (the cache engine's too). */
  readonly inlineWrites: InlineWriteGate;
  /** The gateway's pool of read buffers: READs' data, lent until the transport has sent it. */
  readonly readBuffers: BufferPool;
  readonly log: Logger;
}

/** A volume's status, with progress (0-100) where AWS shows it (BOOTSTRAPPING, RESTORING). */
export interface VolumeState {
  readonly status: VolumeStatus;
  readonly progress?: number;
  readonly error?: string;
}

/** A snapshot asked of a volume that is not AVAILABLE (AWS takes none while a volume is PASS THROUGH, BOOTSTRAPPING or RESTORING). */
export class SnapshotRefusedError extends Error {
  override readonly name = 'SnapshotRefusedError';
  constructor(
    readonly volume: string,
    readonly status: VolumeStatus,
  ) {
    super(`volume ${volume} is ${status}: snapshots wait until it is AVAILABLE`);
  }
}

export abstract class Volume implements ImageVolume {
  readonly gate = new WriteGate();
  protected readonly log: Logger;
  /** Sequential reads: where the next one would start. */
  private nextRead = -1;
  /** The chunk after the last one a sequential reader's read-ahead asked for (0: no read-ahead going on). */
  private aheadUntil = 0;

  protected constructor(
    protected record_: VolumeRecord,
    protected readonly context: VolumeContext,
    readonly image: ChunkImage,
  ) {
    this.log = context.log.child({ volume: record_.name, volumeId: record_.id });
  }

  get record(): VolumeRecord {
    return this.record_;
  }
  get id(): string {
    return this.record_.id;
  }
  get name(): string {
    return this.record_.name;
  }
  get chunkSize(): number {
    return this.record_.chunkSize;
  }
  get blockSize(): number {
    return this.record_.blockSize;
  }
  get size(): number {
    return this.record_.sizeBytes;
  }
  readonly readOnly = false;

  abstract state(): VolumeState;

  /** A snapshot may be taken now (AWS pauses them while a volume is not AVAILABLE). */
  snapshotsAllowed(): boolean {
    return this.state().status === 'AVAILABLE';
  }

  /** Replaces fields of the record and writes it to the catalog. */
  async update(changes: Partial<VolumeRecord>, sync = false): Promise<void> {
    this.record_ = { ...this.record_, ...changes };
    await this.context.catalog.putVolume(this.record_, sync);
  }

  reserveGenerations(ceiling: number): Promise<void> {
    return this.update({ genCeiling: ceiling });
  }

  /**
   * The crash-consistent moment of a snapshot: with no write of this volume in
   * flight, the chunk map as it stands, every chunk in it frozen from now on.
   * `record` runs at that moment (still holding writes back) to make it durable;
   * it is given the volume's record as it now is and the generation below
   * which chunks were frozen before (those at or above it changed since).
   */
  async capture<T>(record: (entries: [number, ChunkRef][], volume: VolumeRecord, frozenBefore: number) => Promise<T>): Promise<T> {
    return this.gate.pause(async () => {
      const { status } = this.state();
      if (status !== 'AVAILABLE') throw new SnapshotRefusedError(this.name, status);
      const frozenBefore = this.record_.frozenBelow;
      const { entries, frozenBelow } = this.image.capture();
      this.record_ = { ...this.record_, frozenBelow, genCeiling: Math.max(this.record_.genCeiling, frozenBelow) };
      return record(entries, this.record_, frozenBefore);
    });
  }

  /** Splits [offset, offset + length) at chunk boundaries: (chunk, offset in it, length, offset in the range). */
  protected pieces(offset: number, length: number): { index: number; at: number; length: number; from: number }[] {
    const size = this.chunkSize;
    const out = [];
    for (let pos = offset; pos < offset + length;) {
      const index = Math.floor(pos / size);
      const at = pos - index * size;
      const n = Math.min(size - at, offset + length - pos);
      out.push({ index, at, length: n, from: pos - offset });
      pos += n;
    }
    return out;
  }

  /** Reads from the chunk image, fetching the next chunks ahead for a sequential reader: release the bytes once done. */
  protected async readImage(offset: number, length: number): Promise<LentRead> {
    this.readAhead(offset, length);
    const parts = this.pieces(offset, length);
    const [only] = parts;
    if (only && parts.length === 1) return this.image.readChunk(only.index, only.at, length);
    const pool = this.context.readBuffers;
    const out = pool.take(length);
    const release = releaseOnce(() => pool.give(out));
    try {
      await Promise.all(
        parts.map(async (p) => {
          const piece = await this.image.readChunk(p.index, p.at, p.length);
          piece.data.copy(out, p.from);
          piece.release();
        }),
      );
    } catch (err) {
      release();
      throw err;
    }
    return { data: out, release };
  }

  /** Chunks fetched ahead of a sequential reader: enough to keep several object reads in flight. */
  private static readonly READ_AHEAD_BYTES = 8 * 1024 * 1024;

  // Each chunk is asked for once per sequential run (the window only moves forward): asking again
  // for chunks already in the cache read each of them from its file again, up to 8 times over,
  // which held a warm cached volume's 1 MiB sequential reads to a fraction of a stored volume's.
  private readAhead(offset: number, length: number): void {
    const sequential = offset === this.nextRead;
    this.nextRead = offset + length;
    if (!sequential) {
      this.aheadUntil = 0;
      return;
    }
    const ahead = Math.max(1, Math.floor(Volume.READ_AHEAD_BYTES / this.chunkSize));
    const next = Math.floor((offset + length) / this.chunkSize);
    const end = Math.min(Math.ceil(this.size / this.chunkSize), next + ahead);
    for (let index = Math.max(next, this.aheadUntil); index < end; index++) void this.image.prefetch(index);
    this.aheadUntil = Math.max(this.aheadUntil, end);
  }

  /** Provisioning from the chunk map: unmapped chunks are deallocated; in mapped ones, all-zero blocks are (LBPRZ=1). */
  protected async imageProvisioning(
    offset: number,
    maxLength: number,
    mapped: (index: number) => boolean,
    read: (offset: number, length: number) => Promise<Buffer>,
  ): Promise<ProvisioningExtent[]> {
    const end = Math.min(this.size, offset + Math.max(maxLength, this.blockSize));
    const runs: { offset: number; length: number; mapped: boolean }[] = [];
    const add = (at: number, length: number, isMapped: boolean) => {
      const last = runs[runs.length - 1];
      if (last && last.mapped === isMapped && last.offset + last.length === at) last.length += length;
      else runs.push({ offset: at, length, mapped: isMapped });
    };
    for (const p of this.pieces(offset, end - offset)) {
      const at = offset + p.from;
      if (!mapped(p.index)) {
        add(at, p.length, false);
        continue;
      }
      const data = await read(at, p.length);
      for (let i = 0; i < data.length; i += this.blockSize) add(at + i, this.blockSize, !isZero(data.subarray(i, i + this.blockSize)));
    }
    return runs;
  }

  /** Stops the volume's background work and makes its writes durable. */
  abstract close(): Promise<void>;

  /** After close(): removes what only this volume holds locally (a stored volume's file). */
  async removeLocal(): Promise<void> {}
}

const ZERO_BLOCK = Buffer.alloc(65536);

export function isZero(data: Uint8Array): boolean {
  for (let at = 0; at < data.length; at += ZERO_BLOCK.length) {
    const n = Math.min(ZERO_BLOCK.length, data.length - at);
    if (Buffer.compare(data.subarray(at, at + n), ZERO_BLOCK.subarray(0, n)) !== 0) return false;
  }
  return true;
}
