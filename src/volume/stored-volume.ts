// A stored volume: the whole volume in a local file (the file device, with
// its fast reads and small writes), and every write also into the chunk image
// in the cache engine, whose upload buffer ships what changed; snapshots
// freeze that image. As on AWS's Volume Gateway:
//
//   AVAILABLE      writes go to the file and the image
//   PASS THROUGH   the upload buffer is full: writes go to the file only, their
//                  chunks marked stale (durably); snapshots wait
//   BOOTSTRAPPING  there is room again (or the file was adopted from the
//                  configuration, or a crash may have left the two apart):
//                  stale chunks are copied from the file into the image
//   RESTORING      made from a snapshot: its chunks are copied into the file;
//                  reads of chunks not yet there come from the image
//
// Before a write touches a chunk, the chunk is marked (intent) in the catalog;
// a flush clears the marks of chunks written before it. After a crash, marked
// chunks are stale: the file is the truth and the image catches up.
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockDevice, LentRead, ProvisioningExtent } from '../../scsi/sbc/block-device.ts';
import { noRelease } from '../buffers/release-once.ts';
import { KeyedLock } from '../cache/keyed-lock.ts';
import { ChunkImage, zeroBytes, type ChunkContent } from './chunk-image.ts';
import { FileBlockDevice } from './file-block-device.ts';
import { Marks } from './marks.ts';
import type { VolumeRecord } from './volume-catalog.ts';
import { isZero, Volume, type VolumeContext, type VolumeState } from './volume.ts';

/** The upload buffer's use at which stored volumes go PASS THROUGH, and below which they start BOOTSTRAPPING. */
export const PASS_THROUGH_AT = 0.9;
export const RESUME_AT = 0.5;
/** How often a volume looks at the upload buffer while it waits for room. */
const MONITOR_MS = 1000;
/** Chunks copied between two syncs (and cursor records) of a background pass. */
const PASS_BATCH = 32;

export class StoredVolume extends Volume implements BlockDevice {
  private readonly locks = new KeyedLock();
  private passThrough = false;
  /** Counts writes as they end; lastWrite: the count when each chunk's last write ended. */
  private writeSeq = 0;
  private readonly lastWrite = new Map<number, number>();
  private readonly monitor: NodeJS.Timeout;
  private work: Promise<void> | undefined;
  private closed = false;
  /** Stale chunks copied into the image in the current BOOTSTRAPPING. */
  private caughtUp = 0;

  private constructor(
    record: VolumeRecord,
    context: VolumeContext,
    image: ChunkImage,
    private readonly file: FileBlockDevice | undefined,
    private readonly marks: Marks,
  ) {
    super(record, context, image);
    this.monitor = setInterval(() => this.tick(), MONITOR_MS).unref();
  }

  /**
   * Opens a stored volume: its file (made, sparse, when `create`), its image and
   * marks. A file that has gone makes it IRRECOVERABLE.
   */
  static async open(
    record: VolumeRecord,
    context: VolumeContext,
    options: { create?: boolean } = {},
  ): Promise<{ volume: StoredVolume; garbage: string[] }> {
    let volume!: StoredVolume;
    const holder = { id: record.id, chunkSize: record.chunkSize, reserveGenerations: (c: number) => volume.reserveGenerations(c) };
    const { image, garbage } = await ChunkImage.open(context.store, context.catalog, holder, record);
    const path = join(context.directory, record.file!);
    let file: FileBlockDevice | undefined;
    if (options.create || existsSync(path)) {
      file = await FileBlockDevice.open({
        path,
        size: record.sizeBytes,
        blockSize: record.blockSize,
        inlineWrites: context.inlineWrites,
        readBuffers: context.readBuffers,
      });
    } else if (!record.irrecoverable) {
      record = { ...record, irrecoverable: `its local copy ${path} is gone: restore the volume from a snapshot` };
      await context.catalog.putVolume(record, true);
    }
    // A write may have been under way at a crash: where the file and the image may differ, the file is right.
    const stored = await context.catalog.marks(record.id);
    const intents = [...stored].filter(([, m]) => m === 'intent').map(([index]) => index);
    const marks = new Marks(context.catalog, record.id, stored);
    for (const index of intents) void marks.set(index, 'stale');
    await marks.settled();
    volume = new StoredVolume(record, context, image, file, marks);
    volume.tick();
    return { volume, garbage };
  }

