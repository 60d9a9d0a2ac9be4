// Whole reads and writes at a position of an extent file: the system may move
// fewer bytes than asked, so each loops until all of them have moved.
import { type FileHandle, open } from 'node:fs/promises';

/** The file ends before the bytes asked for. */
export class ShortReadError extends Error {
  override readonly name = 'ShortReadError';
}

export async function readFully(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  for (let at = 0; at < into.length; ) {
    const { bytesRead } = await handle.read(into, at, into.length - at, position + at);
    if (bytesRead === 0) throw new ShortReadError(`file ends at ${position + at}, ${into.length - at} bytes short`);
    at += bytesRead;
  }
}

/** Writes `pieces` end to end from `position`, in as few system calls as the system allows. */
export async function writeFully(handle: FileHandle, pieces: readonly Uint8Array[], position: number): Promise<void> {
  const rest = pieces.filter((p) => p.length > 0);
  for (let at = position; rest.length > 0; ) {
    let { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

/** fdatasync of the file or folder at `path`; nothing if it is gone (deleted since). */
export async function fsyncPath(path: string, flags: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
