// Eviction: above the high watermark, clean extents are dropped least recently
// used first down to the low one; dirty and uploading ones never are. The index
// keeps their size, so the next read fetches them again.
import type { CacheState } from './cache-state.ts';
import type { CatalogLog } from './catalog-log.ts';
import type { Extent } from './extent.ts';
import type { ExtentFiles } from './extent-files.ts';

export class Evictor {
  private evicting: Promise<void> | undefined;

  constructor(
    private readonly state: CacheState,
    private readonly files: ExtentFiles,
    private readonly log: CatalogLog,
    private readonly limits: { readonly cacheBytes: number; readonly high: number; readonly low: number },
  ) {}

  /** Above the high watermark (counting `incoming` bytes), drops clean extents, least recently used first, down to the low one. `spare` is kept. */
  evictIfNeeded(incoming = 0, spare?: Extent): Promise<void> {
    const { cacheBytes, high, low } = this.limits;
    const { state } = this;
    if (state.usedBytes + incoming <= high * cacheBytes) return Promise.resolve();
    this.evicting ??= (async () => {
      try {
        for (const extent of [...state.extents.values()]) {
          if (state.usedBytes + incoming <= low * cacheBytes) break;
          // Busy extents are skipped: their holder may itself be waiting for this eviction.
          if (extent === spare || extent.dirty || extent.presentBytes() === 0 || state.locks.held(extent.key)) continue;
          await state.locks.run(extent.key, async () => {
            if (extent.dirty || state.extents.get(extent.key) !== extent) return;
            await this.files.remove(extent);
            state.forget(extent);
            await this.log.putRecord(extent);
          });
        }
      } finally {
        this.evicting = undefined;
        state.notify();
      }
    })();
    return this.evicting;
  }
}