  private get device(): FileBlockDevice {
    if (!this.file) throw new Error(`stored volume ${this.name} is IRRECOVERABLE: ${this.record.irrecoverable}`);
    return this.file;
  }

  get physicalBlockSize(): number {
    return this.blockSize;
  }

  state(): VolumeState {
    const r = this.record;
    if (r.deleting) return { status: 'DELETING' };
    if (r.irrecoverable) return { status: 'IRRECOVERABLE', error: r.irrecoverable };
    const chunks = this.chunkCount();
    if (r.pass?.kind === 'restore') return { status: 'RESTORING', progress: Math.min(99, (100 * r.pass.cursor) / chunks) };
    if (this.passThrough) return { status: 'PASS THROUGH' };
    if (r.pass?.kind === 'adopt') return { status: 'BOOTSTRAPPING', progress: Math.min(99, (100 * r.pass.cursor) / chunks) };
    const stale = this.marks.count('stale');
    if (stale > 0) return { status: 'BOOTSTRAPPING', progress: Math.min(99, (100 * this.caughtUp) / (this.caughtUp + stale)) };
    return { status: 'AVAILABLE' };
  }

  private chunkCount(): number {
    return Math.ceil(this.size / this.chunkSize);
  }

  // ---- reading

  read(offset: number, length: number): Promise<Buffer> {
    if (this.wholeInFile(offset, length)) return this.device.read(offset, length);
    return this.readRestoring(offset, length);
  }

  readLent(offset: number, length: number): Promise<LentRead> {
    if (this.wholeInFile(offset, length)) return this.device.readLent(offset, length);
    return this.readRestoring(offset, length).then((data) => ({ data, release: noRelease }));
  }

  /** Whether the file holds all of the range: always, unless a restore has not reached some of its chunks. */
  private wholeInFile(offset: number, length: number): boolean {
    return this.record.pass?.kind !== 'restore' || this.pieces(offset, length).every((p) => this.inFile(p.index));
  }

  /** A read while restoring: chunks not yet in the file come from the snapshot's image. */
  private readRestoring(offset: number, length: number): Promise<Buffer> {
    const parts = this.pieces(offset, length);
    return (async () => {
      const out = Buffer.allocUnsafe(length);
      await Promise.all(
        parts.map(async (p) => {
          const { data, release } = this.inFile(p.index)
            ? { data: await this.device.read(offset + p.from, p.length), release: noRelease }
            : await this.image.readChunk(p.index, p.at, p.length);
          data.copy(out, p.from);
          release();
        }),
      );
      return out;
    })();
  }

  /** Whether the file holds chunk `index` (always, unless a restore has not reached it). */
  private inFile(index: number): boolean {
    const pass = this.record.pass;
    return pass?.kind !== 'restore' || index < pass.cursor || this.marks.get(index) === 'stale';
  }

  // ---- writing

  write(offset: number, data: Buffer, options?: { fua?: boolean }): Promise<void> {
    return this.gate.run(async () => {
      const fua = options?.fua ?? false;
      await Promise.all(
        this.pieces(offset, data.length).map((p) => {
          const piece = data.subarray(p.from, p.from + p.length);
          return this.modify(
            p.index,
            () => this.device.write(offset + p.from, piece, { fua }),
            () => this.withFileChunk(p.index, (content) => this.image.write(p.index, p.at, piece, content)),
            (own) => (own ? [this.device.write(offset + p.from, piece, { fua }), this.image.write(p.index, p.at, piece)] : undefined),
          );
        }),
      );
    });
  }

  discard(offset: number, length: number): Promise<void> {
    return this.gate.run(async () => {
      for (const p of this.pieces(offset, length)) {
        const whole = p.length === this.chunkSize;
        await this.modify(
          p.index,
          () => this.device.discard(offset + p.from, p.length),
          async () => {
            if (whole) await this.image.unmap(p.index);
            else if (this.image.map.get(p.index))
              await this.withFileChunk(p.index, (content) => this.image.write(p.index, p.at, zeroBytes(p.length), content));
          },
        );
      }
    });
  }

