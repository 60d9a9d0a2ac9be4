// npm run bench: our gateway against tgtd (its defaults and tuned) on 127.0.0.1, same machine, same
// libiscsi clients (scripts/bench/*.c), same run, cases run alternately (ours, tgt-default,
// tgt-tuned, ours, ...). Prints one table with medians, ranges and paired ratios; writes JSON.
//
//   npm run bench                      # full run (about 30-45 minutes on 2 cores)
//   npm run bench -- --only scaling    # one, four and ten drives at once, CPU by thread, the model of more cores
//   npm run bench -- --quick           # smoke run, a minute or two
//   npm run bench -- --only tape,block --runs 5 --tape-bytes 1G
//   npm run bench -- --cpu-prof .bench/prof   # the gateway runs with node --cpu-prof
//   npm run bench -- --only share      # the NFS share against nfs-ganesha (scripts/bench/share.ts)
//   npm run bench -- --only volume     # the cached volume, its cache wiped, against tgt (scripts/bench/volume.ts)
//
// For the tape cases, four blank cartridges (ten with the scaling cases) are made with bin/tapegw and moved into the first drives.
// Before the first case each side gets one untimed warm-up (a 64 MiB tape write and read at
// 64 KiB and at 256 KiB, a second of random block writes): a backup runs for hours, so the figures are taken
// after our JavaScript is compiled, not while the first case pays for it.
//
// Options (sizes take K/M/G suffixes, binary):
//   --runs N              alternating runs per case (default 3)
//   --tape-bytes SIZE     bytes per single-drive tape case (default 2G; quick 64M)
//   --drive-bytes SIZE    bytes per drive in the four-drive case (default 1G; quick 32M)
//   --cartridge-bytes SIZE  the big-cartridge case, RSS sampled (default 8G; quick 256M)
//   --cartridge-runs N    runs of the big-cartridge case (default 1)
//   --block-seconds S     seconds per random block case (default 5; quick 1.5)
//   --block-cases LIST    random block cases to run, TEST:QD (default randread:1,randread:32,randwrite:1,randwrite:32);
//                         the 1 MiB sequential ones always run (the write fills the span)
//   --span SIZE           block LUN (and cached volume) region used (default 256M; quick 64M); written sequentially first
//   --disk-bytes SIZE     bytes for the disk's own write rate (default 1G; quick 256M)
//   --only LIST           case groups: tape, drives, cartridge, block, volume, scaling, share (default all but share)
//   --scale-bytes SIZE    bytes per drive in the scaling cases (default 512M; quick 32M)
//   --share-bytes SIZE    bytes of the share's sequential cases (default 1G; quick 128M)
//   --share-files N       small files of the share's cases (default 10000; quick 1000)
//   --sides LIST          ours, tgt-default, tgt-tuned (default all)
//   --gateway-arg ARG     extra flag for our gateway (repeat), e.g. --gateway-arg=--log-level=warn
//   --json PATH           results file (default .bench/results.json)
//   --max-minutes M       stop starting new cases after M minutes (default 60)
//   --cpu-prof DIR        run our gateway with --cpu-prof, profiles written to DIR on exit
//   --node-arg ARG        extra node flag for our gateway (repeat), e.g. --node-arg=--perf-basic-prof
//   --keep                keep the work directory (tape images, gateway data) for inspection
//
// Our gateway runs compiled, as `npm start` runs it (scripts/bench/gateway.ts); BENCH_FROM_SOURCES=1 runs its sources through tsx.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startBenchGateway, type BenchGateway } from './gateway.ts';
import { runShareBench } from './share.ts';
import { scalingReport, type ScalingSampleView } from './scaling-report.ts';
import { runBusyGateway, runCachedVolume, type BusyGatewayRun, type CachedVolumeRun, type SequentialResult } from './volume.ts';
import { startTgt, TUNED, type TgtBench } from './tgt.ts';
import { cpuBetween, threadCpu, type ThreadCpu } from './thread-cpu.ts';
import { deviceOf, machineUsage, usageBetween } from './machine-usage.ts';
import {
  diskWriteRate,
  type DiskWriteRate,
  execBounded,
  formatSize,
  loadAverage,
  median,
  memoryReportedToHost,
  parseSize,
  rssBytes,
} from './util.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const execFileAsync = promisify(execFile);

type SideName = 'ours' | 'tgt-default' | 'tgt-tuned';
const ALL_SIDES: readonly SideName[] = ['ours', 'tgt-default', 'tgt-tuned'];
const GROUPS = ['tape', 'drives', 'cartridge', 'block', 'volume', 'scaling'] as const;
type Group = (typeof GROUPS)[number];

interface Side {
  readonly name: SideName;
  readonly pid: number;
  /** The process serving the tape drives. */
  readonly tapePid: number;
  readonly diskUrl?: string;
  /** tgt's disk LUN's backing file (its page cache is dropped before a cold read). */
  readonly diskPath?: string;
  readonly tapeUrls: readonly string[];
  readonly note?: string;
}

interface Row {
  readonly id: string;
  readonly group: Group;
  readonly unit: 'MB/s' | 'IOPS';
  /** Goal for ours/tgt-default and ours/tgt-tuned, when the issue sets one. */
  readonly goals: { readonly 'tgt-default'?: number; readonly 'tgt-tuned'?: number };
  /** Per side, one value per run (NaN when the run failed or was skipped), in run order. */
  readonly values: Record<SideName, number[]>;
  /** The client's own ceiling per side and run (bytes or commands per client CPU second). */
  readonly clientCeiling: Record<SideName, number[]>;
  readonly errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Options

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'tape-bytes': { type: 'string' },
    'drive-bytes': { type: 'string' },
    'cartridge-bytes': { type: 'string' },
    'cartridge-runs': { type: 'string' },
    'block-seconds': { type: 'string' },
    'block-cases': { type: 'string' },
    span: { type: 'string' },
    'disk-bytes': { type: 'string' },
    'scale-bytes': { type: 'string' },
    'share-bytes': { type: 'string' },
    'share-files': { type: 'string' },
    only: { type: 'string' },
    sides: { type: 'string' },
    'gateway-arg': { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
    'max-minutes': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});
