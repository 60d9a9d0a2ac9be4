// Runs the real gateway (`node --import tsx src/main.ts`, from its sources; or a
// compiled main.js as `npm start` runs it) as a child process for tests, on a
// fresh temporary data directory and a free port on 127.0.0.1.
//
//   const gw = await startGatewayProcess({ args: ['--volume', 'disk=64MiB'] });
//   // gw.portal = '127.0.0.1:40123', gw.targets[0].name = 'iqn.2026-11.io.tapegateway:gw1-disk'
//   await gw.stop();              // SIGTERM, waits for exit, removes the temp data dir
//
// A gateway that exits before it is ready rejects with GatewayExitedError, which
// carries the exit code and everything it printed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetSummary } from '../../src/gateway/start-gateway.ts';
import { GATEWAY_NODE_FLAGS } from '../../src/node-flags.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const sourceMain = join(repoRoot, 'src', 'main.ts');

export interface GatewayProcessOptions {
  /** The compiled gateway's main.js (scripts/build-gateway.ts), run by node alone; default src/main.ts through tsx. */
  readonly mainScript?: string;
  /** Extra command-line flags, e.g. ['--volume', 'disk=64MiB', '--name', 'gw2']; they win over the helper's own. */
  readonly args?: readonly string[];
  /** Extra environment variables. The test runner's own GATEWAY_* variables are never passed on. */
  readonly env?: Readonly<Record<string, string>>;
  /** Data directory to use and keep; default: a new temporary one that stop() and kill() remove. */
  readonly dataDir?: string;
  /** Port for the portal; default 0 (a free port, reported as `port`). */
  readonly port?: number;
  /** At least info: the helper waits for the gateway's info-level "gateway-ready" record. */
  readonly logLevel?: 'info' | 'debug' | 'trace';
  /** How long to wait for the gateway to be ready; default 60 s (a loaded CI machine took over 30). */
  readonly readyTimeoutMs?: number;
}

export interface GatewayExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One JSON log record from the gateway's stderr. */
export type LogRecord = Record<string, unknown> & { readonly level: number; readonly msg: string };

export interface GatewayProcess {
  readonly pid: number;
  /** Always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT", for iscsi:// URLs. */
  readonly portal: string;
  /** Targets in the order the gateway serves them, each with its LUNs. */
  readonly targets: readonly TargetSummary[];
  readonly gatewayId: string;
  readonly dataDir: string;
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly prefix: string; readonly embedded: boolean };
  /** The NFS server's ports (no port mapper: the helper turns it off). */
  readonly nfs: { readonly host: string; readonly nfsPort: number; readonly mountPort: number };
  /** Log records so far (grows while the gateway runs). */
  readonly logs: readonly LogRecord[];
  /** Everything printed on stdout so far. */
  stdout(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<GatewayExit>;
  /** Sends SIGTERM (or `signal`) and waits for the exit; SIGKILL after `timeoutMs` (default 15 s). */
  stop(signal?: 'SIGTERM' | 'SIGINT', timeoutMs?: number): Promise<GatewayExit>;
  /** SIGKILL, as a crash: no clean stop. Waits for the exit. */
  kill(): Promise<GatewayExit>;
}

export class GatewayExitedError extends Error {
  constructor(
    readonly exit: GatewayExit,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`gateway exited before it was ready (code ${exit.code}, signal ${exit.signal}):\n${stderr}`);
    this.name = 'GatewayExitedError';
  }
}

/** The summary's last line (src/main.ts). */
const SUMMARY_END = 'Stop with Ctrl-C.\n';

const running = new Set<ReturnType<typeof spawn>>();
// A test run that dies must not leave gateways holding ports and data dirs.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gateway-test-')));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('GATEWAY_')) env[name] = value;
  }
  Object.assign(env, options.env);
  const args = [
    ...GATEWAY_NODE_FLAGS,
    ...(options.mainScript === undefined ? ['--import', 'tsx', sourceMain] : [options.mainScript]),
    '--data-dir',
    dataDir,
    '--iscsi-host',
    '127.0.0.1',
    '--iscsi-port',
    String(options.port ?? 0),
    '--nfs-port',
    '0',
    '--nfs-mount-port',
    '0',
    '--nfs-portmap',
    'false',
    '--log-level',
    options.logLevel ?? 'info',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);

  let stdout = '';
  let stderr = '';
  const logs: LogRecord[] = [];
  let partial = '';
  let onReady: ((record: LogRecord) => void) | undefined;
  let onSummary: (() => void) | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes(SUMMARY_END)) onSummary?.();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const record = parseRecord(line);
      if (!record) continue;
      logs.push(record);
      if (record['event'] === 'gateway-ready') onReady?.(record);
    }
  });
  const exited = new Promise<GatewayExit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const cleanUp = async () => {
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  // Ready is both: the log record (which carries the ports) and the whole summary on stdout, written
  // after it through another pipe, so a test that reads stdout() at once finds it there.
  const summaryPrinted = new Promise<void>((resolve) => (onSummary = resolve));
  const ready = await Promise.race([
    new Promise<LogRecord>((resolve) => (onReady = resolve)).then(async (record) => (await summaryPrinted, record)),
    exited.then((exit) => ({ exit })),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (ready === 'timeout' || 'exit' in ready) {
    child.kill('SIGKILL');
    const exit = await exited;
    await cleanUp();
    if (ready === 'timeout') throw new Error(`gateway was not ready within ${timeoutMs} ms:\n${stderr}`);
    throw new GatewayExitedError(exit, stdout, stderr);
  }

  const iscsi = ready['iscsi'] as { host: string; port: number };
  const signalAndWait = async (signal: NodeJS.Signals, timeout: number): Promise<GatewayExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeout);
    const exit = await exited;
    clearTimeout(killer);
    await cleanUp();
    return exit;
  };
  return {
    pid: child.pid!,
    host: iscsi.host,
    port: iscsi.port,
    portal: `${iscsi.host}:${iscsi.port}`,
    targets: ready['targets'] as TargetSummary[],
    gatewayId: ready['id'] as string,
    dataDir,
    s3: ready['s3'] as GatewayProcess['s3'],
    nfs: ready['nfs'] as GatewayProcess['nfs'],
    logs,
    stdout: () => stdout,
    exited,
    stop: (signal = 'SIGTERM', timeout = 15_000) => signalAndWait(signal, timeout),
    kill: () => signalAndWait('SIGKILL', 0),
  };
}

/**
 * Waits until the gateway's engine has nothing left to upload (UploadQueueDepth and
 * CachePercentDirty at 0 in its metrics): from then on its cache may be wiped without loss.
 */
export async function waitForUploads(gw: GatewayProcess, timeoutMs = 60_000): Promise<void> {
  const { url } = JSON.parse(await readFile(join(gw.dataDir, 'api.json'), 'utf8')) as { url: string };
  const deadline = Date.now() + timeoutMs;
  let pending = '';
  while (Date.now() < deadline) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    if (gauge('UploadQueueDepth') === 0 && gauge('CachePercentDirty') === 0) return;
    pending = `queue ${gauge('UploadQueueDepth')}, dirty ${gauge('CachePercentDirty')}%`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway's uploads were not done within ${timeoutMs} ms (${pending})`);
}

function parseRecord(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && 'msg' in value ? (value as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}