  /**
   * One change to chunk `index`, holding its lock: `toFile` changes the file;
   * `toImage` then brings the image along, unless the chunk is not mirrored now
   * (PASS THROUGH, stale, restoring, not yet adopted). `together`, when given,
   * may run both at once for a chunk written in place (`own`).
   */
  private modify(
    index: number,
    toFile: () => Promise<void>,
    toImage: () => Promise<void>,
    together?: (own: boolean) => Promise<void>[] | undefined,
  ): Promise<void> {
    return this.locks.run(String(index), async () => {
      const pass = this.record.pass;
      if (pass?.kind === 'restore') {
        // The file gets the chunk from the snapshot before the change; the image catches up after the restore.
        if (!this.inFile(index)) await this.restoreChunk(index);
        await this.marks.set(index, 'stale');
        await toFile();
      } else if (pass?.kind === 'adopt' && index >= pass.cursor) {
        await toFile(); // the adoption reads it later
      } else {
        if (!this.passThrough && this.context.uploadBufferUse() >= PASS_THROUGH_AT) this.enterPassThrough();
        if (this.passThrough || this.marks.get(index) === 'stale') {
          if (this.marks.get(index) !== 'stale') await this.marks.set(index, 'stale');
          await toFile();
        } else {
          if (this.marks.get(index) === undefined) await this.marks.set(index, 'intent');
          const both = together?.(this.image.ownsCurrent(index));
          if (both) await Promise.all(both);
          else {
            await toFile();
            await toImage();
          }
        }
      }
      this.lastWrite.set(index, ++this.writeSeq);
    });
  }

  /**
   * Runs `use` with the content of chunk `index` as the file holds it (padded
   * with zeros past the volume's end), read when `use` asks for it into a
   * buffer of the read pool, which goes back once `use` is done: the image
   * writes the content into the cache and keeps none of it. A buffer a chunk
   * was 2 MiB of allocations per chunk adopted or caught up, which scattered
   * malloc's arena under a busy gateway (README, "Memory").
   */
  private async withFileChunk<T>(index: number, use: (content: ChunkContent) => Promise<T>): Promise<T> {
    let lent: LentRead | undefined;
    try {
      return await use(async () => {
        const start = index * this.chunkSize;
        const length = Math.min(this.chunkSize, this.size - start);
        lent = await this.device.readLent(start, length);
        return length === this.chunkSize ? [lent.data] : [lent.data, zeroBytes(this.chunkSize - length)];
      });
    } finally {
      lent?.release();
    }
  }

  private enterPassThrough(): void {
    this.passThrough = true;
    this.log.warn(
      { uploadBufferUse: this.context.uploadBufferUse() },
      'upload buffer full: volume is PASS THROUGH (writes go to its file only; snapshots wait)',
    );
  }

  // ---- flushing

  async flush(): Promise<void> {
    const seq = this.writeSeq;
    await this.device.flush();
    await this.image.sync();
    // Chunks written before this flush, and not since, agree in the file and the image.
    const cleared: Promise<void>[] = [];
    for (const index of this.marks.indexes('intent')) {
      if ((this.lastWrite.get(index) ?? 0) <= seq && !this.locks.held(String(index))) {
        this.lastWrite.delete(index);
        cleared.push(this.marks.set(index, null));
      }
    }
    void Promise.all(cleared).catch((err: unknown) =>
      this.log.warn({ err }, 'clearing write marks failed; the chunks are copied again after a crash'),
    );
  }

  provisioning(offset: number, maxLength: number): Promise<ProvisioningExtent[]> {
    return this.imageProvisioning(
      offset,
      maxLength,
      () => true,
      (at, length) => this.read(at, length),
    );
  }

  async prefetch(offset: number, length: number): Promise<void> {
    if (this.record.pass?.kind === 'restore') await this.read(offset, length);
    else await this.device.prefetch(offset, length);
  }

  // ---- background passes

  /** Starts the pass the volume needs, if none runs: a restore, an adoption, or catching stale chunks up. */
  private tick(): void {
    if (this.closed || this.work || !this.file || this.record.irrecoverable || this.record.deleting) return;
    if (this.passThrough) {
      if (this.context.uploadBufferUse() >= RESUME_AT) return;
      this.passThrough = false;
      this.caughtUp = 0;
      this.log.info({ stale: this.marks.count('stale') }, 'upload buffer has room again: volume is BOOTSTRAPPING');
    }
    const pass = this.record.pass;
    let run: (() => Promise<void>) | undefined;
    if (pass?.kind === 'restore') run = () => this.restore();
    else if (pass?.kind === 'adopt') run = () => this.adopt();
    else if (this.marks.count('stale') > 0) run = () => this.catchUp();
    if (!run) return;
    this.work = run()
      .catch((err: unknown) => {
        if (!this.closed) this.log.error({ err }, 'background pass of the volume failed; it is tried again');
      })
      .finally(() => {
        this.work = undefined;
      });
  }

