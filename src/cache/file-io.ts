// Whole reads and writes at a position of an extent file: the system may move
// fewer bytes than asked, so each loops until all of them have moved.
import { type FileHandle, open } from 'node:fs/promises';
import { readUncached, writeInPieces, writeInPiecesSync } from '../fileio/fileio.ts';

/** The file ends before the bytes asked for. */
export class ShortReadError extends Error {
  override readonly name = 'ShortReadError';
}

/** Fills `into` from `position`; `uncached`, leaving no pages in the page cache (see readUncached()). */
export async function readFully(handle: FileHandle, into: Buffer, position: number, uncached = false): Promise<void> {
  for (let at = 0; at < into.length;) {
    const bytesRead = uncached
      ? await readUncached(handle.fd, into.subarray(at), position + at)
      : (await handle.read(into, at, into.length - at, position + at)).bytesRead;
    if (bytesRead === 0) throw new ShortReadError(`file ends at ${position + at}, ${into.length - at} bytes short`);
    at += bytesRead;
  }
}

/**
 * Writes `pieces` end to end from `position`, in as few system calls as the
 * system allows, or in calls of at most `piece` bytes; `uncached`, leaving the
 * page cache once on disk (see writeInPieces()).
 */
export async function writeFully(
  handle: FileHandle,
  pieces: readonly Uint8Array[],
  position: number,
  piece = Infinity,
  uncached = false,
): Promise<void> {
  if (piece < Infinity || uncached) return writeInPieces(handle.fd, pieces, position, piece, uncached);
  const rest = pieces.filter((p) => p.length > 0);
  for (let at = position; rest.length > 0;) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    dropFirst(rest, bytesWritten);
  }
}

/** writeFully() made on the calling thread: for the small writes an InlineWriteGate lets through. */
export function writeFullySync(fd: number, pieces: readonly Uint8Array[], position: number, piece = Infinity): void {
  writeInPiecesSync(fd, pieces, position, piece);
}

/** Drops the first `bytes` bytes of `rest` (what is left to write), in place. */
function dropFirst(rest: Uint8Array[], bytes: number): void {
  while (rest.length > 0 && bytes >= rest[0]!.length) bytes -= rest.shift()!.length;
  if (bytes > 0) rest[0] = rest[0]!.subarray(bytes);
}

/** Rethrows `error` unless it says the file is not there. */
export function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/** fdatasync of the file or folder at `path`; nothing if it is gone (deleted since). */
export async function fsyncPath(path: string, flags: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    ignoreMissing(error);
    return;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
