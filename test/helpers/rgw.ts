// Tests' and benchmarks' handle on scripts/ceph-rgw.sh, the one place that knows how to run Ceph
// RGW. Tests share one cluster per run, started by the first suite that asks for it and stopped, by
// its daemons' PIDs, when the run ends. TEST_RGW_DIR=DIR uses a cluster already started with
// `scripts/ceph-rgw.sh up --dir DIR` instead, and leaves it running.
import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requirePeer } from './peers.ts';
import { runStartScript } from './tgt.ts';

const script = fileURLToPath(new URL('../../scripts/ceph-rgw.sh', import.meta.url));

export interface RgwCluster {
  readonly dir: string;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Directories of the clusters started here and not yet stopped. */
const running = new Set<string>();
// A run that ends, however it ends short of SIGKILL, takes its clusters with it.
process.on('exit', () => {
  for (const dir of running) {
    try {
      execFileSync(script, ['down', '--now', dir], { timeout: 30_000, stdio: 'ignore' });
    } catch {
      // nothing more to do on the way out
    }
  }
});

/** Starts a cluster of its own (about 12 s); stop() takes it down, as the process's exit would. */
export async function startRgw(): Promise<RgwCluster & { stop(): Promise<void> }> {
  const get = await runStartScript(script, ['up']);
  const cluster = clusterOf(get);
  running.add(cluster.dir);
  return {
    ...cluster,
    stop: async () => {
      await promisify(execFile)(script, ['down', '--now', cluster.dir]);
      running.delete(cluster.dir);
    },
  };
}

/** A cluster already running in `dir`, started with `scripts/ceph-rgw.sh up --dir DIR`. */
export async function rgwAt(dir: string): Promise<RgwCluster> {
  const path = join(dir, 'rgw.env');
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.includes('='));
  const values = new Map(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return clusterOf((key) => {
    const value = values.get(key);
    if (value === undefined) throw new Error(`${path} has no ${key}: is it a cluster started by scripts/ceph-rgw.sh up?`);
    return value;
  });
}

let shared: Promise<RgwCluster> | undefined;

/**
 * The test run's cluster; call it from a before() hook, which it gives the
 * time a start takes. Skips (or fails, under CI=true) when Ceph is not installed.
 */
export async function rgwCluster(context: Mocha.Context): Promise<RgwCluster> {
  const given = process.env['TEST_RGW_DIR'];
  if (!given) requirePeer(context, 'ceph-mon', 'ceph-osd', 'radosgw', 'ceph');
  context.timeout(Math.max(context.timeout(), 120_000));
  shared ??= given ? rgwAt(given) : startRgw();
  return shared;
}

function clusterOf(get: (key: string) => string): RgwCluster {
  return {
    dir: get('RGW_DIR'),
    endpoint: get('RGW_ENDPOINT'),
    region: get('RGW_REGION'),
    credentials: { accessKeyId: get('RGW_ACCESS_KEY'), secretAccessKey: get('RGW_SECRET_KEY') },
  };
}
