// An engine over a real catalog (LevelDB) and a real s3rver, in a scratch directory.
import { createCipheriv, createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.ts';
import { CacheEngine, type EngineOptions } from '../../src/cache/engine.ts';
import type { ExtentStore } from '../../src/cache/extent-store.ts';
import type { ObjectBackend } from '../../src/cloud/object-backend.ts';
import type { S3Settings } from '../../src/cloud/object-store.ts';
import { WorkerBackend } from '../../src/cloud/worker-backend.ts';
import { silentLogger } from '../../src/log.ts';
import { flipBits } from '../helpers/bytes.ts';

export const MiB = 1024 * 1024;

export interface OpenedEngine {
  engine: CacheEngine;
  /** The engine's root namespace: every key, in the bucket under the same key. */
  readonly store: ExtentStore;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function openEngine(
  directory: string,
  s3: S3Settings,
  options: Partial<Omit<EngineOptions, 'directory' | 'catalog' | 'backend'>> = {},
  /** Puts something that watches the requests between the engine and its backend. */
  observe: (backend: ObjectBackend) => ObjectBackend = (backend) => backend,
): Promise<OpenedEngine> {
  const catalog = await Catalog.open(join(directory, 'catalog'));
  let backend: WorkerBackend | undefined;
  const engine = await CacheEngine.open({
    directory: join(directory, 'cache'),
    catalog,
    // As the gateway runs it: the requests in a worker thread (the in-process ObjectStore has its own tests in test/cloud).
    backend: (hooks) => observe((backend = new WorkerBackend(s3, hooks))),
    cacheBytes: 256 * MiB,
    uploadBufferBytes: 128 * MiB,
    logger: silentLogger(),
    writebackIntervalMs: 0,
    ...options,
  });
  // Its start (a second or more of CPU on a busy machine) is not what a test measures.
  await backend?.ready();
  let root: ExtentStore | undefined;
  return {
    engine,
    // Opened when first used: a root namespace covers every key, and so every other namespace's queued uploads.
    get store() {
      return (root ??= engine.namespace(''));
    },
    catalog,
    async close() {
      await engine.close();
      await catalog.close();
    },
  };
}

/** A metric's value as Prometheus would scrape it (the sum over its labels). */
export async function metric(engine: CacheEngine, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await engine.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!found) throw new Error(`no metric ${name}`);
  return (found.values as { value: number; labels: Record<string, string | number> }[])
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Deterministic bytes for a key (AES-CTR keystream), so that a reader can check what a writer wrote. */
export function pattern(key: string, length: number, salt = 0): Buffer {
  const secret = createHash('sha256').update(`${key}#${salt}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', secret, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** The extent files of the cache in data directory `dir` (its cache/ folder's 256 folders; not its spare files). */
export async function cacheFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of (await readdir(join(dir, 'cache'))).filter((name) => /^[0-9a-f]{2}$/.test(name)))
    for (const f of await readdir(join(dir, 'cache', sub))) out.push(join(dir, 'cache', sub, f));
  return out;
}

/** Flips one bit of the byte at `at` of a file, as a failing disk would. */
export async function flipByte(path: string, at: number): Promise<void> {
  const h = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await h.read(b, 0, 1, at);
  flipBits(b, 0, 1);
  await h.write(b, 0, 1, at);
  await h.close();
}

/** The backend, with the most GETs it had in flight at once counted (it only watches). */
export function countingGets(backend: ObjectBackend): { backend: ObjectBackend; mostAtOnce(): number } {
  let inFlight = 0;
  let most = 0;
  const get: ObjectBackend['get'] = async (...args) => {
    most = Math.max(most, ++inFlight);
    try {
      return await backend.get(...args);
    } finally {
      inFlight--;
    }
  };
  const counted = new Proxy(backend, {
    get: (target, name) => {
      if (name === 'get') return get;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { backend: counted, mostAtOnce: () => most };
}
