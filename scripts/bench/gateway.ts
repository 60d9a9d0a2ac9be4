// Our gateway as a child process for the benchmark, as `npm start` runs it: compiled once a bench run into dist/
// (scripts/build-gateway.ts), then `node [GATEWAY_NODE_FLAGS] [NODE FLAGS] dist/src/main.js` on a given data directory
// and a free port on 127.0.0.1, ready when it logs "gateway-ready". BENCH_FROM_SOURCES=1 runs src/main.ts through tsx
// instead, as the tests do (what compiling changes: README, "Memory").
// Unlike test/helpers/gateway-process.ts it takes node's own flags (--cpu-prof, --perf-basic-prof),
// which NODE_OPTIONS refuses.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetSummary } from '../../src/gateway/start-gateway.ts';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.ts';
import { buildGateway } from '../build-gateway.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The sources compiled once a bench run, before its first gateway starts. */
let compiled: Promise<void> | undefined;

export interface BenchGateway {
  readonly pid: number;
  readonly portal: string;
  readonly targets: readonly TargetSummary[];
  /** The NFS server's ports. */
  readonly nfs: { readonly host: string; readonly nfsPort: number; readonly mountPort: number };
  /** Where its objects go. */
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly prefix: string };
  /** Everything it printed on stderr (JSON log lines) so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after timeoutMs; resolves when it has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startBenchGateway(options: {
  dataDir: string;
  nodeArgs?: readonly string[];
  args?: readonly string[];
  readyTimeoutMs?: number;
}): Promise<BenchGateway> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) env[k] = v;
  await (compiled ??= buildGateway());
  const child = spawn(
    process.execPath,
    [
      ...GATEWAY_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      ...(process.env['BENCH_FROM_SOURCES'] ? ['--import', 'tsx', join(root, 'src/main.ts')] : [join(root, 'dist/src/main.js')]),
      '--data-dir',
      options.dataDir,
      '--iscsi-host',
      '127.0.0.1',
      '--iscsi-port',
      '0',
      '--log-level',
      'info',
      ...(options.args ?? []),
    ],
    { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  let stderr = '';
  let partial = '';
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const ready = new Promise<Record<string, unknown>>((resolveReady, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 4 << 20) stderr += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('gateway-ready')) continue;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record['event'] === 'gateway-ready') resolveReady(record);
        } catch {
          /* not a record */
        }
      }
    });
    void exited.then(() => reject(new Error(`gateway exited before it was ready:\n${stderr.slice(-4000)}`)));
    setTimeout(
      () => reject(new Error(`gateway not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${stderr.slice(-4000)}`)),
      options.readyTimeoutMs ?? 60_000,
    ).unref();
  });
  let record: Record<string, unknown>;
  try {
    record = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  const iscsi = record['iscsi'] as { host: string; port: number };
  return {
    pid: child.pid!,
    portal: `${iscsi.host}:${iscsi.port}`,
    targets: record['targets'] as TargetSummary[],
    nfs: record['nfs'] as BenchGateway['nfs'],
    s3: record['s3'] as BenchGateway['s3'],
    stderr: () => stderr,
    stop: async (timeoutMs = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      process.off('exit', killOnExit);
    },
  };
}
