// Opening the cache after a stop or a crash: extents come back from their
// records, dirty ones are cut to their recorded size and checksummed anew
// (writes after the last sync count as made), clean ones forget blocks their
// file no longer holds, and files that no record knows are removed.
import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { crc32c } from '../crc32c/crc32c.ts';
import type { Logger } from '../log.ts';
import type { CacheState } from './cache-state.ts';
import type { CatalogLog } from './catalog-log.ts';
import { Extent, extentPath } from './extent.ts';
import { ignoreMissing, readFully } from './file-io.ts';

/** The 256 folders extent files are spread over. */
function folders(directory: string): string[] {
  return Array.from({ length: 256 }, (_, i) => `${directory}/${i.toString(16).padStart(2, '0')}`);
}

/** Takes back every extent the catalog records; the upload queue is recovered after this. */
export async function recoverExtents(directory: string, state: CacheState, catalog: CatalogLog, log: Logger): Promise<void> {
  await Promise.all(folders(directory).map((dir) => mkdir(dir, { recursive: true })));
  for await (const [key, record] of catalog.index.iterator()) {
    const extent = Extent.fromRecord(key, extentPath(directory, key), record);
    if (extent.dirty) {
      if (!(await recoverDirty(extent, log))) {
        await catalog.index.del(key);
        continue;
      }
      extent.state = 'dirty';
      state.dirtyBytes += extent.size;
    } else {
      const length = (await stat(extent.path).catch(() => undefined))?.size ?? 0;
      extent.present.forEach((p, b) => {
        if (p && b * extent.blockSize + extent.blockLength(b) > length) state.forget(extent, b);
      });
    }
    state.usedBytes += extent.presentBytes();
    state.extents.set(key, extent);
  }
  await removeOrphans(directory, state);
}

/**
 * A dirty extent after a restart: its file holds at least what the last sync
 * made durable, and possibly later writes that never reached a sync. Those are
 * as valid as the older bytes they replaced, so the checksums are taken anew.
 */
async function recoverDirty(extent: Extent, log: Logger): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(extent.path, 'r+');
  } catch {
    log.error({ key: extent.key, size: extent.size }, 'durable data lost: the extent file is gone');
    return false;
  }
  try {
    const { size } = await handle.stat();
    if (size < extent.size) {
      // Only a lost write-back of the disk itself (power, not a process crash) does this; keep what there is.
      log.error({ key: extent.key, size: extent.size, found: size }, 'extent file is shorter than recorded; keeping its bytes');
      extent.resize(size);
    }
    await handle.truncate(extent.size);
    const block = Buffer.allocUnsafe(extent.blockSize);
    let changed = 0;
    for (let b = 0; b < extent.crcs.length; b++) {
      const view = block.subarray(0, extent.blockLength(b));
      await readFully(handle, view, b * extent.blockSize);
      const crc = crc32c(view);
      if (crc !== extent.crcs[b]) changed++;
      extent.crcs[b] = crc;
      extent.present[b] = true;
    }
    if (changed > 0) log.info({ key: extent.key, blocks: changed }, 'extent holds writes made after its last sync');
    return true;
  } finally {
    await handle.close();
  }
}

/** Files of extents the index does not know: written, never synced, then a crash. */
async function removeOrphans(directory: string, state: CacheState): Promise<void> {
  const known = new Set([...state.extents.values()].map((e) => basename(e.path)));
  for (const dir of folders(directory)) {
    for (const name of await readdir(dir)) if (!known.has(name)) await unlink(`${dir}/${name}`).catch(ignoreMissing);
  }
}
