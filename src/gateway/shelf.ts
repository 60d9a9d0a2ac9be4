// The vault shelf as the gateway runs it: the built-in pools' vaults from the
// configuration, and the shelf's jobs over the library, the cache engine's
// tapes namespace and Glacier.
import type { ExtentStore } from '../cache/extent-store.ts';
import type { ArchiveBucket } from '../cloud/archive-bucket.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { ShelfConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { ShelfCatalog } from '../shelf/shelf-catalog.ts';
import { Shelf } from '../shelf/shelf.ts';
import type { BuiltInPool, PoolCatalog } from '../tape/pools.ts';
import type { PoolDestination } from '../tape/tape-service.ts';
import type { GlacierConnection } from './glacier.ts';
import type { TapeLibraryParts } from './tape-library.ts';

/** Where the built-in pools archive to: the configured vaults, else ones named after the gateway. */
export function builtInPoolDestinations(config: ShelfConfig, gatewayName: string): Record<BuiltInPool, PoolDestination> {
  return {
    GLACIER: { kind: 'vault', vault: config.glacierVault ?? `${gatewayName}-glacier` },
    DEEP_ARCHIVE: { kind: 'vault', vault: config.deepArchiveVault ?? `${gatewayName}-deep-archive` },
  };
}

export function openShelf(options: {
  config: ShelfConfig;
  catalog: Catalog;
  tapeLibrary: Pick<TapeLibraryParts, 'library' | 'tapes'>;
  /** The engine's tapes namespace. */
  tapeStore: ExtentStore;
  pools: PoolCatalog;
  glacier: GlacierConnection;
  /** The bucket storage-class pools archive to. */
  archiveBucket?: ArchiveBucket;
  logger: Logger;
}): Promise<Shelf> {
  return Shelf.open({
    shelf: new ShelfCatalog(options.catalog),
    tapes: options.tapeLibrary.tapes,
    pools: options.pools,
    library: options.tapeLibrary.library,
    tapeStore: options.tapeStore,
    vault: (name) => options.glacier.vault(name),
    ...(options.archiveBucket ? { archiveBucket: options.archiveBucket } : {}),
    defaultTier: options.config.retrievalTier,
    logger: options.logger,
  });
}
