import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startApiServer } from '../../src/api/server.ts';
import { EngineMetrics } from '../../src/cache/metrics.ts';
import { silentLogger } from '../../src/log.ts';

describe('management API: /metrics', () => {
  it('serves the engine metrics in Prometheus text on loopback, and 404 elsewhere', async () => {
    const metrics = new EngineMetrics(
      () => ({ cacheBytes: 1000, usedBytes: 250, dirtyBytes: 100, uploadBufferBytes: 400, queueDepth: 3, hits: 3, misses: 1 }),
      new Registry(),
    );
    metrics.retried('throttle', 'put');
    metrics.uploaded(4096);
    const api = await startApiServer({ registry: metrics.registry, logger: silentLogger() });
    try {
      assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${api.url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      for (const line of [
        'CachePercentUsed 25',
        'CachePercentDirty 10',
        'CacheHitPercent 75',
        'UploadBufferPercentUsed 25',
        'UploadQueueDepth 3',
        'CloudBytesUploaded 4096',
        'CloudBytesDownloaded 0',
        'CloudRequestRetries{cause="throttle",operation="put"} 1',
        'UploadLatencySeconds_count 0',
      ]) {
        assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);
      }
      assert.equal((await fetch(`${api.url}/other`)).status, 404);
    } finally {
      await api.close();
    }
  });
});
