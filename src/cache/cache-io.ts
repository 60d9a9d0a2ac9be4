// The engine's reads and writes over extent keys: admission under
// backpressure, read-through from the cloud with read-ahead, deletes and
// copies, and the sync points that make writes durable. Namespace stores
// (namespace-store.ts) are the only callers; they keep each consumer to its keys.
import type { BufferPool } from '../buffers/buffer-pool.ts';
import { noRelease } from '../buffers/release-once.ts';
import { blockAndRangeCrcs } from '../crc32c/block-checksums.ts';
import type { GotObject, ObjectInfo } from '../cloud/object-backend.ts';
import type { Logger } from '../log.ts';
import { must } from '../must.ts';
import type { CacheState } from './cache-state.ts';
import type { CatalogLog } from './catalog-log.ts';
import { CloudRoutes, type Route } from './cloud-routes.ts';
import { CacheCorruptionError, ExtentNotFoundError, storeError } from './errors.ts';
import { BLOCK, blockCount, Extent, extentPath, type Prefetch } from './extent.ts';
import type { ExtentFiles } from './extent-files.ts';
import type {
  DrainOptions,
  ExtentHead,
  ExtentListing,
  ExtentMetadata,
  ReadBuffers,
  ReadOptions,
  ReadTally,
  ReadvResult,
  WriteOptions,
} from './extent-store.ts';
import type { Evictor } from './eviction.ts';
import type { UploadQueue } from './upload-queue.ts';

export interface IoLimits {
  readonly directory: string;
  readonly cacheBytes: number;
  readonly uploadBufferBytes: number;
  /** Most a sequential reader's misses fetch ahead. */
  readonly readAheadBytes: number;
}

/** Keys a deleteMany() takes under one set of locks and one durable catalog write. */
const DELETE_BATCH = 256;
/** Read-ahead GETs in flight at once for one sequential reader. */
const PREFETCH_DEPTH = 2;
/** A copy made here moves this much at a time. */
const COPY_PIECE = 4 * 1024 * 1024;
/** S3's limit of a single CopyObject. */
const SERVER_COPY_MAX = 5 * 1024 ** 3;

export class CacheIO {
  closed = false;
  /** Read-ahead GETs in flight, each landing its window in the cache under the extent's lock. */
  private readonly prefetching = new Set<Promise<void>>();
  /** Writes under way on the queued path, by key: while there are any, a key's later writes queue behind them. */
  private readonly queued = new Map<string, number>();

  constructor(
    private readonly state: CacheState,
    private readonly files: ExtentFiles,
    private readonly evictor: Evictor,
    private readonly queue: UploadQueue,
    private readonly routes: CloudRoutes,
    private readonly catalog: CatalogLog,
    private readonly readBuffers: BufferPool,
    private readonly limits: IoLimits,
    private readonly log: Logger,
  ) {}

  // ---- writing ----

  writev(key: string, offset: number, pieces: readonly Uint8Array[], options: WriteOptions = {}): Promise<number[]> {
    let crcs: number[] | undefined;
    try {
      crcs = this.writeNow(key, offset, pieces, options.fresh === true);
    } catch (error) {
      return Promise.reject(error);
    }
    return crcs ? Promise.resolve(crcs) : this.writeInTurn(key, offset, pieces, options);
  }

  /**
   * A small write to a cached extent made at once, when nothing has to wait:
   * no admission, nobody holding or waiting for the extent's lock, its file
   * open (see ExtentFiles.writeNow). At thousands of 4 KiB writes a second
   * the promises and turns of the queued path cost more than the write. So is
   * the first write of a `fresh` key not known here (ExtentFiles.writeNew). The
   * CRC32C of each piece, or undefined having done nothing.
   */
  private writeNow(key: string, offset: number, pieces: readonly Uint8Array[], fresh: boolean): number[] | undefined {
    const { state } = this;
    const known = state.extents.get(key);
    if (this.closed || (!known && !fresh) || this.queued.has(key) || state.locks.held(key)) return undefined;
    let length = 0;
    for (const piece of pieces) length += piece.length;
    const { cacheBytes, uploadBufferBytes } = this.limits;
    if (length === 0 || !Number.isSafeInteger(offset) || offset < 0 || length > cacheBytes - uploadBufferBytes) return undefined;
    if (state.dirtyBytes >= uploadBufferBytes || state.usedBytes + state.reservedBytes + length > cacheBytes) return undefined;
    // A dirty extent holds all its blocks.
    if (known && !known.dirty && !known.allPresent()) return undefined;
    state.foregroundAt = Date.now();
    // A new extent becomes known once its write lands (CacheState.written()).
    const crcs = known
      ? this.files.writeNow(known, offset, pieces, length)
      : this.files.writeNew(this.newExtent(key), offset, pieces, length);
    if (crcs) void this.evictor.evictIfNeeded();
    return crcs;
  }

