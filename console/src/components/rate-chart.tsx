// A line chart of transfer rates over the last hour, drawn by uPlot:
// 52 KiB minified (about a quarter of Chart.js, a twentieth of ECharts), and it draws
// thousands of points on a canvas in a millisecond or two, so redrawing every
// few seconds costs nothing. The canvas is hidden from screen readers; the
// legend says the same in words: each series' rate now and its peak.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { latest } from '../../../src/api/metrics-series.ts';
import { humanRate } from '../format.ts';

export interface ChartSeries {
  readonly label: string;
  /** Also the legend's swatch: dark enough for text contrast. */
  readonly color: string;
  /** Bytes per second, one per time; null where unknown. */
  readonly values: readonly (number | null)[];
}

const HOUR_S = 3600;
const MIN_SPAN_S = 600;

/** "14:05": operators read a 24-hour clock. */
function clock(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}
const HEIGHT = 200;

export function RateChart(props: { readonly title: string; readonly times: readonly number[]; readonly series: readonly ChartSeries[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = (): uPlot.AlignedData => [props.times.map((t) => t / 1000), ...props.series.map((s) => s.values as (number | null)[])];

  useEffect(() => {
    const element = box.current!;
    const chart = new uPlot(
      {
        width: element.clientWidth,
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          // The last hour, or since the gateway started, but ten minutes at least, so a young gateway's samples are not a sliver.
          x: { time: true, range: (_u, min, max) => [max - Math.min(HOUR_S, Math.max(MIN_SPAN_S, max - min)), max] },
          y: { range: (_u, _min, max) => [0, Math.max(1e6, max * 1.15)] },
        },
        axes: [
          { stroke: '#3d4754', grid: { stroke: '#e3e8ef' }, ticks: { stroke: '#c9d1dc' }, values: (_u, splits) => splits.map(clock) },
          {
            stroke: '#3d4754',
            grid: { stroke: '#e3e8ef' },
            ticks: { stroke: '#c9d1dc' },
            size: 76,
            values: (_u, splits) => splits.map((v) => humanRate(v)),
          },
        ],
        series: [
          {},
          ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: `${s.color}1a`, points: { show: false } })),
        ],
      },
      data(),
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.series.length]);

  useEffect(() => plot.current?.setData(data()), [props.times, props.series]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <ul class="chart-legend">
        {props.series.map((s) => {
          const now = latest(s.values);
          const peak = Math.max(0, ...s.values.filter((v): v is number => v !== null));
          return (
            <li key={s.label}>
              <span class="swatch" aria-hidden="true" style={{ background: s.color }} />
              <strong>{s.label}</strong> now {now === undefined ? 'unknown' : humanRate(now)}, peak {humanRate(peak)}
            </li>
          );
        })}
      </ul>
    </figure>
  );
}
