// The cache and the cloud: how full the cache, its dirty part and the upload
// buffer are; upload/download and iSCSI read/write rates over the last hour
// from the gateway's own metrics; the upload bandwidth schedule.
import { useMemo } from 'preact/hooks';
import { sumSeries } from '../../../src/api/metrics-series.ts';
import type { CacheStatus, MetricsHistoryAnswer } from '../../../src/api/stats-types.ts';
import { Loading, PollProblem, TableScroller, ViewHeading } from '../components/common.tsx';
import { Gauge } from '../components/gauge.tsx';
import { RateChart, type ChartSeries } from '../components/rate-chart.tsx';
import { humanBitRate, humanSize, humanWeeklyInterval } from '../format.ts';
import { useHistory, usePoll } from '../live.ts';

export function CacheView() {
  const cache = usePoll<CacheStatus>('/cache');
  const history = useHistory();
  const status = cache.data;
  return (
    <>
      <ViewHeading title="Cache and cloud">
        Data lands in the cache, then the gateway uploads it; reads come from the cache when they can.
      </ViewHeading>
      <PollProblem error={cache.error ?? history.error} />
      {status ? (
        <>
          <section aria-labelledby="gauges-heading">
            <h2 id="gauges-heading">Cache</h2>
            <div class="gauges">
              <Gauge
                label="Cache used"
                part={status.usedBytes}
                whole={status.cacheBytes}
                detail={`${humanSize(status.usedBytes)} of ${humanSize(status.cacheBytes)}`}
              />
              <Gauge
                label="Cache dirty"
                part={status.dirtyBytes}
                whole={status.cacheBytes}
                detail={`${humanSize(status.dirtyBytes)} not yet uploaded`}
              />
              <Gauge
                label="Upload buffer"
                part={status.dirtyBytes}
                whole={status.uploadBufferBytes}
                detail={`${humanSize(status.dirtyBytes)} of ${humanSize(status.uploadBufferBytes)}`}
              />
            </div>
            <dl class="stats">
              <div>
                <dt>Upload queue</dt>
                <dd>{status.queueDepth}</dd>
              </div>
              <div>
                <dt>Reads from the cache</dt>
                <dd>{status.hitPercent.toFixed(1)}%</dd>
              </div>
            </dl>
          </section>
          <Charts history={history.data} />
          <Bandwidth status={status} />
        </>
      ) : (
        <Loading />
      )}
    </>
  );
}

function Charts(props: { readonly history: MetricsHistoryAnswer | undefined }) {
  const { history } = props;
  const charts = useMemo(() => {
    if (!history) return undefined;
    const series = (label: string, color: string, metric: string): ChartSeries => ({ label, color, values: sumSeries(history, metric) });
    return {
      cloud: [series('Upload', '#0a58a8', 'CloudBytesUploaded'), series('Download', '#a8410f', 'CloudBytesDownloaded')],
      iscsi: [series('Write', '#6b2fa8', 'WriteBytes'), series('Read', '#17703a', 'ReadBytes')],
    };
  }, [history]);
  return (
    <section aria-labelledby="rates-heading">
      <h2 id="rates-heading">Transfer rates, last hour</h2>
      {history && charts ? (
        <div class="charts">
          <RateChart title="Cloud: upload and download" times={history.times} series={charts.cloud} />
          <RateChart title="iSCSI: writes and reads by initiators" times={history.times} series={charts.iscsi} />
        </div>
      ) : (
        <Loading />
      )}
      {history && <p class="hint">One sample every {history.intervalSeconds} s, kept in the gateway's memory for an hour.</p>}
    </section>
  );
}

function Bandwidth(props: { readonly status: CacheStatus }) {
  const { bandwidth } = props.status;
  const limit = (bits: number | undefined) => (bits === undefined ? 'unlimited' : humanBitRate(bits));
  return (
    <section aria-labelledby="bandwidth-heading">
      <h2 id="bandwidth-heading">Upload bandwidth</h2>
      <dl class="stats">
        <div>
          <dt>Limit now</dt>
          <dd>{limit(bandwidth.uploadBitsPerSecondNow)}</dd>
        </div>
        <div>
          <dt>Outside the schedule</dt>
          <dd>{limit(bandwidth.defaultUploadBitsPerSecond)}</dd>
        </div>
      </dl>
      {bandwidth.intervals.length === 0 ? (
        <p>No schedule: the same limit applies at all hours.</p>
      ) : (
        <TableScroller label="Bandwidth schedule">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">When (gateway time)</th>
                <th scope="col">Upload limit</th>
              </tr>
            </thead>
            <tbody>
              {bandwidth.intervals.map((interval) => (
                <tr key={humanWeeklyInterval(interval)}>
                  <td>{humanWeeklyInterval(interval)}</td>
                  <td>{humanBitRate(interval.uploadBitsPerSecond)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroller>
      )}
    </section>
  );
}
