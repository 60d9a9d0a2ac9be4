// npm run bench:engine [-- --s3 s3rver|rgw --rgw-dir DIR --mib 384 --extent-mib 16 --concurrency 4 --rounds 3 --threads worker,main]
// The cache engine against the raw SDK on the same endpoint, in the same run:
// - drain: the engine uploading what it holds, against raw PutObject of the
//   same bytes from memory, `concurrency` at once (goal ≥ 0.90). The extents
//   are written and synced untimed; the drain is timed from the moment the
//   upload queue starts until it is empty: reading the cache files, checking
//   their CRC32C, the object metadata and the check the endpoint makes.
// - cold read: a cartridge of 256 KiB records in 64 MiB segments, uploaded
//   untimed, then read from its first record to its filemark through a fresh,
//   empty cache, against raw GetObject of the same segment objects one after
//   another, each body read to its end (goal ≥ 0.80).
// --s3 s3rver (the default): the embedded s3rver, in a process of its own so
// that it does not share an event loop with the client measured. --s3 rgw: a
// private Ceph RGW started by scripts/ceph-rgw.sh (about 12 s), or the one
// already running in --rgw-dir. Uploads carry what the endpoint checks, as the
// gateway's would (the start-up probe decides). Rates depend on whatever else
// the machine runs; the client CPU per MiB does not, and says what the
// engine's own work costs. The engine runs once per round for each of
// --threads: its S3 requests in a worker thread (the gateway's default,
// src/cloud/worker-backend.ts) and on its own thread (ObjectStore); "main
// thread" is the CPU of the engine's thread alone, the one the iSCSI commands
// share in the gateway.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client, PutObjectCommand, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import type { Readable } from 'node:stream';
import { Catalog } from '../src/catalog/catalog.ts';
import { CacheEngine } from '../src/cache/engine.ts';
import type { ObjectBackend } from '../src/cloud/object-backend.ts';
import { ObjectStore, type S3Settings } from '../src/cloud/object-store.ts';
import { WorkerBackend } from '../src/cloud/worker-backend.ts';
import { probeUploadChecks, uploadCheckFor } from '../src/cloud/upload-checks.ts';
import { Cartridge } from '../src/tape/cartridge.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { silentLogger } from '../src/log.ts';
import { rgwAt, startRgw } from '../test/helpers/rgw.ts';
import { threadCpu } from './bench/thread-cpu.ts';

const { values } = parseArgs({
  options: {
    s3: { type: 'string', default: 's3rver' },
    'rgw-dir': { type: 'string' },
    mib: { type: 'string', default: '384' },
    'extent-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: 'worker,main' },
  },
});
type Threads = 'worker' | 'main';
const engineThreads = values.threads.split(',') as Threads[];
if (engineThreads.length === 0 || engineThreads.some((t) => t !== 'worker' && t !== 'main')) {
  console.error(`--threads ${values.threads}: say worker, main or worker,main (where the engine's S3 requests run)`);
  process.exit(2);
}
if (values.s3 !== 's3rver' && values.s3 !== 'rgw') {
  console.error(`--s3 ${values.s3}: say --s3 s3rver (the embedded S3, the default) or --s3 rgw (a private Ceph RGW)`);
  process.exit(2);
}
const MiB = 1024 * 1024;
const RECORD = 256 * 1024;
const SEGMENT = 64 * MiB;
const BARCODE = 'BENCH1L5';
const extentBytes = Number(values['extent-mib']) * MiB;
const count = Math.ceil((Number(values.mib) * MiB) / extentBytes);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const total = count * extentBytes;

