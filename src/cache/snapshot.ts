// An extent's bytes as they are at one moment, read from its file piece by
// piece as an upload sends them. Every block is checked against its checksum of
// that moment, so bytes changed since (by a later write, or on the disk) are
// never sent under checksums that do not describe them.
import { open } from 'node:fs/promises';
import { crc32c } from '../crc32c/crc32c.ts';
import type { PutSource } from '../cloud/object-backend.ts';
import type { Extent } from './extent.ts';
import { readFully, ShortReadError } from './file-io.ts';

/** A block read for an upload no longer holds the bytes the upload began with. */
export class SnapshotChangedError extends Error {
  override readonly name = 'SnapshotChangedError';
  constructor(
    readonly key: string,
    readonly block: number,
    /** The generation the snapshot was taken at. */
    readonly gen: number,
  ) {
    super(`block ${block} of ${key} no longer holds what generation ${gen} wrote there`);
  }
}

export interface Snapshot extends PutSource {
  /** The extent's generation at that moment. */
  readonly gen: number;
  /** Its user metadata at that moment. */
  readonly metadata: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Takes the snapshot; call with the extent's lock held (the file then exists and
 * no write is half done). An empty extent may have no file (one that only
 * setMetadata() made: a share's empty file or directory marker): there is nothing to read.
 * `uncached`: its reads leave no pages in the page cache (RouteOptions.streamed).
 */
export async function snapshot(extent: Extent, uncached = false): Promise<Snapshot> {
  const handle = extent.size === 0 ? undefined : await open(extent.path, 'r');
  const { key, gen, size, blockSize: BLOCK } = extent;
  const crcs = extent.crcs.slice();
  return {
    gen,
    metadata: { ...extent.metadata },
    size,
    checksums: { blockSize: BLOCK, crcs },
    async read(offset, length, into) {
      const data = into.subarray(0, length);
      if (!handle) throw new SnapshotChangedError(key, Math.floor(offset / BLOCK), gen);
      try {
        await readFully(handle, data, offset, uncached);
      } catch (error) {
        if (error instanceof ShortReadError) throw new SnapshotChangedError(key, Math.floor(offset / BLOCK), gen);
        throw error;
      }
      for (let at = 0; at < length; at += BLOCK) {
        const block = (offset + at) / BLOCK;
        if (crc32c(data.subarray(at, at + BLOCK)) !== crcs[block]) throw new SnapshotChangedError(key, block, gen);
      }
      return data;
    },
    close: async () => handle?.close(),
  };
}
