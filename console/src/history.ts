// The metrics' history the console holds: what it had, plus the samples of a
// newer answer, no more than the last hour.
import type { MetricSeries, MetricsHistoryAnswer } from '../../src/api/stats-types.ts';

const KEEP_MS = 3_600_000;

const keyOf = (series: MetricSeries) => `${series.metric}${JSON.stringify(series.labels)}`;

export function mergeHistory(old: MetricsHistoryAnswer, increment: MetricsHistoryAnswer): MetricsHistoryAnswer {
  if (increment.times.length === 0) return old;
  const times = [...old.times, ...increment.times];
  const newer = new Map(increment.series.map((series) => [keyOf(series), series]));
  const series: MetricSeries[] = old.series.map((series) => ({
    ...series,
    values: [...series.values, ...(newer.get(keyOf(series))?.values ?? increment.times.map(() => null))],
  }));
  const known = new Set(old.series.map(keyOf));
  for (const [key, fresh] of newer) {
    if (!known.has(key)) series.push({ ...fresh, values: [...old.times.map(() => null), ...fresh.values] });
  }
  const from = times.findIndex((time) => time >= times.at(-1)! - KEEP_MS);
  return {
    intervalSeconds: increment.intervalSeconds,
    times: times.slice(from),
    series: series.map((s) => ({ ...s, values: s.values.slice(from) })).filter((s) => s.values.some((value) => value !== null)),
  };
}
