// The metrics' history behind GET /metrics/history, on a real prom-client
// registry: counters become rates per second over each interval, gauges stay
// values, series that appear late or go away line up with the sample times,
// and nothing older than the history keeps survives. The clock is the test's.
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricsHistory } from '../../src/api/metrics-history.ts';
import { latest, sumSeries } from '../../src/api/metrics-series.ts';
import { silentLogger } from '../../src/log.ts';

describe('metrics history', () => {
  let registry: Registry;
  let now: number;
  let history: MetricsHistory;
  const T0 = 1_800_000_000_000;

  beforeEach(() => {
    registry = new Registry();
    now = T0;
    history = new MetricsHistory(registry, silentLogger(), { intervalMs: 5000, keepMs: 20_000, now: () => now });
  });

  const at = async (ms: number) => {
    now = T0 + ms;
    await history.sample();
  };

  it('turns counters into bytes per second over each interval and keeps gauges as they are', async () => {
    const uploaded = new Counter({ name: 'CloudBytesUploaded', help: 'h', registers: [registry] });
    const used = new Gauge({ name: 'CachePercentUsed', help: 'h', registers: [registry] });
    new Histogram({ name: 'UploadLatencySeconds', help: 'h', registers: [registry] }).observe(1);
    await at(0);
    uploaded.inc(10_000_000);
    used.set(12.5);
    await at(5000);
    uploaded.inc(4_000_000);
    await at(7000);

    const answer = history.answer();
    assert.equal(answer.intervalSeconds, 5);
    assert.deepEqual(answer.times, [T0, T0 + 5000, T0 + 7000]);
    assert.deepEqual(
      answer.series.map((s) => [s.metric, s.unit, s.values]),
      [
        ['CloudBytesUploaded', 'per-second', [null, 2_000_000, 2_000_000]],
        ['CachePercentUsed', 'value', [0, 12.5, 12.5]],
      ],
      'the first sample of a counter has no rate; histograms are left out',
    );
  });

  it('answers only the samples after `since`, and lines up series that appear later', async () => {
    const read = new Counter({ name: 'ReadBytes', help: 'h', labelNames: ['target', 'lun'], registers: [registry] });
    read.inc({ target: 'drive-01', lun: '0' }, 0);
    await at(0);
    read.inc({ target: 'drive-01', lun: '0' }, 5000);
    await at(5000);
    read.inc({ target: 'drive-02', lun: '0' }, 1000);
    await at(10_000);
    read.inc({ target: 'drive-02', lun: '0' }, 10_000);
    await at(15_000);

    const whole = history.answer();
    assert.deepEqual(
      whole.series.map((s) => [s.labels, s.values]),
      [
        [{ lun: '0', target: 'drive-01' }, [null, 1000, 0, 0]],
        [{ lun: '0', target: 'drive-02' }, [null, null, null, 2000]],
      ],
    );
    assert.deepEqual(sumSeries(whole, 'ReadBytes'), [null, 1000, 0, 2000]);
    assert.equal(latest(sumSeries(whole, 'ReadBytes', (labels) => labels['target'] === 'drive-01')), 0);

    const newer = history.answer(T0 + 5000);
    assert.deepEqual(newer.times, [T0 + 10_000, T0 + 15_000]);
    assert.deepEqual(
      newer.series.map((s) => s.values),
      [
        [0, 0],
        [null, 2000],
      ],
    );
    assert.deepEqual(history.answer(T0 + 15_000), { intervalSeconds: 5, times: [], series: [] });
  });

  it('forgets samples older than it keeps, and a series gone from the registry once none of its values is left', async () => {
    const gauge = new Gauge({ name: 'UploadQueueDepth', help: 'h', registers: [registry] });
    const old = new Gauge({ name: 'Leaving', help: 'h', registers: [registry] });
    old.set(3);
    await at(0);
    registry.removeSingleMetric('Leaving');
    for (let ms = 5000; ms <= 30_000; ms += 5000) {
      gauge.set(ms / 1000);
      await at(ms);
    }
    const answer = history.answer();
    assert.deepEqual(answer.times, [T0 + 10_000, T0 + 15_000, T0 + 20_000, T0 + 25_000, T0 + 30_000], 'the last 20 s');
    assert.deepEqual(
      answer.series.map((s) => [s.metric, s.values]),
      [['UploadQueueDepth', [10, 15, 20, 25, 30]]],
    );
  });

  it('gives a counter that went backwards no rate rather than a negative one', async () => {
    const counter = new Counter({ name: 'WriteBytes', help: 'h', registers: [registry] });
    counter.inc(100);
    await at(0);
    counter.reset();
    counter.inc(10);
    await at(5000);
    counter.inc(50);
    await at(10_000);
    assert.deepEqual(history.answer().series[0]!.values, [null, null, 10]);
  });
});
