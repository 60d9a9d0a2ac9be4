// Tests' handle on scripts/ceph-rgw.sh, the one place that knows how to run Ceph RGW: one cluster
// per test run, started by the first test that asks for it and stopped, by its daemons' PIDs,
// when the run ends. TEST_RGW_DIR=DIR uses a cluster already started with
// `scripts/ceph-rgw.sh up --dir DIR` instead, and leaves it running.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

let cluster: Promise<RgwCluster> | undefined;
let started: string | undefined;

// A run that ends, however it ends short of SIGKILL, takes its cluster with it.
process.on('exit', () => {
  if (started === undefined) return;
  try {
    execFileSync(script, ['down', '--now', started], { timeout: 30_000, stdio: 'ignore' });
  } catch {
    // nothing more to do on the way out
  }
});

/**
 * The run's cluster; call it from a before() hook, which it gives the time a
 * start takes. Skips (or fails, under CI=true) when Ceph is not installed.
 */
export async function rgwCluster(context: Mocha.Context): Promise<RgwCluster> {
  const given = process.env['TEST_RGW_DIR'];
  if (!given) requirePeer(context, 'ceph-mon', 'ceph-osd', 'radosgw', 'ceph');
  context.timeout(Math.max(context.timeout(), 120_000));
  cluster ??= given ? fromEnvFile(join(given, 'rgw.env')) : start();
  return cluster;
}

async function start(): Promise<RgwCluster> {
  const get = await runStartScript(script, ['up']);
  started = get('RGW_DIR');
  return clusterOf(get);
}

async function fromEnvFile(path: string): Promise<RgwCluster> {
  const values = new Map((await readFile(path, 'utf8')).split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return clusterOf((key) => {
    const value = values.get(key);
    if (value === undefined) throw new Error(`${path} has no ${key}: is it a cluster started by scripts/ceph-rgw.sh up?`);
    return value;
  });
}

function clusterOf(get: (key: string) => string): RgwCluster {
  return {
    dir: get('RGW_DIR'),
    endpoint: get('RGW_ENDPOINT'),
    region: get('RGW_REGION'),
    credentials: { accessKeyId: get('RGW_ACCESS_KEY'), secretAccessKey: get('RGW_SECRET_KEY') },
  };
}