interface Endpoint {
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

async function s3rver(directory: string): Promise<Endpoint> {
  const localS3 = new URL('../src/cloud/local-s3.ts', import.meta.url).pathname;
  const server = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const s = await (await import(${JSON.stringify(localS3)})).startLocalS3({ directory: process.argv[1] }); console.log(s.endpoint);`,
      directory,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [endpoint] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
  return {
    name: 's3rver',
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    close: async () => {
      server.kill();
      await once(server, 'exit');
    },
  };
}

async function rgw(dir: string | undefined): Promise<Endpoint> {
  if (dir) return { name: `Ceph RGW in ${dir}`, ...(await rgwAt(dir)), close: async () => undefined };
  const cluster = await startRgw();
  return { name: 'Ceph RGW', ...cluster, credentials: { ...cluster.credentials }, close: () => cluster.stop() };
}

const work = await mkdtemp(join(tmpdir(), 'bench-engine-'));
const s3 = values.s3 === 'rgw' ? await rgw(values['rgw-dir']) : await s3rver(join(work, 's3'));
const bucket = `bench-engine-${Date.now()}`;
const raw = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  credentials: s3.credentials,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
});
const extents = Array.from({ length: count }, () => randomBytes(extentBytes));
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
/** CPU time of this (client) process over a phase, per MiB moved: immune to other load on the machine. */
const cpuStart = () => ({ process: process.cpuUsage(), main: mainThreadSeconds() });
const cpuPerMiB = (since: ReturnType<typeof cpuStart>) => {
  const used = process.cpuUsage(since.process);
  const mib = total / MiB;
  return {
    cpu: (used.user + used.system) / 1000 / mib,
    sys: used.system / 1000 / mib,
    main: ((mainThreadSeconds() - since.main) * 1000) / mib,
  };
};
function mainThreadSeconds(): number {
  const main = threadCpu(process.pid)!.main;
  return main.user + main.sys;
}
/** Rate, and client CPU per MiB in all, in the kernel (page faults of fresh buffers show there) and on the main thread. */
type Figures = { mbps: number; cpu: number; sys: number; main: number };

/** Times `run`, which moves `total` bytes. */
async function timed(run: () => Promise<void>): Promise<Figures> {
  const cpu = cpuStart();
  const started = performance.now();
  await run();
  return { mbps: mbps(total, performance.now() - started), ...cpuPerMiB(cpu) };
}

async function openEngine(
  dir: string,
  settings: S3Settings,
  bytes: number,
  threads: Threads = 'worker',
): Promise<{ engine: CacheEngine; close(): Promise<void> }> {
  const catalog = await Catalog.open(join(dir, 'catalog'));
  let backend: ObjectBackend | undefined;
  const engine = await CacheEngine.open({
    directory: join(dir, 'cache'),
    catalog,
    backend: (hooks) => (backend = threads === 'worker' ? new WorkerBackend(settings, hooks) : new ObjectStore(settings, hooks)),
    cacheBytes: 2 * bytes + 64 * MiB,
    uploadBufferBytes: bytes + 32 * MiB,
    uploadConcurrency: concurrency,
    writebackIntervalMs: 0,
    logger: silentLogger(),
  });
  // The worker's start (loading the SDK) is not part of what is timed.
  if (backend instanceof WorkerBackend) await backend.ready();
  return {
    engine,
    close: async () => {
      await engine.close();
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function rawPuts(round: number): Promise<Figures> {
  let next = 0;
  return timed(async () => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) {
          await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/${round}/${i}`, Body: extents[i], ContentLength: extentBytes }));
        }
      }),
    );
  });
}

async function engineDrain(round: number, settings: S3Settings, threads: Threads): Promise<Figures> {
  const opened = await openEngine(
    join(work, `drain-${threads}-${round}`),
    { ...settings, prefix: `engine/${threads}/${round}/` },
    total,
    threads,
  );
  const store = opened.engine.namespace('');
  try {
    for (let i = 0; i < count; i++) await store.write(`seg-${i}`, 0, extents[i]!);
    await store.sync();
    return await timed(() => store.drain()); // the queue starts as sync() resolves
  } finally {
    await opened.close();
  }
}

/** Writes the cartridge read by the cold-read rounds and uploads it, untimed. */
async function writeCartridge(settings: S3Settings): Promise<void> {
  const opened = await openEngine(join(work, 'cartridge'), settings, total);
  try {
    const store = opened.engine.namespace('');
    const cartridge = await Cartridge.create(store, { barcode: BARCODE, capacityBytes: 2 * total, segmentBytes: SEGMENT });
    for (const extent of extents) {
      const records: Buffer[] = [];
      for (let at = 0; at < extent.length; at += RECORD) records.push(extent.subarray(at, at + RECORD));
      await cartridge.writeRecords(records);
    }
    await cartridge.writeFilemarks(1);
    await cartridge.flush(); // the sync point the drive's WRITE FILEMARKS makes
    await store.drain();
  } finally {
    await opened.close();
  }
}

async function coldRead(round: number, settings: S3Settings, threads: Threads): Promise<Figures> {
  const opened = await openEngine(join(work, `read-${threads}-${round}`), settings, total, threads);
  try {
    const cartridge = await Cartridge.open(opened.engine.namespace(''), BARCODE, { readOnly: true });
    let bytes = 0;
    const figures = await timed(async () => {
      for (;;) {
        const object = await cartridge.read();
        if (object.kind !== 'record') break;
        bytes += object.data.length;
        object.release?.();
      }
    });
    if (bytes !== total) throw new Error(`the cartridge read back ${bytes} bytes of ${total}`);
    return figures;
  } finally {
    await opened.close();
  }
}

