// The scaling cases' report: how each side's threads share the CPU per GiB moved, with one, four
// and ten drives at once, issue 21's goals checked, and the model of what more cores would give.
import { median } from './util.ts';
import { THREAD_CLASSES, totalCpu, type ThreadCpu } from './thread-cpu.ts';
import type { UsageBetween } from './machine-usage.ts';

export interface ScalingSampleView {
  side: string;
  drives: number;
  phase: 'write' | 'read';
  MBps: number;
  evenness: number;
  bytes: number;
  cpu: ThreadCpu;
  /** The whole machine's CPUs and the cache's disk while the phase ran. */
  machine?: UsageBetween;
  uploadTail?: ThreadCpu;
  clientCpuSeconds: number;
  peakRssBytes?: number;
}

const GIB = 2 ** 30;

function plus(a: ThreadCpu, b: ThreadCpu | undefined): ThreadCpu {
  if (!b) return a;
  const out = {} as ThreadCpu;
  for (const k of THREAD_CLASSES) out[k] = { user: a[k].user + b[k].user, sys: a[k].sys + b[k].sys };
  return out;
}

/** CPU seconds per GiB by class, medians over runs; the write's upload tail counted in. */
function perGiB(samples: readonly ScalingSampleView[]): {
  main: number;
  mainSys: number;
  pool: number;
  v8: number;
  other: number;
  total: number;
  client: number;
} {
  const each = samples.map((s) => {
    const cpu = plus(s.cpu, s.uploadTail);
    const g = s.bytes / GIB;
    return {
      main: (cpu.main.user + cpu.main.sys) / g,
      mainSys: cpu.main.sys / g,
      pool: (cpu.pool.user + cpu.pool.sys) / g,
      v8: (cpu.v8.user + cpu.v8.sys) / g,
      other: (cpu.other.user + cpu.other.sys) / g,
      total: totalCpu(cpu) / g,
      client: s.clientCpuSeconds / g,
    };
  });
  const m = (pick: (x: (typeof each)[number]) => number) => median(each.map(pick));
  return {
    main: m((x) => x.main),
    mainSys: m((x) => x.mainSys),
    pool: m((x) => x.pool),
    v8: m((x) => x.v8),
    other: m((x) => x.other),
    total: m((x) => x.total),
    client: m((x) => x.client),
  };
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The machine's CPUs and the disk over the phase (medians): which bounds it; the disk's rate is its own direction's. */
function machineCells(group: readonly ScalingSampleView[]): string[] {
  const usage = group.map((g) => g.machine).filter((m) => m !== undefined);
  const disks = usage.map((m) => m.disk).filter((d) => d !== undefined);
  const percent = (x: number) => `${(x * 100).toFixed(0)}%`;
  return [
    usage.length ? percent(median(usage.map((m) => m.cpuBusy))) : '-',
    disks.length ? percent(median(disks.map((d) => d.busy))) : '-',
    disks.length ? median(disks.map((d) => (group[0]!.phase === 'write' ? d.writeMBps : d.readMBps))).toFixed(0) : '-',
  ];
}

export function scalingReport(samples: readonly ScalingSampleView[], sides: readonly string[]): string {
  const out: string[] = [];
  const groups = new Map<string, ScalingSampleView[]>();
  for (const s of samples) {
    const key = `${s.side}|${s.drives}|${s.phase}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const body: string[][] = [];
  for (const side of sides) {
    for (const [key, group] of groups) {
      if (!key.startsWith(`${side}|`)) continue;
      const first = group[0]!;
      const c = perGiB(group);
      const rss = group.map((g) => g.peakRssBytes ?? NaN).filter(Number.isFinite);
      body.push([
        side,
        String(first.drives),
        first.phase,
        median(group.map((g) => g.MBps)).toFixed(0),
        median(group.map((g) => g.evenness)).toFixed(2),
        c.main.toFixed(2),
        c.mainSys.toFixed(2),
        c.pool.toFixed(2),
        c.v8.toFixed(2),
        c.other.toFixed(2),
        c.total.toFixed(2),
        `${((c.main / c.total) * 100).toFixed(0)}%`,
        c.client.toFixed(2),
        rss.length ? `${(Math.max(...rss) / 2 ** 20).toFixed(0)}` : '-',
        ...machineCells(group),
      ]);
    }
  }
  out.push(
    'Scaling across drives (256 KiB blocks): CPU seconds per GiB moved, by thread (medians; writes include their uploads until the queue was empty;',
  );
  out.push(
    "main: the gateway's JavaScript thread or tgtd's event loop; on Node 20 the pool's and V8's threads are unnamed and counted in other;",
  );
  out.push(
    "CPUs busy: all the machine's cores, anyone's work; disk busy and MB/s: the cache's device, in the phase's own direction, WRITE FILEMARKS' flush included)",
  );
  out.push(
    table(
      [
        'side',
        'drives',
        'phase',
        'MB/s',
        'slow/fast',
        'main',
        '(of it sys)',
        'pool',
        'v8',
        'other',
        'total',
        'main share',
        'client',
        'peak RSS MiB',
        'CPUs busy',
        'disk busy',
        'disk MB/s',
      ],
      body,
    ),
  );

  const ours = (drives: number, phase: 'write' | 'read') =>
    samples.filter((s) => s.side === 'ours' && s.drives === drives && s.phase === phase);
  const rate = (drives: number, phase: 'write' | 'read') => median(ours(drives, phase).map((s) => s.MBps));
  if (ours(1, 'write').length && ours(4, 'write').length) {
    const goals: string[] = [];
    const check = (ok: boolean) => (ok ? 'ok' : 'MISS');
    for (const phase of ['write', 'read'] as const) {
      const x = rate(4, phase) / rate(1, phase);
      goals.push(`four drives ${phase} ${x.toFixed(2)}× one (≥ 1.6: ${check(x >= 1.6)})`);
    }
    const four = [...ours(4, 'write'), ...ours(4, 'read')];
    const mainShare = median(
      four.map((s) => {
        const cpu = plus(s.cpu, s.uploadTail);
        return (cpu.main.user + cpu.main.sys) / totalCpu(cpu);
      }),
    );
    goals.push(`main thread ${(mainShare * 100).toFixed(0)}% of the gateway's CPU with four drives (≤ 50%: ${check(mainShare <= 0.5)})`);
    if (ours(10, 'write').length) {
      const ten = rate(10, 'write');
      const even = median(ours(10, 'write').map((s) => s.evenness));
      goals.push(
        `ten drives write ${ten.toFixed(0)} MB/s against four's ${rate(4, 'write').toFixed(0)} (≥: ${check(ten >= rate(4, 'write'))}), slowest ${even.toFixed(2)}× the fastest (≥ 0.7: ${check(even >= 0.7)})`,
      );
      const rss = Math.max(0, ...ours(10, 'write').map((s) => s.peakRssBytes ?? 0), ...ours(10, 'read').map((s) => s.peakRssBytes ?? 0));
      goals.push(`peak RSS with ten drives ${(rss / 2 ** 20).toFixed(0)} MiB (≤ 512: ${check(rss <= 512 * 2 ** 20)})`);
    }
    out.push(`Goals (issue 21): ${goals.join('; ')}`);
    out.push(model(samples.filter((s) => s.side === 'ours')));
  }
  return out.join('\n');
}

/**
 * What more cores would give, from the measured CPU per GiB of each thread. Today every drive's
 * data path (PDUs, SCSI, record batching, CRC, the cache's bookkeeping) and the uploads' share of
 * the main thread (reading their pieces from the cache files and the messages to the S3 requests'
 * worker; their HTTP too with s3.requestThread main) run on the one main thread, so the aggregate
 * can never pass 1 / main (GiB/s) however many cores there are. With each drive's data path on a
 * thread of its own (a worker per drive), the drive's share of today's main-thread time moves there
 * and spreads over the cores, and what stays on the main thread is the uploads' share (measured
 * apart as the write's upload tail) and the catalog; with none of the uploads left there, the bound
 * is cores / total.
 */
function model(samples: readonly ScalingSampleView[]): string {
  const drives = Math.max(...samples.map((s) => s.drives));
  const lines: string[] = [`Model (from ${drives} drive(s) at once, ours; the client on other machines; GiB/s shown as MB/s):`];
  const mbps = (gibPerSecond: number) => ((gibPerSecond * GIB) / 1e6).toFixed(0);
  for (const phase of ['write', 'read'] as const) {
    const group = samples.filter((s) => s.drives === drives && s.phase === phase);
    if (!group.length) continue;
    const g = (s: ScalingSampleView) => s.bytes / GIB;
    const dataMain = median(group.map((s) => (s.cpu.main.user + s.cpu.main.sys) / g(s)));
    const uploadMain = median(group.map((s) => (s.uploadTail ? s.uploadTail.main.user + s.uploadTail.main.sys : 0) / g(s)));
    const total = perGiB(group).total;
    const perDrive = drives / dataMain; // each drive's worker carries the drive's share of dataMain
    const withWorkers = (cores: number) => Math.min(cores / total, perDrive, uploadMain > 0 ? 1 / uploadMain : Infinity);
    const allOff = (cores: number) => Math.min(cores / total, perDrive);
    lines.push(
      `  ${phase}: main thread ${dataMain.toFixed(2)} s/GiB for the data path` +
        (uploadMain > 0 ? ` + ${uploadMain.toFixed(2)} for the uploads` : '') +
        `, all threads ${total.toFixed(2)} s/GiB. Today, on any number of cores: ≤ ${mbps(1 / (dataMain + uploadMain))} MB/s. ` +
        `A worker per drive: 4 cores ≤ ${mbps(withWorkers(4))}, 16 cores ≤ ${mbps(withWorkers(16))} MB/s` +
        (uploadMain > 0 ? `; uploads wholly off the main thread too: 16 cores ≤ ${mbps(allOff(16))} MB/s` : '') +
        ' (before the disk, the network and the object store bound it).',
    );
  }
  return lines.join('\n');
}
