// Deleting an archive from the shelf under a pool's retention lock, with the
// real parts in one process (catalog, cache engine on s3rver, library, the
// local Glacier endpoint) and the management API's routes over HTTP; the
// shelf's clock is the one thing set by the test, to let retention expire.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { CacheEngine } from '../../src/cache/engine.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { startLocalGlacier, type LocalGlacier } from '../../src/cloud/local-glacier/index.ts';
import { Vault } from '../../src/cloud/vault.ts';
import { silentLogger } from '../../src/log.ts';
import { ShelfCatalog } from '../../src/shelf/shelf-catalog.ts';
import { Shelf } from '../../src/shelf/shelf.ts';
import { Cartridges } from '../../src/tape/cartridges.ts';
import { Library } from '../../src/tape/library.ts';
import { LibraryService } from '../../src/tape/library-service.ts';
import { PoolCatalog } from '../../src/tape/pools.ts';
import { TapeCatalog } from '../../src/tape/tape-catalog.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';

const DAY = 86_400_000;
const credentials = { accessKeyId: 'AKIDSHELF', secretAccessKey: 'shelf-test-secret' };

describe('vault shelf retention lock', function () {
  this.timeout(120_000);
  let dir: string;
  let s3: S3Fixture;
  let glacier: LocalGlacier;
  let catalog: Catalog;
  let engine: CacheEngine;
  let shelf: Shelf;
  let server: ApiServer;
  let pools: PoolCatalog;
  let cartridges: Cartridges;
  let library: Library;
  const vaults = new Map<string, Vault>();
  let now = new Date();
  const token = 'shelf-test-token';

  before(async () => {
    dir = await tempDir('tapegw-retention-');
    s3 = await startS3();
    glacier = await startLocalGlacier({ directory: join(dir, 'glacier'), credentials, jobDelaySeconds: 0 });
    catalog = await Catalog.open(join(dir, 'catalog'));
    const logger = silentLogger();
    engine = await CacheEngine.open({ directory: join(dir, 'cache'), catalog, s3: s3.settings, cacheBytes: 256 * 1024 * 1024, uploadBufferBytes: 64 * 1024 * 1024, logger });
    const tapes = new TapeCatalog(catalog);
    cartridges = new Cartridges(engine, tapes, 1024 * 1024);
    library = await Library.open({ catalog, cartridges, drives: [{ vendor: 'IBM', product: 'ULT3580-TD5', serial: '0000000001' }], storageSlots: 4, importExportSlots: 2 });
    pools = new PoolCatalog(catalog, { GLACIER: { kind: 'vault', vault: 'glacier' }, DEEP_ARCHIVE: { kind: 'vault', vault: 'deep' } });
    const vault = (name: string) => {
      if (!vaults.has(name)) vaults.set(name, new Vault({ vault: name, endpoint: glacier.endpoint, region: 'us-east-1', credentials }));
      return vaults.get(name)!;
    };
    shelf = await Shelf.open({ shelf: new ShelfCatalog(catalog), tapes, pools, library, engine, vault, defaultTier: 'Expedited', logger, now: () => now });
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
    server = await startApiServer({ registry: new Registry(), logger, tapes: service, shelf, token });
  });

  after(async () => {
    await server.close();
    await shelf.close();
    for (const vault of vaults.values()) vault.close();
    await engine.close();
    await catalog.close();
    await glacier.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async function archivedIn(pool: string, barcode: string): Promise<void> {
    await pools.create({ name: pool, destination: { kind: 'vault', vault: `${pool.toLowerCase()}-vault` }, retention: { mode: pool.startsWith('GOV') ? 'GOVERNANCE' : 'COMPLIANCE', days: 30 } });
    await cartridges.create({ barcode, sizeBytes: 64 * 1024 * 1024, pool, worm: false });
    await library.insert(barcode, 'slot');
    const archiving = await call('POST', `/tapes/${barcode}/archive`);
    assert.equal(archiving.status, 202, JSON.stringify(archiving.body));
    for (let i = 0; i < 600 && (await shelf.describeShelfTape(barcode)).status !== 'ARCHIVED'; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await shelf.describeShelfTape(barcode)).status, 'ARCHIVED');
  }

  it('refuses to delete a GOVERNANCE-locked archive with a clear error, and deletes it when told to bypass', async () => {
    now = new Date();
    await archivedIn('GOV-30D', 'RET001L5');
    const info = (await call('GET', '/shelf/RET001L5')).body;
    assert.ok(info.retentionUntil > now.toISOString(), 'the shelf says until when');

    const refused = await call('DELETE', '/shelf/RET001L5');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'RETENTION_LOCKED');
    assert.match(refused.body.error.message, /GOVERNANCE retention lock keeps it until .*--bypass-governance-retention/);
    assert.equal((await vaults.get('gov-30d-vault')!.describe()).archives, 1, 'the archive is still there');

    assert.equal((await call('DELETE', '/shelf/RET001L5', { bypassGovernanceRetention: true })).status, 204);
    assert.equal((await vaults.get('gov-30d-vault')!.describe()).archives, 0);
    assert.equal((await call('GET', '/shelf/RET001L5')).status, 404);
  });

  it('refuses to delete a COMPLIANCE-locked archive even with the bypass, and deletes it once retention has expired', async () => {
    now = new Date();
    await archivedIn('COMPLIANCE-30D', 'RET002L5');
    const bypass = await call('DELETE', '/shelf/RET002L5', { bypassGovernanceRetention: true });
    assert.equal(bypass.status, 409);
    assert.equal(bypass.body.error.code, 'RETENTION_LOCKED');
    assert.match(bypass.body.error.message, /COMPLIANCE retention lock .*nobody can delete it/);

    now = new Date(Date.now() + 31 * DAY);
    assert.equal((await call('DELETE', '/shelf/RET002L5')).status, 204);
    assert.equal((await vaults.get('compliance-30d-vault')!.describe()).archives, 0);
  });

  it('answers what to do instead for requests the shelf refuses', async () => {
    const missing = await call('POST', '/shelf/NOPE01L5/retrieve');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'TAPE_NOT_FOUND');
    const tier = await call('POST', '/shelf/NOPE01L5/retrieve', { tier: 'Fast' });
    assert.equal(tier.status, 400);
    assert.match(tier.body.error.message, /Expedited/);
  });
});
