// S3 down, as the operator meets it through the management API: creating a
// tape while every S3 request answers 503 SlowDown is refused with 503
// OBJECT_STORE_UNAVAILABLE naming the endpoint and bucket, once the engine has
// given up retrying; nothing is left behind, and the same request succeeds
// once S3 answers again. The real engine, library and API, with s3rver behind
// the fault injector (s3rver itself cannot be made to answer 503).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { CacheEngine } from '../../src/cache/engine.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { silentLogger } from '../../src/log.ts';
import { TAPES_NAMESPACE } from '../../src/tape/cartridge.ts';
import { startFaultInjector, type FaultInjector } from '../cloud/fault-injector.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { callApi } from './call.ts';
import { libraryServiceOn } from '../tape/library-helpers.ts';

const MiB = 2 ** 20;
const TOKEN = 'store-unavailable-token';

describe('@slow management API with S3 unavailable', function () {
  this.timeout(120_000);
  let dir: string;
  let s3: S3Fixture;
  let faults: FaultInjector;
  let catalog: Catalog;
  let engine: CacheEngine;
  let api: ApiServer;

  before(async () => {
    dir = await tempDir('store-unavailable-');
    s3 = await startS3();
    faults = await startFaultInjector({ target: s3.settings.endpoint!, rate: 0, seed: 18, only: ['slow-down'] });
    catalog = await Catalog.open(join(dir, 'catalog'));
    const settings = { ...s3.settings, endpoint: faults.endpoint, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } };
    engine = await CacheEngine.open({
      directory: join(dir, 'cache'),
      catalog,
      backend: (hooks) => new ObjectStore(settings, hooks),
      cacheBytes: 64 * MiB,
      uploadBufferBytes: 16 * MiB,
      logger: silentLogger(),
    });
    const { service } = await libraryServiceOn(catalog, engine.namespace(TAPES_NAMESPACE), { storageSlots: 4, importExportSlots: 1 });
    api = await startApiServer({ registry: new Registry(), logger: silentLogger(), tapes: service, token: TOKEN });
  });
  after(async () => {
    await api.close();
    await engine.close();
    await catalog.close();
    await faults.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown) => callApi(api.url, TOKEN, method, path, body);

  it('answers 503 naming the endpoint while S3 answers 503, and creates the tape once S3 is back', async () => {
    faults.setRate(1);
    const refused = await call('POST', '/tapes', { barcode: 'DOWN01L5', sizeBytes: 64 * MiB });
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.code, 'OBJECT_STORE_UNAVAILABLE');
    assert.match(
      refused.json.error.message,
      new RegExp(
        `^the object store at ${faults.endpoint}, bucket ${s3.settings.bucket} is unavailable \\(it answered HTTP 503( SlowDown)?\\), and the gateway gave up retrying: check that the endpoint answers \\(s3\\.endpoint\\)`,
      ),
    );
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.ok(faults.injected['slow-down'] >= 3, 'S3 was asked, and retried');
    assert.deepEqual((await call('GET', '/tapes')).json.tapes, [], 'nothing left behind');

    faults.setRate(0);
    const created = await call('POST', '/tapes', { barcode: 'DOWN01L5', sizeBytes: 64 * MiB });
    assert.equal(created.status, 201, JSON.stringify(created.json));
  });
});
