// The cached volume's case of `npm run bench` (group "volume"): a gateway of its own, on a data
// directory of its own, serving one cached volume. Each run writes the span sequentially in 1 MiB
// commands, waits until the uploads are done, stops the gateway, wipes its cache and starts it
// again, then reads the span back (every chunk a miss: from the bucket) and, for the goal
// of ≥ 0.8× the raw SDK's GET rate, GETs the same chunk objects with the SDK one after another
// from the same endpoint. Last, the incremental snapshot, on a second, sparse volume of 8 GiB:
// 1 MiB written every 10 MiB, a first snapshot, then a tenth of the volume changed (1 MiB every
// 5 MiB over its first half: half of it rewrites chunks the first snapshot holds, half lands where
// nothing was), a second snapshot, and the bytes the gateway uploaded meanwhile (its
// CloudBytesUploaded counter) over the bytes changed (goal ≤ 1.1). The gateway of the other cases
// is not touched: wiping its cache would change what its tape cases measure.
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { SnapshotInfo } from '../../src/volume/volume-service.ts';
import { startBenchGateway, type BenchGateway } from './gateway.ts';

/** The embedded S3 endpoint's fixed credentials (src/config/schema.ts). */
const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const VOLUME = 'benchcached';
/** The incremental snapshot's volume: 8 GiB as issue 16 asks, sparse so that writing a tenth of it twice stays quick. */
const SPARSE = { name: 'benchsparse', size: 8 * 2 ** 30 };
const MiB = 2 ** 20;

export interface SequentialResult {
  readonly MBps: number;
  /** MB/s the client could reach on its own CPU time. */
  readonly ceilingMBps: number;
}

export interface CachedVolumeRun {
  readonly write: SequentialResult;
  /** Seconds from the end of the write until the engine had uploaded everything. */
  readonly uploadSeconds: number;
  readonly coldRead: SequentialResult;
  /** The same chunk objects through the SDK, GetObject one after another, each body read whole. */
  readonly rawGetMBps: number;
  readonly rawGetObjects: number;
  /** Bytes written between the two snapshots, and what the gateway uploaded from the first write to the second snapshot's end. */
  readonly snapshot: { readonly changedBytes: number; readonly uploadedBytes: number; readonly chunksUploaded: number };
}

export interface CachedVolumeBenchOptions {
  readonly dataDir: string;
  readonly span: number;
  readonly gatewayArgs: readonly string[];
  readonly nodeArgs: readonly string[];
  /** blockbench's sequential 1 MiB QD1 pass over the first `bytes` (default: the span) of a LUN; with `sparse`, one command every `stride` bytes over `span`. */
  readonly sequential: (
    url: string,
    test: 'seqwrite' | 'seqread',
    bytes?: number,
    sparse?: { span: number; stride: number },
  ) => Promise<SequentialResult>;
  /** Seconds until the gateway on this data directory has nothing left to upload. */
  readonly uploadsDone: (dataDir: string) => Promise<number>;
  readonly log: (message: string) => void;
}

export async function runCachedVolume(options: CachedVolumeBenchOptions): Promise<CachedVolumeRun> {
  let gateway: BenchGateway | undefined;
  const start = async () => {
    gateway = await startBenchGateway({
      dataDir: options.dataDir,
      nodeArgs: options.nodeArgs,
      // One drive and a few slots: the tape library is not measured here, only its start-up is paid.
      // The NFS server on free ports: the other cases' gateway holds the default ones.
      args: [
        ...[
          '--drives',
          '1',
          '--slots',
          '4',
          '--import-export-slots',
          '1',
          '--volume',
          `${VOLUME}=1GiB:cached`,
          '--volume',
          `${SPARSE.name}=8GiB:cached`,
        ],
        ...['--nfs-port', '0', '--nfs-mount-port', '0', '--nfs-portmap', 'false'],
        ...options.gatewayArgs,
      ],
    });
    return gateway;
  };
  // A fresh directory each run: nothing of an earlier run's volume in the bucket or the catalog.
  await rm(options.dataDir, { recursive: true, force: true });
  try {
    let gw = await start();
    const write = await options.sequential(volumeUrl(gw, VOLUME), 'seqwrite');
    const uploadSeconds = await options.uploadsDone(options.dataDir);
    await gw.stop();
    gateway = undefined;
    await rm(join(options.dataDir, 'cache'), { recursive: true, force: true });
    gw = await start();
    options.log(`    cache wiped and the gateway restarted; its uploads had finished ${uploadSeconds.toFixed(1)} s after the write`);
    const coldRead = await options.sequential(volumeUrl(gw, VOLUME), 'seqread');
    const raw = await rawGets(gw, options.span);
    const snapshot = await incrementalSnapshot(options, volumeUrl(gw, SPARSE.name));
    return { write, uploadSeconds, coldRead, rawGetMBps: raw.MBps, rawGetObjects: raw.objects, snapshot };
  } finally {
    await gateway?.stop();
    await rm(options.dataDir, { recursive: true, force: true });
  }
}

