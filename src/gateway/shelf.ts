// The vault shelf as the gateway runs it: the built-in pools' vaults from the
// configuration, and the shelf's jobs over the library, the cache engine's
// tapes namespace and Glacier.
import type { ExtentStore } from '../cache/extent-store.ts';
import type { ArchiveBucket } from '../cloud/archive-bucket.ts';
import type { EncryptionKeys } from '../cloud/encryption-keys.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { GlacierConfig, ShelfConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { ShelfCatalog } from '../shelf/shelf-catalog.ts';
import { Shelf } from '../shelf/shelf.ts';
import type { BuiltInPool, PoolCatalog } from '../tape/pools.ts';
import type { PoolDestination } from '../tape/tape-service.ts';
import type { GlacierConnection } from './glacier.ts';
import type { TapeLibraryParts } from './tape-library.ts';

/**
 * Where the built-in pools archive to. A vault named in the configuration is
 * used. Otherwise, on AWS, the S3 storage class of the pool's name, in the
 * gateway's bucket: Amazon Glacier's vault API takes no new customers since
 * 15 December 2025, and AWS's own tape gateway archives to the storage
 * classes. Elsewhere (the embedded endpoint, a Glacier endpoint by URL) a
 * vault named after the gateway.
 */
export function builtInPoolDestinations(
  config: ShelfConfig,
  glacier: Pick<GlacierConfig, 'endpoint'>,
  gatewayName: string,
): Record<BuiltInPool, PoolDestination> {
  const destination = (pool: BuiltInPool, vault: string | undefined, suffix: string): PoolDestination => {
    if (vault !== undefined) return { kind: 'vault', vault };
    if (glacier.endpoint === 'aws') return { kind: 'storage-class', storageClass: pool };
    return { kind: 'vault', vault: `${gatewayName}-${suffix}` };
  };
  return {
    GLACIER: destination('GLACIER', config.glacierVault, 'glacier'),
    DEEP_ARCHIVE: destination('DEEP_ARCHIVE', config.deepArchiveVault, 'deep-archive'),
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
  /** Client-side encryption's keys: archives are sealed with them. */
  encryption?: EncryptionKeys;
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
    ...(options.encryption ? { encryption: options.encryption } : {}),
    defaultTier: options.config.retrievalTier,
    logger: options.logger,
  });
}
