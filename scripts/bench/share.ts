// The file share's benchmark (npm run bench -- --only share): our gateway's NFS share against
// nfs-ganesha (Debian nfs-ganesha + nfs-ganesha-vfs, a user-space NFS server) exporting a local
// directory, on 127.0.0.1, with the same libnfs client (scripts/bench/sharebench.c), each case
// run alternately on each side: 1 GiB written and read in 1 MiB requests, 10,000 files of 4 KiB
// created (each written and fsync-ed), stat-ed and read, and a READDIRPLUS of the 10,000.
// Before the first run each side gets an untimed warm-up (256 MiB written, then read four times),
// so that no run's read pays for compiling our read path. After the sequential cases and after
// each run it waits until the gateway has uploaded what it wrote (tapegw share wait-uploaded), so
// that no case is measured under an earlier case's uploads, and logs how long that took. A case's own uploads (the small files') still run beside it.
// Our gateway's RSS is sampled every 250 ms for the whole run. Each server's CPU time (user and
// system, all threads) over the sequential write is reported beside the rates: on this virtual
// machine a page the page cache takes from free memory the host has not backed (or took back) costs
// a host fault, several times the copy into it, so a write's system time (either server's) swings
// with how much backed free memory the machine has at that moment; the line tells such runs apart.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBenchGateway, type BenchGateway } from './gateway.ts';
import { cpuBetween, THREAD_CLASSES, threadCpu, type ThreadCpu } from './thread-cpu.ts';
import { execBounded, formatSize, freePort, median, rssBytes } from './util.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const execFileAsync = promisify(execFile);

export interface ShareBenchOptions {
  readonly binDir: string;
  readonly workDir: string;
  readonly runs: number;
  readonly bytes: number;
  readonly files: number;
  readonly gatewayArgs: readonly string[];
  readonly nodeArgs: readonly string[];
  readonly log: (message: string) => void;
}

type SideName = 'ours' | 'ganesha';

interface ShareSide {
  readonly name: SideName;
  readonly url: string;
  readonly pid: number;
  /** After a run: waits until what it wrote is where it stays (our uploads), in seconds. */
  settle(): Promise<number>;
  stop(): Promise<void>;
}

interface CaseRow {
  readonly id: string;
  readonly unit: 'MB/s' | 'files/s' | 'entries/s';
  readonly goal?: number;
  readonly values: Record<SideName, number[]>;
}

async function sharebench(binDir: string, url: string, args: readonly string[], timeoutMs: number): Promise<Record<string, number>> {
  const r = await execBounded(join(binDir, 'sharebench'), ['--url', url, ...args], timeoutMs);
  if (r.timedOut) throw new Error(`sharebench ${args.join(' ')} timed out`);
  const parsed = JSON.parse(r.stdout || '{}') as Record<string, unknown>;
  const error = parsed['error'];
  if (!parsed['ok']) throw new Error(`sharebench ${args.join(' ')}: ${typeof error === 'string' ? error : r.stderr}`);
  return parsed as Record<string, number>;
}

