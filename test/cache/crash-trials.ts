// Crash trials shared by the test suite and the soak script: a child process
// writes and uploads through the engine and is killed with SIGKILL at a random
// moment, again and again on the same cache; then every extent it had made
// durable must read back exactly and reach S3, and no object in S3 may be corrupt.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ObjectStore, type S3Settings } from '../../src/cloud/object-store.ts';
import { openEngine, pattern } from './helpers.ts';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** When to kill: shortly after the child starts recovering, or shortly after its n-th durable extent. */
export type KillPoint = { duringRecovery: true; delayMs: number } | { duringRecovery: false; afterDurable: number; delayMs: number };

export function randomKillPoint(): KillPoint {
  return randomInt(4) === 0
    ? { duringRecovery: true, delayMs: randomInt(0, 150) }
    : { duringRecovery: false, afterDurable: randomInt(1, 7), delayMs: randomInt(0, 400) };
}

/** Runs the child once, kills it at `kill` (by progress, not by the clock), and returns what it reported durable. */
async function trial(dir: string, settings: S3Settings, run: string, kill: KillPoint): Promise<Map<string, number>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, JSON.stringify(settings), run], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  const durable = new Map<string, number>();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let killer: NodeJS.Timeout | undefined;
  for await (const line of createInterface({ input: proc.stdout })) {
    const m = /^durable (\S+) (\d+)$/.exec(line);
    if (m) durable.set(m[1]!, Number(m[2]));
    const due = kill.duringRecovery ? line === 'opening' : durable.size === kill.afterDurable && m !== null;
    if (due && !killer) killer = setTimeout(() => proc.kill('SIGKILL'), kill.delayMs);
  }
  await exited;
  clearTimeout(killer);
  assert.equal(proc.signalCode, 'SIGKILL', `child ${run} ended by itself (exit ${proc.exitCode})`);
  return durable;
}

export interface CrashReport {
  trials: number;
  durable: number;
  objects: number;
}

/**
 * Runs `lanes` independent sequences of trials at once (each its own cache and
 * catalog, sharing the bucket), each going on while `more` says so.
 */
export async function crashTrials(options: {
  dir: string;
  settings: S3Settings;
  lanes: number;
  more: (doneInLane: number) => boolean;
}): Promise<CrashReport> {
  const durable = new Map<string, number>();
  let trials = 0;
  const lane = async (index: number) => {
    const dir = join(options.dir, `lane-${index}`);
    for (let done = 0; options.more(done); done++, trials++) {
      for (const [k, v] of await trial(dir, options.settings, `${index}-${done}`, randomKillPoint())) durable.set(k, v);
    }
    const opened = await openEngine(dir, options.settings);
    try {
      for (const [key, size] of durable) {
        if (key.startsWith(`crash/${index}-`))
          assert.ok((await opened.store.read(key, 0, size)).equals(pattern(key, size)), `durable ${key} reads back after the crashes`);
      }
      await opened.store.drain();
    } finally {
      await opened.close();
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, (_, i) => lane(i)));
  const store = new ObjectStore(options.settings);
  let objects = 0;
  try {
    for (const [key, size] of durable) assert.ok((await store.get(key)).data.equals(pattern(key, size)), `durable ${key} uploaded whole`);
    for await (const object of store.list('crash/')) {
      // Uploads of keys still being written are prefixes of what the child was writing; never anything else.
      const { data } = await store.get(object.key);
      const full = durable.get(object.key);
      if (full !== undefined) assert.equal(data.length, full, `${object.key} holds its durable size`);
      assert.ok(data.equals(pattern(object.key, full ?? data.length).subarray(0, data.length)), `${object.key} in S3 is what was written`);
      objects++;
    }
  } finally {
    store.close();
  }
  return { trials, durable: durable.size, objects };
}
