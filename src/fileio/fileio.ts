// File I/O that Node's fs does not offer (native: src/fileio/fileio.c, built by `npm ci` through node-gyp).
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { packageFile } from '../package-files.ts';

const addon = createRequire(import.meta.url)(packageFile('build', 'Release', 'fileio.node')) as {
  readCached(fd: number, buffer: Uint8Array, position: number): number;
  duplicateDescriptor(fd: number): number;
  threadSleeps(): number;
  writeInPieces(fd: number, slices: readonly Uint8Array[], position: number, piece: number, uncached?: boolean): Promise<void>;
  writeInPiecesSync(fd: number, slices: readonly Uint8Array[], position: number, piece: number): void;
  writeChecksummed(
    fd: number,
    slices: readonly Uint8Array[],
    position: number,
    piece: number,
    uncached: boolean,
    crcSlices: readonly Uint8Array[],
    writeback: boolean,
  ): Promise<number[]>;
  readUncached(fd: number, slices: readonly Uint8Array[], position: number): Promise<number>;
  readChecksummed(
    fd: number,
    buffer: readonly [Uint8Array],
    position: number,
    slices: readonly Uint8Array[],
    uncached: boolean,
  ): Promise<{ bytes: number; crcs: number[] }>;
};

/**
 * Fills `buffer` from `fd` at `position` if the page cache holds those bytes,
 * without blocking; the bytes read, or -1 when that is not possible right now
 * (then read through the thread pool, which also reports real errors).
 */
export function readCached(fd: number, buffer: Uint8Array, position: number): number {
  return addon.readCached(fd, buffer, position);
}

/**
 * Writes `slices` laid end to end from `position`, in system calls of at most
 * `piece` bytes, on a thread of libuv's pool (one round trip in all). The page
 * cache makes a file's new pages in folios as large as the write that makes
 * them, and a later small write into a large folio costs the kernel several
 * times more (ext4 walks all its blocks): a file that will take small random
 * writes is best written in small pieces from the start. Rejects with the
 * system's error (its `code`, e.g. ENOSPC). The slices must not change until it settles.
 * `uncached`: the pages written leave the page cache once on disk (RWF_DONTCACHE;
 * where the system lacks it, a plain write), for data not read again soon.
 */
export function writeInPieces(fd: number, slices: readonly Uint8Array[], position: number, piece: number, uncached = false): Promise<void> {
  return addon.writeInPieces(fd, slices, position, systemPiece(piece), uncached);
}

/**
 * Reads into `buffer` from `position` in one system call on a thread of
 * libuv's pool, leaving no pages in the page cache (RWF_DONTCACHE; where the
 * system lacks it, a plain read): for bytes written with writeInPieces(...,
 * uncached), whose pages are gone. Resolves to the bytes read (fewer at the
 * file's end); rejects with the system's error. The buffer must not change until it settles.
 */
export function readUncached(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  return addon.readUncached(fd, [buffer], position);
}

/**
 * Fills `buffer` from `position` (reading on after a short count until the
 * file ends), then takes the CRC32C of each of `slices`, views of `buffer`, in
 * one job on a thread of libuv's pool: one round trip through the pool where a
 * read and then its checksums took two. Resolves to the bytes read and, when
 * they filled the buffer, the slices' CRCs (unsigned, as crc32c() gives), else
 * none; rejects with the system's error. `uncached`: read as readUncached()
 * reads. Neither the buffer nor the slices may be used until it settles.
 */
export function readChecksummed(
  fd: number,
  buffer: Uint8Array,
  position: number,
  slices: readonly Uint8Array[],
  uncached = false,
): Promise<{ bytes: number; crcs: number[] }> {
  return addon.readChecksummed(fd, [buffer], position, slices, uncached);
}

/**
 * Takes the CRC32C of each of `crcSlices` (views of the bytes of `slices`),
 * then writes `slices` as writeInPieces() does, then, with `writeback`, starts
 * writing the range's dirty pages to disk (so that a later fdatasync has less
 * left to flush), all in one job on a thread of libuv's pool: a large write,
 * its checksums and its writeback as three jobs took three round trips through
 * the pool, each with a promise and a wake of a pool thread, a third of the
 * event loop thread's user time of a share's sequential write in 1 MiB WRITEs.
 * Resolves to the CRCs (unsigned, as crc32c() gives); rejects with the
 * system's error. No slice may change until it settles.
 */
export function writeChecksummed(
  fd: number,
  slices: readonly Uint8Array[],
  position: number,
  options: { readonly piece: number; readonly uncached: boolean; readonly crcSlices: readonly Uint8Array[]; readonly writeback: boolean },
): Promise<number[]> {
  return addon.writeChecksummed(fd, slices, position, systemPiece(options.piece), options.uncached, options.crcSlices, options.writeback);
}

/**
 * writeInPieces() made on the calling thread: returns once all of it is
 * written, or throws the system's error. For the small writes an
 * InlineWriteGate lets through: one native call, where fs.writevSync's
 * wrapper checked and copied its arguments first.
 */
export function writeInPiecesSync(fd: number, slices: readonly Uint8Array[], position: number, piece: number): void {
  addon.writeInPiecesSync(fd, slices, position, systemPiece(piece));
}

/** A new descriptor (close-on-exec) for the same file or socket as `fd`; throws with the system's message. */
function duplicateDescriptor(fd: number): number {
  return addon.duplicateDescriptor(fd);
}

/**
 * A duplicate of a connected socket's descriptor, or undefined where it has none
 * (a pipe-backed or already closed socket). Node keeps the descriptor in the
 * socket's private TCP handle, the only place it can be had from.
 */
export function duplicateSocketDescriptor(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? duplicateDescriptor(fd) : undefined;
}

/**
 * How many times the calling thread has slept (blocked) in the kernel, or -1
 * where the system does not say: compare the counts before and after a call to
 * learn whether it blocked. Being preempted does not count.
 */
export function threadSleeps(): number {
  return addon.threadSleeps();
}

/** A piece size the addon takes as an integer: Infinity (no bound) becomes the largest safe one. */
function systemPiece(piece: number): number {
  return Math.min(piece, Number.MAX_SAFE_INTEGER);
}
