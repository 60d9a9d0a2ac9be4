// A short history of the gateway's own metrics, kept in memory for the
// console's charts (GET /metrics/history): every few seconds each counter and
// gauge of the registry GET /metrics serves is sampled, counters as their
// increase per second over the interval, gauges as they are. An hour at 5 s
// is 720 samples of a few dozen series: well under a megabyte.
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { MetricSeries, MetricsHistoryAnswer } from './stats-types.ts';

export interface MetricsHistoryOptions {
  /** Default 5 s. */
  readonly intervalMs?: number;
  /** How far back samples are kept; default one hour. */
  readonly keepMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

interface Tracked {
  readonly metric: string;
  readonly labels: Record<string, string>;
  readonly unit: MetricSeries['unit'];
  readonly values: (number | null)[];
  /** A counter's value at the previous sample, for the next rate. */
  last?: { readonly value: number; readonly at: number };
}

export class MetricsHistory {
  readonly intervalMs: number;
  private readonly keepMs: number;
  private readonly now: () => number;
  private readonly times: number[] = [];
  private readonly series = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
    options: MetricsHistoryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.keepMs = options.keepMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  /** Samples every interval from now on, the first one at once (it seeds the counters' rates). */
  start(): void {
    const tick = () => {
      // A sample still running (a slow collect) is not stacked on.
      this.sampling ??= this.sample()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'sampling the metrics for their history failed'))
        .finally(() => (this.sampling = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
  }

  /** Takes one sample of every counter and gauge, and forgets samples older than the history keeps. */
  async sample(): Promise<void> {
    const metrics = await this.registry.getMetricsAsJSON();
    const at = this.now();
    const seen = new Set<string>();
    for (const metric of metrics) {
      // The typings say an enum; prom-client's objects carry the type's name.
      const type = String(metric.type);
      if (type !== 'counter' && type !== 'gauge') continue;
      for (const { value, labels } of metric.values) {
        const names = Object.keys(labels).sort();
        const key = `${metric.name}{${names.map((name) => `${name}=${JSON.stringify(String(labels[name]))}`).join(',')}}`;
        let tracked = this.series.get(key);
        if (!tracked) {
          tracked = {
            metric: metric.name,
            labels: Object.fromEntries(names.map((name) => [name, String(labels[name])])),
            unit: type === 'counter' ? 'per-second' : 'value',
            values: this.times.map(() => null),
          };
          this.series.set(key, tracked);
        }
        seen.add(key);
        tracked.values.push(type === 'counter' ? rate(tracked, value, at) : value);
      }
    }
    this.times.push(at);
    for (const [key, tracked] of this.series) {
      if (seen.has(key)) continue;
      tracked.values.push(null);
      tracked.last = undefined;
    }
    this.forgetBefore(at - this.keepMs, seen);
  }

  /** The samples taken after `afterMs` (all of them without it), each series that has a value among them. */
  answer(afterMs?: number): MetricsHistoryAnswer {
    const from = afterMs === undefined ? 0 : this.times.findIndex((time) => time > afterMs);
    const start = from < 0 ? this.times.length : from;
    const series: MetricSeries[] = [];
    for (const { metric, labels, unit, values } of this.series.values()) {
      const slice = values.slice(start);
      if (slice.some((value) => value !== null)) series.push({ metric, labels, unit, values: slice });
    }
    return { intervalSeconds: this.intervalMs / 1000, times: this.times.slice(start), series };
  }

  /** A series gone from the registry is dropped once none of its values is left. */
  private forgetBefore(limit: number, seen: ReadonlySet<string>): void {
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! < limit) drop++;
    if (drop === 0) return;
    this.times.splice(0, drop);
    for (const [key, tracked] of this.series) {
      tracked.values.splice(0, drop);
      if (!seen.has(key) && tracked.values.every((value) => value === null)) this.series.delete(key);
    }
  }
}

/** The counter's increase per second since the previous sample; null for its first sample, or after a reset. */
function rate(tracked: Tracked, value: number, at: number): number | null {
  const last = tracked.last;
  tracked.last = { value, at };
  if (!last || value < last.value || at <= last.at) return null;
  return ((value - last.value) * 1000) / (at - last.at);
}