  /** A write that may wait: for admission, for the extent's lock, for its blocks from the cloud. */
  private async writeInTurn(key: string, offset: number, pieces: readonly Uint8Array[], options: WriteOptions): Promise<number[]> {
    this.assertOpen();
    this.state.foregroundAt = Date.now();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`write offset ${offset} is not a byte position`);
    let length = 0;
    for (const piece of pieces) length += piece.length;
    if (length === 0) return pieces.map(() => 0);
    const { cacheBytes, uploadBufferBytes } = this.limits;
    if (length > cacheBytes - uploadBufferBytes) {
      throw new RangeError(`a write of ${length} bytes cannot fit a cache of ${cacheBytes} with a ${uploadBufferBytes}-byte upload buffer`);
    }
    // Counted from before admission, which takes no lock: a later write of the key must not go ahead of this one at once.
    this.queued.set(key, (this.queued.get(key) ?? 0) + 1);
    try {
      await this.admit(length);
      this.state.reservedBytes += length;
      try {
        return await this.state.locks.run(key, async () =>
          this.files.write(await this.forWrite(key, options.fresh), offset, pieces, length, this.route(key).streamed),
        );
      } finally {
        this.state.reservedBytes -= length;
        void this.evictor.evictIfNeeded();
      }
    } finally {
      const left = must(this.queued.get(key), 'a queued write of the key') - 1;
      if (left === 0) this.queued.delete(key);
      else this.queued.set(key, left);
    }
  }

  async truncate(key: string, size: number): Promise<void> {
    this.assertOpen();
    await this.state.locks.run(key, async () => {
      const extent = await this.forWrite(key);
      if (!Number.isSafeInteger(size) || size < 0 || size > extent.size)
        throw new RangeError(`cannot truncate ${key} (${extent.size} bytes) to ${size}`);
      if (size !== extent.size) await this.files.truncate(extent, size);
    });
  }

  /**
   * Replaces the extent's user metadata: on a clean extent (nothing queued for it)
   * at once in the cloud, by copying the object onto itself; otherwise with its
   * next upload.
   */
  async setMetadata(key: string, metadata: ExtentMetadata): Promise<void> {
    this.assertOpen();
    await this.head(key); // learnt from the cloud if the cache does not know it
    await this.state.locks.run(key, async () => {
      const known = this.state.extents.get(key);
      if (known && !known.dirty && known.size <= SERVER_COPY_MAX && this.queue.op(key) === undefined) {
        const route = this.route(key);
        try {
          await route.backend.copy(CloudRoutes.remoteKey(route, key), CloudRoutes.remoteKey(route, key), { metadata });
        } catch (error) {
          throw storeError(error, key);
        }
        known.metadata = { ...metadata };
        await this.catalog.putRecord(known);
        return;
      }
      const extent = await this.forWrite(key);
      extent.metadata = { ...metadata };
      this.state.written(extent, extent.size);
    });
  }

  /** Waits while data not yet uploaded fills the upload buffer, or new bytes would not fit the cache. */
  private async admit(bytes: number): Promise<void> {
    const { state } = this;
    const { cacheBytes, uploadBufferBytes } = this.limits;
    for (;;) {
      this.assertOpen();
      const bufferFull = state.dirtyBytes >= uploadBufferBytes;
      const cacheFull = state.usedBytes + state.reservedBytes + bytes > cacheBytes;
      if (!bufferFull && !cacheFull) return;
      if (cacheFull) await this.evictor.evictIfNeeded(state.reservedBytes + bytes);
      if (state.usedBytes + state.reservedBytes + bytes <= cacheBytes && !bufferFull) return;
      // Data written but never synced must still reach the queue, or nothing would free the buffer.
      void this.sync(undefined, '', true).catch((err: unknown) => this.log.error({ err }, 'sync under backpressure failed'));
      await this.queue.urgently(() => state.changed(250));
    }
  }

  /** The extent to write: known here, or in the cloud (then fetched whole first), or new; `fresh`: new, without asking the cloud. */
  private async forWrite(key: string, fresh = false): Promise<Extent> {
    let extent = this.state.extents.get(key);
    if (!extent) {
      const info = fresh ? undefined : await this.cloudHead(key);
      extent = this.newExtent(key);
      extent.resize(info?.size ?? 0);
      extent.metadata = { ...info?.metadata };
      this.state.extents.set(key, extent);
    }
    if (!extent.allPresent()) (await this.fill(extent, 0, extent.size)).release?.();
    return extent;
  }

  /** An extent of no bytes for `key`, not yet known. */
  private newExtent(key: string): Extent {
    return new Extent(key, extentPath(this.limits.directory, key), this.route(key).blockSize);
  }

  // ---- reading ----

  async read(key: string, offset: number, length: number, tally?: ReadTally): Promise<Buffer> {
    return (await this.readRanges(key, offset, length, [], undefined, tally)).data;
  }

  async readv(
    key: string,
    offset: number,
    lengths: readonly number[],
    tally?: ReadTally,
    buffers?: ReadBuffers,
    options: ReadOptions = {},
  ): Promise<ReadvResult> {
    let length = 0;
    for (const l of lengths) length += l;
    const {
      data,
      crcs,
      release = noRelease,
    } = await this.readRanges(key, offset, length, lengths, buffers ?? this.readBuffers, tally, options);
    // Bytes fetched from the cloud, or a block remembered: one pass over them for the ranges alone.
    return { data, crcs: crcs ?? blockAndRangeCrcs(data, Infinity, 0, lengths).ranges, release };
  }

  /** The bytes, and the CRCs of `lengths` when they came from the cache's checked blocks; a large read from the cache goes into a buffer of `pool` when given. */
  private async readRanges(
    key: string,
    offset: number,
    length: number,
    lengths: readonly number[],
    pool?: ReadBuffers,
    tally?: ReadTally,
    options: ReadOptions = {},
  ): Promise<{ data: Buffer; crcs?: number[]; release?: () => void }> {
    this.assertOpen();
    const { state } = this;
    state.foregroundAt = Date.now();
    return state.locks.run(key, async () => {
      const extent = await this.known(key);
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > extent.size) {
        throw new RangeError(`read of ${key} at ${offset}+${length} passes its end (${extent.size})`);
      }
      if (length === 0) return { data: Buffer.alloc(0), crcs: lengths.map(() => 0) };
      const first = extent.blockOf(offset);
      const last = extent.blockOf(offset + length - 1);
      const sequential = extent.nextRead === offset;
      extent.nextRead = offset + length;
      state.touch(extent);
      for (const pending of [...extent.prefetches]) {
        if (extent.allPresent(first, last)) break;
        if (pending.start < (last + 1) * extent.blockSize && first * extent.blockSize < pending.end) {
          await this.land(extent, pending); // the GET in flight brings these blocks: no second one
        }
      }
      if (extent.allPresent(first, last)) {
        state.hits++;
        if (tally) tally.hits++;
        try {
          const served = await this.files.read(extent, offset, length, lengths, pool, this.route(key).streamed, options.onThisThread);
          if (sequential) this.readAheadAfter(extent, last);
          return served;
        } catch (error) {
          if (!(error instanceof CacheCorruptionError) || extent.dirty) throw error;
          this.log.warn({ key, block: error.block }, 'cached block fails its checksum; fetching it again');
          state.forget(extent, error.block);
        }
      } else {
        state.misses++;
        if (tally) tally.misses++;
      }
      // A sequential reader waits only for what it asked; the window after it is fetched in the background.
      extent.readAhead = sequential ? Math.min(this.limits.readAheadBytes, Math.max(2 * extent.readAhead, 4 * BLOCK, 2 * length)) : 0;
      const start = first * extent.blockSize;
      const end = Math.min(extent.size, (last + 1) * extent.blockSize);
      const fetched = await this.fill(extent, start, end);
      try {
        // The window goes back to the store for the next GET: the reader gets its own copy of what it asked for.
        const data = pool ? pool.take(length) : Buffer.allocUnsafe(length);
        fetched.data.copy(data, 0, offset - start, offset - start + length);
        if (sequential) this.readAheadAfter(extent, last);
        return pool ? { data, release: () => pool.give(data) } : { data };
      } finally {
        fetched.release?.();
      }
    });
  }

  /**
   * For a sequential reader that has just read block `last`: when blocks within
   * its read-ahead window are neither cached nor on their way, fetches them in
   * the background, in up to PREFETCH_DEPTH GETs of half the window each, so
   * that the next GET is under way while the reader goes through what is
   * cached and while the last one lands (one GET at a time left the network
   * idle for as long as a window took to land, and kept the reader waiting on
   * every window's GET from first byte to last).
   */
  private readAheadAfter(extent: Extent, last: number): void {
    if (this.closed || extent.readAhead === 0) return;
    const { blockSize } = extent;
    const stop = Math.min(extent.present.length, last + 1 + Math.ceil(extent.readAhead / blockSize));
    const piece = Math.max(1, Math.ceil(extent.readAhead / PREFETCH_DEPTH / blockSize));
    let missing = Math.max(last + 1, ...extent.prefetches.map((p) => blockCount(p.end, blockSize)));
    while (extent.prefetches.length < PREFETCH_DEPTH) {
      while (missing < stop && extent.present[missing]) missing++;
      if (missing >= stop) return;
      const start = missing * blockSize;
      const end = Math.min(extent.size, (missing + piece) * blockSize);
      this.prefetch(extent, start, end);
      missing += piece;
      extent.readAhead = Math.min(this.limits.readAheadBytes, 2 * extent.readAhead);
    }
  }

  /** Starts the GET of [start, end) for a reader ahead of it; the window lands in the cache when it arrives. */
  private prefetch(extent: Extent, start: number, end: number): void {
    const route = this.route(extent.key);
    const got = route.backend
      .get(
        CloudRoutes.remoteKey(route, extent.key),
        { offset: start, length: end - start },
        { sizeHint: extent.size, allowUnverified: route.allowUnverified },
      )
      .catch((error: unknown) => {
        // The reader asks again itself when it gets there, and sees the error then.
        this.log.debug({ key: extent.key, start, end, err: error }, 'read-ahead failed');
        return undefined;
      });
    const prefetch: Prefetch = { start, end, gen: extent.gen, got, landed: false };
    extent.prefetches.push(prefetch);
    const landing = got
      .then(() => this.state.locks.run(extent.key, () => this.land(extent, prefetch)))
      .catch((error: unknown) => this.log.warn({ key: extent.key, err: error }, 'read-ahead could not be kept in the cache'))
      .finally(() => this.prefetching.delete(landing));
    this.prefetching.add(landing);
  }

  /** Keeps a read-ahead window in the cache, once, if the extent is still what it was when the GET began; the caller holds the extent's lock. */
  private async land(extent: Extent, prefetch: Prefetch): Promise<void> {
    if (prefetch.landed) return;
    prefetch.landed = true;
    extent.prefetches = extent.prefetches.filter((p) => p !== prefetch);
    const got = await prefetch.got;
    if (!got) return;
    try {
      if (this.closed || this.state.extents.get(extent.key) !== extent || extent.gen !== prefetch.gen || got.size !== extent.size) return;
      await this.keepFetched(extent, prefetch.start, prefetch.end, got.data);
    } finally {
      got.release?.();
    }
  }

  noteForeground(): void {
    this.state.requestAt = Date.now();
  }

  /** Waits for the read-ahead still in flight, which lands nothing once the engine is closed. */
  async settleReadAhead(): Promise<void> {
    while (this.prefetching.size > 0) await Promise.all(this.prefetching);
  }

  async head(key: string): Promise<ExtentHead | undefined> {
    this.assertOpen();
    return this.state.locks.run(key, async () => {
      try {
        const extent = await this.known(key);
        return {
          size: extent.size,
          metadata: { ...extent.metadata },
          ...(extent.cloudModified ? { cloudModified: extent.cloudModified } : {}),
        };
      } catch (error) {
        if (error instanceof ExtentNotFoundError) return undefined;
        throw error;
      }
    });
  }

  /** What the cloud holds of `key`, or undefined; nothing once it is deleted here, though its cloud delete waits in the queue. */
  private async cloudHead(key: string): Promise<ObjectInfo | undefined> {
    if (this.queue.op(key) === 'delete') return undefined;
    const route = this.route(key);
    try {
      return await route.backend.head(CloudRoutes.remoteKey(route, key));
    } catch (error) {
      throw storeError(error, key);
    }
  }

  /** The extent as known here, or learnt from the cloud with none of its blocks cached. */
  private async known(key: string): Promise<Extent> {
    const cached = this.state.extents.get(key);
    if (cached) return cached;
    const info = await this.cloudHead(key);
    if (!info) throw new ExtentNotFoundError(key);
    const extent = this.newExtent(key);
    extent.resize(info.size);
    extent.metadata = { ...info.metadata };
    if (info.lastModified) extent.cloudModified = info.lastModified;
    this.state.extents.set(key, extent);
    return extent;
  }

  /**
   * Fetches [start, end) from the cloud (verified there) and keeps it in the
   * cache when it fits; returns the bytes either way.
   */
  private async fill(extent: Extent, start: number, end: number): Promise<GotObject> {
    const route = this.route(extent.key);
    let got: GotObject;
    try {
      got = await route.backend.get(
        CloudRoutes.remoteKey(route, extent.key),
        { offset: start, length: end - start },
        { sizeHint: extent.size, allowUnverified: route.allowUnverified },
      );
    } catch (error) {
      throw storeError(error, extent.key);
    }
    try {
      if (got.size !== extent.size)
        throw new Error(`object ${extent.key} is ${got.size} bytes in the cloud, ${extent.size} in the cache index`);
      await this.keepFetched(extent, start, end, got.data);
      return got;
    } catch (error) {
      got.release?.();
      throw error;
    }
  }

  /** Keeps [start, end) of the extent, fetched from the cloud, in the cache when it fits (evicting to make room); false when it does not. */
  private async keepFetched(extent: Extent, start: number, end: number, data: Buffer): Promise<boolean> {
    let added = 0;
    for (let b = extent.blockOf(start); b <= blockCount(end, extent.blockSize) - 1; b++)
      if (!extent.present[b]) added += extent.blockLength(b);
    if (added > 0) await this.evictor.evictIfNeeded(added, extent);
    if (this.state.usedBytes + this.state.reservedBytes + added > this.limits.cacheBytes) return false;
    await this.files.keep(extent, start, data);
    await this.catalog.putRecord(extent);
    return true;
  }

  async size(key: string): Promise<number | undefined> {
    return (await this.head(key))?.size;
  }

  // ---- listing ----

  /** See ExtentStore.list(): the cloud's listing merged with what is here, in S3's key order. */
  async *list(prefix: string, options: { delimiter?: string } = {}): AsyncGenerator<ExtentListing> {
    this.assertOpen();
    const { delimiter } = options;
    const route = this.route(prefix);
    const local = new Map<string, ExtentListing>();
    for (const extent of this.state.extents.values()) {
      // Clean extents are as the cloud holds them: its listing says what is there now.
      if (!extent.key.startsWith(prefix) || (!extent.dirty && this.queue.op(extent.key) === undefined)) continue;
      const cut = delimiter ? extent.key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const common = extent.key.slice(0, cut + delimiter!.length);
        local.set(common, { kind: 'prefix', prefix: common });
      } else {
        local.set(extent.key, { kind: 'extent', key: extent.key, size: extent.size });
      }
    }
    const mine = [...local.keys()].sort(compareKeys);
    let next = 0;
    const remote = route.backend.list(CloudRoutes.remoteKey(route, prefix), delimiter ? { delimiter } : {});
    let last: string | undefined;
    const emit = function* (name: string, entry: ExtentListing) {
      if (name !== last) yield entry;
      last = name;
    };
    try {
      for await (const entry of remote) {
        const name = CloudRoutes.localKey(route, entry.key);
        while (next < mine.length && compareKeys(mine[next]!, name) <= 0) {
          const key = mine[next++]!;
          yield* emit(key, local.get(key)!);
        }
        if (local.has(name)) continue; // what is here is newer
        if (entry.commonPrefix ? !(await this.liveUnder(route, name)) : this.queue.op(name) === 'delete') continue;
        yield* emit(
          name,
          entry.commonPrefix
            ? { kind: 'prefix', prefix: name }
            : { kind: 'extent', key: name, size: entry.size, ...(entry.lastModified ? { cloudModified: entry.lastModified } : {}) },
        );
      }
    } catch (error) {
      throw storeError(error, prefix);
    }
    while (next < mine.length) {
      const key = mine[next++]!;
      yield* emit(key, local.get(key)!);
    }
  }

  /** Whether the cloud holds a key under `prefix` that is not deleted here (its cloud delete still queued). */
  private async liveUnder(route: Route, prefix: string): Promise<boolean> {
    if (!this.queue.deletesUnder(prefix)) return true;
    for await (const entry of route.backend.list(CloudRoutes.remoteKey(route, prefix))) {
      if (this.queue.op(CloudRoutes.localKey(route, entry.key)) !== 'delete') return true;
    }
    return false;
  }

  // ---- deleting and copying ----

  /** Removes every key here and, through the upload queue, from the cloud, with one durable catalog write per DELETE_BATCH of them. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    this.assertOpen();
    const sorted = [...new Set(keys)].sort(); // one order of taking locks for every caller
    for (let from = 0; from < sorted.length; from += DELETE_BATCH) {
      const batch = sorted.slice(from, from + DELETE_BATCH);
      await this.state.underLocks(batch, async () => {
        // One unlink at a time: unlinking cache files of 64 MiB at once took every
        // thread of the pool the reads of the next tape wait for.
        for (const key of batch) await this.dropLocal(key);
        await this.catalog.persist((b) => {
          for (const key of batch) {
            b.del(key, { sublevel: this.catalog.index });
            this.queue.enqueue(b, key, 'delete');
          }
        }, true);
      });
    }
    this.state.notify();
    this.queue.pump();
  }

  /** See ExtentStore.evict(). */
  async evict(key: string): Promise<void> {
    this.assertOpen();
    await this.state.locks.run(key, async () => {
      const extent = this.state.extents.get(key);
      if (!extent || extent.dirty || this.queue.op(key) !== undefined) return;
      await this.dropLocal(key);
      await this.catalog.persist((batch) => batch.del(key, { sublevel: this.catalog.index }));
    });
    this.state.notify();
  }

  /** Forgets extent `key` here and removes its file; the caller holds its lock. */
  private async dropLocal(key: string): Promise<void> {
    const extent = this.state.extents.get(key);
    if (!extent) return;
    await this.files.remove(extent);
    this.state.usedBytes -= extent.presentBytes();
    if (extent.dirty) this.state.dirtyBytes -= extent.size;
    this.state.extents.delete(key);
  }

  /**
   * Makes `to` a copy of `from`. A clean extent (the cloud holds exactly its
   * bytes) whose copy lands on the same backend is copied there, server-side,
   * when nothing is queued for `to`; otherwise the bytes move through the cache
   * (fetched where they are not cached) and reach the cloud with `to`'s upload.
   * Either way the copy is durable once sync() covers it.
   */
  async copy(from: string, to: string): Promise<void> {
    this.assertOpen();
    if (from === to) return;
    const source = await this.head(from);
    if (!source) throw new ExtentNotFoundError(from);
    if (await this.copyInCloud(from, to)) return;
    await this.deleteMany([to]);
    for (let at = 0; at < source.size; at += COPY_PIECE) {
      const length = Math.min(COPY_PIECE, source.size - at);
      const { data, release } = await this.readv(from, at, [length]);
      try {
        await this.writev(to, at, [data], { fresh: true });
      } finally {
        release();
      }
    }
    await this.state.locks.run(to, async () => {
      const extent = await this.forWrite(to, true);
      extent.metadata = { ...source.metadata };
      this.state.written(extent, extent.size);
    });
  }

  /** The server-side copy of copy(), when it can be one; whether it was. */
  private async copyInCloud(from: string, to: string): Promise<boolean> {
    const fromRoute = this.route(from);
    const toRoute = this.route(to);
    if (fromRoute.backend !== toRoute.backend) return false;
    return this.state.underLocks([from, to].sort(), async () => {
      const source = this.state.extents.get(from);
      // A dirty source's bytes are not in the cloud yet; anything queued for `to` would land after the copy.
      if (!source || source.dirty || source.size > SERVER_COPY_MAX || this.queue.op(to) !== undefined) return false;
      try {
        await fromRoute.backend.copy(CloudRoutes.remoteKey(fromRoute, from), CloudRoutes.remoteKey(toRoute, to));
      } catch (error) {
        throw storeError(error, from);
      }
      await this.dropLocal(to);
      const copy = this.newExtent(to);
      copy.resize(source.size);
      copy.metadata = { ...source.metadata };
      this.state.extents.set(to, copy);
      await this.catalog.putRecord(copy);
      return true;
    });
  }

  // ---- durability ----

  /**
   * Makes everything written so far to `keys` (default: every extent whose key
   * starts with `under`) durable on the cache disk, data and state, and queues it
   * for upload: all of it with `queueAll`, else what is not in a namespace that
   * uploads when drained (RouteOptions.uploadsWhenDrained).
   */
  async sync(keys?: readonly string[], under = '', queueAll = false): Promise<void> {
    const { state } = this;
    const candidates = keys ? keys.map((k) => state.extents.get(k)) : [...state.extents.values()].filter((e) => e.key.startsWith(under));
    const queues = (e: Extent) => queueAll || this.queuedOnSync(e.key);
    const extents = candidates.filter(
      (e): e is Extent => e !== undefined && e.dirty && (e.gen !== e.syncedGen || (queues(e) && this.queue.op(e.key) === undefined)),
    );
    if (extents.length === 0) return;
    const gens = extents.map((e) => e.gen);
    // Those synced since their last write are only to be queued: their files hold nothing new to flush
    // (a settled share file's upload, which syncs it first, flushed its file again before).
    const written = extents.filter((e) => e.gen !== e.syncedGen);
    // The files' data, the names of new ones, and the catalog's record of them flush at once (the
    // file system commits them together): a record that lands before its data after a power loss
    // is no harm, as recovery takes a dirty extent's checksums anew from what its file holds.
    await Promise.all([
      ...written.map((e) => this.files.datasync(e)),
      this.files.syncNames(written),
      // The state recorded is the state when the write happens, which covers at least what was
      // fsynced: an older snapshot landing after a newer sync would cut synced data off.
      this.catalog.persist((batch) => {
        for (const extent of extents) {
          if (state.extents.get(extent.key) !== extent) continue; // deleted meanwhile
          batch.put(extent.key, extent.toRecord(), { sublevel: this.catalog.index });
          if (extent.dirty && queues(extent) && this.queue.op(extent.key) !== 'put') this.queue.enqueue(batch, extent.key, 'put');
        }
      }, true),
    ]);
    extents.forEach((e, i) => (e.syncedGen = Math.max(e.syncedGen, gens[i]!)));
    this.queue.pump();
  }

  /** The engine's periodic writeback: sync() of every extent whose writes sync() queues. */
  writeback(): Promise<void> {
    return this.sync([...this.state.extents.keys()].filter((key) => this.queuedOnSync(key)));
  }

  /** Whether sync() queues the writes to `key`: not in a namespace that uploads when drained. */
  private queuedOnSync(key: string): boolean {
    return this.routes.of(key)?.uploadsWhenDrained !== true;
  }

  /** Resolves once everything written to `keys` (default: every key starting with `under`) is uploaded; see ExtentStore.drain(). */
  async drain(keys?: readonly string[], under = '', options: DrainOptions = {}): Promise<void> {
    const drained = async () => {
      await this.sync(keys, under, true);
      while (this.queue.pending(keys, under)) {
        this.assertOpen();
        await this.state.changed();
        // Written again since: queued here, as no writeback does in a namespace that uploads when drained.
        await this.sync(keys, under, true);
      }
    };
    const { yieldUntil } = options;
    if (!yieldUntil || yieldUntil.aborted) return this.queue.urgently(drained);
    const draining = drained();
    const hurried = () => void this.queue.urgently(() => draining).catch(() => undefined); // its caller hears the failure
    yieldUntil.addEventListener('abort', hurried, { once: true });
    return draining.finally(() => yieldUntil.removeEventListener('abort', hurried));
  }

  // ---- small helpers ----

  private route(key: string): Route {
    const route = this.routes.of(key);
    if (!route) throw new Error(`no namespace of the cache engine covers the key ${key}`);
    return route;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('cache engine is closed');
  }
}

/** S3 lists keys in the order of their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