/** On the sparse volume: data, a first snapshot, a tenth of the volume changed, a second one: what the second cost in uploads. */
async function incrementalSnapshot(options: CachedVolumeBenchOptions, url: string): Promise<CachedVolumeRun['snapshot']> {
  const api = JSON.parse(await readFile(join(options.dataDir, 'api.json'), 'utf8')) as { url: string; token: string };
  const send = async (method: string, path: string): Promise<string> => {
    const response = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${api.token}` } });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return text;
  };
  const call = async <T>(method: string, path: string): Promise<T> => JSON.parse(await send(method, path)) as T;
  const uploaded = async () => Number(/^CloudBytesUploaded (\S+)$/m.exec(await send('GET', '/metrics'))?.[1] ?? NaN);
  const snapshot = async (): Promise<SnapshotInfo> => {
    let taken = await call<SnapshotInfo>('POST', `/volumes/${SPARSE.name}/snapshots`);
    for (const deadline = Date.now() + 300_000; taken.status === 'PENDING' && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      taken = await call<SnapshotInfo>('GET', `/snapshots/${taken.id}`);
    }
    if (taken.status !== 'COMPLETED')
      throw new Error(`snapshot ${taken.id} ended ${taken.status}: ${taken.error ?? 'still pending after 300 s'}`);
    return taken;
  };
  const tenth = Math.floor(SPARSE.size / 10 / MiB) * MiB;
  await options.sequential(url, 'seqwrite', tenth, { span: SPARSE.size, stride: 10 * MiB });
  await snapshot();
  await options.uploadsDone(options.dataDir);
  const before = await uploaded();
  const changedBytes = tenth;
  await options.sequential(url, 'seqwrite', changedBytes, { span: SPARSE.size, stride: 5 * MiB });
  const second = await snapshot();
  await options.uploadsDone(options.dataDir);
  return { changedBytes, uploadedBytes: (await uploaded()) - before, chunksUploaded: second.changedChunks };
}

function volumeUrl(gw: BenchGateway, name: string): string {
  const target = gw.targets.find((t) => t.name.endsWith(`-${name}`));
  if (!target) throw new Error(`the bench gateway serves no ${name} volume: ${gw.targets.map((t) => t.name).join(', ')}`);
  return `iscsi://${gw.portal}/${target.name}/0`;
}

/** The volume's chunk objects up to `span` bytes of them, GET one after another with the SDK. */
async function rawGets(gw: BenchGateway, span: number): Promise<{ MBps: number; objects: number }> {
  const { endpoint, bucket, prefix } = gw.s3;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: EMBEDDED_CREDENTIALS });
  try {
    const keys: string[] = [];
    let bytes = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}volumes/`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (!object.Key?.includes('/chunks/') || bytes >= span) continue;
        keys.push(object.Key);
        bytes += object.Size ?? 0;
      }
      token = page.NextContinuationToken;
    } while (token && bytes < span);
    if (keys.length === 0) throw new Error(`no chunk objects under ${prefix}volumes/ in ${bucket}`);
    const started = process.hrtime.bigint();
    let read = 0;
    for (const key of keys) {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      for await (const piece of Body as Readable) read += (piece as Buffer).length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { MBps: read / 1e6 / seconds, objects: keys.length };
  } finally {
    client.destroy();
  }
}

export interface BusyGatewayOptions {
  readonly dataDir: string;
  /** Bytes each volume's sequential passes cover and each drive writes, then reads. */
  readonly span: number;
  readonly driveBytes: number;
  /** Seconds of 4 KiB random writes, QD32, on each volume. */
  readonly randomSeconds: number;
  readonly gatewayArgs: readonly string[];
  readonly nodeArgs: readonly string[];
  readonly blockbench: (url: string, test: string, bs: number, qd: number, extra: string[]) => Promise<unknown>;
  readonly tapebench: (urls: readonly string[], blockSize: number, bytes: number, phases: string) => Promise<unknown>;
  /** Blank cartridges made and moved into drives 1..N, as an operator would. */
  readonly loadCartridges: (dataDir: string, drives: number) => Promise<void>;
  readonly rssBytes: (pid: number) => number | undefined;
  readonly log: (message: string) => void;
}

/** The gateway's peak RSS with BUSY_VOLUMES volumes and BUSY_DRIVES tape drives all busy at once. */
export interface BusyGatewayRun {
  readonly peakRssBytes: number;
  readonly seconds: number;
}

/** Issue 16's memory goal: peak RSS ≤ 256 MiB with 4 volumes (here two cached, two stored) and 2 drives busy. */
const BUSY_VOLUMES = [
  { name: 'busyc1', type: 'cached' },
  { name: 'busyc2', type: 'cached' },
  { name: 'busys1', type: 'stored' },
  { name: 'busys2', type: 'stored' },
] as const;
const BUSY_DRIVES = 2;

/**
 * A gateway of its own with the volumes and drives of BusyGatewayRun, then all of them at once:
 * each volume written sequentially in 1 MiB commands, then 4 KiB random writes at QD32, then
 * read back sequentially; both drives write and read 256 KiB blocks. RSS is sampled every 100 ms
 * from the first command to the last.
 */
export async function runBusyGateway(options: BusyGatewayOptions): Promise<BusyGatewayRun> {
  await rm(options.dataDir, { recursive: true, force: true });
  let gw: BenchGateway | undefined;
  try {
    const args = [
      ...['--drives', String(BUSY_DRIVES), '--slots', '4', '--import-export-slots', '1'],
      ...BUSY_VOLUMES.flatMap((v) => ['--volume', `${v.name}=1GiB${v.type === 'cached' ? ':cached' : ''}`]),
      ...['--nfs-port', '0', '--nfs-mount-port', '0', '--nfs-portmap', 'false'],
      ...options.gatewayArgs,
    ];
    gw = await startBenchGateway({ dataDir: options.dataDir, nodeArgs: options.nodeArgs, args });
    await options.loadCartridges(options.dataDir, BUSY_DRIVES);
    const tapeUrls = gw.targets.flatMap((t) =>
      t.luns.filter((l) => l.deviceType === 'tape').map((l) => `iscsi://${gw!.portal}/${t.name}/${l.lun}`),
    );
    if (tapeUrls.length < BUSY_DRIVES) throw new Error(`the busy gateway serves ${tapeUrls.length} tape drives, not ${BUSY_DRIVES}`);
    const pid = gw.pid;
    let peakRssBytes = 0;
    const timer = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, options.rssBytes(pid) ?? 0)), 100);
    const started = Date.now();
    const sequential = ['--bytes', String(options.span), '--span', String(options.span), '--seconds', '120'];
    try {
      await Promise.all([
        ...BUSY_VOLUMES.map(async (v) => {
          const url = volumeUrl(gw!, v.name);
          await options.blockbench(url, 'seqwrite', MiB, 1, sequential);
          await options.blockbench(url, 'randwrite', 4096, 32, [
            '--span',
            String(options.span),
            '--seconds',
            String(options.randomSeconds),
          ]);
          await options.blockbench(url, 'seqread', MiB, 1, sequential);
        }),
        options.tapebench(tapeUrls.slice(0, BUSY_DRIVES), 256 << 10, options.driveBytes, 'write,read'),
      ]);
    } finally {
      clearInterval(timer);
    }
    return { peakRssBytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    await gw?.stop();
    await rm(options.dataDir, { recursive: true, force: true });
  }
}
