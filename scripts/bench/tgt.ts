// A private tgtd for the benchmark: two targets on one portal, the same LUNs on each, one with
// tgt's default session settings and one tuned (256 KiB segments, InitialR2T=No). Each target has
// a 1 GiB file-backed disk at LUN 1 and `drives` tape LUNs (tgtimg images, loaded) from LUN 2 on.
// Stopped through its control port, else SIGKILL by PID (tgtd ignores SIGTERM).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './util.ts';

const run = promisify(execFile);

export interface TgtTarget {
  readonly name: 'tgt-default' | 'tgt-tuned';
  readonly iqn: string;
  readonly diskUrl: string;
  /** The disk LUN's backing file. */
  readonly diskPath: string;
  readonly tapeUrls: readonly string[];
}

export interface TgtBench {
  readonly pid: number;
  readonly controlPort: number;
  readonly portal: string;
  readonly targets: readonly TgtTarget[];
  stop(): Promise<void>;
}

/** The tuned target's session settings (tgtadm --mode target --op update). */
export const TUNED: readonly [string, string][] = [
  ['MaxRecvDataSegmentLength', '262144'],
  ['MaxXmitDataSegmentLength', '262144'],
  ['FirstBurstLength', '262144'],
  ['MaxBurstLength', '262144'],
  ['InitialR2T', 'No'],
  ['ImmediateData', 'Yes'],
];

function alive(pid: number): boolean {
  // The third field of /proc/PID/stat is the state; a zombie is gone all the same.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function tgtadm(control: number, args: string[]): Promise<void> {
  await run('tgtadm', ['-C', String(control), ...args]);
}

export async function startTgt(options: { dir: string; drives: number; tapeCapacityBytes: number; diskBytes: number }): Promise<TgtBench> {
  await mkdir(options.dir, { recursive: true });
  let child: ChildProcess | undefined;
  let port = 0;
  let control = 0;
  for (let attempt = 0; attempt < 8 && !child; attempt++) {
    port = await freePort();
    control = 1000 + Math.floor(Math.random() * 30000);
    if (existsSync(`/var/run/tgtd/socket.${control}`)) continue;
    const log = openSync(join(options.dir, `tgtd.log`), 'a');
    const c = spawn('tgtd', ['-f', '-C', String(control), '--iscsi', `portal=127.0.0.1:${port}`], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    let ready = false;
    for (let i = 0; i < 50 && c.exitCode === null; i++) {
      try {
        await tgtadm(control, ['--op', 'show', '--mode', 'system']);
        ready = true;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (ready) child = c;
    else if (c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  if (!child?.pid) throw new Error(`tgtd did not start; see ${options.dir}/tgtd.log`);
  const pid = child.pid;
  const portal = `127.0.0.1:${port}`;
  const targets: TgtTarget[] = [];
  const stop = async (): Promise<void> => {
    if (alive(pid)) {
      for (let tid = 1; tid <= 2; tid++) {
        await tgtadm(control, ['--lld', 'iscsi', '--op', 'delete', '--mode', 'target', '--tid', String(tid), '--force']).catch(
          () => undefined,
        );
      }
      await tgtadm(control, ['--op', 'delete', '--mode', 'system']).catch(() => undefined);
      for (let i = 0; i < 30 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(`/var/run/tgtd/socket.${control}`, { force: true });
    await rm(`/var/run/tgtd/socket.${control}.lock`, { force: true });
  };
  try {
    const names = ['tgt-default', 'tgt-tuned'] as const;
    for (const [i, name] of names.entries()) {
      const tid = String(i + 1);
      const iqn = `iqn.2026-11.io.tapegateway.bench:${name}`;
      await tgtadm(control, ['--lld', 'iscsi', '--op', 'new', '--mode', 'target', '--tid', tid, '-T', iqn]);
      const disk = join(options.dir, `${name}-disk.img`);
      await writeFile(disk, '');
      await truncate(disk, options.diskBytes);
      await tgtadm(control, ['--lld', 'iscsi', '--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', '1', '-b', disk]);
      const tapeUrls: string[] = [];
      for (let d = 0; d < options.drives; d++) {
        const image = join(options.dir, `${name}-tape${d}.img`);
        await rm(image, { force: true });
        await run('tgtimg', [
          '--op',
          'new',
          '--device-type',
          'tape',
          '--barcode',
          `BN${i}${d}00L5`.slice(0, 8),
          '--size',
          String(Math.ceil(options.tapeCapacityBytes / 1e6)),
          '--type',
          'data',
          '--file',
          image,
        ]);
        const lun = String(2 + d);
        await tgtadm(control, [
          '--lld',
          'iscsi',
          '--op',
          'new',
          '--mode',
          'logicalunit',
          '--tid',
          tid,
          '--lun',
          lun,
          '--device-type',
          'tape',
          '--bstype',
          'ssc',
          '-b',
          image,
        ]);
        tapeUrls.push(`iscsi://${portal}/${iqn}/${lun}`);
      }
      if (name === 'tgt-tuned') {
        for (const [key, value] of TUNED) {
          await tgtadm(control, ['--lld', 'iscsi', '--op', 'update', '--mode', 'target', '--tid', tid, '-n', key, '-v', value]);
        }
      }
      await tgtadm(control, ['--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', tid, '-I', 'ALL']);
      targets.push({ name, iqn, diskUrl: `iscsi://${portal}/${iqn}/1`, diskPath: disk, tapeUrls });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid, controlPort: control, portal, targets, stop };
}
