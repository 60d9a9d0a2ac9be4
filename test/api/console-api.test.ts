// What the management API adds for the web console: its files at / and
// /console/… without a token (with a strict content policy, gzip and ETags),
// GET /cache and GET /metrics/history behind the token like every operator
// route, and 304 answers to polls that find nothing changed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Counter, Registry } from 'prom-client';
import { newApiToken } from '../../src/api/credentials.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import type { CacheSource } from '../../src/api/stats-routes.ts';
import type { CacheStatus, MetricsHistoryAnswer } from '../../src/api/stats-types.ts';
import type { EngineStats } from '../../src/cache/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { StandInTapeService } from './tape-service-stand-in.ts';

const GiB = 2 ** 30;
const PAGE = '<!doctype html><title>console</title>';
const SCRIPT = 'console.log("console");\n'.repeat(50);

describe('management API: the web console and its read routes', () => {
  let directory: string;
  let registry: Registry;
  let api: ApiServer;
  let token: string;
  let tapes: StandInTapeService;
  // The engine's figures, as a stand-in the test sets.
  const stats: EngineStats = {
    cacheBytes: 64 * GiB,
    usedBytes: 16 * GiB,
    dirtyBytes: 2 * GiB,
    uploadBufferBytes: 8 * GiB,
    queueDepth: 7,
    hits: 3,
    misses: 1,
  };
  let cache: CacheSource;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'console-dist-'));
    await writeFile(join(directory, 'index.html'), PAGE);
    await writeFile(join(directory, 'app.js'), SCRIPT);
    registry = new Registry();
    token = newApiToken();
    tapes = new StandInTapeService();
    cache = { stats: () => stats, bandwidth: {} };
    api = await startApiServer({
      registry,
      logger: silentLogger(),
      tapes,
      cache,
      token,
      consoleDir: directory,
      history: { intervalMs: 60_000 },
    });
  });
  afterEach(async () => {
    await api.close();
    await rm(directory, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });

  it('serves the page without a token, under a policy that allows only its own script, style and API', async () => {
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), PAGE);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const policy = page.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(policy.includes(directive), `${directive} in ${policy}`);
    }
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');

    const script = await fetch(`${api.url}/console/app.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await script.text(), SCRIPT);
  });

  it('sends gzip to clients that take it, and 304 to one that has the file', async () => {
    // node:http, which leaves the body as it came (fetch would unzip it).
    const raw = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      httpGet(`${api.url}/console/app.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res
          .on('data', (chunk: Buffer) => chunks.push(chunk))
          .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.ok(raw.body.length < SCRIPT.length / 5, `${raw.body.length} gzipped bytes for ${SCRIPT.length}`);
    assert.equal(gunzipSync(raw.body).toString(), SCRIPT);

    const etag = raw.headers['etag'] as string;
    const again = await fetch(`${api.url}/console/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  it('answers 404 for a file the console does not have, and 503 saying how to build it when it is not built', async () => {
    assert.equal((await fetch(`${api.url}/console/nothing.js`)).status, 404);
    await api.close();
    api = await startApiServer({ registry, logger: silentLogger(), tapes, token, consoleDir: join(directory, 'not-built') });
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 503);
    assert.match(
      await page.text(),
      /the web console is not built in .*not-built: run `npm run build:console` \(npm ci does it\), then restart the gateway/,
    );
  });

  it('keeps /cache and /metrics/history behind the token', async () => {
    for (const path of ['/cache', '/metrics/history']) {
      const res = await fetch(`${api.url}${path}`);
      assert.equal(res.status, 401, path);
    }
  });

  it('answers GET /cache from the engine: sizes, queue, hit rate and the bandwidth limit in force', async () => {
    const answer = (await (await get('/cache')).json()) as CacheStatus;
    assert.deepEqual(answer, {
      cacheBytes: 64 * GiB,
      usedBytes: 16 * GiB,
      dirtyBytes: 2 * GiB,
      uploadBufferBytes: 8 * GiB,
      queueDepth: 7,
      hitPercent: 75,
      bandwidth: { intervals: [] },
    });

    await api.close();
    // Every day, all day: the interval's rate is the one in force now, whatever the hour.
    const allWeek = { daysOfWeek: [0, 1, 2, 3, 4, 5, 6], startMinute: 0, endMinute: 1440, uploadBitsPerSecond: 100_000_000 };
    cache = { stats: () => stats, bandwidth: { defaultUploadBitsPerSecond: 500_000_000, intervals: [allWeek] } };
    api = await startApiServer({ registry, logger: silentLogger(), tapes, cache, token, consoleDir: directory });
    const limited = (await (await get('/cache')).json()) as CacheStatus;
    assert.deepEqual(limited.bandwidth, {
      defaultUploadBitsPerSecond: 500_000_000,
      intervals: [allWeek],
      uploadBitsPerSecondNow: 100_000_000,
    });
  });

  it('answers GET /metrics/history with the registry’s metrics, and refuses a since that is not a time', async () => {
    new Counter({ name: 'CloudBytesUploaded', help: 'h', registers: [registry] }).inc(5);
    const history = (await (await get('/metrics/history')).json()) as MetricsHistoryAnswer;
    assert.equal(history.intervalSeconds, 60);
    assert.equal(history.times.length, 1, 'a sample is taken as the server starts');
    const later = (await (await get(`/metrics/history?since=${history.times[0]}`)).json()) as MetricsHistoryAnswer;
    assert.deepEqual(later, { intervalSeconds: 60, times: [], series: [] });

    const refused = await get('/metrics/history?since=yesterday');
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'INVALID_REQUEST');
    assert.match(body.error.message, /since must be a time in milliseconds since the epoch.*\?since=\d+/);
  });

  it('answers a poll that finds nothing changed with 304 and no body, and a changed answer with 200', async () => {
    const first = await get('/tapes');
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const same = await get('/tapes', { 'if-none-match': etag });
    assert.equal(same.status, 304);
    assert.equal(await same.text(), '');

    await tapes.createTape({ barcode: 'NEW001L5', sizeBytes: 100 * GiB });
    const changed = await get('/tapes', { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    assert.deepEqual(
      ((await changed.json()) as { tapes: { barcode: string }[] }).tapes.map((t) => t.barcode),
      ['NEW001L5'],
    );
  });
});
