// Small helpers for the benchmark orchestrator: free ports, sizes, statistics, process runs.
import { execFile } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const unit = (m[2] ?? '').toLowerCase();
  const mul = unit === 'k' ? 2 ** 10 : unit === 'm' ? 2 ** 20 : unit === 'g' ? 2 ** 30 : unit === 't' ? 2 ** 40 : 1;
  return Math.round(Number(m[1]) * mul);
}

export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a program with a time limit (SIGKILL by PID when it passes); never rejects. */
export function execBounded(file: string, args: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    const child = execFile(file, args, { maxBuffer: 16 << 20, encoding: 'utf8' }, (error, stdout, stderr) => {
      clearTimeout(timer);
      const code = error && typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : error ? null : 0;
      resolve({ code, stdout, stderr, timedOut });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
  });
}

/** Resident set size of a process in bytes, or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bytes of freed memory this VM has handed back to its host (free page reporting), where the
 * kernel counts them (`reported_kib` is not in every kernel's page_reporting module); else undefined.
 */
export function memoryReportedToHost(): number | undefined {
  try {
    return Number(readFileSync('/sys/module/page_reporting/parameters/reported_kib', 'utf8')) * 1024;
  } catch {
    return undefined;
  }
}

/** Bytes/s of one buffered sequential write pass (1 MiB writes, then fdatasync) into a new file and of a second pass over it. */
export interface DiskWriteRate {
  readonly newFile: number;
  /**
   * The same bytes rewritten in place, their pages already in memory. In a VM that hands freed
   * guest memory back to its host, a new file's pages cost a host fault each, which rewriting
   * does not: our cache writes every cartridge into new files, tgtd rewrites its tape image.
   */
  readonly rewritten: number;
}

export async function diskWriteRate(dir: string, bytes: number): Promise<DiskWriteRate> {
  const path = join(dir, `disk-rate-${process.pid}.tmp`);
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let i = 0; i < chunk.length; i += 8) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const handle = await open(path, 'w');
  const pass = async (): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let written = 0; written < bytes; written += chunk.length) await handle.write(chunk, 0, chunk.length, written);
    await handle.datasync();
    return bytes / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  try {
    const newFile = await pass();
    return { newFile, rewritten: await pass() };
  } finally {
    await handle.close();
    await rm(path, { force: true });
  }
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}
