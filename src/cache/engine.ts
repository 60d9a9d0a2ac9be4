// The shared cache and upload engine: writes land in local extent files and
// reach S3 in the background; reads are served from the cache, else fetched by
// range (with read-ahead for sequential readers). See README.md beside this file.
import { constants, type FileHandle, open, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { BufferPool } from '../buffers/buffer-pool.ts';
import type { Catalog, Section } from '../catalog/catalog.ts';
import { blockAndRangeCrcs, blockAndRangeCrcsOffThread, crc32cCombine } from '../crc32c/block-checksums.ts';
import { crc32c, withCrcsOffThread } from '../crc32c/crc32c.ts';
import { startWriteback } from '../fileio/fileio.ts';
import { DELETE_MANY_MAX, ObjectNotFoundError, ObjectStore, type ObjectInfo, type S3Settings } from '../cloud/object-store.ts';
import type { Logger } from '../log.ts';
import { BandwidthLimiter, type BandwidthSchedule } from './bandwidth.ts';
import { BLOCK, Extent, blockCount, extentPath, type ExtentRecord } from './extent.ts';
import { readFully, ShortReadError, writeFully } from './file-io.ts';
import { KeyedLock } from './keyed-lock.ts';
import { EngineMetrics, type EngineStats } from './metrics.ts';
import { snapshot, SnapshotChangedError, type Snapshot } from './snapshot.ts';

export interface EngineOptions {
  /** Directory for the extent files; the engine owns it. */
  directory: string;
  /** The gateway's catalog: the engine keeps its sections 'cache' and 'uploads'. */
  catalog: Catalog;
  s3: S3Settings;
  /** Local disk the cache may fill. */
  cacheBytes: number;
  /** Data not yet uploaded above which writers wait; below cacheBytes. */
  uploadBufferBytes: number;
  /** Extents uploading at once (default 4). */
  uploadConcurrency?: number;
  /** Eviction of clean extents starts above high × cacheBytes and stops at low × (defaults 0.9, 0.8). */
  highWatermark?: number;
  lowWatermark?: number;
  /** Most a sequential reader's misses fetch ahead (default 16 MiB). */
  readAheadBytes?: number;
  /** Written data is queued for upload at least this often even without sync() (default 10 s; 0: only by sync()). */
  writebackIntervalMs?: number;
  /** Uploads start only once no write or read has come for this long (default 1 s; 0: never yield). See README.md. */
  uploadQuietMs?: number;
  /** An upload waits for quiet at most this long (default 60 s). */
  uploadMaxDeferMs?: number;
  bandwidth?: BandwidthSchedule;
  /** Where the metrics register (default a registry of the engine's own). */
  registry?: Registry;
  logger: Logger;
}

export interface WriteOptions {
  /**
   * The caller made this key up just now (a cartridge's next segment): unless the
   * cache holds it, the extent starts empty without a lookup in the cloud, and the
   * next upload replaces whatever the cloud may hold under the key.
   */
  readonly fresh?: boolean;
}

/** Bytes on the cache disk do not match their checksum, and no clean copy exists to fetch. */
export class CacheCorruptionError extends Error {
  override readonly name = 'CacheCorruptionError';
  constructor(
    readonly key: string,
    readonly block: number,
  ) {
    super(`cached data of ${key} is corrupt at block ${block} (bytes ${block * BLOCK}…) and not yet uploaded`);
  }
}

type Batch = ReturnType<Catalog['batch']>;

interface QueueEntry {
  op: 'put' | 'delete';
  seq: number;
}

interface Queued {
  key: string;
  entry: QueueEntry;
}

/** Bytes read; `crcs` of the ranges asked for when they came from checked blocks; `release` gives a reusable buffer back. */
interface Read {
  data: Buffer;
  crcs?: number[];
  release?: () => void;
}

const noRelease = (): void => undefined;

/** An extent file kept open, with the block last read and verified from it. */
interface OpenFile {
  handle: FileHandle;
  /** Its bytes are never written to once kept: read() hands out views of them. */
  verified?: { block: number; gen: number; crc: number; data: Buffer };
}

const MiB = 1024 * 1024;
const OPEN_FILES = 16;
/** Writes and reads at least this large are checksummed on libuv's pool, not on the event loop's thread that every session shares. */
const OFF_THREAD_CRC_BYTES = 256 * 1024;
/** Writes at least this large start their writeback at once (see startWriteback()). */
const WRITEBACK_MIN_BYTES = MiB;
/** Keys a deleteMany() takes under one set of locks and one durable catalog write. */
const DELETE_BATCH = 256;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 300_000;
/** Most an upload in flight pauses for reads and writes: well under the store's idle timeout. */
const PAUSE_MAX_MS = 10_000;

export class CacheEngine {
  readonly metrics: EngineMetrics;
  private readonly store: ObjectStore;
  private readonly limiter: BandwidthLimiter;
  private readonly index: Section<ExtentRecord>;
  private readonly uploads: Section<QueueEntry>;
  private readonly locks = new KeyedLock();
  /** Every extent known, least recently used first. */
  private readonly extents = new Map<string, Extent>();
  private readonly queue = new Map<string, QueueEntry>();
  private readonly inflight = new Map<string, Promise<void>>();
  /** Cloud requests under way: a put, or one request deleting many keys. */
  private running = 0;
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  /** When each queued entry was queued, or last ran: how long it has waited to start. */
  private readonly waitingSince = new WeakMap<QueueEntry, number>();
  /** Extent files kept open, by key, least recently used first; used only under the key's lock. */
  private readonly files = new Map<string, OpenFile>();
  /** Buffers of readv() results, given back by their release(). */
  private readonly readBuffers = new BufferPool();
  private readonly waiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly high: number;
  private readonly low: number;
  private readonly readAheadBytes: number;
  private readonly quietMs: number;
  private readonly maxDeferMs: number;
  private readonly pauseMaxMs: number;
  private readonly log: Logger;
  private seq = 0;
  private usedBytes = 0;
  private dirtyBytes = 0;
  /** Bytes admitted to writes in progress, counted against the cache before they land. */
  private reservedBytes = 0;
  private hits = 0;
  private misses = 0;
  private closing = false;
  /** Last time a caller wrote or read. */
  private foregroundAt = 0;
  /** Callers waiting for uploads (drain, a writer held back): uploads do not yield meanwhile. */
  private urgent = 0;
  private evicting: Promise<void> | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private writeback: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: EngineOptions) {
    if (!(options.uploadBufferBytes > 0 && options.uploadBufferBytes < options.cacheBytes)) {
      throw new RangeError('uploadBufferBytes must be positive and below cacheBytes');
    }
    this.high = options.highWatermark ?? 0.9;
    this.low = options.lowWatermark ?? 0.8;
    if (!(0 < this.low && this.low < this.high && this.high <= 1)) throw new RangeError('watermarks must satisfy 0 < low < high ≤ 1');
    this.concurrency = options.uploadConcurrency ?? 4;
    this.readAheadBytes = options.readAheadBytes ?? 16 * MiB;
    this.quietMs = options.uploadQuietMs ?? 1_000;
    this.maxDeferMs = options.uploadMaxDeferMs ?? 60_000;
    this.pauseMaxMs = Math.min(PAUSE_MAX_MS, (options.s3.idleTimeoutMs ?? Infinity) / 3);
    this.log = options.logger.child({ component: 'cache' });
    this.metrics = new EngineMetrics(() => this.stats(), options.registry);
    this.limiter = new BandwidthLimiter(options.bandwidth);
    this.store = new ObjectStore(options.s3, this.metrics, this.limiter);
    this.index = options.catalog.section<ExtentRecord>('cache');
    this.uploads = options.catalog.section<QueueEntry>('uploads');
  }

  /** Opens the engine, recovering extents and the upload queue left by a previous run or crash. */
  static async open(options: EngineOptions): Promise<CacheEngine> {
    const engine = new CacheEngine(options);
    await Promise.all(Array.from({ length: 256 }, (_, i) => mkdir(`${options.directory}/${i.toString(16).padStart(2, '0')}`, { recursive: true })));
    await engine.recover();
    const interval = options.writebackIntervalMs ?? 10_000;
    if (interval > 0) engine.writeback = setInterval(() => void engine.sync().catch((err: unknown) => engine.log.error({ err }, 'writeback failed')), interval).unref();
    engine.pump();
    return engine;
  }

  /**
   * Writes bytes into extent `key` at `offset`, growing it as needed (a gap reads
   * as zeros). Waits, never fails, while the upload buffer or the cache is full.
   * The bytes are durable only once sync() has covered them.
   */
  async write(key: string, offset: number, data: Uint8Array, options?: WriteOptions): Promise<void> {
    await this.writev(key, offset, [data], options);
  }

  /**
   * write() of `pieces` laid end to end from `offset`, without joining them
   * first. Resolves to the CRC32C of each piece, taken in the pass that
   * checksums the extent's blocks.
   */
  async writev(key: string, offset: number, pieces: readonly Uint8Array[], options: WriteOptions = {}): Promise<number[]> {
    this.assertOpen();
    this.foregroundAt = Date.now();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`write offset ${offset} is not a byte position`);
    let length = 0;
    for (const piece of pieces) length += piece.length;
    if (length === 0) return pieces.map(() => 0);
    if (length > this.options.cacheBytes - this.options.uploadBufferBytes) {
      throw new RangeError(`a write of ${length} bytes cannot fit a cache of ${this.options.cacheBytes} with a ${this.options.uploadBufferBytes}-byte upload buffer`);
    }
    await this.admit(length);
    this.reservedBytes += length;
    try {
      return await this.locks.run(key, async () => {
        const extent = await this.forWrite(key, options.fresh);
        const crcs = await this.writeLocked(extent, offset, pieces, length);
        if (length >= WRITEBACK_MIN_BYTES) this.startWriteback(extent, offset, length);
        return crcs;
      });
    } finally {
      this.reservedBytes -= length;
      void this.evictIfNeeded();
    }
  }

  /**
   * Starts writing a large write's pages to disk now: a tape's data is
   * otherwise all flushed at its next sync point, while the drive waits.
   */
  private startWriteback(extent: Extent, offset: number, length: number): void {
    const file = this.files.get(extent.key);
    if (file) startWriteback(file.handle.fd, offset, length);
  }

  /** Reads `length` bytes at `offset` of extent `key`, from the cache or else from the cloud. The buffer may be shared with other reads' results: do not write into it. */
  async read(key: string, offset: number, length: number): Promise<Buffer> {
    return (await this.readRanges(key, offset, length, [])).data;
  }

  /**
   * read() of consecutive ranges of the given lengths, with the CRC32C of each:
   * taken from cached blocks in the same pass that checks them. The data may lie
   * in a buffer the engine reuses once release() is called: call it when nothing
   * uses the data any more (never calling it only loses the reuse).
   */
  async readv(key: string, offset: number, lengths: readonly number[]): Promise<{ data: Buffer; crcs: number[]; release: () => void }> {
    let length = 0;
    for (const l of lengths) length += l;
    const { data, crcs, release = noRelease } = await this.readRanges(key, offset, length, lengths, this.readBuffers);
    // Bytes fetched from the cloud, or a block remembered: one pass over them for the ranges alone.
    return { data, crcs: crcs ?? blockAndRangeCrcs(data, Infinity, 0, lengths).ranges, release };
  }

  /** The bytes, and the CRCs of `lengths` when they came from the cache's checked blocks; a large read from the cache goes into a buffer of `pool` when given. */
  private async readRanges(key: string, offset: number, length: number, lengths: readonly number[], pool?: BufferPool): Promise<Read> {
    this.assertOpen();
    this.foregroundAt = Date.now();
    return this.locks.run(key, async () => {
      const extent = await this.known(key);
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > extent.size) {
        throw new RangeError(`read of ${key} at ${offset}+${length} passes its end (${extent.size})`);
      }
      if (length === 0) return { data: Buffer.alloc(0), crcs: lengths.map(() => 0) };
      const first = Math.floor(offset / BLOCK);
      const last = Math.floor((offset + length - 1) / BLOCK);
      const sequential = extent.nextRead === offset;
      extent.nextRead = offset + length;
      this.touch(extent);
      if (extent.allPresent(first, last)) {
        this.hits++;
        try {
          return await this.readVerified(extent, offset, length, lengths, pool);
        } catch (error) {
          if (!(error instanceof CacheCorruptionError) || extent.dirty) throw error;
          this.log.warn({ key, block: error.block }, 'cached block fails its checksum; fetching it again');
          this.forget(extent, error.block);
        }
      } else {
        this.misses++;
      }
      extent.readAhead = sequential ? Math.min(this.readAheadBytes, Math.max(2 * extent.readAhead, 4 * BLOCK)) : 0;
      const start = first * BLOCK;
      const end = Math.min(extent.size, (last + 1) * BLOCK + extent.readAhead);
      const fetched = await this.fill(extent, start, end);
      return { data: fetched.subarray(offset - start, offset - start + length) };
    });
  }

  /** Size of extent `key`, asking the cloud when the cache does not know it; undefined if it exists nowhere. */
  async size(key: string): Promise<number | undefined> {
    this.assertOpen();
    return this.locks.run(key, async () => {
      try {
        return (await this.known(key)).size;
      } catch (error) {
        if (error instanceof ObjectNotFoundError) return undefined;
        throw error;
      }
    });
  }

  /** Cuts extent `key` to `size` bytes (a tape written in the middle of a segment ends its data there). */
  async truncate(key: string, size: number): Promise<void> {
    this.assertOpen();
    await this.locks.run(key, async () => {
      const extent = await this.forWrite(key);
      if (!Number.isSafeInteger(size) || size < 0 || size > extent.size) throw new RangeError(`cannot truncate ${key} (${extent.size} bytes) to ${size}`);
      if (size === extent.size) return;
      const last = blockCount(size) - 1;
      const tail = size % BLOCK !== 0 ? (await this.readVerified(extent, last * BLOCK, size - last * BLOCK)).data : undefined;
      const file = await this.file(extent, true);
      file.verified = undefined;
      await file.handle.truncate(size);
      const before = extent.size;
      extent.resize(size);
      if (tail) extent.crcs[last] = crc32c(tail);
      this.usedBytes -= before - size;
      this.markWritten(extent, before);
    });
  }

  /** Removes extent `key` here and, through the upload queue, from the cloud. */
  async delete(key: string): Promise<void> {
    await this.deleteMany([key]);
  }

  /**
   * delete() of every key, with one durable catalog write per DELETE_BATCH of
   * them: a tape rewritten from the start lets go of thousands of objects at once.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    this.assertOpen();
    const sorted = [...new Set(keys)].sort(); // one order of taking locks for every caller
    for (let from = 0; from < sorted.length; from += DELETE_BATCH) {
      const batch = sorted.slice(from, from + DELETE_BATCH);
      await this.underLocks(batch, async () => {
        // One unlink at a time: unlinking cache files of 64 MiB at once took every
        // thread of the pool the reads of the next tape wait for.
        for (const key of batch) await this.dropLocal(key);
        await this.persist((b) => {
          for (const key of batch) {
            const entry = this.nextEntry('delete');
            b.del(key, { sublevel: this.index }).put(key, entry, { sublevel: this.uploads });
            this.queue.delete(key);
            this.queue.set(key, entry);
          }
        }, true);
      });
    }
    this.notify();
    this.pump();
  }

  /** Runs `task` holding the lock of every key, taken in the order given. */
  private underLocks<T>(keys: readonly string[], task: () => Promise<T>, from = 0): Promise<T> {
    return from === keys.length ? task() : this.locks.run(keys[from]!, () => this.underLocks(keys, task, from + 1));
  }

  /** Forgets extent `key` here and removes its file; the caller holds its lock. */
  private async dropLocal(key: string): Promise<void> {
    const extent = this.extents.get(key);
    if (!extent) return;
    await this.closeFile(key);
    await unlink(extent.path).catch(ignoreMissing);
    this.usedBytes -= extent.presentBytes();
    if (extent.dirty) this.dirtyBytes -= extent.size;
    this.extents.delete(key);
  }

  /**
   * Makes everything written so far to `keys` (default: every extent) durable on
   * the cache disk, data and state, and queues it for upload. A caller may
   * acknowledge a write to its client once this resolves.
   */
  async sync(keys?: readonly string[]): Promise<void> {
    const extents = (keys ? keys.map((k) => this.extents.get(k)) : [...this.extents.values()]).filter(
      (e): e is Extent => e !== undefined && e.dirty && (e.gen !== e.syncedGen || !this.queue.has(e.key)),
    );
    if (extents.length === 0) return;
    const gens = extents.map((e) => e.gen);
    await Promise.all(extents.map((e) => fsyncPath(e.path, 'r+')));
    // A file's directory entry must be durable too.
    await Promise.all([...new Set(extents.map((e) => dirname(e.path)))].map((d) => fsyncPath(d, 'r')));
    // The state recorded is the state when the write happens, which covers at least what was fsynced:
    // an older snapshot landing after a newer sync would cut synced data off.
    await this.persist((batch) => {
      for (const extent of extents) {
        if (this.extents.get(extent.key) !== extent) continue; // deleted meanwhile
        batch.put(extent.key, extent.toRecord(), { sublevel: this.index });
        if (extent.dirty && this.queue.get(extent.key)?.op !== 'put') {
          const entry = this.nextEntry('put');
          batch.put(extent.key, entry, { sublevel: this.uploads });
          this.queue.delete(extent.key);
          this.queue.set(extent.key, entry);
        }
      }
    }, true);
    extents.forEach((e, i) => (e.syncedGen = Math.max(e.syncedGen, gens[i]!)));
    this.pump();
  }

  /** Resolves once everything written to `keys` (default: all) is uploaded. */
  async drain(keys?: readonly string[]): Promise<void> {
    const pending = () => (keys ? keys.some((k) => this.queue.has(k) || this.extents.get(k)?.dirty) : this.queue.size > 0 || this.dirtyBytes > 0);
    await this.urgently(async () => {
      await this.sync(keys);
      while (pending()) {
        this.assertOpen();
        await this.changed();
      }
    });
  }

  /** Changes the bandwidth schedule in force. */
  setBandwidth(schedule: BandwidthSchedule): void {
    this.limiter.set(schedule);
  }

  stats(): EngineStats {
    return {
      cacheBytes: this.options.cacheBytes,
      usedBytes: this.usedBytes,
      dirtyBytes: this.dirtyBytes,
      uploadBufferBytes: this.options.uploadBufferBytes,
      queueDepth: this.queue.size,
      hits: this.hits,
      misses: this.misses,
    };
  }

  /** Makes written data durable, lets uploads in flight finish (the rest resume at the next open), and lets go of the cloud client. */
  async close(): Promise<void> {
    if (this.closing) return;
    await this.sync();
    this.closing = true;
    clearInterval(this.writeback);
    clearTimeout(this.pumpTimer);
    await Promise.allSettled(this.inflight.values());
    await this.persisting;
    await Promise.all([...this.files.keys()].map((key) => this.locks.run(key, () => this.closeFile(key))));
    this.notify();
    this.store.close();
  }

  // ---- writing ----

  /** Waits while data not yet uploaded fills the upload buffer, or new bytes would not fit the cache. */
  private async admit(bytes: number): Promise<void> {
    for (;;) {
      this.assertOpen();
      const bufferFull = this.dirtyBytes >= this.options.uploadBufferBytes;
      const cacheFull = this.usedBytes + this.reservedBytes + bytes > this.options.cacheBytes;
      if (!bufferFull && !cacheFull) return;
      if (cacheFull) await this.evictIfNeeded(this.reservedBytes + bytes);
      if (this.usedBytes + this.reservedBytes + bytes <= this.options.cacheBytes && !bufferFull) return;
      // Data written but never synced must still reach the queue, or nothing would free the buffer.
      void this.sync().catch((err: unknown) => this.log.error({ err }, 'sync under backpressure failed'));
      await this.urgently(() => this.changed(250));
    }
  }

  /** The extent to write: known here, or in the cloud (then fetched whole first), or new; `fresh`: new, without asking the cloud. */
  private async forWrite(key: string, fresh = false): Promise<Extent> {
    let extent = this.extents.get(key);
    if (!extent) {
      extent = new Extent(key, extentPath(this.options.directory, key));
      extent.resize(fresh ? 0 : ((await this.cloudHead(key))?.size ?? 0));
      this.extents.set(key, extent);
    }
    if (!extent.allPresent()) await this.fill(extent, 0, extent.size);
    return extent;
  }

  /** Writes the pieces; the CRC32C of each. */
  private async writeLocked(extent: Extent, offset: number, pieces: readonly Uint8Array[], length: number): Promise<number[]> {
    const before = extent.size;
    const end = offset + length;
    const size = Math.max(before, end);
    // From the old end's block when the write leaves a gap; to the write's last block, not the extent's: those after it do not change.
    const first = Math.floor(Math.min(offset, before) / BLOCK);
    const last = Math.floor((end - 1) / BLOCK);
    const file = await this.file(extent, true);
    const { handle } = file;
    file.verified = undefined;
    const span = (b: number) => ({ from: b * BLOCK, to: Math.min((b + 1) * BLOCK, size) });
    const covered = (b: number) => offset <= span(b).from && end >= span(b).to;
    const appended = (b: number) => offset === before && span(b).from < before && end >= span(b).to;
    // A block the write covers only in part (or not at all: a gap it leaves) is checksummed whole, its old bytes verified, before the write.
    const patched = new Map<number, number>();
    for (let b = first; b <= last; b++) {
      if (!covered(b) && !appended(b)) patched.set(b, crc32c(await this.patchedBlock(handle, extent, b, span(b).to - span(b).from, offset, pieces)));
    }
    // Each new byte is checksummed once: its CRC goes into its block's and its piece's.
    const checksums = (crcOf: (slice: Uint8Array) => number) => {
      const crcs: number[] = [];
      const pieceCrcs = pieces.map(() => 0);
      const fold = (from: number, to: number, crc = 0) => {
        forEachSlice(pieces, offset, from, to, (slice, i) => {
          const sliceCrc = crcOf(slice);
          crc = crc32cCombine(crc, sliceCrc, slice.length);
          pieceCrcs[i] = crc32cCombine(pieceCrcs[i]!, sliceCrc, slice.length);
        });
        return crc;
      };
      for (let b = first; b <= last; b++) {
        const { from, to } = span(b);
        if (covered(b)) crcs.push(fold(from, to));
        else if (appended(b)) crcs.push(fold(offset, to, extent.crcs[b]));
        else {
          fold(from, to); // for the pieces' CRCs: the block's was taken whole
          crcs.push(patched.get(b)!);
        }
      }
      return { crcs, pieceCrcs };
    };
    // A large write's checksums are taken on libuv's pool while the write runs.
    let sums: { crcs: number[]; pieceCrcs: number[] };
    if (length >= OFF_THREAD_CRC_BYTES) {
      [sums] = await Promise.all([withCrcsOffThread(checksums), writeFully(handle, pieces, offset)]);
    } else {
      sums = checksums(crc32c);
      await writeFully(handle, pieces, offset);
    }
    const { crcs, pieceCrcs } = sums;
    extent.resize(size);
    crcs.forEach((c, i) => {
      extent.crcs[first + i] = c;
      extent.present[first + i] = true;
    });
    this.usedBytes += size - before;
    this.markWritten(extent, before);
    return pieceCrcs;
  }

  /** Block `b` as it will be after the write: its verified old bytes, zeros past the old end, the new bytes over them. */
  private async patchedBlock(handle: FileHandle, extent: Extent, b: number, length: number, offset: number, pieces: readonly Uint8Array[]): Promise<Buffer> {
    const from = b * BLOCK;
    const block = Buffer.alloc(length);
    const old = Math.max(0, Math.min(extent.size - from, BLOCK));
    if (old > 0) {
      await readFully(handle, block.subarray(0, old), from);
      if (crc32c(block.subarray(0, old)) !== extent.crcs[b]) throw new CacheCorruptionError(extent.key, b);
    }
    let at = Math.max(offset, from) - from;
    forEachSlice(pieces, offset, from, from + length, (slice) => {
      block.set(slice, at);
      at += slice.length;
    });
    return block;
  }

  private markWritten(extent: Extent, sizeBefore: number): void {
    this.dirtyBytes += extent.dirty ? extent.size - sizeBefore : extent.size;
    if (!extent.dirty) extent.state = 'dirty';
    extent.gen++;
    this.touch(extent);
  }

  // ---- reading ----

  /** What the cloud holds of `key`, or undefined; nothing once it is deleted here, though its cloud delete waits in the queue. */
  private async cloudHead(key: string): Promise<ObjectInfo | undefined> {
    return this.queue.get(key)?.op === 'delete' ? undefined : this.store.head(key);
  }

  /** The extent as known here, or learnt from the cloud with none of its blocks cached. */
  private async known(key: string): Promise<Extent> {
    const cached = this.extents.get(key);
    if (cached) return cached;
    const info = await this.cloudHead(key);
    if (!info) throw new ObjectNotFoundError(key);
    const extent = new Extent(key, extentPath(this.options.directory, key));
    extent.resize(info.size);
    this.extents.set(key, extent);
    return extent;
  }

  /**
   * Reads from the extent's file, checking every block touched against its
   * CRC32C; with the CRCs of `lengths` (ranges from `offset`) taken in that pass,
   * except for a block remembered from the last read.
   */
  private async readVerified(extent: Extent, offset: number, length: number, lengths: readonly number[] = [], pool?: BufferPool): Promise<Read> {
    if (length === 0) return { data: Buffer.alloc(0) };
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + length - 1) / BLOCK);
    const start = first * BLOCK;
    let file: OpenFile;
    try {
      file = await this.file(extent, false);
    } catch (error) {
      // A file gone behind our back is damage like any other.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CacheCorruptionError(extent.key, first);
      throw error;
    }
    const kept = file.verified;
    if (kept && first === last && kept.block === first && kept.gen === extent.gen && kept.crc === extent.crcs[first] && extent.present[first]) {
      return { data: kept.data.subarray(offset - start, offset - start + length) };
    }
    // A reader of consecutive small ranges reads and checks each block once; a larger read is not kept whole, and may use a reusable buffer.
    const remembered = last - first < 2;
    const size = Math.min(extent.size, (last + 1) * BLOCK) - start;
    const reused = pool && !remembered;
    const buffer = reused ? pool.take(size) : Buffer.allocUnsafe(size);
    let ranges: number[];
    try {
      await readFully(file.handle, buffer, start);
      let blocks: number[];
      ({ blocks, ranges } = size >= OFF_THREAD_CRC_BYTES ? await blockAndRangeCrcsOffThread(buffer, BLOCK, offset - start, lengths) : blockAndRangeCrcs(buffer, BLOCK, offset - start, lengths));
      blocks.forEach((crc, i) => {
        if (crc !== extent.crcs[first + i]) throw new CacheCorruptionError(extent.key, first + i);
      });
    } catch (error) {
      if (reused) pool.give(buffer);
      if (error instanceof ShortReadError) throw new CacheCorruptionError(extent.key, first);
      throw error;
    }
    if (remembered) {
      const at = (last - first) * BLOCK;
      file.verified = { block: last, gen: extent.gen, crc: extent.crcs[last]!, data: buffer.subarray(at) };
    }
    const data = buffer.subarray(offset - start, offset - start + length);
    return reused ? { data, crcs: ranges, release: () => pool.give(buffer) } : { data, crcs: ranges };
  }

  /**
   * Fetches [start, end) from the cloud (verified there) and keeps it in the
   * cache when it fits; returns the bytes either way.
   */
  private async fill(extent: Extent, start: number, end: number): Promise<Buffer> {
    const { data, size } = await this.store.get(extent.key, { offset: start, length: end - start, sizeHint: extent.size });
    if (size !== extent.size) throw new Error(`object ${extent.key} is ${size} bytes in the cloud, ${extent.size} in the cache index`);
    const first = start / BLOCK;
    const last = blockCount(end) - 1;
    let added = 0;
    for (let b = first; b <= last; b++) if (!extent.present[b]) added += extent.blockLength(b);
    if (added > 0) await this.evictIfNeeded(added, extent);
    if (this.usedBytes + this.reservedBytes + added > this.options.cacheBytes) return data; // served, not kept
    const file = await this.file(extent, true);
    file.verified = undefined;
    await writeFully(file.handle, [data], start);
    for (let b = first; b <= last; b++) {
      extent.crcs[b] = crc32c(data.subarray((b - first) * BLOCK, (b - first + 1) * BLOCK));
      extent.present[b] = true;
    }
    this.usedBytes += added;
    await this.putRecord(extent);
    return data;
  }

  // ---- eviction ----

  /** Above the high watermark (counting `incoming` bytes), drops clean extents, least recently used first, down to the low one. */
  private evictIfNeeded(incoming = 0, spare?: Extent): Promise<void> {
    const limit = this.options.cacheBytes;
    if (this.usedBytes + incoming <= this.high * limit) return Promise.resolve();
    this.evicting ??= (async () => {
      try {
        for (const extent of [...this.extents.values()]) {
          if (this.usedBytes + incoming <= this.low * limit) break;
          // Busy extents are skipped: their holder may itself be waiting for this eviction.
          if (extent === spare || extent.dirty || extent.presentBytes() === 0 || this.locks.held(extent.key)) continue;
          await this.locks.run(extent.key, async () => {
            if (extent.dirty || this.extents.get(extent.key) !== extent) return;
            await this.closeFile(extent.key);
            await unlink(extent.path).catch(ignoreMissing);
            this.forget(extent);
            await this.putRecord(extent);
          });
        }
      } finally {
        this.evicting = undefined;
        this.notify();
      }
    })();
    return this.evicting;
  }

  /** Marks one block, or all, of a clean extent as no longer cached. */
  private forget(extent: Extent, block?: number): void {
    for (let b = block ?? 0; b <= (block ?? extent.present.length - 1); b++) {
      if (extent.present[b]) this.usedBytes -= extent.blockLength(b);
      extent.present[b] = false;
      extent.crcs[b] = 0;
    }
  }

  // ---- uploading ----

  private nextEntry(op: QueueEntry['op']): QueueEntry {
    const entry: QueueEntry = { op, seq: ++this.seq };
    this.waitingSince.set(entry, Date.now());
    return entry;
  }

  /**
   * Starts queued operations up to the concurrency limit, oldest first, one at a
   * time per key; deletes ready together go as one request. Puts and deletes
   * wait while reads and writes go on, within bounds (README.md).
   */
  private pump(): void {
    if (this.closing) return;
    const now = Date.now();
    let soonest = Infinity;
    let deletes: Queued[] = [];
    for (const [key, entry] of this.queue) {
      if (this.running >= this.concurrency) break;
      if (this.inflight.has(key)) continue;
      const failed = this.failures.get(key);
      if (failed && failed.retryAt > now) {
        soonest = Math.min(soonest, failed.retryAt);
        continue;
      }
      const yieldsUntil = this.yieldsUntil(entry, now);
      if (yieldsUntil > now) {
        soonest = Math.min(soonest, yieldsUntil);
        continue;
      }
      if (entry.op === 'put') {
        this.start([{ key, entry }], () => this.runPut(key, entry));
      } else if (deletes.push({ key, entry }) === DELETE_MANY_MAX) {
        const batch = deletes;
        this.start(batch, () => this.runDeletes(batch));
        deletes = [];
      }
    }
    if (deletes.length > 0 && this.running < this.concurrency) {
      const batch = deletes;
      this.start(batch, () => this.runDeletes(batch));
    }
    if (soonest < Infinity) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = setTimeout(() => this.pump(), soonest - now).unref();
    }
  }

  /** Runs `work` for the queued operations of `batch` as one of the `concurrency` at once. */
  private start(batch: readonly Queued[], work: () => Promise<void>): void {
    this.running++;
    const run = work().finally(() => {
      this.running--;
      for (const { key, entry } of batch) {
        this.inflight.delete(key);
        this.waitingSince.set(entry, Date.now());
      }
      this.notify();
      this.pump();
    });
    for (const { key } of batch) this.inflight.set(key, run);
  }

  /**
   * Until when `entry` (a put or a delete) yields to reads and writes (at most: they may
   * go on); `now` or earlier once quiet, or a bound is reached.
   */
  private yieldsUntil(entry: QueueEntry, now: number): number {
    if (this.quietMs === 0 || this.urgent > 0 || this.closing || this.dirtyBytes * 4 >= this.options.uploadBufferBytes) return now;
    return Math.min(this.foregroundAt + this.quietMs, this.waitingSince.get(entry)! + this.maxDeferMs);
  }

  /** Runs `work` with uploads not yielding to reads and writes meanwhile. */
  private async urgently<T>(work: () => Promise<T>): Promise<T> {
    this.urgent++;
    this.pump();
    try {
      return await work();
    } finally {
      this.urgent--;
    }
  }

  /**
   * The snapshot, its pieces read only once reads and writes pause, or a bound is
   * reached, or it has waited pauseMaxMs in all. Not for an upload holding the
   * extent's lock: writers to it would wait for the pause.
   */
  private yielding(shot: Snapshot, entry: QueueEntry): Snapshot {
    let left = this.pauseMaxMs;
    return {
      ...shot,
      read: async (offset, length) => {
        for (;;) {
          const now = Date.now();
          const until = this.yieldsUntil(entry, now);
          if (left <= 0 || until <= now) return shot.read(offset, length);
          await sleep(Math.min(left, until - now), undefined, { ref: false });
          left -= Date.now() - now;
        }
      },
    };
  }

  private async runPut(key: string, entry: QueueEntry): Promise<void> {
    try {
      await this.upload(key, entry);
      this.failures.delete(key);
    } catch (error) {
      this.failed([{ key, entry }], error);
    }
  }

  private async runDeletes(batch: readonly Queued[]): Promise<void> {
    try {
      const failed = await this.store.deleteMany(batch.map(({ key }) => key));
      const deleted = batch.filter(({ key }) => !failed.has(key));
      await this.persist((b) => deleted.forEach(({ key, entry }) => this.settled(b, key, entry)));
      for (const queued of batch) {
        if (failed.has(queued.key)) this.failed([queued], failed.get(queued.key));
        else this.failures.delete(queued.key);
      }
    } catch (error) {
      this.failed(batch, error);
    }
  }

  /** The operations failed with `error`: each is retried after a delay that doubles with each failure in a row. One log line. */
  private failed(ops: readonly Queued[], error: unknown): void {
    let count = 0;
    let delay = 0;
    for (const { key } of ops) {
      count = (this.failures.get(key)?.count ?? 0) + 1;
      delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
      this.failures.set(key, { count, retryAt: Date.now() + delay });
    }
    const [{ key, entry }] = ops as [Queued];
    this.log.warn({ key, ...(ops.length > 1 ? { keys: ops.length } : {}), op: entry.op, err: error, attempt: count, retryInMs: delay }, 'cloud operation failed; will retry');
  }

  /**
   * Uploads the extent as it is now, streamed from its file, while writers go
   * on; it is clean afterwards unless written meanwhile. Appends leave the bytes
   * being sent alone. A write over them, or a truncation, makes the upload start
   * again holding the extent's lock (writers wait), so that it ends.
   */
  private async upload(key: string, entry: QueueEntry, exclusive = false): Promise<void> {
    const started = performance.now();
    const extent = this.extents.get(key);
    if (!extent || !extent.dirty) return this.settle(key, entry);
    let gen: number;
    try {
      gen = exclusive
        ? await this.locks.run(key, async () => this.send(extent, await this.begin(extent)))
        : await this.send(extent, this.yielding(await this.locks.run(key, () => this.begin(extent)), entry));
    } catch (error) {
      if (extent.state === 'uploading') extent.state = 'dirty';
      if (!(error instanceof SnapshotChangedError)) throw error;
      // The lock lets a write in progress finish before its generation is compared.
      if (exclusive || !(await this.locks.run(key, async () => extent.gen !== error.gen))) throw new CacheCorruptionError(key, error.block);
      return this.upload(key, entry, true);
    }
    this.metrics.observeUpload((performance.now() - started) / 1000);
    await this.locks.run(key, async () => {
      if (this.extents.get(key) !== extent) return;
      if (extent.gen !== gen) {
        extent.state = 'dirty';
        return;
      }
      extent.state = 'clean';
      this.dirtyBytes -= extent.size;
      await this.settle(key, entry, extent);
    });
  }

  /** Marks the extent uploading and takes the snapshot to send; under its lock. */
  private async begin(extent: Extent): Promise<Snapshot> {
    extent.state = 'uploading';
    await this.putRecord(extent);
    return snapshot(extent);
  }

  /** Sends the snapshot; resolves to the generation it holds. */
  private async send(extent: Extent, shot: Snapshot): Promise<number> {
    try {
      await this.store.put(extent.key, shot);
      return shot.gen;
    } finally {
      await shot.close();
    }
  }

  /** Removes a finished queue entry (unless a newer one replaced it), with the extent's new record. */
  private settle(key: string, entry: QueueEntry, extent?: Extent): Promise<void> {
    return this.persist((batch) => this.settled(batch, key, entry, extent));
  }

  private settled(batch: Batch, key: string, entry: QueueEntry, extent?: Extent): void {
    if (extent && this.extents.get(key) === extent) batch.put(key, extent.toRecord(), { sublevel: this.index });
    if (this.queue.get(key) === entry) {
      batch.del(key, { sublevel: this.uploads });
      this.queue.delete(key);
    }
  }

  /** Records the extent's current state, unless it has been deleted meanwhile. */
  private putRecord(extent: Extent): Promise<void> {
    return this.persist((batch) => {
      if (this.extents.get(extent.key) === extent) batch.put(extent.key, extent.toRecord(), { sublevel: this.index });
    });
  }

  /**
   * Catalog writes, one at a time in call order. `compose` runs when its turn
   * comes, so what it records is current, and the in-memory queue changes with it.
   */
  private persist(compose: (batch: Batch) => void, sync = false): Promise<void> {
    const step = this.persisting.then(async () => {
      const batch = this.options.catalog.batch();
      compose(batch);
      await batch.write(sync ? ({ sync: true } as object) : {});
    });
    this.persisting = step.catch(() => undefined);
    return step;
  }

  // ---- recovery ----

  private async recover(): Promise<void> {
    for await (const [key, record] of this.index.iterator()) {
      const extent = Extent.fromRecord(key, extentPath(this.options.directory, key), record);
      if (extent.dirty) {
        if (!(await this.recoverDirty(extent))) {
          await this.index.del(key);
          continue;
        }
        extent.state = 'dirty';
        this.dirtyBytes += extent.size;
      } else {
        const length = (await stat(extent.path).catch(() => undefined))?.size ?? 0;
        extent.present.forEach((p, b) => {
          if (p && b * BLOCK + extent.blockLength(b) > length) this.forget(extent, b);
        });
      }
      this.usedBytes += extent.presentBytes();
      this.extents.set(key, extent);
    }
    for await (const [key, entry] of this.uploads.iterator()) {
      this.queue.set(key, entry);
      this.waitingSince.set(entry, Date.now());
      this.seq = Math.max(this.seq, entry.seq);
    }
    [...this.queue.entries()].sort((a, b) => a[1].seq - b[1].seq).forEach(([k, e]) => (this.queue.delete(k), this.queue.set(k, e)));
    const missing = [...this.extents.values()].filter((e) => e.dirty && this.queue.get(e.key)?.op !== 'put');
    if (missing.length > 0) {
      const batch = this.options.catalog.batch();
      for (const e of missing) {
        const entry = this.nextEntry('put');
        batch.put(e.key, entry, { sublevel: this.uploads });
        this.queue.set(e.key, entry);
      }
      await batch.write({ sync: true } as object);
    }
    await this.removeOrphans();
    this.log.info({ extents: this.extents.size, dirtyBytes: this.dirtyBytes, usedBytes: this.usedBytes, queued: this.queue.size }, 'cache recovered');
  }

  /**
   * A dirty extent after a restart: its file holds at least what the last sync
   * made durable, and possibly later writes that never reached a sync. Those are
   * as valid as the older bytes they replaced, so the checksums are taken anew.
   */
  private async recoverDirty(extent: Extent): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(extent.path, 'r+');
    } catch {
      this.log.error({ key: extent.key, size: extent.size }, 'durable data lost: the extent file is gone');
      return false;
    }
    try {
      const { size } = await handle.stat();
      if (size < extent.size) {
        // Only a lost write-back of the disk itself (power, not a process crash) does this; keep what there is.
        this.log.error({ key: extent.key, size: extent.size, found: size }, 'extent file is shorter than recorded; keeping its bytes');
        extent.resize(size);
      }
      await handle.truncate(extent.size);
      const block = Buffer.allocUnsafe(BLOCK);
      let changed = 0;
      for (let b = 0; b < extent.crcs.length; b++) {
        const view = block.subarray(0, extent.blockLength(b));
        await readFully(handle, view, b * BLOCK);
        const crc = crc32c(view);
        if (crc !== extent.crcs[b]) changed++;
        extent.crcs[b] = crc;
        extent.present[b] = true;
      }
      if (changed > 0) this.log.info({ key: extent.key, blocks: changed }, 'extent holds writes made after its last sync');
      return true;
    } finally {
      await handle.close();
    }
  }

  /** Files of extents the index does not know: written, never synced, then a crash. */
  private async removeOrphans(): Promise<void> {
    const known = new Set([...this.extents.values()].map((e) => basename(e.path)));
    for (let i = 0; i < 256; i++) {
      const dir = `${this.options.directory}/${i.toString(16).padStart(2, '0')}`;
      for (const name of await readdir(dir)) if (!known.has(name)) await unlink(`${dir}/${name}`).catch(ignoreMissing);
    }
  }

  // ---- open files ----

  /** The extent's file, kept open; `create`: made if missing. Call under the extent's lock. */
  private async file(extent: Extent, create: boolean): Promise<OpenFile> {
    const known = this.files.get(extent.key);
    if (known) {
      this.files.delete(extent.key);
      this.files.set(extent.key, known);
      return known;
    }
    const file: OpenFile = { handle: await open(extent.path, create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR) };
    this.files.set(extent.key, file);
    for (const key of this.files.keys()) {
      if (this.files.size <= OPEN_FILES) break;
      // A file whose extent is locked may be in use by its holder.
      if (!this.locks.held(key)) void this.closeFile(key).catch((err: unknown) => this.log.warn({ err, key }, 'closing an extent file failed'));
    }
    return file;
  }

  private async closeFile(key: string): Promise<void> {
    const file = this.files.get(key);
    if (!file) return;
    this.files.delete(key);
    await file.handle.close();
  }

  // ---- small helpers ----

  private touch(extent: Extent): void {
    this.extents.delete(extent.key);
    this.extents.set(extent.key, extent);
  }

  /** Resolves at the next change of usage or queue, or after `timeoutMs` for conditions no event reports. */
  private changed(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (timeoutMs !== undefined) setTimeout(resolve, timeoutMs).unref();
    });
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('cache engine is closed');
  }
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    return ignoreMissing(error); // deleted since
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/** Calls `each` with the parts of `pieces` (laid end to end from `offset`) that fall within [from, to), in order, and the index of their piece. */
function forEachSlice(pieces: readonly Uint8Array[], offset: number, from: number, to: number, each: (slice: Uint8Array, piece: number) => void): void {
  let at = offset;
  for (let i = 0; i < pieces.length && at < to; at += pieces[i]!.length, i++) {
    const lo = Math.max(at, from);
    const hi = Math.min(at + pieces[i]!.length, to);
    if (lo < hi) each(pieces[i]!.subarray(lo - at, hi - at), i);
  }
}
