// Read-only routes about the gateway's state as a whole: the cache and its
// upload bandwidth (GET /cache), and the recent history of its metrics
// (GET /metrics/history). The console draws them; `tapegw cache status`
// prints them.
import { rateAt, type BandwidthSchedule } from '../cache/bandwidth.ts';
import type { EngineStats } from '../cache/metrics.ts';
import { HttpError } from './http.ts';
import type { MetricsHistory } from './metrics-history.ts';
import type { Route } from './router.ts';
import type { CacheStatus } from './stats-types.ts';

/** What the gateway tells the API about its cache. */
export interface CacheSource {
  stats(): EngineStats;
  /** The upload bandwidth schedule the engine runs with. */
  readonly bandwidth: BandwidthSchedule;
}

export function statsRoutes(options: { readonly history: MetricsHistory; readonly cache?: CacheSource | undefined }): Route[] {
  const { history, cache } = options;
  return [
    {
      method: 'GET',
      path: '/metrics/history',
      handle: async ({ query }) => ({ status: 200, body: history.answer(since(query.get('since'))) }),
    },
    ...(cache
      ? [
          {
            method: 'GET' as const,
            path: '/cache',
            handle: async () => ({ status: 200, body: cacheStatus(cache.stats(), cache.bandwidth, new Date()) }),
          },
        ]
      : []),
  ];
}

export function cacheStatus(stats: EngineStats, schedule: BandwidthSchedule, now: Date): CacheStatus {
  const reads = stats.hits + stats.misses;
  const limitNow = rateAt(schedule, now);
  return {
    cacheBytes: stats.cacheBytes,
    usedBytes: stats.usedBytes,
    dirtyBytes: stats.dirtyBytes,
    uploadBufferBytes: stats.uploadBufferBytes,
    queueDepth: stats.queueDepth,
    hitPercent: reads > 0 ? (100 * stats.hits) / reads : 0,
    bandwidth: {
      ...(schedule.defaultUploadBitsPerSecond === undefined ? {} : { defaultUploadBitsPerSecond: schedule.defaultUploadBitsPerSecond }),
      intervals: schedule.intervals ?? [],
      ...(limitNow === undefined ? {} : { uploadBitsPerSecondNow: limitNow }),
    },
  };
}

function since(value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = Number(value);
  if (value.trim() === '' || !Number.isFinite(ms)) {
    throw new HttpError(
      400,
      'INVALID_REQUEST',
      `since must be a time in milliseconds since the epoch, such as the last of the "times" of an earlier answer, e.g. ?since=${Date.now()}`,
    );
  }
  return ms;
}
