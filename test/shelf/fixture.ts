// A shelf with real parts in one process: the catalog, the cache engine on
// s3rver, a library, the local Glacier endpoint, and the management API's
// routes over HTTP. The shelf's clock is the one thing a test sets (to let a
// retention lock expire).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startApiServer } from '../../src/api/server.ts';
import { CacheEngine } from '../../src/cache/engine.ts';
import type { OpenBackend } from '../../src/cloud/object-backend.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { startLocalGlacier } from '../../src/cloud/local-glacier/index.ts';
import { Vault } from '../../src/cloud/vault.ts';
import { silentLogger } from '../../src/log.ts';
import { ShelfCatalog } from '../../src/shelf/shelf-catalog.ts';
import { Shelf } from '../../src/shelf/shelf.ts';
import type { ExtentStore } from '../../src/cache/extent-store.ts';
import { TAPES_NAMESPACE } from '../../src/tape/cartridge.ts';
import { CartridgeLifecycle } from '../../src/tape/cartridge-lifecycle.ts';
import { Library } from '../../src/tape/library.ts';
import { LibraryService } from '../../src/tape/library-service.ts';
import { PoolCatalog } from '../../src/tape/pools.ts';
import { TapeCatalog } from '../../src/tape/tape-catalog.ts';
import { startS3, tempDir } from '../cloud/helpers.ts';

const credentials = { accessKeyId: 'AKIDSHELF', secretAccessKey: 'shelf-test-secret' };
const TOKEN = 'shelf-test-token';
/** A vault name whose client points at a port nothing listens on: Glacier unreachable. */
export const UNREACHABLE_VAULT = 'unreachable';

export type ShelfFixture = Awaited<ReturnType<typeof startShelfFixture>>;

export async function startShelfFixture(options: {
  jobDelaySeconds: number;
  /** The tapes' store as the shelf sees it; a test may watch its calls. */ shelfStore?: (store: ExtentStore) => ExtentStore;
}) {
  const dir = await tempDir('tapegw-shelf-');
  const s3 = await startS3();
  const glacier = await startLocalGlacier({ directory: join(dir, 'glacier'), credentials, jobDelaySeconds: options.jobDelaySeconds });
  const catalog = await Catalog.open(join(dir, 'catalog'));
  const logger = silentLogger();
  const backend: OpenBackend = (hooks) => new ObjectStore(s3.settings, hooks);
  const engine = await CacheEngine.open({
    directory: join(dir, 'cache'),
    catalog,
    backend,
    cacheBytes: 256 * 1024 * 1024,
    uploadBufferBytes: 64 * 1024 * 1024,
    logger,
  });
  const tapeStore = engine.namespace(TAPES_NAMESPACE);
  const tapes = new TapeCatalog(catalog);
  const cartridges = new CartridgeLifecycle(tapeStore, tapes, 1024 * 1024);
  const library = await Library.open({
    catalog,
    cartridges,
    drives: [{ vendor: 'IBM', product: 'ULT3580-TD5', serial: '0000000001' }],
    storageSlots: 4,
    importExportSlots: 2,
  });
  const pools = new PoolCatalog(catalog, { GLACIER: { kind: 'vault', vault: 'glacier' }, DEEP_ARCHIVE: { kind: 'vault', vault: 'deep' } });
  const vaults = new Map<string, Vault>();
  const vault = (name: string): Vault => {
    if (!vaults.has(name)) {
      const endpoint = name === UNREACHABLE_VAULT ? 'http://127.0.0.1:9' : glacier.endpoint;
      vaults.set(name, new Vault({ vault: name, endpoint, region: 'us-east-1', credentials, retry: { maxAttempts: 2, baseDelayMs: 10 } }));
    }
    return vaults.get(name)!;
  };
  const clock = { now: new Date() };
  const shelf = await Shelf.open({
    shelf: new ShelfCatalog(catalog),
    tapes,
    pools,
    library,
    tapeStore: options.shelfStore?.(tapeStore) ?? tapeStore,
    vault,
    defaultTier: 'Expedited',
    logger,
    now: () => clock.now,
    retryDelayMs: [50, 500],
  });
  const service = new LibraryService({
    library,
    cartridges,
    tapes,
    pools,
    minTapeBytes: 1024 * 1024,
    maxTapeBytes: 1024 ** 4,
    mediaSuffix: 'L5',
    changer: { target: 'changer', lun: 0, serial: 'C' },
    drives: [{ target: 'drive', lun: 0, serial: '0000000001' }],
  });
  const server = await startApiServer({ registry: new Registry(), logger, tapes: service, shelf, token: TOKEN });

  return {
    shelf,
    library,
    cartridges,
    pools,
    engine,
    tapeStore,
    clock,
    vault,
    async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    /** A new, empty cartridge in a storage slot. */
    async cartridge(barcode: string, pool = 'GLACIER'): Promise<void> {
      await cartridges.create({ barcode, sizeBytes: 64 * 1024 * 1024, pool, worm: false });
      await library.insert(barcode, 'slot');
    },
    async until(barcode: string, status: string): Promise<void> {
      for (let i = 0; i < 1200; i++) {
        if ((await shelf.describeShelfTape(barcode).catch(() => undefined))?.status === status) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${barcode} did not become ${status} within 60 s`);
    },
    async close(): Promise<void> {
      await server.close();
      await shelf.close();
      for (const v of vaults.values()) v.close();
      await engine.close();
      await catalog.close();
      await glacier.close();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
