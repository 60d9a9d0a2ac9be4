// Tests' handle on scripts/tgt-reference.sh, the one place that knows how to run tgtd.
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/tgt-reference.sh', import.meta.url));

export interface TgtReference {
  readonly dir: string;
  readonly pid: number;
  readonly controlPort: number;
  /** host:port */
  readonly portal: string;
  readonly iqn: string;
  readonly lun: number;
  /** iscsi://127.0.0.1:PORT/IQN/LUN */
  readonly url: string;
  stop(): Promise<void>;
}

/** Directories of the instances started and not yet stopped. */
const running = new Set<string>();
// A test run that dies must not leave tgtd behind (it ignores SIGTERM).
process.on('exit', () => {
  for (const dir of running) {
    try {
      execFileSync(script, ['stop', dir], { timeout: 10_000, stdio: 'ignore' });
    } catch {
      // nothing more to do on the way out
    }
  }
});

/**
 * Runs a peer's start script that prints KEY=VALUE lines (tgt-reference.sh,
 * scripts/guest/tgt-vtl.sh, ceph-rgw.sh) and returns a getter for its values.
 */
export async function runStartScript(path: string, args: readonly string[]): Promise<(key: string) => string> {
  const { stdout } = await execFileAsync(path, args);
  const env = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return (key) => {
    const value = env.get(key);
    if (value === undefined) throw new Error(`${path} start printed no ${key}:\n${stdout}`);
    return value;
  };
}

export async function startTgtReference(options: { sizeBytes?: number; blockSize?: number } = {}): Promise<TgtReference> {
  const args = ['start'];
  if (options.sizeBytes !== undefined) args.push('--size', String(options.sizeBytes));
  if (options.blockSize !== undefined) args.push('--block-size', String(options.blockSize));
  const get = await runStartScript(script, args);
  const dir = get('TGT_DIR');
  running.add(dir);
  return {
    dir,
    pid: Number(get('TGT_PID')),
    controlPort: Number(get('TGT_CONTROL_PORT')),
    portal: get('TGT_PORTAL'),
    iqn: get('TGT_IQN'),
    lun: Number(get('TGT_LUN')),
    url: get('TGT_URL'),
    stop: async () => {
      await execFileAsync(script, ['stop', dir]);
      running.delete(dir);
    },
  };
}
