// Reading a GET /metrics/history answer: one metric's series summed over its
// labels (every LUN's ReadBytes, say). Pure, with no imports: the console's
// front end uses it as `tapegw cache status` does.
import type { MetricsHistoryAnswer, MetricSeries } from './stats-types.ts';

/**
 * Per sample, the sum of `metric`'s series that `where` keeps (all by
 * default); null where none of them had a value.
 */
export function sumSeries(
  answer: MetricsHistoryAnswer,
  metric: string,
  where: (labels: MetricSeries['labels']) => boolean = () => true,
): (number | null)[] {
  const sums: (number | null)[] = answer.times.map(() => null);
  for (const series of answer.series) {
    if (series.metric !== metric || !where(series.labels)) continue;
    series.values.forEach((value, i) => {
      if (value !== null) sums[i] = (sums[i] ?? 0) + value;
    });
  }
  return sums;
}

/** The last value that is not null, or undefined. */
export function latest(values: readonly (number | null)[]): number | undefined {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = values[i];
    if (value !== null && value !== undefined) return value;
  }
  return undefined;
}
