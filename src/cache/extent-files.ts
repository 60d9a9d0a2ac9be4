// The extent files on the cache disk: kept open (the most recently used
// `openFiles` of them), written with their blocks' CRC32C taken in the same pass,
// and read back checked block by block. Every method but datasync() and
// syncNames() is called holding the extent's lock.
import { close, closeSync, fdatasync, openSync, renameSync } from 'node:fs';
import { constants, type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { ReadBuffers } from './extent-store.ts';
import { blockAndRangeCrcs, blockAndRangeCrcsOffThread, crc32cCombine } from '../crc32c/block-checksums.ts';
import { crc32c, withCrcsOffThread } from '../crc32c/crc32c.ts';
import { readCached, readChecksummed, writeChecksummed } from '../fileio/fileio.ts';
import { INLINE_WRITE_MAX, inlineWritable, InlineWriteGate } from '../fileio/inline-write-gate.ts';
import type { Logger } from '../log.ts';
import { must } from '../must.ts';
import type { CacheState } from './cache-state.ts';
import { CacheCorruptionError } from './errors.ts';
import { blockCount, type Extent } from './extent.ts';
import { fsyncPath, ignoreMissing, readFully, ShortReadError, writeFully, writeFullySync } from './file-io.ts';
import { FlushGroup } from './flush-group.ts';
import type { SpareFiles } from './spare-files.ts';

/** Bytes read; `crcs` of the ranges asked for when they came from checked blocks; `release` gives a reusable buffer back. */
export interface CheckedRead {
  data: Buffer;
  crcs?: number[];
  release?: () => void;
}

/** An extent file kept open, with the block last read and verified from it. */
interface OpenFile {
  handle: FileHandle;
  /** Its bytes are never written to once kept: read() hands out views of them. */
  verified?: { block: number; gen: number; crc: number; data: Buffer };
}

/** Extent files kept open unless the engine is told otherwise. */
export const OPEN_FILES = 16;
/** A read up to this size is first copied from the page cache on the event loop's thread (readCached), without a round trip through libuv's pool. */
const CACHED_READ_MAX = 128 * 1024;
/**
 * The files of extents whose checksum blocks are this small or smaller (a
 * volume's chunks, which take small random writes) are written in system calls
 * of at most this many bytes: the page cache then holds them in small folios,
 * into which a 4 KiB write costs ext4 13 us here against 50-90 us into the
 * 1 MiB folio of a chunk written whole (see writeInPieces() in src/fileio).
 */
const SMALL_FOLIO_BYTES = 16 * 1024;
/** Writes and reads at least this large are checksummed on libuv's pool, not on the event loop's thread that every session shares. */
const OFF_THREAD_CRC_BYTES = 256 * 1024;
/** Writes at least this large start their writeback at once (see write()). */
const WRITEBACK_MIN_BYTES = 1024 * 1024;
/** Streamed bytes written between two flushes ahead of a sync point (see flushAhead()). */
const FLUSH_AHEAD_BYTES = 64 * 1024 * 1024;
const fdatasyncDescriptor = promisify(fdatasync);

export class ExtentFiles {
  /** By key, least recently used first. */
  private readonly files = new Map<string, OpenFile>();
  /** Files writeNew() made, not yet flushed: their descriptors by key, oldest first. Each is closed by its datasync(), or when there are more than `openFiles`. */
  private readonly made = new Map<string, number>();
  /** Extent files this process created whose names their folder has not yet made durable, by key; each a token of that creation. */
  private readonly newNames = new Map<string, object>();
  /** The folders' flushes, shared by sync points that ask at once, each on a handle of the folder kept open. */
  private readonly folders = new Map<string, { flush: FlushGroup; handle?: Promise<FileHandle> }>();
  /** Streamed bytes written since the last flush ahead began. */
  private streamedSinceFlush = 0;
  /** The flush ahead running, of which extent's file: one at a time (see flushAhead()). */
  private flushingAhead: { key: string; done: Promise<void> } | undefined;
  /**
   * Errors of flushes ahead, by key, for the extent's next datasync() to
   * report: the system reports a write-back error to one flush of a
   * descriptor only, and the sync point's flush may use the same descriptor.
   */
  private readonly flushAheadErrors = new Map<string, Error>();

  constructor(
    private readonly state: CacheState,
    private readonly log: Logger,
    private readonly openFiles = OPEN_FILES,
    private readonly inlineWrites = new InlineWriteGate(),
    /** The cache's file system makes a new file's name durable with the file's fdatasync: its folder needs no flush. */
    private readonly namesDurableWithData = false,
    /** Empty files writeNew() renames into place instead of making one. */
    private readonly spares?: SpareFiles,
  ) {}

  /**
   * Writes `pieces` laid end to end from `offset` (`length` bytes in all),
   * growing the extent; resolves to the CRC32C of each piece, taken in the pass
   * that checksums the extent's blocks. The extent must hold all its blocks.
   * `uncached`: a large write's pages leave the page cache once on disk (RouteOptions.streamed).
   */
  async write(extent: Extent, offset: number, pieces: readonly Uint8Array[], length: number, uncached = false): Promise<number[]> {
    const w = spanOf(extent, offset, length);
    const file = await this.open(extent, true);
    const { handle } = file;
    file.verified = undefined;
    // A block the write covers only in part (or not at all: a gap it leaves) is checksummed whole, its old bytes verified, before the write.
    const patched = new Map<number, number>();
    for (let b = w.first; b <= w.last; b++) {
      if (!rewritesWhole(w, b))
        patched.set(b, crc32c(await this.patchedBlock(handle, extent, b, blockEnd(w, b) - b * w.block, offset, pieces)));
    }
    const checksums = (crcOf: (slice: Uint8Array) => number) => checksumsOf(w, extent, pieces, patched, crcOf);
    let sums: Checksums;
    if (length >= OFF_THREAD_CRC_BYTES) {
      // A large write's checksums are taken on libuv's pool, in the job that writes it. Its writeback starts
      // there too: a tape's data would otherwise all be flushed at its next sync point, while the drive waits.
      const piece = writePiece(extent);
      const writeback = length >= WRITEBACK_MIN_BYTES;
      sums = await withCrcsOffThread(checksums, (crcSlices) =>
        writeChecksummed(handle.fd, pieces, offset, { piece, uncached, crcSlices, writeback }),
      );
      if (uncached && writeback) this.flushAhead(extent.key, handle, length);
    } else {
      sums = checksums(crc32c);
      // A small write goes into the page cache from this thread when the gate allows: handing it to
      // libuv's pool cost more than the write itself (waking a pool thread is slow on a virtual machine),
      // and bounded a cached volume's 4 KiB writes. The extent's lock keeps its writes in order either way.
      const piece = writePiece(extent);
      if (!(inlineWritable(offset, length) && this.inlineWrites.tryWrite(() => writeFullySync(handle.fd, pieces, offset, piece))))
        await writeFully(handle, pieces, offset, piece);
    }
    return this.landed(extent, w, sums);
  }

  /**
   * write() made at once, on this thread, when nothing in it has to wait: the
   * extent's file is open, the write is small, of whole pages, and replaces
   * whole checksum blocks (no old bytes to read), and the inline write gate is
   * open. Returns the pieces' CRC32Cs, or undefined having done nothing. The
   * caller must be entitled to the extent's lock (nobody holds it) for the
   * call. An error of the write itself is thrown.
   */
  writeNow(extent: Extent, offset: number, pieces: readonly Uint8Array[], length: number): number[] | undefined {
    const file = this.files.get(extent.key);
    const fd = file?.handle.fd ?? this.made.get(extent.key);
    if (fd === undefined || length >= OFF_THREAD_CRC_BYTES || !inlineWritable(offset, length)) return undefined;
    const w = spanOf(extent, offset, length);
    for (let b = w.first; b <= w.last; b++) if (!rewritesWhole(w, b)) return undefined;
    const piece = writePiece(extent);
    if (!this.inlineWrites.tryWrite(() => writeFullySync(fd, pieces, offset, piece))) return undefined;
    if (file) {
      file.verified = undefined;
      this.files.delete(extent.key);
      this.files.set(extent.key, file);
    }
    return this.landed(extent, w, checksumsOf(w, extent, pieces, NO_PATCHES, crc32c));
  }

  /**
   * The first write of an extent not yet known, made at once on this thread
   * like writeNow(): its file is a spare renamed into place (or, with none
   * ready, made), written, and its descriptor kept for the datasync() that
   * follows (a share's new small file: CREATE, WRITE, COMMIT). Making the
   * file through libuv's pool was most of such a WRITE's time. A file left
   * at the path by no extent is replaced. The rename's entry is made durable
   * as a new file's is (syncNames()). Undefined, having done nothing, when
   * the gate is shut or the write is not a small one from 0. Of any length:
   * an empty file has no page the kernel must read before writing part of it.
   * The caller must be entitled to the extent's lock.
   */
  writeNew(extent: Extent, offset: number, pieces: readonly Uint8Array[], length: number): number[] | undefined {
    if (extent.size !== 0 || offset !== 0 || length > INLINE_WRITE_MAX) return undefined;
    if (this.files.has(extent.key) || this.made.has(extent.key)) return undefined;
    let fd: number | undefined;
    this.inlineWrites.tryWrite(() => {
      const spare = this.spares?.take();
      try {
        if (spare) renameSync(spare.path, extent.path);
        fd = spare?.fd ?? openSync(extent.path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL);
      } catch {
        if (spare) closeSync(spare.fd);
        return; // the pool's path makes or opens it, or reports the error
      }
      this.newNames.set(extent.key, {});
      try {
        writeFullySync(fd, pieces, offset, writePiece(extent));
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    });
    if (fd === undefined) return undefined;
    this.made.set(extent.key, fd);
    for (const [key, oldest] of this.made) {
      if (this.made.size <= this.openFiles) break;
      this.made.delete(key);
      this.closeMade(oldest);
    }
    const w = spanOf(extent, offset, length);
    return this.landed(extent, w, checksumsOf(w, extent, pieces, NO_PATCHES, crc32c));
  }

  /** The extent's books after a write that landed: its size, its blocks' checksums, the bytes used and dirty. */
  private landed(extent: Extent, w: WriteSpan, { crcs, pieceCrcs }: Checksums): number[] {
    extent.resize(w.size);
    for (let i = 0; i < crcs.length; i++) {
      extent.crcs[w.first + i] = crcs[i]!;
      extent.present[w.first + i] = true;
    }
    this.state.usedBytes += w.size - w.before;
    this.state.written(extent, w.before);
    return pieceCrcs;
  }

  /** Block `b` as it will be after the write: its verified old bytes, zeros past the old end, the new bytes over them. */
  private async patchedBlock(
    handle: FileHandle,
    extent: Extent,
    b: number,
    length: number,
    offset: number,
    pieces: readonly Uint8Array[],
  ): Promise<Buffer> {
    const from = b * extent.blockSize;
    const block = Buffer.alloc(length);
    const old = Math.max(0, Math.min(extent.size - from, extent.blockSize));
    if (old > 0) {
      await readFully(handle, block.subarray(0, old), from);
      if (crc32c(block.subarray(0, old)) !== extent.crcs[b]) throw new CacheCorruptionError(extent.key, b, extent.blockSize);
    }
    let at = Math.max(offset, from) - from;
    forEachSlice(pieces, offset, from, from + length, (slice) => {
      block.set(slice, at);
      at += slice.length;
    });
    return block;
  }

  /** Cuts the extent to `size` bytes (no more than it holds); it must hold all its blocks. */
  async truncate(extent: Extent, size: number): Promise<void> {
    const BLOCK = extent.blockSize;
    const last = blockCount(size, BLOCK) - 1;
    const tail = size % BLOCK !== 0 ? (await this.read(extent, last * BLOCK, size - last * BLOCK)).data : undefined;
    const file = await this.open(extent, true);
    file.verified = undefined;
    await file.handle.truncate(size);
    const before = extent.size;
    extent.resize(size);
    if (tail) extent.crcs[last] = crc32c(tail);
    this.state.usedBytes -= before - size;
    this.state.written(extent, before);
  }

  /**
   * Reads from the extent's file, checking every block touched against its
   * CRC32C; with the CRCs of `lengths` (ranges from `offset`) taken in that pass,
   * except for a block remembered from the last read. A large read goes into a
   * buffer of `pool` when given. `uncached`: pages the page cache lacks are read without being kept (RouteOptions.streamed).
   * `onThisThread`: bytes the page cache holds are read and checked here at any size (ReadOptions).
   */
  async read(
    extent: Extent,
    offset: number,
    length: number,
    lengths: readonly number[] = [],
    pool?: ReadBuffers,
    uncached = false,
    onThisThread = false,
  ): Promise<CheckedRead> {
    if (length === 0) return { data: Buffer.alloc(0) };
    const BLOCK = extent.blockSize;
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + length - 1) / BLOCK);
    const start = first * BLOCK;
    const size = Math.min(extent.size, (last + 1) * BLOCK) - start;
    const unopened = size <= CACHED_READ_MAX && !this.files.has(extent.key) ? this.readUnopened(extent, start, size) : undefined;
    let file: OpenFile | undefined;
    if (!unopened) {
      try {
        file = await this.open(extent, false);
      } catch (error) {
        // A file gone behind our back is damage like any other.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CacheCorruptionError(extent.key, first, extent.blockSize);
        throw error;
      }
      const kept = file.verified;
      if (
        kept &&
        first === last &&
        kept.block === first &&
        kept.gen === extent.gen &&
        kept.crc === extent.crcs[first] &&
        extent.present[first]
      ) {
        return { data: kept.data.subarray(offset - start, offset - start + length) };
      }
    }
    // A reader of consecutive small ranges reads and checks each block once; a larger read is not kept whole, and may use a reusable buffer.
    const remembered = file !== undefined && last - first < 2;
    const reused = unopened === undefined && pool && last - first >= 2;
    const buffer = unopened ?? (reused ? pool.take(size) : Buffer.allocUnsafe(size));
    let ranges: number[];
    try {
      let blocks: number[];
      if (file && ((size > CACHED_READ_MAX && !onThisThread) || readCached(file.handle.fd, buffer, start) !== size)) {
        // Read and checked in one job on the pool: its round trips, not the copy or the checksums, were most of a large read's time.
        const { fd } = file.handle;
        ({ blocks, ranges } = await blockAndRangeCrcsOffThread(buffer, BLOCK, offset - start, lengths, async (slices) => {
          const { bytes, crcs } = await readChecksummed(fd, buffer, start, slices, uncached);
          if (bytes < size) throw new ShortReadError(`file ends at ${start + bytes}, ${size - bytes} bytes short`);
          return crcs;
        }));
      } else {
        ({ blocks, ranges } = blockAndRangeCrcs(buffer, BLOCK, offset - start, lengths)); // at most CACHED_READ_MAX, or asked for onThisThread: checked here
      }
      blocks.forEach((crc, i) => {
        if (crc !== extent.crcs[first + i]) throw new CacheCorruptionError(extent.key, first + i, extent.blockSize);
      });
    } catch (error) {
      if (reused) pool.give(buffer);
      if (error instanceof ShortReadError) throw new CacheCorruptionError(extent.key, first, extent.blockSize);
      throw error;
    }
    if (file && remembered) {
      const at = (last - first) * BLOCK;
      file.verified = { block: last, gen: extent.gen, crc: extent.crcs[last]!, data: buffer.subarray(at) };
    }
    const data = buffer.subarray(offset - start, offset - start + length);
    return reused ? { data, crcs: ranges, release: () => pool.give(buffer) } : { data, crcs: ranges };
  }

  /**
   * A small read of an extent whose file is not open, made on this thread:
   * open, read from the page cache, close. Opening through libuv's pool took
   * 80-125 us of a 4 KiB NFS READ's 150-230 (waking a pool thread is slow on a
   * virtual machine), and a share's small files are each read once, so keeping
   * them open would not pay. An open can sleep on a directory read from disk,
   * as a write can on dirty pages: it goes through the inline gate, which
   * stays shut for a while after a call that slept. Undefined, having read
   * nothing, when the gate is shut, the bytes are not all in the page cache or
   * the open fails (the pool's path then reads them, or reports the error).
   */
  private readUnopened(extent: Extent, start: number, size: number): Buffer | undefined {
    let read: Buffer | undefined;
    this.inlineWrites.tryWrite(() => {
      let fd: number;
      try {
        fd = openSync(extent.path, constants.O_RDONLY);
      } catch {
        return;
      }
      try {
        const buffer = Buffer.allocUnsafe(size);
        if (readCached(fd, buffer, start) === size) read = buffer;
      } finally {
        closeSync(fd);
      }
    });
    return read;
  }

  /** Keeps bytes fetched from the cloud, `data` from `start` (a block boundary): the blocks they cover become present. */
  async keep(extent: Extent, start: number, data: Buffer): Promise<void> {
    const file = await this.open(extent, true);
    file.verified = undefined;
    await writeFully(file.handle, [data], start, writePiece(extent));
    const BLOCK = extent.blockSize;
    const first = start / BLOCK;
    for (let b = first; b <= blockCount(start + data.length, BLOCK) - 1; b++) {
      if (!extent.present[b]) this.state.usedBytes += extent.blockLength(b);
      extent.crcs[b] = crc32c(data.subarray((b - first) * BLOCK, (b - first + 1) * BLOCK));
      extent.present[b] = true;
    }
  }

  /**
   * Makes the names of the extents' files durable in their folders, for files
   * created since their folder was last flushed: one flush per folder, shared
   * by callers that ask at once. Called beside the files' own datasync(): on a
   * file system where that covers a new file's name (`namesDurableWithData`,
   * src/fileio/name-durability.ts), it flushes nothing.
   */
  async syncNames(extents: readonly Extent[]): Promise<void> {
    const created = extents.flatMap((extent) => {
      const token = this.newNames.get(extent.key);
      return token ? [{ extent, token }] : [];
    });
    if (created.length === 0) return;
    if (!this.namesDurableWithData)
      await Promise.all(
        [...new Set(created.map(({ extent }) => dirname(extent.path)))].map((folder) => this.folderFlush(folder).request()),
      );
    // A file removed and made again meanwhile has a new name to flush.
    for (const { extent, token } of created) if (this.newNames.get(extent.key) === token) this.newNames.delete(extent.key);
  }

  private folderFlush(folder: string): FlushGroup {
    let known = this.folders.get(folder);
    if (!known) {
      const kept: { flush: FlushGroup; handle?: Promise<FileHandle> } = {
        flush: new FlushGroup(async () => {
          kept.handle ??= open(folder, 'r');
          kept.handle.catch(() => (kept.handle = undefined));
          await (await kept.handle).datasync();
        }),
      };
      this.folders.set(folder, (known = kept));
    }
    return known.flush;
  }

  /**
   * fdatasync of the extent's file: on the handle kept open when there is one
   * (Node closes a handle only once the calls on it have ended), else on a
   * handle of its own, so that it needs no lock. Nothing if the file is gone.
   */
  async datasync(extent: Extent): Promise<void> {
    if (this.flushingAhead?.key === extent.key) await this.flushingAhead.done;
    const failed = this.flushAheadErrors.get(extent.key);
    if (failed !== undefined) {
      this.flushAheadErrors.delete(extent.key);
      throw failed;
    }
    const made = this.made.get(extent.key);
    if (made !== undefined) {
      // Taken out first: nothing else closes it, nor writes through it, while the flush runs.
      this.made.delete(extent.key);
      try {
        await fdatasyncDescriptor(made);
      } finally {
        this.closeMade(made);
      }
      return;
    }
    const file = this.files.get(extent.key);
    await (file ? file.handle.datasync() : fsyncPath(extent.path, 'r+'));
  }

  /**
   * Flushes a streamed extent's file after every FLUSH_AHEAD_BYTES of streamed
   * writes, in the background, one flush at a time. Starting the writeback is
   * not enough where the disk has a write cache of its own (a virtual disk on
   * its host's page cache): the bytes sit there until a flush, and the sync
   * point's flush then waits for all of them, the drives idle meanwhile. A
   * flush is of the whole disk's cache, so one at a time serves every file.
   */
  private flushAhead(key: string, handle: FileHandle, length: number): void {
    this.streamedSinceFlush += length;
    if (this.flushingAhead || this.streamedSinceFlush < FLUSH_AHEAD_BYTES) return;
    this.streamedSinceFlush = 0;
    const done = handle
      .datasync()
      .catch((err: unknown) => void this.flushAheadErrors.set(key, err instanceof Error ? err : new Error(String(err))))
      .finally(() => (this.flushingAhead = undefined));
    this.flushingAhead = { key, done };
  }

  /** Closes a descriptor of writeNew()'s: on this thread when the gate is open (a close costs microseconds), else through the pool. */
  private closeMade(fd: number): void {
    if (!this.inlineWrites.tryWrite(() => closeSync(fd)))
      close(fd, (err) => err && this.log.warn({ err }, 'closing a new extent file failed'));
  }

  /** Closes and removes the extent's file; what it held is no longer counted. */
  async remove(extent: Extent): Promise<void> {
    this.newNames.delete(extent.key);
    this.flushAheadErrors.delete(extent.key);
    const made = this.made.get(extent.key);
    if (made !== undefined) {
      this.made.delete(extent.key);
      this.closeMade(made);
    }
    await this.close(extent.key);
    await unlink(extent.path).catch(ignoreMissing);
  }

  /** The extent's file, kept open; `create`: made if missing. */
  private async open(extent: Extent, create: boolean): Promise<OpenFile> {
    const known = this.files.get(extent.key);
    if (known) {
      this.files.delete(extent.key);
      this.files.set(extent.key, known);
      return known;
    }
    const file: OpenFile = { handle: create ? await this.create(extent) : await open(extent.path, constants.O_RDWR) };
    this.files.set(extent.key, file);
    for (const key of this.files.keys()) {
      if (this.files.size <= this.openFiles) break;
      // A file whose extent is locked may be in use by its holder.
      if (!this.state.locks.held(key))
        void this.close(key).catch((err: unknown) => this.log.warn({ err, key }, 'closing an extent file failed'));
    }
    return file;
  }

  /** Opens the extent's file, making it if missing (its name then waits for syncNames()). */
  private async create(extent: Extent): Promise<FileHandle> {
    try {
      const handle = await open(extent.path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL);
      this.newNames.set(extent.key, {});
      return handle;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return open(extent.path, constants.O_RDWR);
    }
  }

  async close(key: string): Promise<void> {
    const file = this.files.get(key);
    if (!file) return;
    this.files.delete(key);
    await file.handle.close();
  }

  /** Closes every file, each under its extent's lock, and the folders' handles. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.files.keys()].map((key) => this.state.locks.run(key, () => this.close(key))));
    for (const fd of this.made.values()) closeSync(fd);
    this.made.clear();
    const folders = [...this.folders.values()];
    this.folders.clear();
    await Promise.all(folders.map(async ({ handle }) => (await handle?.catch(() => undefined))?.close()));
  }
}

/** Where a write falls in its extent: bytes [offset, end) of an extent of `before` bytes growing to `size`, blocks first..last. */
interface WriteSpan {
  readonly offset: number;
  readonly end: number;
  readonly before: number;
  readonly size: number;
  readonly block: number;
  readonly first: number;
  readonly last: number;
}

interface Checksums {
  /** Of the blocks first..last as they are after the write. */
  crcs: number[];
  pieceCrcs: number[];
}

const NO_PATCHES: ReadonlyMap<number, number> = new Map();

function spanOf(extent: Extent, offset: number, length: number): WriteSpan {
  const before = extent.size;
  const end = offset + length;
  const block = extent.blockSize;
  // From the old end's block when the write leaves a gap; to the write's last block, not the extent's: those after it do not change.
  return {
    offset,
    end,
    before,
    size: Math.max(before, end),
    block,
    first: Math.floor(Math.min(offset, before) / block),
    last: Math.floor((end - 1) / block),
  };
}

function blockEnd(w: WriteSpan, b: number): number {
  return Math.min((b + 1) * w.block, w.size);
}

/** Whether the write gives block `b` all its bytes, or appends to it at the old end: either way no old byte of it needs reading. */
function rewritesWhole(w: WriteSpan, b: number): boolean {
  const from = b * w.block;
  const to = blockEnd(w, b);
  return (w.offset <= from && w.end >= to) || (w.offset === w.before && from < w.before && w.end >= to);
}

/**
 * The blocks' and the pieces' CRC32Cs after the write, each new byte
 * checksummed once: its CRC goes into its block's and its piece's. A block
 * in `patched` was checksummed whole already.
 */
function checksumsOf(
  w: WriteSpan,
  extent: Extent,
  pieces: readonly Uint8Array[],
  patched: ReadonlyMap<number, number>,
  crcOf: (slice: Uint8Array) => number,
): Checksums {
  const crcs: number[] = [];
  const pieceCrcs = pieces.map(() => 0);
  for (let b = w.first; b <= w.last; b++) {
    const from = b * w.block;
    const to = blockEnd(w, b);
    const whole = patched.get(b);
    // A block appended to at its old end continues its old CRC; the pieces' CRCs need every new byte, also of a patched block.
    const appended = whole === undefined && w.offset > from;
    let crc = appended ? must(extent.crcs[b], 'the CRC of a block appended to') : 0;
    const lo = appended ? w.offset : from;
    for (let i = 0, at = w.offset; i < pieces.length && at < to; i++) {
      const piece = must(pieces[i], 'a piece');
      const sliceFrom = Math.max(at, lo) - at;
      const sliceTo = Math.min(piece.length, to - at);
      at += piece.length;
      if (sliceFrom >= sliceTo) continue;
      const slice = sliceFrom === 0 && sliceTo === piece.length ? piece : piece.subarray(sliceFrom, sliceTo);
      const sliceCrc = crcOf(slice);
      crc = crc32cCombine(crc, sliceCrc, slice.length);
      pieceCrcs[i] = crc32cCombine(must(pieceCrcs[i], 'a piece CRC'), sliceCrc, slice.length);
    }
    crcs.push(whole ?? crc);
  }
  return { crcs, pieceCrcs };
}

/** The most one system call writes to the extent's file (see SMALL_FOLIO_BYTES). */
function writePiece(extent: Extent): number {
  return extent.blockSize <= SMALL_FOLIO_BYTES ? SMALL_FOLIO_BYTES : Infinity;
}

/** Calls `each` with the parts of `pieces` (laid end to end from `offset`) that fall within [from, to), in order, and the index of their piece. */
function forEachSlice(
  pieces: readonly Uint8Array[],
  offset: number,
  from: number,
  to: number,
  each: (slice: Uint8Array, piece: number) => void,
): void {
  let at = offset;
  for (let i = 0; i < pieces.length && at < to; at += pieces[i]!.length, i++) {
    const lo = Math.max(at, from);
    const hi = Math.min(at + pieces[i]!.length, to);
    if (lo < hi) each(pieces[i]!.subarray(lo - at, hi - at), i);
  }
}
