// The cached volume's case of `npm run bench` (group "volume"): a gateway of its own, on a data
// directory of its own, serving one cached volume. Each run writes the span sequentially in 1 MiB
// commands, waits until the uploads are done, stops the gateway, wipes its cache and starts it
// again, then reads the span back (every chunk a miss: from the bucket) and, for the goal
// of ≥ 0.8× the raw SDK's GET rate, GETs the same chunk objects with the SDK one after another
// from the same endpoint. Last, the incremental snapshot: a first snapshot, a tenth of the span
// written again, a second snapshot, and the bytes the gateway uploaded meanwhile (its
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
  /** blockbench's sequential 1 MiB QD1 pass over the first `bytes` (default: the span) of a LUN. */
  readonly sequential: (url: string, test: 'seqwrite' | 'seqread', bytes?: number) => Promise<SequentialResult>;
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
        ...['--drives', '1', '--slots', '4', '--import-export-slots', '1', '--volume', `${VOLUME}=1GiB:cached`],
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
    const write = await options.sequential(volumeUrl(gw), 'seqwrite');
    const uploadSeconds = await options.uploadsDone(options.dataDir);
    await gw.stop();
    gateway = undefined;
    await rm(join(options.dataDir, 'cache'), { recursive: true, force: true });
    gw = await start();
    options.log(`    cache wiped and the gateway restarted; its uploads had finished ${uploadSeconds.toFixed(1)} s after the write`);
    const coldRead = await options.sequential(volumeUrl(gw), 'seqread');
    const raw = await rawGets(gw, options.span);
    const snapshot = await incrementalSnapshot(options, volumeUrl(gw));
    return { write, uploadSeconds, coldRead, rawGetMBps: raw.MBps, rawGetObjects: raw.objects, snapshot };
  } finally {
    await gateway?.stop();
    await rm(options.dataDir, { recursive: true, force: true });
  }
}

/** A first snapshot, a tenth of the span written again, a second one: what the second cost in uploads. */
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
    let taken = await call<SnapshotInfo>('POST', `/volumes/${VOLUME}/snapshots`);
    for (const deadline = Date.now() + 300_000; taken.status === 'PENDING' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      taken = await call<SnapshotInfo>('GET', `/snapshots/${taken.id}`);
    }
    if (taken.status !== 'COMPLETED') throw new Error(`snapshot ${taken.id} ended ${taken.status}: ${taken.error ?? 'still pending after 300 s'}`);
    return taken;
  };
  await snapshot();
  await options.uploadsDone(options.dataDir);
  const before = await uploaded();
  const changedBytes = Math.floor(options.span / 10 / (1 << 20)) * (1 << 20);
  await options.sequential(url, 'seqwrite', changedBytes);
  const second = await snapshot();
  await options.uploadsDone(options.dataDir);
  return { changedBytes, uploadedBytes: (await uploaded()) - before, chunksUploaded: second.changedChunks };
}

function volumeUrl(gw: BenchGateway): string {
  const target = gw.targets.find((t) => t.name.endsWith(`-${VOLUME}`));
  if (!target) throw new Error(`the bench gateway serves no ${VOLUME} volume: ${gw.targets.map((t) => t.name).join(', ')}`);
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
