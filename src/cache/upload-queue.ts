// The persistent upload queue and its pump: one entry per key ('put' or
// 'delete'), replaced by newer operations on the same key, run oldest first,
// `concurrency` at once and one at a time per key, yielding to reads and writes
// within bounds (README.md), retried with a growing delay when they fail.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DELETE_MANY_MAX, type ObjectBackend } from '../cloud/object-backend.ts';
import type { Logger } from '../log.ts';
import type { CacheState } from './cache-state.ts';
import type { Batch, CatalogLog, QueueEntry } from './catalog-log.ts';
import { CloudRoutes, type Route } from './cloud-routes.ts';
import { CacheCorruptionError } from './errors.ts';
import type { Extent } from './extent.ts';
import type { EngineMetrics } from './metrics.ts';
import { snapshot, SnapshotChangedError, type Snapshot } from './snapshot.ts';

export interface QueueOptions {
  /** Cloud requests at once: a put, or one request deleting many keys. */
  readonly concurrency: number;
  /** Uploads start only once no write or read has come for this long (0: never yield). */
  readonly quietMs: number;
  /** An upload waits for quiet at most this long. */
  readonly maxDeferMs: number;
  /** An upload waits at most this long for requests that read and write nothing (ExtentStore.noteForeground) to pause. */
  readonly requestMaxDeferMs: number;
  /** Uploads stop yielding once this many bytes are dirty. */
  readonly urgentDirtyBytes: number;
}

interface Queued {
  key: string;
  entry: QueueEntry;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 300_000;
/** Most an upload in flight pauses for reads and writes: well under the store's idle timeout. */
const PAUSE_MAX_MS = 10_000;

export class UploadQueue {
  /** Oldest first. */
  private readonly queue = new Map<string, QueueEntry>();
  private readonly inflight = new Map<string, Promise<void>>();
  private running = 0;
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  /** When each queued entry was queued, or last ran: how long it has waited to start. */
  private readonly waitingSince = new WeakMap<QueueEntry, number>();
  private seq = 0;
  /** Callers waiting for uploads (drain, a writer held back): uploads do not yield meanwhile. */
  private urgent = 0;
  private closing = false;
  private pumpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: CacheState,
    private readonly catalog: CatalogLog,
    private readonly routes: CloudRoutes,
    private readonly metrics: EngineMetrics,
    private readonly options: QueueOptions,
    private readonly log: Logger,
  ) {}

  get depth(): number {
    return this.queue.size;
  }

  op(key: string): QueueEntry['op'] | undefined {
    return this.queue.get(key)?.op;
  }

  /** Whether anything is queued or dirty for `keys`, or (without keys) for any key under `under` that a namespace covers. */
  pending(keys?: readonly string[], under = ''): boolean {
    if (keys) return keys.some((k) => this.queue.has(k) || this.state.extents.get(k)?.dirty);
    const waits = (key: string) => key.startsWith(under) && this.routes.of(key) !== undefined;
    for (const key of this.queue.keys()) if (waits(key)) return true;
    for (const extent of this.state.extents.values()) if (extent.dirty && waits(extent.key)) return true;
    return false;
  }

  /** Whether a delete is queued for any key under `prefix`. */
  deletesUnder(prefix: string): boolean {
    for (const [key, entry] of this.queue) if (entry.op === 'delete' && key.startsWith(prefix)) return true;
    return false;
  }

  /** Adds to `batch` a newest entry for `key`, replacing any older one; the queue changes with it. */
  enqueue(batch: Batch, key: string, op: QueueEntry['op']): void {
    const entry = this.nextEntry(op);
    batch.put(key, entry, { sublevel: this.catalog.uploads });
    this.queue.delete(key);
    this.queue.set(key, entry);
  }

  /** Takes back the queue left by a previous run, oldest first; dirty extents without a put get one. */
  async recover(): Promise<void> {
    const recovered: [string, QueueEntry][] = [];
    for await (const [key, entry] of this.catalog.uploads.iterator()) {
      recovered.push([key, entry]);
      this.seq = Math.max(this.seq, entry.seq);
    }
    for (const [key, entry] of recovered.sort((a, b) => a[1].seq - b[1].seq)) {
      this.queue.set(key, entry);
      this.waitingSince.set(entry, Date.now());
    }
    const missing = [...this.state.extents.values()].filter((e) => e.dirty && this.queue.get(e.key)?.op !== 'put');
    if (missing.length > 0) await this.catalog.persist((batch) => missing.forEach((e) => this.enqueue(batch, e.key, 'put')), true);
  }

