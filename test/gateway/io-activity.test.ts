// The gateway counts the bytes each iSCSI LUN moves (ReadBytes, WriteBytes by
// target and LUN, at GET /metrics), keeps their rates in the metrics' history
// the console charts (GET /metrics/history), and tapegw cache status prints
// the cache and the latest rates. A real gateway process; the test initiator
// writes and reads its scratch disk.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sumSeries } from '../../src/api/metrics-series.ts';
import type { CacheStatus, MetricsHistoryAnswer } from '../../src/api/stats-types.ts';
import { runCli } from '../cli/run-cli.ts';
import { cdb, pattern } from '../helpers/fabric.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { TestInitiator } from '../helpers/initiator.ts';
import { LIBRARY_ARGS } from '../helpers/library-driver.ts';
import { until } from '../shelf/gateway-helpers.ts';

const GOOD = 0;

describe('@slow iSCSI traffic in the gateway’s metrics', function () {
  this.timeout(120_000);
  let gw: GatewayProcess | undefined;

  before(async () => {
    gw = await startGatewayProcess({ args: LIBRARY_ARGS });
  });
  after(() => gw?.stop());

  async function api<T>(path: string): Promise<T> {
    const { url, token } = JSON.parse(await readFile(join(gw!.dataDir, 'api.json'), 'utf8')) as { url: string; token: string };
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, path);
    return path === '/metrics' ? ((await response.text()) as T) : ((await response.json()) as T);
  }

  /** ReadBytes and WriteBytes of one LUN, as Prometheus reads them. */
  async function counted(target: string): Promise<{ read: number; written: number }> {
    const text = await api<string>('/metrics');
    const value = (metric: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{target="${target}",lun="0"} `));
      assert.ok(line, `${metric} for ${target} in /metrics`);
      return Number(line.split(' ')[1]);
    };
    return { read: value('ReadBytes'), written: value('WriteBytes') };
  }

  it('counts each byte written and read at the LUN, charts the rate, and tapegw cache status prints it', async () => {
    const scratch = gw!.targets.find((t) => t.luns[0]?.deviceType === 'disk')!.name;
    const initiator = await TestInitiator.connect(gw!.port);
    await initiator.login({ targetName: scratch });
    for (let i = 0; i < 4 && (await initiator.command(cdb.testUnitReady())).status !== GOOD; i++);

    const before = await counted(scratch);
    const data = pattern(64 * 512, 1);
    assert.equal((await initiator.command(cdb.write10(0, 64), { write: data })).status, GOOD);
    const read = await initiator.command(cdb.read10(0, 32), { read: 32 * 512 });
    assert.equal(read.status, GOOD);
    initiator.close();
    const after = await counted(scratch);
    assert.deepEqual({ read: after.read - before.read, written: after.written - before.written }, { read: 32 * 512, written: 64 * 512 });

    // The next sample (every 5 s) holds the write as a rate; it stays in the history for an hour.
    const history = await until('a sample with the write in it', async () => {
      const answer = await api<MetricsHistoryAnswer>('/metrics/history');
      const written = sumSeries(answer, 'WriteBytes', (labels) => labels['target'] === scratch);
      return written.some((rate) => rate !== null && rate > 0) ? answer : undefined;
    });
    // A rate times its interval gives back the bytes: the 32 KiB written, all in one interval.
    const rates = sumSeries(history, 'WriteBytes', (labels) => labels['target'] === scratch);
    const at = rates.findIndex((rate) => rate !== null && rate > 0);
    assert.equal(Math.round((rates[at]! * (history.times[at]! - history.times[at - 1]!)) / 1000), 64 * 512);

    const cli = (...args: string[]) => runCli(['--data-dir', gw!.dataDir, 'cache', 'status', ...args], { cwd: tmpdir() });
    const [text, json, help] = await Promise.all([cli(), cli('--json'), cli('--help')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(help.stdout, /^tapegw cache status\n[\s\S]*--json/);
    for (const label of ['Cache used', 'Cache dirty', 'Upload buffer', 'Upload queue', 'Uploading', 'iSCSI writes', 'Upload limit now']) {
      assert.match(text.stdout, new RegExp(`^${label} +\\S`, 'm'), label);
    }
    assert.match(text.stdout, /^Upload limit now +unlimited$/m);
    const status = JSON.parse(json.stdout) as CacheStatus & { rates: Record<string, number> };
    const cache = await api<CacheStatus>('/cache');
    assert.equal(status.cacheBytes, cache.cacheBytes);
    assert.equal(status.uploadBufferBytes, cache.uploadBufferBytes);
    assert.equal(typeof status.rates['iscsiWriteBytesPerSecond'], 'number', 'the latest iSCSI write rate');
  });
});