async function rawGets(settings: S3Settings): Promise<Figures> {
  const prefix = `${settings.prefix}tapes/${BARCODE}/segments/`;
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((key) => key.endsWith('.data'));
  let bytes = 0;
  const figures = await timed(async () => {
    for (const Key of keys) {
      const got = await raw.send(new GetObjectCommand({ Bucket: bucket, Key }));
      for await (const chunk of got.Body as Readable) bytes += (chunk as Buffer).length;
    }
  });
  if (bytes !== total) throw new Error(`raw GETs read ${bytes} bytes of ${total}`);
  return figures;
}

/**
 * Runs the raw side and the engine with each of `engineThreads` `rounds` times, the order turning
 * each round (no side always meets another's disk write-back), and prints the comparison.
 */
async function compare(
  what: string,
  goal: number,
  rawSide: (round: number) => Promise<Figures>,
  engineSide: (round: number, threads: Threads) => Promise<Figures>,
): Promise<void> {
  const sides = [
    { name: 'raw SDK', run: rawSide, rates: [] as Figures[] },
    ...engineThreads.map((threads) => ({
      name: `engine (S3 on ${threads === 'worker' ? 'a worker' : 'its thread'})`,
      run: (r: number) => engineSide(r, threads),
      rates: [] as Figures[],
    })),
  ];
  const width = Math.max(...sides.map((s) => s.name.length));
  const show = (f: Figures) =>
    `${f.mbps.toFixed(0)} MB/s, client CPU ${f.cpu.toFixed(2)} ms/MiB (${f.sys.toFixed(2)} of it in the kernel, ${f.main.toFixed(2)} on the main thread)`;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + r) % sides.length]!;
      side.rates.push(await side.run(r));
      console.log(`  round ${r + 1}: ${side.name.padEnd(width)} ${show(side.rates.at(-1)!)}`);
    }
  }
  const best = (xs: Figures[]) => Math.max(...xs.map((x) => x.mbps));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const line = (xs: Figures[]) =>
    `${best(xs).toFixed(0)} MB/s best, ${median(xs.map((x) => x.mbps)).toFixed(0)} MB/s median of ${rounds}; client CPU ${median(xs.map((x) => x.cpu)).toFixed(2)} ms/MiB median, main thread ${median(xs.map((x) => x.main)).toFixed(2)}`;
  for (const side of sides) console.log(`  ${side.name.padEnd(width)}: ${line(side.rates)}`);
  const raw = sides[0]!.rates;
  for (const side of sides.slice(1)) {
    const ratio = (f: (xs: Figures[]) => number) => (f(side.rates) / f(raw)).toFixed(2);
    console.log(
      `  ${what} ratio ${side.name}/raw: ${ratio(best)} best to best, ${ratio((xs) => median(xs.map((x) => x.mbps)))} median to median (goal ≥ ${goal.toFixed(2)})`,
    );
  }
}

try {
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  const uploadCheck = uploadCheckFor(await probeUploadChecks(raw, bucket));
  const settings: S3Settings = {
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    bucket,
    forcePathStyle: true,
    uploadCheck,
  };
  console.log(`${s3.name} at ${s3.endpoint}; the engine's uploads carry the check it makes: ${uploadCheck}`);
  console.log(`drain: engine vs raw SDK PutObject, ${count} × ${extentBytes / MiB} MiB = ${total / MiB} MiB, ${concurrency} at once`);
  await compare('drain', 0.9, rawPuts, (r, threads) => engineDrain(r, settings, threads));
  const cartridgeSettings = { ...settings, prefix: 'cartridge/' };
  await writeCartridge(cartridgeSettings);
  console.log(
    `cold read: a ${total / MiB} MiB cartridge (${RECORD / 1024} KiB records, ${SEGMENT / MiB} MiB segments) through an empty cache vs raw SDK GetObject of its segments, one at a time`,
  );
  await compare(
    'cold read',
    0.8,
    () => rawGets(cartridgeSettings),
    (r, threads) => coldRead(r, cartridgeSettings, threads),
  );
} finally {
  raw.destroy();
  await s3.close();
  await rm(work, { recursive: true, force: true });
}
