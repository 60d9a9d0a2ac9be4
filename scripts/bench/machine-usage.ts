// How busy the whole machine's CPUs and the disk under a directory were over a phase, from
// /proc/stat and /proc/diskstats: which of them bounds a rate. On this 2-core machine the client,
// the object store and other processes share the cores with the server, so the server's own CPU
// time does not tell whether it waited for a CPU; and a tape write's rate includes its WRITE
// FILEMARKS, which waits for the disk. A disk near 100% busy bounds the phase; all CPUs near 100%
// busy (anyone's work) bound it the other way.
import { readFileSync, statSync } from 'node:fs';

export interface MachineUsage {
  /** Jiffies of all CPUs together: busy (not idle or iowait) and in all. */
  readonly cpuBusy: number;
  readonly cpuAll: number;
  /** The device's sectors read and written, and milliseconds it had I/O in flight; undefined when it is not found. */
  readonly disk?: { readonly readSectors: number; readonly writeSectors: number; readonly busyMs: number };
  /** When sampled, in ms (monotonic). */
  readonly at: number;
}

export interface UsageBetween {
  /** Share of all CPUs' time that was busy, 0-1. */
  readonly cpuBusy: number;
  readonly disk?: { readonly readMBps: number; readonly writeMBps: number; readonly busy: number };
}

/** The device holding `dir` as "major minor", the key of its /proc/diskstats line. */
export function deviceOf(dir: string): string {
  const dev = statSync(dir).dev;
  // Linux's dev_t: major in bits 8-19 and 32 up, minor in bits 0-7 and 20 up (glibc's gnu_dev_major/minor).
  const major = Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);
  return `${major} ${minor}`;
}

export function machineUsage(device: string): MachineUsage {
  // "cpu user nice system idle iowait irq softirq steal ...": idle and iowait are not busy.
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const cpuAll = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const cpuBusy = cpuAll - cpu[3]! - cpu[4]!;
  const line = readFileSync('/proc/diskstats', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => `${f[0]} ${f[1]}` === device);
  // Fields after "major minor name": reads, merged, sectors read (5), ms; writes, merged, sectors written (9), ms; in flight, ms busy (12).
  const disk = line ? { readSectors: Number(line[5]), writeSectors: Number(line[9]), busyMs: Number(line[12]) } : undefined;
  return { cpuBusy, cpuAll, ...(disk ? { disk } : {}), at: performance.now() };
}

export function usageBetween(a: MachineUsage, b: MachineUsage): UsageBetween {
  const seconds = (b.at - a.at) / 1000;
  const cpuBusy = b.cpuAll > a.cpuAll ? (b.cpuBusy - a.cpuBusy) / (b.cpuAll - a.cpuAll) : 0;
  if (!a.disk || !b.disk || seconds <= 0) return { cpuBusy };
  const mbps = (sectors: number) => (sectors * 512) / 1e6 / seconds;
  return {
    cpuBusy,
    disk: {
      readMBps: mbps(b.disk.readSectors - a.disk.readSectors),
      writeMBps: mbps(b.disk.writeSectors - a.disk.writeSectors),
      busy: Math.min(1, (b.disk.busyMs - a.disk.busyMs) / 1000 / seconds),
    },
  };
}