  /** RESTORING: copies the snapshot's chunks from the image into the file, in order. */
  private async restore(): Promise<void> {
    const done = await this.walkPass(
      'restore',
      async (index) => {
        if (this.marks.get(index) !== 'stale') await this.copyToFile(index);
      },
      () => this.device.flush(),
    );
    if (done) this.log.info('restore from the snapshot complete: the file holds the whole volume');
    this.tick();
  }

  /**
   * Walks the chunks of the pass under way from its cursor, PASS_BATCH at a time:
   * `each` under the chunk's lock, then `settle` (which makes the batch durable)
   * and the cursor recorded. Stops early when the volume closes or, after a chunk,
   * when `stop` says so. Whether it reached the last chunk.
   */
  private async walkPass(
    kind: 'restore' | 'adopt',
    each: (index: number) => Promise<void>,
    settle: () => Promise<void>,
    stop = () => false,
  ): Promise<boolean> {
    const chunks = this.chunkCount();
    let cursor = this.record.pass!.cursor;
    while (cursor < chunks && !this.closed) {
      const end = Math.min(chunks, cursor + PASS_BATCH);
      let stopped = false;
      while (cursor < end && !stopped) {
        const index = cursor++;
        await this.locks.run(String(index), () => each(index));
        stopped = stop();
      }
      await settle();
      await this.update({ pass: cursor < chunks ? { kind, cursor } : undefined });
      if (stopped) return false;
    }
    return cursor >= chunks;
  }

  /** A chunk ahead of the restore, copied into the file now because a write is about to change it. */
  private async restoreChunk(index: number): Promise<void> {
    await this.copyToFile(index);
    await this.device.flush();
  }

  private async copyToFile(index: number): Promise<void> {
    if (!this.image.map.get(index)) return; // a new file reads zeros there already
    const start = index * this.chunkSize;
    const length = Math.min(this.chunkSize, this.size - start);
    const { data, release } = await this.image.readChunk(index, 0, length);
    try {
      await this.device.write(start, data);
    } finally {
      release();
    }
  }

  /** BOOTSTRAPPING after adoption: reads the file adopted from the configuration, chunk by chunk, into the image. */
  private async adopt(): Promise<void> {
    const done = await this.walkPass(
      'adopt',
      async (index) => {
        await this.withFileChunk(index, async (read) => {
          const content = await read();
          if (!(content.every(isZero) && !this.image.map.get(index))) await this.image.replace(index, async () => content);
        });
        // Writes to this chunk now go through the image too (see modify()).
        this.record_ = { ...this.record_, pass: { kind: 'adopt', cursor: index + 1 } };
      },
      () => this.image.sync(),
      () => this.bufferFull(),
    );
    if (done) this.log.info('the file adopted from the configuration is in the image: volume is AVAILABLE');
  }

  /** BOOTSTRAPPING: copies stale chunks from the file into the image, until none is left or the buffer fills again. */
  private async catchUp(): Promise<void> {
    while (!this.closed && !this.passThrough) {
      const stale = this.marks.indexes('stale').slice(0, PASS_BATCH);
      if (stale.length === 0) break;
      const copied = new Map<number, number>();
      for (const index of stale) {
        if (this.bufferFull()) {
          this.enterPassThrough();
          break;
        }
        await this.locks.run(String(index), async () => {
          await this.withFileChunk(index, (content) => this.image.replace(index, content));
          copied.set(index, this.lastWrite.get(index) ?? 0);
        });
      }
      await this.image.sync();
      for (const [index, seq] of copied) {
        // A write since the copy keeps the chunk stale.
        if ((this.lastWrite.get(index) ?? 0) === seq && !this.locks.held(String(index))) {
          await this.marks.set(index, null);
          this.caughtUp++;
        }
      }
    }
    if (!this.passThrough && this.marks.count('stale') === 0)
      this.log.info({ chunks: this.caughtUp }, 'stale chunks caught up: volume is AVAILABLE');
  }

  private bufferFull(): boolean {
    return this.context.uploadBufferUse() >= PASS_THROUGH_AT;
  }

  // ---- snapshots and closing

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.monitor);
    await this.work;
    if (this.file) {
      await this.flush();
      await this.marks.settled();
      await this.file.close();
    } else {
      await this.image.sync();
    }
  }

  override async removeLocal(): Promise<void> {
    await unlink(join(this.context.directory, this.record.file!)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
