// The engine's metrics, named after AWS Storage Gateway's CloudWatch metrics
// where AWS has one. Gauges are computed from the engine's state when scraped.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RetryCause } from '../cloud/retry.ts';
import type { StoreObserver } from '../cloud/object-backend.ts';

export interface EngineStats {
  cacheBytes: number;
  usedBytes: number;
  dirtyBytes: number;
  uploadBufferBytes: number;
  queueDepth: number;
  hits: number;
  misses: number;
}

export class EngineMetrics implements StoreObserver {
  readonly registry: Registry;
  private readonly bytesUploaded: Counter;
  private readonly bytesDownloaded: Counter;
  private readonly retries: Counter<'cause' | 'operation'>;
  private readonly uploadLatency: Histogram;

  constructor(stats: () => EngineStats, registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const percent = (name: string, help: string, value: (s: EngineStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect(this: Gauge) {
          this.set(value(stats()));
        },
      });
    const ratio = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);
    percent('CachePercentUsed', 'Percent of the cache disk in use.', (s) => ratio(s.usedBytes, s.cacheBytes));
    percent('CachePercentDirty', 'Percent of the cache disk holding data not yet uploaded.', (s) => ratio(s.dirtyBytes, s.cacheBytes));
    percent('CacheHitPercent', 'Percent of reads served from the cache since start.', (s) => ratio(s.hits, s.hits + s.misses));
    percent('UploadBufferPercentUsed', 'Percent of the upload buffer in use.', (s) => ratio(s.dirtyBytes, s.uploadBufferBytes));
    percent('UploadQueueDepth', 'Extents waiting to be uploaded or deleted.', (s) => s.queueDepth);
    this.bytesUploaded = new Counter({ name: 'CloudBytesUploaded', help: 'Bytes uploaded to the cloud.', registers });
    this.bytesDownloaded = new Counter({ name: 'CloudBytesDownloaded', help: 'Bytes downloaded from the cloud.', registers });
    this.retries = new Counter({
      name: 'CloudRequestRetries',
      help: 'Cloud requests retried, by cause (throttle, server, timeout, reset, checksum).',
      labelNames: ['cause', 'operation'],
      registers,
    });
    this.uploadLatency = new Histogram({
      name: 'UploadLatencySeconds',
      help: 'Time to upload one extent, retries included.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
  }

  retried(cause: RetryCause, operation: string): void {
    this.retries.inc({ cause, operation });
  }

  uploaded(bytes: number): void {
    this.bytesUploaded.inc(bytes);
  }

  downloaded(bytes: number): void {
    this.bytesDownloaded.inc(bytes);
  }

  observeUpload(seconds: number): void {
    this.uploadLatency.observe(seconds);
  }
}
