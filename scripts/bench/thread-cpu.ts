// CPU time of a process by thread, from /proc/PID/task/*/stat: which thread does a server's work.
// The main thread's tid is the pid: for our gateway that is the JavaScript thread (the event loop:
// PDUs, SCSI, the engine's bookkeeping, the S3 client); for tgtd its event loop. Other threads are
// classed by name where the runtime names them: "libuv-worker" (Node's thread pool: fs, crypto,
// zlib, native addons' async work), "V8 ..." (V8's GC and compiler threads). Node 20 names none of
// its threads (all are "node"), so there they are all "other": the pool, V8's threads, LevelDB's
// compaction thread. tgtd's backing-store threads are "pool". User time is the thread's own code;
// system time is the kernel working for it (socket and file syscalls, page faults, and the
// loopback's TCP when it runs in the caller's context).
import { readdirSync, readFileSync } from 'node:fs';

export type ThreadClass = 'main' | 'pool' | 'v8' | 'other';
export const THREAD_CLASSES: readonly ThreadClass[] = ['main', 'pool', 'v8', 'other'];

/** Seconds of user and system time per thread class. */
export type ThreadCpu = Record<ThreadClass, { user: number; sys: number }>;

/** Linux's USER_HZ, the unit of /proc's utime and stime, is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

function classify(pid: number, tid: number, comm: string): ThreadClass {
  if (tid === pid) return 'main';
  if (comm.startsWith('libuv-worker')) return 'pool';
  if (comm.startsWith('V8 ')) return 'v8';
  if (comm === 'tgtd') return 'pool';
  return 'other';
}

/** Cumulative CPU of every live thread of `pid`, by class; undefined when the process is gone. */
export function threadCpu(pid: number): ThreadCpu | undefined {
  const out: ThreadCpu = { main: { user: 0, sys: 0 }, pool: { user: 0, sys: 0 }, v8: { user: 0, sys: 0 }, other: { user: 0, sys: 0 } };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended since the listing
    }
    // "tid (comm) state ppid ...": comm may hold spaces and parentheses; fields after it are fixed.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After comm: state(0) ppid(1) ... utime is field 14 of the line, i.e. index 11 here; stime 12.
    const user = Number(fields[11]) / TICKS_PER_SECOND;
    const sys = Number(fields[12]) / TICKS_PER_SECOND;
    const c = out[classify(pid, Number(tid), comm)];
    c.user += user;
    c.sys += sys;
  }
  return out;
}

/** The CPU spent between two samples (threads that ended in between are missed: Node's do not). */
export function cpuBetween(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  const d = {} as ThreadCpu;
  for (const k of THREAD_CLASSES)
    d[k] = { user: Math.max(0, after[k].user - before[k].user), sys: Math.max(0, after[k].sys - before[k].sys) };
  return d;
}

export function totalCpu(cpu: ThreadCpu): number {
  return THREAD_CLASSES.reduce((sum, k) => sum + cpu[k].user + cpu[k].sys, 0);
}