if (opts.help) {
  const text = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(
    text
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .map((l) => l.slice(3))
      .join('\n') + '\n',
  );
  process.exit(0);
}
const quick = opts.quick ?? false;
const runs = Number(opts.runs ?? (quick ? 2 : 3));
const tapeBytes = parseSize(opts['tape-bytes'] ?? (quick ? '64M' : '2G'));
const driveBytes = parseSize(opts['drive-bytes'] ?? (quick ? '32M' : '1G'));
const cartridgeBytes = parseSize(opts['cartridge-bytes'] ?? (quick ? '256M' : '8G'));
const cartridgeRuns = Number(opts['cartridge-runs'] ?? 1);
const blockSeconds = Number(opts['block-seconds'] ?? (quick ? 1.5 : 5));
const span = parseSize(opts.span ?? (quick ? '64M' : '256M'));
const diskBytes = parseSize(opts['disk-bytes'] ?? (quick ? '256M' : '1G'));
const scaleBytes = parseSize(opts['scale-bytes'] ?? (quick ? '32M' : '512M'));
const requested = opts.only?.split(',');
/** The share's cases run beside a reference of their own (nfs-ganesha), in scripts/bench/share.ts. */
const wantShare = requested?.includes('share') ?? false;
const groups = new Set<Group>((requested?.filter((g) => g !== 'share') ?? GROUPS) as Group[]);
const sides = (opts.sides?.split(',') ?? ALL_SIDES) as SideName[];
const jsonPath = resolve(root, opts.json ?? '.bench/results.json');
const maxMs = Number(opts['max-minutes'] ?? 60) * 60_000;
const tapeBlockSizes = [64 << 10, 256 << 10, 1 << 20];
const DRIVES = 4;
/** Drives at once in the scaling cases (issue 21: four ≥ 1.6× one, ten ≥ four, the slowest ≥ 0.7× the fastest). */
const SCALE = [1, 4, 10] as const;
const TAPE_CASES = groups.has('tape') || groups.has('drives') || groups.has('cartridge') || groups.has('scaling');
const MAX_DRIVES = groups.has('scaling') ? Math.max(DRIVES, ...SCALE) : DRIVES;
/** Longest wait for our uploads after a run before the next side goes on regardless. */
const UPLOAD_WAIT_S = 300;
for (const g of groups) if (!GROUPS.includes(g)) throw new Error(`unknown case group ${g}`);
for (const s of sides) if (!ALL_SIDES.includes(s)) throw new Error(`unknown side ${s}`);

