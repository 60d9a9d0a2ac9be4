// The data directory's layout. Everything the gateway keeps lives under it, so
// a second gateway on the same directory is refused by the catalog's lock.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Catalog } from '../catalog/catalog.ts';
import { GatewayError } from './errors.ts';

export interface DataDirLayout {
  readonly root: string;
  readonly catalog: string;
  /** Objects of the embedded S3 endpoint. */
  readonly s3: string;
  /** One sparse file per block volume. */
  readonly volumes: string;
  /** The cache engine's extent files. */
  readonly cache: string;
  /** Vaults, archives and jobs of the embedded Glacier endpoint. */
  readonly glacier: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    catalog: join(root, 'catalog'),
    s3: join(root, 's3'),
    volumes: join(root, 'volumes'),
    cache: join(root, 'cache'),
    glacier: join(root, 'glacier'),
  };
}

export async function createDataDir(layout: DataDirLayout): Promise<void> {
  try {
    for (const dir of [layout.root, layout.catalog, layout.s3, layout.volumes, layout.cache, layout.glacier])
      await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new GatewayError(
      'DATA_DIR_UNUSABLE',
      `cannot create the data directory ${layout.root}: ${(err as Error).message}; choose a writable one with --data-dir or GATEWAY_DATA_DIR`,
      { cause: err },
    );
  }
}

/** Opens the catalog, which locks the data directory for this process. */
export async function openCatalog(layout: DataDirLayout): Promise<Catalog> {
  try {
    return await Catalog.open(layout.catalog);
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
      throw new GatewayError(
        'DATA_DIR_LOCKED',
        `the data directory ${layout.root} is in use by another running gateway: stop that one, or give this one its own directory with --data-dir or GATEWAY_DATA_DIR`,
        { cause: err },
      );
    }
    throw new GatewayError('DATA_DIR_UNUSABLE', `cannot open the catalog in ${layout.catalog}: ${(err as Error).message}`, { cause: err });
  }
}
