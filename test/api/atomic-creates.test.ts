// Parallel creates through the management API, over the real library service,
// catalog, library and cartridges (on an in-memory stand-in of the cache
// engine): every answer names exactly what exists, a conflict is 409, and a
// multi-tape create that fails leaves nothing behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { silentLogger } from '../../src/log.ts';
import { Cartridge, cartridgeKeys } from '../../src/tape/cartridge.ts';
import { LibraryService } from '../../src/tape/library-service.ts';
import { TapeCatalog } from '../../src/tape/tape-catalog.ts';
import type { TapeInfo } from '../../src/tape/tape-service.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';
import { callApi } from './call.ts';
import { libraryServiceOn } from '../tape/library-helpers.ts';

const MiB = 2 ** 20;
const TOKEN = 'atomic-creates-token';

/** Fault stand-in: the disk under the cache fills up while the Nth cartridge's manifest is written (a failure part-way through a create cannot be timed for real). */
class FillingStore extends MemoryCartridgeStore {
  manifestsLeft = Infinity;

  override async write(key: string, offset: number, data: Uint8Array): Promise<void> {
    if (key.includes('/manifest-') && this.manifestsLeft-- <= 0)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.write(key, offset, data);
  }
}

describe('management API: atomic creates', function () {
  this.timeout(60_000);
  let dir: string;
  let catalog: Catalog;
  let store: FillingStore;
  let tapes: TapeCatalog;
  let api: ApiServer;

  const start = async (storageSlots: number) => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-creates-'));
    catalog = await Catalog.open(join(dir, 'catalog'));
    store = new FillingStore();
    let service: LibraryService;
    ({ service, tapes } = await libraryServiceOn(catalog, store, { storageSlots, importExportSlots: 2 }));
    api = await startApiServer({ registry: new Registry(), logger: silentLogger(), tapes: service, token: TOKEN });
  };
  afterEach(async () => {
    await api.close();
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown) => callApi(api.url, TOKEN, method, path, body);
  const listed = async (): Promise<string[]> => (await call('GET', '/tapes')).json.tapes.map((t: TapeInfo) => t.barcode).sort();
  const statuses = (answers: { status: number }[]) =>
    answers
      .map((a) => a.status)
      .sort()
      .join(',');

  it('20 parallel creates of one barcode: one 201, nineteen 409, one tape', async () => {
    await start(40);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', '/tapes', { barcode: 'RACE01L5', sizeBytes: 64 * MiB })),
    );
    assert.equal(statuses(answers), ['201', ...Array(19).fill('409')].join(','));
    for (const refused of answers.filter((a) => a.status === 409)) assert.equal(refused.json.error.code, 'DUPLICATE_BARCODE');
    assert.deepEqual(await listed(), ['RACE01L5']);
  });

  it('20 parallel multi-tape creates: each answer names its own tapes, and the library holds exactly those', async () => {
    await start(50);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', '/tapes', { count: 3, barcodePrefix: 'PQR', sizeBytes: 64 * MiB })),
    );
    const created = answers.filter((a) => a.status === 201).flatMap((a) => a.json.tapes.map((t: TapeInfo) => t.barcode));
    assert.equal(answers.filter((a) => a.status === 201).length, 16, 'as many as 50 slots hold');
    for (const refused of answers.filter((a) => a.status !== 201)) {
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, 'NO_FREE_SLOT');
    }
    assert.equal(new Set(created).size, created.length, 'no barcode answered twice');
    assert.deepEqual(await listed(), created.sort());
    assert.deepEqual(
      (await tapes.all()).map((r) => r.barcode),
      created,
      'no record beyond what was answered',
    );
  });

  it('a multi-tape create that fails part-way leaves nothing behind, and its barcodes stay free', async () => {
    await start(10);
    assert.equal((await call('POST', '/tapes', { count: 1, barcodePrefix: 'PQR', sizeBytes: 64 * MiB })).status, 201);
    // Two manifest writes per new cartridge: the third cartridge of the next request fails.
    store.manifestsLeft = 5;
    const failed = await call('POST', '/tapes', { count: 3, barcodePrefix: 'PQR', sizeBytes: 64 * MiB });
    assert.equal(failed.status, 500);
    assert.deepEqual(await listed(), ['PQR001L5']);
    assert.deepEqual(
      (await tapes.all()).map((r) => r.barcode),
      ['PQR001L5'],
    );
    assert.deepEqual(
      [...store.objects.keys()].filter((k) => !k.startsWith(cartridgeKeys('PQR001L5').prefix)),
      [],
      'no objects of the undone tapes',
    );

    store.manifestsLeft = Infinity;
    const again = await call('POST', '/tapes', { count: 3, barcodePrefix: 'PQR', sizeBytes: 64 * MiB });
    assert.equal(again.status, 201);
    assert.deepEqual(
      again.json.tapes.map((t: TapeInfo) => t.barcode),
      ['PQR002L5', 'PQR003L5', 'PQR004L5'],
    );
  });

  it('a barcode the bucket already holds is a 409 that says to import it, and its cartridge is left alone', async () => {
    await start(10);
    await Cartridge.create(store, { barcode: 'OLD001L5', capacityBytes: 64 * MiB, segmentBytes: MiB });
    const manifests = cartridgeKeys('OLD001L5').manifests.map((k) => store.objects.get(k));
    const refused = await call('POST', '/tapes', { barcode: 'OLD001L5', sizeBytes: 64 * MiB });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, 'DUPLICATE_BARCODE');
    assert.match(refused.json.error.message, /tapegw tape import OLD001L5/);
    assert.deepEqual(
      cartridgeKeys('OLD001L5').manifests.map((k) => store.objects.get(k)),
      manifests,
    );
    assert.equal((await call('POST', '/tapes/OLD001L5/import')).status, 201);
  });
});
