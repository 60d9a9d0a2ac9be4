// tapegw cache status: how full the cache and the upload buffer are, how fast
// data moves now, and the upload bandwidth schedule (what the console's
// "Cache and cloud" view draws).
import type { Argv, CommandModule } from 'yargs';
import { latest, sumSeries } from '../api/metrics-series.ts';
import type { CacheStatus, MetricsHistoryAnswer } from '../api/stats-types.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { fields, humanBitRate, humanRate, humanSize, humanWeeklyInterval, table } from './format.ts';

export function cacheCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'cache',
    describe: 'the cache, the upload buffer, transfer rates and the upload bandwidth schedule',
    builder: (yargs) => {
      enter(parsing, 'cache', 'tapegw cache status');
      return yargs.command(status(parsing)).demandCommand(1, 'say what to show: tapegw cache status');
    },
    handler: () => {},
  };
}

/** The latest rates, in bytes per second (absent before the gateway has sampled twice). */
interface Rates {
  readonly uploadBytesPerSecond?: number;
  readonly downloadBytesPerSecond?: number;
  readonly iscsiReadBytesPerSecond?: number;
  readonly iscsiWriteBytesPerSecond?: number;
}

function status(parsing: Parsing) {
  return {
    command: 'status',
    describe: 'cache and upload buffer use, the latest transfer rates, the bandwidth schedule',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'cache status', 'tapegw cache status --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the status as JSON, with the latest rates under "rates"' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const [cache, history] = await Promise.all([api.get<CacheStatus>('/cache'), api.get<MetricsHistoryAnswer>('/metrics/history')]);
      const rates = latestRates(history);
      if (argv.json) {
        printJson({ ...cache, rates });
        return;
      }
      const percent = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');
      const rate = (value: number | undefined) => (value === undefined ? '-' : humanRate(value));
      const { bandwidth } = cache;
      print(
        fields([
          ['Cache used', `${humanSize(cache.usedBytes)} of ${humanSize(cache.cacheBytes)} (${percent(cache.usedBytes, cache.cacheBytes)})`],
          ['Cache dirty', `${humanSize(cache.dirtyBytes)} (${percent(cache.dirtyBytes, cache.cacheBytes)} of the cache)`],
          [
            'Upload buffer',
            `${humanSize(cache.dirtyBytes)} of ${humanSize(cache.uploadBufferBytes)} (${percent(cache.dirtyBytes, cache.uploadBufferBytes)})`,
          ],
          ['Upload queue', String(cache.queueDepth)],
          ['Cache hits', `${cache.hitPercent.toFixed(1)}%`],
          ['Uploading', rate(rates.uploadBytesPerSecond)],
          ['Downloading', rate(rates.downloadBytesPerSecond)],
          ['iSCSI reads', rate(rates.iscsiReadBytesPerSecond)],
          ['iSCSI writes', rate(rates.iscsiWriteBytesPerSecond)],
          [
            'Upload limit now',
            bandwidth.uploadBitsPerSecondNow === undefined ? 'unlimited' : humanBitRate(bandwidth.uploadBitsPerSecondNow),
          ],
          [
            'Outside the schedule',
            bandwidth.defaultUploadBitsPerSecond === undefined ? 'unlimited' : humanBitRate(bandwidth.defaultUploadBitsPerSecond),
          ],
        ]) +
          (bandwidth.intervals.length === 0
            ? 'No bandwidth schedule: the same limit at all hours.\n'
            : '\n' +
              table(
                ['WHEN', 'UPLOAD LIMIT'],
                bandwidth.intervals.map((interval) => [humanWeeklyInterval(interval), humanBitRate(interval.uploadBitsPerSecond)]),
              )),
      );
    },
  };
}

function latestRates(history: MetricsHistoryAnswer): Rates {
  const entries: [keyof Rates, number | undefined][] = [
    ['uploadBytesPerSecond', latest(sumSeries(history, 'CloudBytesUploaded'))],
    ['downloadBytesPerSecond', latest(sumSeries(history, 'CloudBytesDownloaded'))],
    ['iscsiReadBytesPerSecond', latest(sumSeries(history, 'ReadBytes'))],
    ['iscsiWriteBytesPerSecond', latest(sumSeries(history, 'WriteBytes'))],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}