const startedAt = Date.now();
const log = (msg: string): void => {
  const t = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// Processes we start, stopped by PID whatever happens

let gateway: BenchGateway | undefined;
let tgt: TgtBench | undefined;
let workDir = '';
let stopping: Promise<void> | undefined;
async function stopAll(): Promise<void> {
  stopping ??= (async () => {
    await Promise.allSettled([gateway?.stop(20_000), tgt?.stop()]);
    if (workDir && !opts.keep) await rm(workDir, { recursive: true, force: true });
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping what the benchmark started`);
    void stopAll().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Clients

interface TapeResult {
  ok: boolean;
  errors?: string[];
  /** sync_seconds: the WRITE FILEMARKS that ends the write phase (its data made durable), included in its seconds. */
  write: { MBps: number; client_ceiling_MBps: number; bytes: number; seconds: number; sync_seconds: number; client_cpu_seconds: number };
  read: { MBps: number; client_ceiling_MBps: number; bytes: number; seconds: number; client_cpu_seconds: number };
  per_drive: { write_MBps: number; read_MBps: number }[];
  filemark_seen: boolean;
}
interface BlockResult {
  ok: boolean;
  IOPS: number;
  MBps: number;
  client_ceiling_IOPS: number;
  lat_mean_us: number;
  lat_p99_us: number;
}

let binDir = '';
/** Node's flags for our gateways (--cpu-prof and --node-arg). */
let ourNodeArgs: string[] = [];

async function tapebench(urls: readonly string[], blockSize: number, bytes: number, phases: string): Promise<TapeResult> {
  const args = urls.flatMap((u) => ['--url', u]);
  args.push('--block-size', String(blockSize), '--bytes', String(bytes), '--phases', phases);
  // Generous: 5 MB/s per drive at worst, plus login and set-up.
  const timeout = 60_000 + ((bytes * urls.length * (phases.includes('read') ? 2 : 1)) / 5e6) * 1000;
  const r = await execBounded(join(binDir, 'tapebench'), args, timeout);
  if (r.timedOut) throw new Error(`tapebench timed out after ${(timeout / 1000).toFixed(0)} s`);
  let parsed: TapeResult;
  try {
    parsed = JSON.parse(r.stdout) as TapeResult;
  } catch {
    throw new Error(`tapebench exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  if (!parsed.ok) throw new Error(`tapebench: ${(parsed.errors ?? []).join('; ') || r.stderr.trim()}`);
  if (r.stderr.trim()) log(`tapebench: ${r.stderr.trim()}`);
  if (parsed.write.bytes > 0)
    log(`    write ${parsed.write.seconds.toFixed(2)} s, of which WRITE FILEMARKS ${parsed.write.sync_seconds.toFixed(2)} s`);
  return parsed;
}

async function blockbench(url: string, test: string, bs: number, qd: number, extra: string[]): Promise<BlockResult> {
  const args = ['--url', url, '--test', test, '--bs', String(bs), '--qd', String(qd), '--span', String(span), ...extra];
  const r = await execBounded(join(binDir, 'blockbench'), args, 180_000);
  if (r.timedOut) throw new Error('blockbench timed out');
  let parsed: BlockResult;
  try {
    parsed = JSON.parse(r.stdout) as BlockResult;
  } catch {
    throw new Error(`blockbench exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  if (!parsed.ok) throw new Error(`blockbench ${test}: ${r.stderr.trim()}`);
  return parsed;
}

/** 1 MiB commands, one at a time, over `bytes` (default: the span) from the LUN's start; with `sparse`, one every `stride` bytes over its `span`. */
async function sequential(
  url: string,
  test: 'seqwrite' | 'seqread',
  bytes = span,
  sparse?: { span: number; stride: number },
): Promise<SequentialResult> {
  const pattern = sparse ? ['--span', String(sparse.span), '--stride', String(sparse.stride)] : [];
  const r = await blockbench(url, test, 1 << 20, 1, ['--bytes', String(bytes), '--seconds', '120', ...pattern]);
  return { MBps: r.MBps, ceilingMBps: (r.client_ceiling_IOPS * (1 << 20)) / 1e6 };
}

/** Writes a file's dirty pages and drops it from the page cache (coreutils' sync FILE, dd iflag=nocache). */
async function dropPageCache(path: string): Promise<void> {
  await execFileAsync('sync', [path]);
  await execFileAsync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}

// ---------------------------------------------------------------------------------------------
// Rows and cases

const rows = new Map<string, Row>();
function row(id: string, group: Group, unit: Row['unit'], goals: Row['goals'] = {}): Row {
  let r = rows.get(id);
  if (!r) {
    const empty = (): Record<SideName, number[]> => ({ ours: [], 'tgt-default': [], 'tgt-tuned': [] });
    r = { id, group, unit, goals, values: empty(), clientCeiling: empty(), errors: [] };
    rows.set(id, r);
  }
  return r;
}

interface Case {
  readonly group: Group;
  readonly title: string;
  readonly runs: number;
  /** Declares its rows up front so the table has them even when every run fails. */
  readonly rows: readonly Row[];
  exec(side: Side): Promise<Record<string, { value: number; ceiling: number }>>;
}

/** Untimed work on each side before the first case, on the paths the selected cases take. */
async function warmUp(side: Side): Promise<void> {
  if (TAPE_CASES && side.tapeUrls.length > 0) {
    // Both block sizes the tape cases lean on: the scaling cases' one drive, run first, must not pay for compiling the 256 KiB path.
    for (const blockBytes of [64 << 10, 256 << 10]) await tapebench(side.tapeUrls.slice(0, 1), blockBytes, 64 << 20, 'write,read');
  }
  if (groups.has('block') && side.diskUrl) await blockbench(side.diskUrl, 'randwrite', 4096, 1, ['--seconds', '1']);
}

const cases: Case[] = [];
for (const bs of tapeBlockSizes) {
  const size = formatSize(bs);
  const w = row(`tape write ${size}`, 'tape', 'MB/s', { 'tgt-default': 2.0, 'tgt-tuned': bs === 64 << 10 ? 1.3 : 1.0 });
  const r = row(`tape read ${size}`, 'tape', 'MB/s', { 'tgt-default': 2.0, 'tgt-tuned': bs === 64 << 10 ? 1.3 : 1.0 });
  cases.push({
    group: 'tape',
    title: `one drive, ${size} blocks, ${formatSize(tapeBytes)}`,
    runs,
    rows: [w, r],
    exec: async (side) => {
      const res = await tapebench(side.tapeUrls.slice(0, 1), bs, tapeBytes, 'write,read');
      return {
        [w.id]: { value: res.write.MBps, ceiling: res.write.client_ceiling_MBps },
        [r.id]: { value: res.read.MBps, ceiling: res.read.client_ceiling_MBps },
      };
    },
  });
}
{
  const w = row(`${DRIVES} drives write 256 KiB (aggregate)`, 'drives', 'MB/s', { 'tgt-tuned': 1.0 });
  const r = row(`${DRIVES} drives read 256 KiB (aggregate)`, 'drives', 'MB/s');
  cases.push({
    group: 'drives',
    title: `${DRIVES} drives at once, 256 KiB blocks, ${formatSize(driveBytes)} each`,
    runs,
    rows: [w, r],
    exec: async (side) => {
      if (side.tapeUrls.length < DRIVES) throw new Error(`${side.name} has ${side.tapeUrls.length} tape drives, not ${DRIVES}`);
      const res = await tapebench(side.tapeUrls.slice(0, DRIVES), 256 << 10, driveBytes, 'write,read');
      return {
        [w.id]: { value: res.write.MBps, ceiling: res.write.client_ceiling_MBps },
        [r.id]: { value: res.read.MBps, ceiling: res.read.client_ceiling_MBps },
      };
    },
  });
}
/** What each side's threads spent in the scaling cases, for the CPU-per-GiB table and the model. */
type ScalingSample = ScalingSampleView & { side: SideName; peakRssBytes: number };
const scalingSamples: ScalingSample[] = [];
for (const n of SCALE) {
  const w = row(`scaling: ${n} drive${n > 1 ? 's' : ''} write 256 KiB`, 'scaling', 'MB/s');
  const r = row(`scaling: ${n} drive${n > 1 ? 's' : ''} read 256 KiB`, 'scaling', 'MB/s');
  cases.push({
    group: 'scaling',
    title: `scaling: ${n} drive(s) at once, 256 KiB blocks, ${formatSize(scaleBytes)} each, CPU sampled by thread`,
    runs,
    rows: [w, r],
    exec: async (side) => {
      if (side.tapeUrls.length < n) throw new Error(`${side.name} has ${side.tapeUrls.length} tape drives, not ${n}`);
      const urls = side.tapeUrls.slice(0, n);
      const sample = (): ThreadCpu => {
        const cpu = threadCpu(side.tapePid);
        if (!cpu) throw new Error(`${side.name} (pid ${side.tapePid}) is gone`);
        return cpu;
      };
      const out: Record<string, { value: number; ceiling: number }> = {};
      for (const phase of ['write', 'read'] as const) {
        const before = sample();
        let peakRssBytes = 0;
        const rssTimer = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, rssBytes(side.tapePid) ?? 0)), 200);
        const device = deviceOf(workDir);
        const machineBefore = machineUsage(device);
        const res = await tapebench(urls, 256 << 10, scaleBytes, phase).finally(() => clearInterval(rssTimer));
        const machine = usageBetween(machineBefore, machineUsage(device));
        const during = cpuBetween(before, sample());
        const p = res[phase];
        let uploadTail: ThreadCpu | undefined;
        if (phase === 'write' && side.name === 'ours') {
          const t0 = sample();
          await uploadsDone(join(workDir, 'gateway'));
          uploadTail = cpuBetween(t0, sample());
        }
        const rates = res.per_drive.map((d) => (phase === 'write' ? d.write_MBps : d.read_MBps));
        scalingSamples.push({
          side: side.name,
          drives: n,
          phase,
          MBps: p.MBps,
          evenness: Math.min(...rates) / Math.max(...rates),
          bytes: p.bytes,
          cpu: during,
          machine,
          ...(uploadTail ? { uploadTail } : {}),
          clientCpuSeconds: p.client_cpu_seconds,
          peakRssBytes,
        });
        out[(phase === 'write' ? w : r).id] = { value: p.MBps, ceiling: p.client_ceiling_MBps };
      }
      return out;
    },
  });
}
const cartridgeRow = row(`cartridge ${formatSize(cartridgeBytes)} write 256 KiB`, 'cartridge', 'MB/s');
interface RssTrace {
  side: SideName;
  run: number;
  samples: { t: number; rss: number }[];
}
const rssTraces: RssTrace[] = [];
cases.push({
  group: 'cartridge',
  title: `one cartridge of ${formatSize(cartridgeBytes)}, 256 KiB blocks, RSS sampled`,
  runs: cartridgeRuns,
  rows: [cartridgeRow],
  exec: async (side) => {
    const trace: RssTrace = { side: side.name, run: rssTraces.filter((t) => t.side === side.name).length, samples: [] };
    rssTraces.push(trace);
    const t0 = Date.now();
    const timer = setInterval(() => {
      const rss = rssBytes(side.tapePid);
      if (rss !== undefined) trace.samples.push({ t: (Date.now() - t0) / 1000, rss });
    }, 250);
    try {
      const res = await tapebench(side.tapeUrls.slice(0, 1), 256 << 10, cartridgeBytes, 'write');
      return { [cartridgeRow.id]: { value: res.write.MBps, ceiling: res.write.client_ceiling_MBps } };
    } finally {
      clearInterval(timer);
    }
  },
});
{
  // Issue 16's goals for a cached volume with its cache warm: ≥ 1.0× tgt tuned at 1 MiB and at QD32, ≥ 0.9× at QD1.
  const sw = row('block 1 MiB seq write QD1', 'block', 'MB/s', { 'tgt-tuned': 1.0 });
  const sr = row('block 1 MiB seq read QD1', 'block', 'MB/s', { 'tgt-tuned': 1.0 });
  const allRandom = [
    ['randread', 1],
    ['randread', 32],
    ['randwrite', 1],
    ['randwrite', 32],
  ] as const;
  const chosen = opts['block-cases']?.split(',');
  const random = chosen ? allRandom.filter(([t, qd]) => chosen.includes(`${t}:${qd}`)) : allRandom;
  for (const c of chosen ?? []) if (!allRandom.some(([t, qd]) => c === `${t}:${qd}`)) throw new Error(`unknown block case ${c}`);
  const rrows = random.map(([t, qd]) =>
    row(`block 4 KiB ${t === 'randread' ? 'random read' : 'random write'} QD${qd}`, 'block', 'IOPS', {
      'tgt-default': 1.0,
      'tgt-tuned': qd === 1 ? 0.9 : 1.0,
    }),
  );
  cases.push({
    group: 'block',
    title: `block LUN (ours: a cached volume, cache warm): 1 MiB sequential over ${formatSize(span)}, 4 KiB random ${blockSeconds} s each`,
    runs,
    rows: [sw, sr, ...rrows],
    exec: async (side) => {
      if (!side.diskUrl) throw new Error(`${side.name} serves no disk LUN`);
      const out: Record<string, { value: number; ceiling: number }> = {};
      // The sequential write also fills the span, so random reads meet written data.
      const w = await sequential(side.diskUrl, 'seqwrite');
      out[sw.id] = { value: w.MBps, ceiling: w.ceilingMBps };
      const r = await sequential(side.diskUrl, 'seqread');
      out[sr.id] = { value: r.MBps, ceiling: r.ceilingMBps };
      for (const [i, [test, qd]] of random.entries()) {
        const res = await blockbench(side.diskUrl, test, 4096, qd, ['--seconds', String(blockSeconds)]);
        out[rrows[i]!.id] = { value: res.IOPS, ceiling: res.client_ceiling_IOPS };
      }
      return out;
    },
  });
}

const coldVersusRaw: number[] = [];
const snapshotCosts: CachedVolumeRun['snapshot'][] = [];
const busyRuns: BusyGatewayRun[] = [];
{
  const vw = row('cached volume 1 MiB seq write QD1', 'volume', 'MB/s');
  const vr = row('cached volume 1 MiB seq read QD1, cache wiped', 'volume', 'MB/s');
  const vg = row('raw SDK GET of its 1 MiB chunk objects', 'volume', 'MB/s');
  cases.push({
    group: 'volume',
    title: `cached volume: 1 MiB sequential over ${formatSize(span)}, written, uploaded, the cache wiped, read back (tgt: its file's page cache dropped); ours also: an 8 GiB volume's incremental snapshot, and peak RSS with 4 volumes and 2 drives busy`,
    runs,
    rows: [vw, vr, vg],
    exec: async (side) => {
      if (side.name === 'ours') {
        const r = await runCachedVolume({
          dataDir: join(workDir, 'volume-gateway'),
          span,
          gatewayArgs: opts['gateway-arg'] ?? [],
          nodeArgs: ourNodeArgs,
          sequential,
          uploadsDone,
          log,
        });
        log(`    raw SDK GET: ${r.rawGetObjects} chunk objects; cold read / raw GET ${(r.coldRead.MBps / r.rawGetMBps).toFixed(2)}`);
        coldVersusRaw.push(r.coldRead.MBps / r.rawGetMBps);
        snapshotCosts.push(r.snapshot);
        log(
          `    incremental snapshot: ${formatSize(r.snapshot.changedBytes)} changed, ${r.snapshot.uploadedBytes} bytes uploaded (${r.snapshot.chunksUploaded} chunks)`,
        );
        const busy = await runBusyGateway({
          dataDir: join(workDir, 'busy-gateway'),
          span,
          driveBytes,
          randomSeconds: blockSeconds,
          gatewayArgs: opts['gateway-arg'] ?? [],
          nodeArgs: ourNodeArgs,
          blockbench,
          tapebench,
          loadCartridges: (dataDir, drives) => loadOurCartridges(dataDir, drives, driveBytes * 1.05 + (64 << 20)),
          rssBytes,
          log,
        });
        busyRuns.push(busy);
        log(
          `    4 volumes and 2 drives busy at once for ${busy.seconds.toFixed(1)} s: peak RSS ${(busy.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        );
        return {
          [vw.id]: { value: r.write.MBps, ceiling: r.write.ceilingMBps },
          [vr.id]: { value: r.coldRead.MBps, ceiling: r.coldRead.ceilingMBps },
          [vg.id]: { value: r.rawGetMBps, ceiling: NaN },
        };
      }
      if (!side.diskUrl || !side.diskPath) throw new Error(`${side.name} serves no file-backed disk LUN`);
      const w = await sequential(side.diskUrl, 'seqwrite');
      await dropPageCache(side.diskPath);
      const r = await sequential(side.diskUrl, 'seqread');
      return { [vw.id]: { value: w.MBps, ceiling: w.ceilingMBps }, [vr.id]: { value: r.MBps, ceiling: r.ceilingMBps } };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Set-up

function ourTapeUrls(gw: BenchGateway): string[] {
  const urls: string[] = [];
  for (const target of gw.targets) {
    for (const lun of target.luns) {
      if (lun.deviceType === 'tape') urls.push(`iscsi://${gw.portal}/${target.name}/${lun.lun}`);
    }
  }
  return urls;
}

function ourDiskUrl(gw: BenchGateway): string | undefined {
  for (const target of gw.targets) {
    for (const lun of target.luns) {
      if (lun.deviceType === 'disk') return `iscsi://${gw.portal}/${target.name}/${lun.lun}`;
    }
  }
  return undefined;
}

/** bin/tapegw tape create + tape move, as an operator would; cartridges of at least 100 GiB (the default minimum). */
async function loadOurCartridges(dataDir: string, drives: number, capacity: number): Promise<void> {
  const cli = join(root, 'bin/tapegw');
  const size = `${Math.max(100, Math.ceil(capacity / 2 ** 30))}GiB`;
  for (let d = 1; d <= drives; d++) {
    const barcode = `BNCH${String(d).padStart(2, '0')}L5`;
    await execFileAsync(cli, ['--data-dir', dataDir, 'tape', 'create', '--barcode', barcode, '--size', size]);
    await execFileAsync(cli, ['--data-dir', dataDir, 'tape', 'move', barcode, '--to', `drive:${d}`]);
  }
}

/** Seconds until our gateway has no data left to upload (its metrics say so), at most UPLOAD_WAIT_S. */
async function uploadsDone(dataDir: string): Promise<number> {
  const api = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string; token: string };
  const started = Date.now();
  while (Date.now() - started < UPLOAD_WAIT_S * 1000) {
    const metrics = await (await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${api.token}` } })).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    if (gauge('UploadQueueDepth') === 0 && gauge('CachePercentDirty') === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return (Date.now() - started) / 1000;
}

async function gitRevision(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
    return stdout.trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(v: number, unit: Row['unit']): string {
  if (!Number.isFinite(v)) return '-';
  return unit === 'IOPS' ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function summary(values: readonly number[]): { median: number; min: number; max: number; n: number } {
  const ok = values.filter(Number.isFinite);
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), n: ok.length };
}

function ratios(r: Row, other: SideName): number[] {
  const ours = r.values.ours;
  const theirs = r.values[other];
  const out: number[] = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (Number.isFinite(a) && Number.isFinite(b) && b > 0) out.push(a / b);
  }
  return out;
}

function cell(values: readonly number[], unit: Row['unit']): string {
  const s = summary(values);
  if (s.n === 0) return '-';
  if (s.n === 1) return fmt(s.median, unit);
  return `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})`;
}

function ratioCell(values: readonly number[], goal: number | undefined): string {
  const s = summary(values);
  if (s.n === 0) return '-';
  const range = s.n > 1 ? ` (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : '';
  const mark = goal === undefined ? '' : s.median >= goal ? ` ≥${goal} ok` : ` ≥${goal} MISS`;
  return `${s.median.toFixed(2)}${range}${mark}`;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const { stdout } = await execFileAsync(join(root, 'scripts/bench/build.sh'));
  binDir = stdout.trim();
  workDir = await mkdtemp(join(tmpdir(), 'tape-gateway-bench-'));
  const loadBefore = loadAverage();
  const reportedBefore = memoryReportedToHost();
  log(`work directory ${workDir}; load average ${loadBefore.join(' ')} on ${cpus().length} CPUs`);

  log(`disk's own sequential write rate (${formatSize(diskBytes)}, buffered, fdatasync)...`);
  const diskRates = [await diskWriteRate(workDir, diskBytes)];

  const tapeCapacity = Math.max(tapeBytes, driveBytes, cartridgeBytes, scaleBytes) * 1.05 + (64 << 20);
  const sideList: Side[] = [];
  if (sides.includes('tgt-default') || sides.includes('tgt-tuned')) {
    tgt = await startTgt({
      dir: join(workDir, 'tgt'),
      drives: TAPE_CASES ? MAX_DRIVES : 0,
      tapeCapacityBytes: tapeCapacity,
      diskBytes: 1 << 30,
    });
    log(`tgtd pid ${tgt.pid} on ${tgt.portal} (control port ${tgt.controlPort})`);
    for (const t of tgt.targets) {
      if (sides.includes(t.name))
        sideList.push({ name: t.name, pid: tgt.pid, tapePid: tgt.pid, diskUrl: t.diskUrl, diskPath: t.diskPath, tapeUrls: t.tapeUrls });
    }
  }
  if (sides.includes('ours')) {
    const nodeArgs = [...(opts['node-arg'] ?? [])];
    if (opts['cpu-prof']) {
      const dir = resolve(root, opts['cpu-prof']);
      await mkdir(dir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    ourNodeArgs = nodeArgs;
    // The block cases' disk: a cached volume (its chunks in the cache once written), as issue 16's goals say.
    gateway = await startBenchGateway({
      dataDir: join(workDir, 'gateway'),
      nodeArgs,
      args: ['--volume', 'bench=1GiB:cached', ...(opts['gateway-arg'] ?? [])],
    });
    let tapeUrls = ourTapeUrls(gateway);
    log(`our gateway pid ${gateway.pid} on ${gateway.portal}: ${gateway.targets.length} targets, ${tapeUrls.length} tape drives`);
    if (TAPE_CASES && tapeUrls.length >= MAX_DRIVES) {
      // The operator's path: blank cartridges made with the CLI, moved into the first drives.
      await loadOurCartridges(join(workDir, 'gateway'), MAX_DRIVES, tapeCapacity);
      tapeUrls = tapeUrls.slice(0, MAX_DRIVES);
      log(`${MAX_DRIVES} cartridges created and moved into drives 1-${MAX_DRIVES} with bin/tapegw`);
    }
    sideList.unshift({
      name: 'ours',
      pid: gateway.pid,
      tapePid: gateway.pid,
      diskUrl: ourDiskUrl(gateway),
      tapeUrls,
      ...(tapeUrls.length < MAX_DRIVES
        ? { note: `the gateway serves ${tapeUrls.length} tape drives; the tape cases need ${MAX_DRIVES} (--drives)` }
        : {}),
    });
  }
  const peakRss = { bytes: 0 };
  const rssTimer = setInterval(() => {
    const rss = gateway ? rssBytes(gateway.pid) : undefined;
    if (rss !== undefined && rss > peakRss.bytes) peakRss.bytes = rss;
  }, 200);

  for (const side of sideList) {
    log(`warming up ${side.name} (untimed)...`);
    try {
      await warmUp(side);
    } catch (e) {
      log(`  warm-up of ${side.name} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    if (side.name === 'ours') await uploadsDone(join(workDir, 'gateway'));
  }

  let stoppedEarly = '';
  const caseLog: { case: string; side: SideName; run: number; seconds: number; uploadSeconds?: number; error?: string }[] = [];
  for (const c of cases) {
    if (!groups.has(c.group)) continue;
    log(`case: ${c.title}`);
    for (let run = 0; run < c.runs; run++) {
      for (const side of sideList) {
        if (Date.now() - startedAt > maxMs) {
          stoppedEarly ||= `time limit of ${maxMs / 60_000} minutes reached during "${c.title}"`;
          break;
        }
        const t0 = Date.now();
        let error: string | undefined;
        let result: Record<string, { value: number; ceiling: number }> = {};
        try {
          if (c.group !== 'block' && c.group !== 'volume' && side.tapeUrls.length === 0) throw new Error(side.note ?? 'no tape drives');
          result = await c.exec(side);
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        for (const r of c.rows) {
          r.values[side.name].push(result[r.id]?.value ?? NaN);
          r.clientCeiling[side.name].push(result[r.id]?.ceiling ?? NaN);
          if (error && !r.errors.includes(`${side.name}: ${error}`)) r.errors.push(`${side.name}: ${error}`);
        }
        const seconds = (Date.now() - t0) / 1000;
        // Our uploads go on after a run; the next side's run starts once they are done, so that
        // neither side is measured while our background work takes CPU, and what it costs is shown.
        const uploadSeconds = side.name === 'ours' ? await uploadsDone(join(workDir, 'gateway')) : undefined;
        caseLog.push({
          case: c.title,
          side: side.name,
          run,
          seconds,
          ...(uploadSeconds !== undefined ? { uploadSeconds } : {}),
          ...(error ? { error } : {}),
        });
        const shown = c.rows.map((r) => `${r.id}=${fmt(result[r.id]?.value ?? NaN, r.unit)}`).join(', ');
        const uploads = uploadSeconds ? `; its uploads finished ${uploadSeconds.toFixed(1)} s later` : '';
        log(
          `  run ${run + 1}/${c.runs} ${side.name}: ${error ? `FAILED: ${error.split('\n')[0]}` : shown} (${seconds.toFixed(1)} s${uploads})`,
        );
      }
    }
  }
  clearInterval(rssTimer);
  log(`disk's own sequential write rate again...`);
  diskRates.push(await diskWriteRate(workDir, diskBytes));
  const loadAfter = loadAverage();
  const reportedDuring = reportedBefore === undefined ? undefined : (memoryReportedToHost() ?? reportedBefore) - reportedBefore;

  // Table
  const activeRows = [...rows.values()].filter((r) => groups.has(r.group));
  const header = ['case', 'unit', ...sideList.map((s) => s.name)];
  if (sides.includes('ours') && sides.includes('tgt-default')) header.push('ours/tgt-default');
  if (sides.includes('ours') && sides.includes('tgt-tuned')) header.push('ours/tgt-tuned');
  const body = activeRows.map((r) => {
    const cells = [r.id, r.unit, ...sideList.map((s) => cell(r.values[s.name], r.unit))];
    if (header.includes('ours/tgt-default')) cells.push(ratioCell(ratios(r, 'tgt-default'), r.goals['tgt-default']));
    if (header.includes('ours/tgt-tuned')) cells.push(ratioCell(ratios(r, 'tgt-tuned'), r.goals['tgt-tuned']));
    return cells;
  });
  const ourTraces = rssTraces.filter((t) => t.side === 'ours' && t.samples.length > 0);
  const rssCartridge = ourTraces.map((t) => {
    const half = t.samples[t.samples.length - 1]!.t / 2;
    const first = t.samples.filter((s) => s.t <= half);
    const second = t.samples.filter((s) => s.t > half);
    const peak = (xs: typeof t.samples) => Math.max(0, ...xs.map((s) => s.rss));
    return { run: t.run, peakBytes: peak(t.samples), firstHalfPeakBytes: peak(first), secondHalfPeakBytes: peak(second) };
  });
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

  const out: string[] = [];
  out.push('');
  out.push(
    `Benchmark ${new Date().toISOString()} at ${await gitRevision()}; ${cpus().length} CPUs; load average ${loadBefore[0]} before, ${loadAfter[0]} after${quick ? '; QUICK run' : ''}`,
  );
  out.push(`Cells: median (min–max) of ${runs} alternating runs; ratios are paired per run (ours run i / tgt run i).`);
  out.push(`tgt-tuned: ${TUNED.map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  out.push('');
  out.push(table(header, body));
  out.push('');
  const rates = (pick: (r: DiskWriteRate) => number) => diskRates.map((r) => (pick(r) / 1e6).toFixed(0)).join(' / ');
  out.push(
    `disk's own sequential write (${formatSize(diskBytes)}, buffered + fdatasync): into a new file ${rates((r) => r.newFile)} MB/s, ` +
      `the same file rewritten ${rates((r) => r.rewritten)} MB/s (start / end); our cache writes each cartridge into new files, tgtd rewrites its image`,
  );
  if (gateway) out.push(`our peak RSS over the whole run (gateway): ${mib(peakRss.bytes)}`);
  for (const c of rssCartridge) {
    const flat = c.secondHalfPeakBytes <= c.firstHalfPeakBytes * 1.1 + (8 << 20);
    out.push(
      `RSS while writing a ${formatSize(cartridgeBytes)} cartridge (run ${c.run + 1}): peak ${mib(c.peakBytes)} (goal ≤ 256 MiB: ${c.peakBytes <= 256 * 2 ** 20 ? 'ok' : 'MISS'}); first half ${mib(c.firstHalfPeakBytes)}, second half ${mib(c.secondHalfPeakBytes)} (${flat ? 'flat' : 'GROWING'})`,
    );
  }
  // The client's share: measured rate over the rate the client could reach on its own CPU time.
  const shares = activeRows
    .map((r) => {
      let worst = NaN;
      for (const s of sideList) {
        r.values[s.name].forEach((v, i) => {
          const c = r.clientCeiling[s.name][i]!;
          if (Number.isFinite(v) && Number.isFinite(c) && c > 0 && !(v / c <= worst)) worst = v / c;
        });
      }
      return { r, worst };
    })
    .filter((x) => Number.isFinite(x.worst));
  if (shares.length) {
    out.push(
      `client busy (rate / client's own ceiling, i.e. bytes or commands per client CPU second; worst run): ${shares.map((x) => `${x.r.id} ${(x.worst * 100).toFixed(0)}%`).join('; ')}`,
    );
  }
  if (coldVersusRaw.length > 0) {
    const ratio = median(coldVersusRaw);
    out.push(
      `cached volume, cache wiped: its 1 MiB sequential read over the raw SDK's GET of the same chunk objects from the same endpoint, paired per run: ` +
        `${ratio.toFixed(2)} (${coldVersusRaw.map((r) => r.toFixed(2)).join(', ')}; goal ≥ 0.8: ${ratio >= 0.8 ? 'ok' : 'MISS'})`,
    );
  }
  if (snapshotCosts.length > 0) {
    const worst = Math.max(...snapshotCosts.map((c) => c.uploadedBytes / c.changedBytes));
    out.push(
      `cached volume of 8 GiB, incremental snapshot after a tenth of it (${formatSize(snapshotCosts[0]!.changedBytes)}, 1 MiB every 5 MiB) changed: uploaded ` +
        `${snapshotCosts.map((c) => `${c.uploadedBytes} B (${c.chunksUploaded} chunks)`).join(', ')}; worst ${worst.toFixed(3)}× the changed bytes (goal ≤ 1.1: ${worst <= 1.1 ? 'ok' : 'MISS'})`,
    );
  }
  if (busyRuns.length > 0) {
    const worst = Math.max(...busyRuns.map((b) => b.peakRssBytes)) / 2 ** 20;
    out.push(
      `gateway with 4 volumes (2 cached, 2 stored) and 2 tape drives busy at once: peak RSS ${busyRuns.map((b) => `${(b.peakRssBytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}; ` +
        `worst ${worst.toFixed(0)} MiB (goal ≤ 256 MiB: ${worst <= 256 ? 'ok' : 'MISS'})`,
    );
  }
  if (scalingSamples.length)
    out.push(
      '',
      scalingReport(
        scalingSamples,
        sideList.map((s) => s.name),
      ),
    );
  for (const s of sideList) if (s.note) out.push(`${s.name}: ${s.note}`);
  const errors = new Map<string, string[]>();
  for (const r of activeRows) for (const e of r.errors) errors.set(e, [...(errors.get(e) ?? []), r.id]);
  for (const [e, ids] of errors) out.push(`error (${ids.length} rows: ${ids[0]}${ids.length > 1 ? ', ...' : ''}): ${e.split('\n')[0]}`);
  if (stoppedEarly) out.push(`stopped early: ${stoppedEarly}`);
  if (Math.max(loadBefore[0]!, loadAfter[0]!) > cpus().length * 0.75) {
    out.push(
      `NOTE: the machine was busy (load average ${loadBefore[0]} / ${loadAfter[0]} on ${cpus().length} CPUs): absolute figures are noisy; prefer the paired ratios.`,
    );
  }
  if (reportedDuring) {
    out.push(
      `NOTE: this VM handed ${Math.round(reportedDuring / 2 ** 20)} MiB of freed memory back to its host during the run (free page reporting): ` +
        `a page a new file first touches costs a host fault, so compare the tape write ratios with the disk's two rates above.`,
    );
  }
  process.stdout.write(out.join('\n') + '\n');

  const results = {
    date: new Date().toISOString(),
    revision: await gitRevision(),
    cpus: cpus().length,
    loadAverage: { before: loadBefore, after: loadAfter },
    memoryReportedToHostBytes: reportedDuring ?? null,
    options: {
      quick,
      runs,
      tapeBytes,
      driveBytes,
      cartridgeBytes,
      cartridgeRuns,
      blockSeconds,
      span,
      diskBytes,
      groups: [...groups],
      sides,
      gatewayArgs: opts['gateway-arg'],
    },
    tgtTuned: Object.fromEntries(TUNED),
    diskWriteBytesPerSecond: diskRates.map((r) => r.newFile),
    diskRewriteBytesPerSecond: diskRates.map((r) => r.rewritten),
    ourPeakRssBytes: gateway ? peakRss.bytes : null,
    cartridgeRss: rssCartridge,
    cachedVolume: { coldReadOverRawGet: coldVersusRaw, incrementalSnapshots: snapshotCosts },
    rssTraces,
    rows: activeRows.map((r) => ({
      case: r.id,
      unit: r.unit,
      values: r.values,
      clientCeiling: r.clientCeiling,
      median: Object.fromEntries(sideList.map((s) => [s.name, summary(r.values[s.name]).median])),
      ratios: {
        'tgt-default': ratios(r, 'tgt-default'),
        'tgt-tuned': ratios(r, 'tgt-tuned'),
      },
      goals: r.goals,
      errors: r.errors,
    })),
    runs: caseLog,
    scaling: scalingSamples,
    stoppedEarly: stoppedEarly || null,
  };
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(
    jsonPath,
    JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
  log(`results written to ${jsonPath}`);
  return 0;
}

/** npm run bench -- --only share: the NFS share against nfs-ganesha. */
async function mainShare(): Promise<number> {
  const { stdout } = await execFileAsync(join(root, 'scripts/bench/build.sh'));
  binDir = stdout.trim();
  workDir ||= await mkdtemp(join(tmpdir(), 'tape-gateway-bench-'));
  log(
    `share benchmark in ${workDir}; load average ${loadAverage().join(' ')} on ${cpus().length} CPUs (a shared machine: figures are noisy)`,
  );
  const nodeArgs = [...(opts['node-arg'] ?? [])];
  if (opts['cpu-prof']) {
    const dir = resolve(root, opts['cpu-prof']);
    await mkdir(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const result = await runShareBench({
    binDir,
    workDir,
    runs,
    bytes: parseSize(opts['share-bytes'] ?? (quick ? '128M' : '1G')),
    files: Number(opts['share-files'] ?? (quick ? 1000 : 10_000)),
    gatewayArgs: [...(opts['gateway-arg'] ?? [])],
    nodeArgs,
    log,
  });
  process.stdout.write(`\n${result.text}\nload average after: ${loadAverage().join(' ')}; revision ${await gitRevision()}\n`);
  const sharePath = jsonPath.replace(/\.json$/, '-share.json');
  await mkdir(dirname(sharePath), { recursive: true });
  await writeFile(
    sharePath,
    JSON.stringify(result.json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
  log(`results written to ${sharePath}`);
  return 0;
}

let code = 1;
try {
  code = groups.size > 0 ? await main() : 0;
  if (code === 0 && wantShare) code = await mainShare();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  log('stopping the gateway and tgtd');
  await stopAll();
}
process.exit(code);
