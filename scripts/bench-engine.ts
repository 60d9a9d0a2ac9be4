// npm run bench:engine [-- --mib 384 --extent-mib 16 --concurrency 4 --rounds 3]
// Drain throughput of the cache engine against the raw SDK putting the same
// bytes to the same endpoint (the embedded s3rver, in a process of its own so
// that it does not share an event loop with the client measured) in the same run.
// Raw: PutObject of in-memory buffers, no checksums, `concurrency` at once.
// Throughput depends on whatever else the machine runs; the client CPU per MiB
// does not, and says what the engine's own work costs.
// Engine: the same extents written and synced (not timed), then timed from the
// moment the upload queue starts until it is empty: reading the cache files,
// checking their CRC32C, computing the object metadata and the S3 checksums.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import { Catalog } from '../src/catalog/catalog.ts';
import { CacheEngine } from '../src/cache/engine.ts';
import { ObjectStore } from '../src/cloud/object-store.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { silentLogger } from '../src/log.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '384' },
    'extent-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
  },
});
const MiB = 1024 * 1024;
const extentBytes = Number(values['extent-mib']) * MiB;
const count = Math.ceil((Number(values.mib) * MiB) / extentBytes);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const total = count * extentBytes;

const work = await mkdtemp(join(tmpdir(), 'bench-engine-'));
const localS3 = new URL('../src/cloud/local-s3.ts', import.meta.url).pathname;
const server = spawn(
  process.execPath,
  ['--import', 'tsx', '--input-type=module', '-e', `const s = await (await import(${JSON.stringify(localS3)})).startLocalS3({ directory: process.argv[1] }); console.log(s.endpoint);`, join(work, 's3')],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [endpoint] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
const s3 = {
  endpoint,
  close: async () => {
    server.kill();
    await once(server, 'exit');
  },
};
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'bench-engine';
const raw = new S3Client({
  endpoint: s3.endpoint,
  region: 'us-east-1',
  credentials,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
});
await raw.send(new CreateBucketCommand({ Bucket: bucket }));
const extents = Array.from({ length: count }, () => randomBytes(extentBytes));
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
/** CPU time of this (client) process over a phase, per MiB moved: immune to other load on the machine. */
const cpuStart = () => process.cpuUsage();
const cpuPerMiB = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return { cpu: (used.user + used.system) / 1000 / (total / MiB), sys: used.system / 1000 / (total / MiB) };
};
/** Rate, and client CPU per MiB in all and in the kernel (page faults of fresh buffers show there). */
type Figures = { mbps: number; cpu: number; sys: number };

async function rawRound(round: number): Promise<Figures> {
  let next = 0;
  const cpu = cpuStart();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/${round}/${i}`, Body: extents[i], ContentLength: extentBytes }));
      }
    }),
  );
  return { mbps: mbps(total, performance.now() - started), ...cpuPerMiB(cpu) };
}

async function engineRound(round: number): Promise<Figures> {
  const dir = join(work, `engine-${round}`);
  const catalog = await Catalog.open(join(dir, 'catalog'));
  const engine = await CacheEngine.open({
    directory: join(dir, 'cache'),
    catalog,
    backend: (hooks) => new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', credentials, bucket, forcePathStyle: true, prefix: `engine/${round}/` }, hooks),
    cacheBytes: 2 * total + 64 * MiB,
    uploadBufferBytes: total + 32 * MiB,
    uploadConcurrency: concurrency,
    writebackIntervalMs: 0,
    logger: silentLogger(),
  });
  const store = engine.namespace('');
  try {
    for (let i = 0; i < count; i++) await store.write(`seg-${i}`, 0, extents[i]!);
    await store.sync();
    const cpu = cpuStart();
    const started = performance.now(); // the queue starts as sync() resolves
    await store.drain();
    return { mbps: mbps(total, performance.now() - started), ...cpuPerMiB(cpu) };
  } finally {
    await engine.close();
    await catalog.close();
  }
}

try {
  console.log(`engine drain vs raw SDK PutObject: ${count} × ${extentBytes / MiB} MiB = ${total / MiB} MiB to ${s3.endpoint} (s3rver), ${concurrency} at once, ${rounds} rounds each`);
  const rawRates: Figures[] = [];
  const engineRates: Figures[] = [];
  const show = (f: Figures) => `${f.mbps.toFixed(0)} MB/s, client CPU ${f.cpu.toFixed(2)} ms/MiB (${f.sys.toFixed(2)} of it in the kernel)`;
  const runRaw = async (r: number) => {
    rawRates.push(await rawRound(r));
    console.log(`  round ${r + 1}: raw SDK ${show(rawRates.at(-1)!)}`);
  };
  const runEngine = async (r: number) => {
    engineRates.push(await engineRound(r));
    console.log(`  round ${r + 1}: engine  ${show(engineRates.at(-1)!)}`);
  };
  // Alternating which goes first, so that neither always meets the other's disk write-back.
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      await runRaw(r);
      await runEngine(r);
    } else {
      await runEngine(r);
      await runRaw(r);
    }
  }
  const best = (xs: Figures[]) => Math.max(...xs.map((x) => x.mbps));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const line = (xs: Figures[]) =>
    `${best(xs).toFixed(0)} MB/s best, ${median(xs.map((x) => x.mbps)).toFixed(0)} MB/s median of ${rounds}; client CPU ${median(xs.map((x) => x.cpu)).toFixed(2)} ms/MiB median`;
  console.log(`raw SDK puts:   ${line(rawRates)}`);
  console.log(`engine drain:   ${line(engineRates)}`);
  const ratio = (f: (xs: Figures[]) => number) => (f(engineRates) / f(rawRates)).toFixed(2);
  console.log(`ratio engine/raw: ${ratio(best)} best to best, ${ratio((xs) => median(xs.map((x) => x.mbps)))} median to median (goal ≥ 0.90)`);
} finally {
  raw.destroy();
  await s3.close();
  await rm(work, { recursive: true, force: true });
}