  /** Runs `work` with uploads not yielding to reads and writes meanwhile. */
  async urgently<T>(work: () => Promise<T>): Promise<T> {
    this.urgent++;
    this.pump();
    try {
      return await work();
    } finally {
      this.urgent--;
    }
  }

  /** Lets the operations in flight finish; the rest resume at the next open. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.pumpTimer);
    await Promise.allSettled(this.inflight.values());
  }

  private nextEntry(op: QueueEntry['op']): QueueEntry {
    const entry: QueueEntry = { op, seq: ++this.seq };
    this.waitingSince.set(entry, Date.now());
    return entry;
  }

  /**
   * Starts queued operations up to the concurrency limit, oldest first, one at a
   * time per key; deletes ready together go as one request per backend. Puts and
   * deletes wait while reads and writes go on, within bounds (README.md).
   */
  pump(): void {
    if (this.closing) return;
    const now = Date.now();
    let soonest = Infinity;
    const deletes = new Map<ObjectBackend, { route: Route; batch: Queued[] }[]>();
    for (const [key, entry] of this.queue) {
      if (this.running >= this.options.concurrency) break;
      if (this.inflight.has(key)) continue;
      const route = this.routes.of(key);
      if (!route) continue; // its namespace is not open yet
      const failed = this.failures.get(key);
      if (failed && failed.retryAt > now) {
        soonest = Math.min(soonest, failed.retryAt);
        continue;
      }
      const yieldsUntil = this.yieldsUntil(entry, now);
      if (yieldsUntil > now) {
        soonest = Math.min(soonest, yieldsUntil);
        continue;
      }
      if (entry.op === 'put') {
        this.start([{ key, entry }], () => this.runPut(route, key, entry));
        continue;
      }
      const groups = deletes.get(route.backend) ?? [];
      deletes.set(route.backend, groups);
      const last = groups.at(-1);
      const group = last && last.batch.length < DELETE_MANY_MAX ? last : { route, batch: [] };
      if (group !== last) groups.push(group);
      group.batch.push({ key, entry });
      if (group.batch.length === DELETE_MANY_MAX) this.start(group.batch, () => this.runDeletes(route.backend, group.batch));
    }
    for (const groups of deletes.values()) {
      for (const { route, batch } of groups) {
        if (batch.length < DELETE_MANY_MAX && this.running < this.options.concurrency)
          this.start(batch, () => this.runDeletes(route.backend, batch));
      }
    }
    if (soonest < Infinity) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = setTimeout(() => this.pump(), soonest - now).unref();
    }
  }

  /** Runs `work` for the queued operations of `batch` as one of the `concurrency` at once. */
  private start(batch: readonly Queued[], work: () => Promise<void>): void {
    this.running++;
    const run = work().finally(() => {
      this.running--;
      for (const { key, entry } of batch) {
        this.inflight.delete(key);
        this.waitingSince.set(entry, Date.now());
      }
      this.state.notify();
      this.pump();
    });
    for (const { key } of batch) this.inflight.set(key, run);
  }

  /**
   * Until when `entry` (a put or a delete) yields to reads and writes, and to other requests
   * within a shorter bound (at most: they may go on); `now` or earlier once quiet, or a bound is reached.
   */
  private yieldsUntil(entry: QueueEntry, now: number): number {
    const { quietMs, maxDeferMs, requestMaxDeferMs, urgentDirtyBytes } = this.options;
    if (quietMs === 0 || this.urgent > 0 || this.closing || this.state.dirtyBytes >= urgentDirtyBytes) return now;
    const since = this.waitingSince.get(entry)!;
    return Math.max(
      Math.min(this.state.foregroundAt + quietMs, since + maxDeferMs),
      Math.min(this.state.requestAt + quietMs, since + requestMaxDeferMs),
    );
  }

  /**
   * The snapshot, its pieces read only once reads and writes pause, or a bound is
   * reached, or it has waited its pause bound in all. Not for an upload holding
   * the extent's lock: writers to it would wait for the pause.
   */
  private yielding(shot: Snapshot, entry: QueueEntry, backend: ObjectBackend): Snapshot {
    let left = Math.min(PAUSE_MAX_MS, backend.idleTimeoutMs / 3);
    return {
      ...shot,
      read: async (offset, length, into) => {
        for (;;) {
          const now = Date.now();
          const until = this.yieldsUntil(entry, now);
          if (left <= 0 || until <= now) return shot.read(offset, length, into);
          await sleep(Math.min(left, until - now), undefined, { ref: false });
          left -= Date.now() - now;
        }
      },
    };
  }

  private async runPut(route: Route, key: string, entry: QueueEntry): Promise<void> {
    try {
      await this.upload(route, key, entry);
      this.failures.delete(key);
    } catch (error) {
      this.failed([{ key, entry }], error);
    }
  }

  private async runDeletes(backend: ObjectBackend, batch: readonly Queued[]): Promise<void> {
    try {
      const remote = new Map(batch.map(({ key }) => [CloudRoutes.remoteKey(this.routes.of(key)!, key), key]));
      const failedRemote = await backend.deleteMany([...remote.keys()]);
      const failed = new Map([...failedRemote].map(([k, error]) => [remote.get(k) ?? k, error]));
      const deleted = batch.filter(({ key }) => !failed.has(key));
      await this.catalog.persist((b) => deleted.forEach(({ key, entry }) => this.settled(b, key, entry)));
      for (const queued of batch) {
        if (failed.has(queued.key)) this.failed([queued], failed.get(queued.key));
        else this.failures.delete(queued.key);
      }
    } catch (error) {
      this.failed(batch, error);
    }
  }

  /** The operations failed with `error`: each is retried after a delay that doubles with each failure in a row. One log line. */
  private failed(ops: readonly Queued[], error: unknown): void {
    let count = 0;
    let delay = 0;
    for (const { key } of ops) {
      count = (this.failures.get(key)?.count ?? 0) + 1;
      delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
      this.failures.set(key, { count, retryAt: Date.now() + delay });
    }
    const [{ key, entry }] = ops as [Queued];
    this.log.warn(
      { key, ...(ops.length > 1 ? { keys: ops.length } : {}), op: entry.op, err: error, attempt: count, retryInMs: delay },
      'cloud operation failed; will retry',
    );
  }

  /**
   * Uploads the extent as it is now, streamed from its file, while writers go
   * on; it is clean afterwards unless written meanwhile. Appends leave the bytes
   * being sent alone. A write over them, or a truncation, makes the upload start
   * again holding the extent's lock (writers wait), so that it ends.
   */
  private async upload(route: Route, key: string, entry: QueueEntry, exclusive = false): Promise<void> {
    const { state } = this;
    const started = performance.now();
    const extent = state.extents.get(key);
    if (!extent || !extent.dirty) return this.settle(key, entry);
    let gen: number;
    try {
      gen = exclusive
        ? await state.locks.run(key, async () => this.send(route, extent, await this.begin(extent, route)))
        : await this.send(route, extent, this.yielding(await state.locks.run(key, () => this.begin(extent, route)), entry, route.backend));
    } catch (error) {
      if (extent.state === 'uploading') extent.state = 'dirty';
      if (!(error instanceof SnapshotChangedError)) throw error;
      // The lock lets a write in progress finish before its generation is compared.
      if (exclusive || !(await state.locks.run(key, async () => extent.gen !== error.gen)))
        throw new CacheCorruptionError(key, error.block, extent.blockSize);
      return this.upload(route, key, entry, true);
    }
    this.metrics.observeUpload((performance.now() - started) / 1000);
    await state.locks.run(key, async () => {
      if (state.extents.get(key) !== extent) return;
      if (extent.gen !== gen) {
        extent.state = 'dirty';
        return;
      }
      extent.state = 'clean';
      state.dirtyBytes -= extent.size;
      await this.settle(key, entry, extent);
    });
  }

  /** Marks the extent uploading and takes the snapshot to send; under its lock. */
  private async begin(extent: Extent, route: Route): Promise<Snapshot> {
    extent.state = 'uploading';
    await this.catalog.putRecord(extent);
    return snapshot(extent, route.streamed);
  }

  /** Sends the snapshot; resolves to the generation it holds. */
  private async send(route: Route, extent: Extent, shot: Snapshot): Promise<number> {
    try {
      await route.backend.put(CloudRoutes.remoteKey(route, extent.key), shot, { metadata: shot.metadata });
      return shot.gen;
    } finally {
      await shot.close();
    }
  }

  /** Removes a finished queue entry (unless a newer one replaced it), with the extent's new record. */
  private settle(key: string, entry: QueueEntry, extent?: Extent): Promise<void> {
    return this.catalog.persist((batch) => this.settled(batch, key, entry, extent));
  }

  private settled(batch: Batch, key: string, entry: QueueEntry, extent?: Extent): void {
    if (extent) this.catalog.record(batch, extent);
    if (this.queue.get(key) === entry) {
      batch.del(key, { sublevel: this.catalog.uploads });
      this.queue.delete(key);
    }
  }
}
