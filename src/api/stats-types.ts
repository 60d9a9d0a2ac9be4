// What GET /cache and GET /metrics/history answer. Types only, with no
// imports: the console's front end (console/) type-checks against them too.

/** One interval of a weekly upload bandwidth schedule (as AWS Storage Gateway has). */
export interface BandwidthIntervalInfo {
  /** 0 = Sunday … 6 = Saturday. */
  readonly daysOfWeek: readonly number[];
  /** Minutes after midnight, gateway local time: start inclusive, end exclusive. */
  readonly startMinute: number;
  readonly endMinute: number;
  readonly uploadBitsPerSecond: number;
}

export interface BandwidthStatus {
  /** Outside every interval; absent = unlimited. */
  readonly defaultUploadBitsPerSecond?: number;
  readonly intervals: readonly BandwidthIntervalInfo[];
  /** The limit in force now; absent = unlimited. */
  readonly uploadBitsPerSecondNow?: number;
}

export interface CacheStatus {
  /** The cache disk's budget. */
  readonly cacheBytes: number;
  readonly usedBytes: number;
  /** Written and not yet uploaded; also what fills the upload buffer. */
  readonly dirtyBytes: number;
  readonly uploadBufferBytes: number;
  /** Uploads and deletes waiting. */
  readonly queueDepth: number;
  /** Reads served from the cache since start, in percent (0 before any read). */
  readonly hitPercent: number;
  readonly bandwidth: BandwidthStatus;
}

export interface MetricSeries {
  /** The metric's name as GET /metrics shows it, e.g. CloudBytesUploaded. */
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  /** per-second: a counter's increase per second over each interval; value: a gauge's value at the sample. */
  readonly unit: 'per-second' | 'value';
  /** One per entry of `times`; null where the series did not exist yet. */
  readonly values: readonly (number | null)[];
}

export interface MetricsHistoryAnswer {
  /** Seconds between samples. */
  readonly intervalSeconds: number;
  /** When each sample was taken, milliseconds since the epoch, oldest first. */
  readonly times: readonly number[];
  readonly series: readonly MetricSeries[];
}