/** rpcbind (ganesha will not start without one) and ganesha on free ports, exporting a fresh directory. */
async function startGanesha(dir: string): Promise<ShareSide> {
  const exportDir = join(dir, 'export');
  await mkdir(exportDir, { recursive: true });
  await mkdir(join(dir, 'recov'), { recursive: true });
  const [nfsPort, mountPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'ganesha.conf');
  await writeFile(
    conf,
    `NFS_CORE_PARAM { NFS_Port = ${nfsPort}; MNT_Port = ${mountPort}; Bind_addr = 127.0.0.1; Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; Plugins_Dir = "/usr/lib/x86_64-linux-gnu/ganesha"; }
NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = "${dir}/recov"; }
EXPORT { Export_Id = 1; Path = "${exportDir}"; Pseudo = "${exportDir}"; Protocols = 3; Transports = TCP; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; FSAL { Name = VFS; } }
`,
  );
  const children: ChildProcess[] = [];
  // An rpcbind already running (the system's) serves ganesha as well; else one of ours for the run.
  const rpcbindRunning = await execFileAsync('rpcinfo', ['-p', '127.0.0.1']).then(
    () => true,
    () => false,
  );
  if (!rpcbindRunning) {
    const rpcbind = spawn('rpcbind', ['-f', '-w'], { stdio: 'ignore' });
    children.push(rpcbind);
    await new Promise((r) => setTimeout(r, 500));
  }
  const ganesha = spawn('ganesha.nfsd', ['-F', '-L', join(dir, 'ganesha.log'), '-f', conf, '-p', join(dir, 'ganesha.pid')], {
    stdio: 'ignore',
  });
  children.push(ganesha);
  const url = `nfs://127.0.0.1${exportDir}?nfsport=${nfsPort}&mountport=${mountPort}`;
  for (let i = 0; ; i++) {
    const r = await execBounded('nfs-ls', [url], 5000).catch(() => undefined);
    if (r?.code === 0) break;
    if (i > 50 || ganesha.exitCode !== null) throw new Error(`nfs-ganesha did not come up (see ${dir}/ganesha.log)`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  return {
    name: 'ganesha',
    url,
    pid: ganesha.pid!,
    settle: async () => 0,
    stop: async () => {
      for (const child of children.reverse()) {
        if (child.exitCode !== null) continue;
        const exited = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

async function startOurs(options: ShareBenchOptions): Promise<ShareSide & { gateway: BenchGateway }> {
  const dataDir = join(options.workDir, 'share-gateway');
  const gateway = await startBenchGateway({
    dataDir,
    nodeArgs: options.nodeArgs,
    args: [
      '--nfs-port',
      '0',
      '--nfs-mount-port',
      '0',
      '--nfs-portmap',
      'false',
      '--volume',
      'scratch=16MiB',
      '--drives',
      '1',
      '--slots',
      '4',
      '--import-export-slots',
      '1',
      ...options.gatewayArgs,
    ],
  });
  const nfs = gateway.nfs;
  return {
    name: 'ours',
    gateway,
    url: `nfs://127.0.0.1/files?nfsport=${nfs.nfsPort}&mountport=${nfs.mountPort}`,
    pid: gateway.pid,
    settle: async () => {
      const started = Date.now();
      await execFileAsync(join(root, 'bin/tapegw'), ['--data-dir', dataDir, 'share', 'wait-uploaded', 'files'], { timeout: 900_000 });
      return (Date.now() - started) / 1000;
    },
    stop: () => gateway.stop(30_000),
  };
}

/** Sequential READs the untimed warm-up makes: as many as one 1 GiB case, a count our JavaScript's read path is compiled by. */
const WARM_UP_READS = 1024;
const WARM_UP_FILE = 256 << 20;

/**
 * Untimed sequential writes and reads on a side before the first run (as run.ts warms up the
 * tape and block sides): without it our first run's read paid for compiling the read path
 * (1328 MB/s against 1572 and 1922 in the runs after it, ganesha steady at 1832-1872).
 */
async function warmUp(binDir: string, side: ShareSide, timeoutMs: number): Promise<void> {
  const args = ['--dir', 'warm-up', '--bytes', String(WARM_UP_FILE)];
  await sharebench(binDir, side.url, ['--test', 'seqwrite', ...args], timeoutMs);
  for (let read = 0; read < WARM_UP_READS / (WARM_UP_FILE >> 20); read++)
    await sharebench(binDir, side.url, ['--test', 'seqread', ...args], timeoutMs);
  await side.settle();
}

export async function runShareBench(options: ShareBenchOptions): Promise<{ text: string; json: unknown }> {
  const { log, runs } = options;
  const rows: CaseRow[] = [
    { id: `sequential write ${formatSize(options.bytes)}, 1 MiB`, unit: 'MB/s', goal: 1.0, values: { ours: [], ganesha: [] } },
    { id: `sequential read ${formatSize(options.bytes)}, 1 MiB`, unit: 'MB/s', goal: 1.0, values: { ours: [], ganesha: [] } },
    { id: `${options.files} files of 4 KiB created`, unit: 'files/s', goal: 1.0, values: { ours: [], ganesha: [] } },
    { id: `${options.files} files stat-ed`, unit: 'files/s', values: { ours: [], ganesha: [] } },
    { id: `${options.files} files read`, unit: 'files/s', values: { ours: [], ganesha: [] } },
    { id: `READDIRPLUS of ${options.files}`, unit: 'entries/s', values: { ours: [], ganesha: [] } },
  ];
  const [write, read, create, stat, readFiles, readdir] = rows as [CaseRow, CaseRow, CaseRow, CaseRow, CaseRow, CaseRow];
  const ganesha = await startGanesha(join(options.workDir, 'ganesha'));
  log(`nfs-ganesha pid ${ganesha.pid}: ${ganesha.url}`);
  let ours: Awaited<ReturnType<typeof startOurs>> | undefined;
  const rss: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const settles: number[] = [];
  const errors: string[] = [];
  /** Each server's CPU seconds per GiB over each sequential write, user and system. */
  const writeCpu: Record<SideName, { user: number; sys: number }[]> = { ours: [], ganesha: [] };
  try {
    ours = await startOurs(options);
    log(`our gateway pid ${ours.pid}: ${ours.url}`);
    const ourPid = ours.pid;
    sampler = setInterval(() => {
      const bytes = rssBytes(ourPid);
      if (bytes !== undefined) rss.push(bytes);
    }, 250);
    const bytesTimeout = 120_000 + (options.bytes / 5e6) * 1000;
    const filesTimeout = 120_000 + options.files * 50;
    for (const side of [ours, ganesha]) {
      log(`warming up ${side.name} (untimed)...`);
      await warmUp(options.binDir, side, bytesTimeout);
    }
    for (let run = 0; run < runs; run++) {
      for (const side of run % 2 === 0 ? [ours, ganesha] : [ganesha, ours]) {
        const dir = `run${run}`;
        try {
          log(`run ${run + 1}/${runs}, ${side.name}: sequential write and read`);
          const cpuBefore = threadCpu(side.pid);
          const w = await sharebench(
            options.binDir,
            side.url,
            ['--test', 'seqwrite', '--dir', dir, '--bytes', String(options.bytes)],
            bytesTimeout,
          );
          write.values[side.name].push(w['MBps']!);
          const cpuAfter = threadCpu(side.pid);
          if (cpuBefore && cpuAfter) writeCpu[side.name].push(perGiB(cpuBetween(cpuBefore, cpuAfter), options.bytes));
          const r = await sharebench(
            options.binDir,
            side.url,
            ['--test', 'seqread', '--dir', dir, '--bytes', String(options.bytes)],
            bytesTimeout,
          );
          read.values[side.name].push(r['MBps']!);
          const sequentialUploads = await side.settle();
          if (side.name === 'ours') log(`  our uploads of the sequential file finished ${sequentialUploads.toFixed(1)} s after its read`);
          log(`run ${run + 1}/${runs}, ${side.name}: ${options.files} small files`);
          const small = await sharebench(
            options.binDir,
            side.url,
            ['--test', 'smallfiles', '--dir', `${dir}-small`, '--files', String(options.files)],
            filesTimeout,
          );
          create.values[side.name].push(small['create_per_s']!);
          stat.values[side.name].push(small['stat_per_s']!);
          readFiles.values[side.name].push(small['read_per_s']!);
          const list = await sharebench(
            options.binDir,
            side.url,
            ['--test', 'readdirplus', '--dir', `${dir}-small`, '--files', String(options.files)],
            filesTimeout,
          );
          readdir.values[side.name].push(list['entries_per_s']!);
        } catch (error) {
          errors.push(`${side.name} run ${run + 1}: ${(error as Error).message}`);
          log(`  failed: ${(error as Error).message}`);
        }
        const seconds = await side.settle();
        if (side.name === 'ours') {
          settles.push(seconds);
          log(`  our uploads of the run finished ${seconds.toFixed(1)} s after it`);
        }
      }
    }
  } finally {
    clearInterval(sampler);
    await ours?.stop();
    await ganesha.stop();
  }
  const fmt = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '-');
  const lines = [
    `${'case'.padEnd(40)}  ${'unit'.padEnd(9)}  ${'ours (median, range)'.padEnd(24)}  ${'ganesha (median, range)'.padEnd(24)}  ratio`,
  ];
  const json: Record<string, unknown>[] = [];
  for (const row of rows) {
    const ratios = row.values.ours.map((v, i) => v / (row.values.ganesha[i] ?? NaN)).filter(Number.isFinite);
    const cell = (values: number[]) =>
      values.length === 0 ? '-' : `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
    const ratio =
      ratios.length === 0
        ? '-'
        : `${median(ratios).toFixed(2)}${row.goal === undefined ? '' : median(ratios) >= row.goal ? ` ≥${row.goal} ok` : ` ≥${row.goal} MISS`}`;
    lines.push(
      `${row.id.padEnd(40)}  ${row.unit.padEnd(9)}  ${cell(row.values.ours).padEnd(24)}  ${cell(row.values.ganesha).padEnd(24)}  ${ratio}`,
    );
    json.push({ ...row, ratio: ratios.length ? median(ratios) : null });
  }
  const peak = rss.length ? Math.max(...rss) : NaN;
  lines.push(
    `our gateway's RSS: peak ${formatSize(peak)} over ${rss.length} samples (goal ≤ 256 MiB: ${peak <= 256 * 2 ** 20 ? 'ok' : 'MISS'})`,
  );
  const cpuCell = (runs: { user: number; sys: number }[]) => runs.map((c) => `${c.user.toFixed(2)}+${c.sys.toFixed(2)}`).join(', ') || '-';
  lines.push(
    `server CPU over the sequential write, s per GiB (user+system), each run: ours ${cpuCell(writeCpu.ours)}; ganesha ${cpuCell(writeCpu.ganesha)}`,
  );
  lines.push(`our uploads after each run took ${settles.map((s) => `${s.toFixed(1)} s`).join(', ') || '-'} (not counted in the figures)`);
  for (const e of errors) lines.push(`error: ${e}`);
  return { text: lines.join('\n'), json: { rows: json, rssPeakBytes: peak, uploadSeconds: settles, writeCpuPerGiB: writeCpu, errors } };
}

/** CPU time over `bytes` as seconds per GiB, user and system, all threads. */
function perGiB(cpu: ThreadCpu, bytes: number): { user: number; sys: number } {
  const scale = 2 ** 30 / bytes;
  let user = 0;
  let sys = 0;
  for (const k of THREAD_CLASSES) {
    user += cpu[k].user;
    sys += cpu[k].sys;
  }
  return { user: user * scale, sys: sys * scale };
}
