// Durable files: write to a temporary name, fsync, rename, fsync the directory,
// so a crash leaves the old file or the new one, never half of one.
import { open, rename, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Temporary files live here, on the same file system, until renamed into place. */
export function tempPath(root: string): string {
  return join(root, 'tmp', `${Date.now()}-${randomBytes(8).toString('hex')}`);
}

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves a file already synced into place durably. */
export async function moveIntoPlace(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
  await syncDirectory(dirname(to));
}

export async function writeFileDurably(root: string, path: string, data: Buffer | string): Promise<void> {
  const temp = tempPath(root);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await moveIntoPlace(temp, path);
}

export async function writeJson(root: string, path: string, value: unknown): Promise<void> {
  await writeFileDurably(root, path, JSON.stringify(value));
}

/** Reads a JSON file, refusing one larger than `maxBytes` before reading it; undefined when absent. */
export async function readJson<T>(path: string, maxBytes = 1024 * 1024): Promise<T | undefined> {
  const data = await readBounded(path, maxBytes);
  return data === undefined ? undefined : (JSON.parse(data.toString('utf8')) as T);
}

/** A whole file of at most `maxBytes` (checked before allocating); undefined when absent. */
export async function readBounded(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new Error(`${path} holds ${size} bytes, more than the ${maxBytes} expected`);
    const data = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(data, 0, size, 0);
    if (bytesRead !== size) throw new Error(`${path}: read ${bytesRead} of ${size} bytes`);
    return data;
  } finally {
    await handle.close();
  }
}
