import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ObjectStore } from '../../src/cloud/object-store.ts';
import { startApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import { MiB, openEngine, pattern } from '../cache/helpers.ts';
import { startFaultInjector, type FaultInjector } from './fault-injector.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { tempDir, type S3Fixture } from './helpers.ts';

/** Reads a counter's value per label set from the Prometheus text the endpoint serves. */
function scrape(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describeEachBackend('@slow cloud faults: the engine through the fault injector', function (backend) {
  this.timeout(240_000);
  let s3: S3Fixture;
  let faults: FaultInjector;
  const dirs: string[] = [];

  before(async () => {
    s3 = await backend.bucket();
    faults = await startFaultInjector({ target: s3.settings.endpoint!, rate: 0.1, seed: 20261122 });
  });
  after(async () => {
    await faults.close();
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('with ~10% of requests failing, stalling or reset, every byte arrives intact and the retries show in /metrics', async () => {
    const settings = {
      ...s3.settings,
      endpoint: faults.endpoint,
      prefix: 'faults/',
      multipartThreshold: 8 * MiB,
      minPartSize: 5 * MiB,
      idleTimeoutMs: 1_000,
      retry: { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 500 },
    };
    const sizes = new Map<string, number>();
    for (let i = 0; i < 40; i++) sizes.set(`share/f-${i}`, 300_000 + ((i * 7919) % 9) * 150_001);
    sizes.set('tape/BIG001L5/seg-0', 20 * MiB + 77);

    const dir = await tempDir('faults-');
    dirs.push(dir);
    const writer = await openEngine(dir, settings, { uploadConcurrency: 4 });
    const api = await startApiServer({ registry: writer.engine.metrics.registry, logger: silentLogger() });
    let text: string;
    try {
      for (const [key, size] of sizes) await writer.store.write(key, 0, pattern(key, size));
      await writer.store.drain();
      text = await (await fetch(`${api.url}/metrics`)).text();
    } finally {
      await api.close();
      await writer.close();
    }

    const direct = new ObjectStore(s3.settings);
    try {
      for (const [key, size] of sizes)
        assert.ok((await direct.get(`faults/${key}`)).data.equals(pattern(key, size)), `${key} intact in S3`);
    } finally {
      direct.close();
    }

    const readerDir = await tempDir('faults-read-');
    dirs.push(readerDir);
    const reader = await openEngine(readerDir, settings);
    try {
      for (const [key, size] of sizes)
        assert.ok((await reader.store.read(key, 0, size)).equals(pattern(key, size)), `${key} read back through faults`);
    } finally {
      await reader.close();
    }

    const retries = scrape(text, 'CloudRequestRetries');
    const byCause = (cause: string) =>
      [...retries].filter(([labels]) => labels.includes(`cause="${cause}"`)).reduce((sum, [, v]) => sum + v, 0);
    const { injected } = faults;
    assert.ok(Object.values(injected).reduce((a, b) => a + b) >= 5, `faults injected: ${JSON.stringify(injected)} of ${faults.requests}`);
    if (injected['internal-error'] > 0) assert.ok(byCause('server') > 0, text);
    if (injected['slow-down'] > 0) assert.ok(byCause('throttle') > 0, text);
    if (injected.stall > 0) assert.ok(byCause('timeout') > 0, text);
    if (injected['reset-before'] > 0) assert.ok(byCause('reset') > 0, text);
    assert.ok(scrape(text, 'CloudBytesUploaded').get('')! >= [...sizes.values()].reduce((a, b) => a + b));
    for (const name of [
      'CachePercentUsed',
      'CachePercentDirty',
      'CacheHitPercent',
      'UploadBufferPercentUsed',
      'UploadQueueDepth',
      'CloudBytesDownloaded',
    ]) {
      assert.ok(scrape(text, name).size > 0, `${name} served`);
    }
    assert.ok(scrape(text, 'UploadLatencySeconds_count').get('')! >= sizes.size);
  });
});
