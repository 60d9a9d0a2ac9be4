// The shared cache and upload engine: writes land in local extent files and
// reach S3 in the background; reads are served from the cache, else fetched by
// range (with read-ahead for sequential readers). See README.md beside this file.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import { namesDurableWithData } from '../fileio/name-durability.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { BackendHooks, ObjectBackend, OpenBackend } from '../cloud/object-backend.ts';
import type { Logger } from '../log.ts';
import { BandwidthLimiter, type BandwidthSchedule } from './bandwidth.ts';
import { CacheIO } from './cache-io.ts';
import { CacheState } from './cache-state.ts';
import { CatalogLog } from './catalog-log.ts';
import { CloudRoutes, type NamespaceOptions } from './cloud-routes.ts';
import { ExtentFiles } from './extent-files.ts';
import type { ExtentStore } from './extent-store.ts';
import { Evictor } from './eviction.ts';
import { EngineMetrics, type EngineStats } from './metrics.ts';
import { NamespaceStore } from './namespace-store.ts';
import { recoverExtents } from './recovery.ts';
import { SpareFiles } from './spare-files.ts';
import { UploadQueue } from './upload-queue.ts';

export interface EngineOptions {
  /** Directory for the extent files; the engine owns it. */
  directory: string;
  /** The gateway's catalog: the engine keeps its sections 'cache' and 'uploads'. */
  catalog: Catalog;
  /** The object store namespaces go to unless they name their own (ObjectStore over S3, in the gateway). */
  backend: OpenBackend;
  /** Local disk the cache may fill. */
  cacheBytes: number;
  /** Data not yet uploaded above which writers wait; below cacheBytes. */
  uploadBufferBytes: number;
  /** Extents uploading at once (default 4). */
  uploadConcurrency?: number;
  /** Eviction of clean extents starts above high × cacheBytes and stops at low × (defaults 0.9, 0.8). */
  highWatermark?: number;
  lowWatermark?: number;
  /** Extent files kept open (default 16); more for consumers that spread small I/O over many extents (volumes). */
  openFiles?: number;
  /** Decides when small writes into extent files may be made on the event loop's thread (default a gate of the engine's own; see InlineWriteGate). */
  inlineWrites?: InlineWriteGate;
  /** Lends large reads' buffers (readv); default a pool of the engine's own. */
  readBuffers?: BufferPool;
  /** Most a sequential reader's misses fetch ahead (default 16 MiB). */
  readAheadBytes?: number;
  /** Written data is queued for upload at least this often even without sync() (default 10 s; 0: only by sync()); not in a namespace that uploads when drained. */
  writebackIntervalMs?: number;
  /** Uploads start only once no write or read has come for this long (default 1 s; 0: never yield). See README.md. */
  uploadQuietMs?: number;
  /** An upload waits for quiet at most this long (default 60 s). */
  uploadMaxDeferMs?: number;
  /**
   * An upload waits at most this long while only requests that touch no extent come (noteForeground;
   * default 10 s, at most uploadMaxDeferMs): a client that browses without pause leaves little to upload.
   */
  uploadRequestMaxDeferMs?: number;
  bandwidth?: BandwidthSchedule;
  /** Where the metrics register (default a registry of the engine's own). */
  registry?: Registry;
  logger: Logger;
}

export class CacheEngine {
  readonly metrics: EngineMetrics;
  private readonly state = new CacheState();
  private readonly limiter: BandwidthLimiter;
  /** What every backend the engine opens is given: its own, and the namespaces' own. */
  private readonly hooks: BackendHooks;
  /** The backends opened for namespaces of their own, by namespace. */
  private readonly namespaceBackends = new Map<string, ObjectBackend>();
  private readonly routes: CloudRoutes;
  private readonly catalog: CatalogLog;
  private readonly files: ExtentFiles;
  private readonly queue: UploadQueue;
  private readonly io: CacheIO;
  private readonly log: Logger;
  private writeback: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: EngineOptions,
    namesDurableWithData: boolean,
    private readonly spares: SpareFiles,
  ) {
    const { cacheBytes, uploadBufferBytes } = options;
    if (!(uploadBufferBytes > 0 && uploadBufferBytes < cacheBytes))
      throw new RangeError('uploadBufferBytes must be positive and below cacheBytes');
    const high = options.highWatermark ?? 0.9;
    const low = options.lowWatermark ?? 0.8;
    if (!(0 < low && low < high && high <= 1)) throw new RangeError('watermarks must satisfy 0 < low < high ≤ 1');
    this.log = options.logger.child({ component: 'cache' });
    this.metrics = new EngineMetrics(() => this.stats(), options.registry);
    this.limiter = new BandwidthLimiter(options.bandwidth);
    this.hooks = { observer: this.metrics, shaper: this.limiter };
    this.routes = new CloudRoutes(options.backend(this.hooks));
    this.catalog = new CatalogLog(options.catalog, this.state);
    this.files = new ExtentFiles(this.state, this.log, options.openFiles, options.inlineWrites, namesDurableWithData, spares);
    const evictor = new Evictor(this.state, this.files, this.catalog, { cacheBytes, high, low });
    this.queue = new UploadQueue(
      this.state,
      this.catalog,
      this.routes,
      this.metrics,
      {
        concurrency: options.uploadConcurrency ?? 4,
        quietMs: options.uploadQuietMs ?? 1_000,
        maxDeferMs: options.uploadMaxDeferMs ?? 60_000,
        requestMaxDeferMs: Math.min(options.uploadRequestMaxDeferMs ?? 10_000, options.uploadMaxDeferMs ?? 60_000),
        // Uploads stop yielding once a quarter of the buffer is dirty: writers stop at all of it.
        urgentDirtyBytes: uploadBufferBytes / 4,
      },
      this.log,
    );
    const limits = { directory: options.directory, cacheBytes, uploadBufferBytes, readAheadBytes: options.readAheadBytes ?? 16 * MiB };
    this.io = new CacheIO(
      this.state,
      this.files,
      evictor,
      this.queue,
      this.routes,
      this.catalog,
      options.readBuffers ?? new BufferPool(),
      limits,
      this.log,
    );
  }

  /** Opens the engine, recovering extents and the upload queue left by a previous run or crash. */
  static async open(options: EngineOptions): Promise<CacheEngine> {
    await mkdir(options.directory, { recursive: true });
    // One gate for the extent files' inline writes and the spares made inline: a stall of either shuts both.
    const inlineWrites = options.inlineWrites ?? new InlineWriteGate();
    const spares = await SpareFiles.open(join(options.directory, 'spare'), options.logger.child({ component: 'cache' }), inlineWrites);
    const engine = new CacheEngine({ ...options, inlineWrites }, await namesDurableWithData(options.directory), spares);
    await recoverExtents(options.directory, engine.state, engine.catalog, engine.log);
    await engine.queue.recover();
    const { state, queue } = engine;
    engine.log.info(
      { extents: state.extents.size, dirtyBytes: state.dirtyBytes, usedBytes: state.usedBytes, queued: queue.depth },
      'cache recovered',
    );
    const interval = options.writebackIntervalMs ?? 10_000;
    if (interval > 0)
      engine.writeback = setInterval(
        () => void engine.io.writeback().catch((err: unknown) => engine.log.error({ err }, 'writeback failed')),
        interval,
      ).unref();
    return engine;
  }

  /**
   * The extent store of one consumer: keys starting with `namespace` ('tapes/',
   * 'volumes/', 'shares/NAME/'; '' for every key), uploaded to `route`'s backend
   * and prefix (by default the engine's own, under the same keys; a backend of
   * its own is opened with the engine's hooks). Uploads queued under a namespace
   * wait until it is open.
   */
  namespace(namespace: string, options: NamespaceOptions = {}): ExtentStore {
    if (namespace !== '' && !namespace.endsWith('/')) throw new RangeError(`namespace ${namespace} must end with '/'`);
    const { backend: openBackend, ...route } = options;
    const backend = openBackend?.(this.hooks);
    this.routes.open(namespace, backend ? { ...route, backend } : route);
    this.namespaceBackends.get(namespace)?.close();
    if (backend) this.namespaceBackends.set(namespace, backend);
    else this.namespaceBackends.delete(namespace);
    this.queue.pump();
    return new NamespaceStore(this.io, namespace);
  }

  /** Closes a namespace, and the backend opened for it: its queued uploads wait until it opens again. */
  closeNamespace(namespace: string): void {
    this.routes.close(namespace);
    this.namespaceBackends.get(namespace)?.close();
    this.namespaceBackends.delete(namespace);
  }

  /** Changes the bandwidth schedule in force. */
  setBandwidth(schedule: BandwidthSchedule): void {
    this.limiter.set(schedule);
  }

  stats(): EngineStats {
    const { state } = this;
    return {
      cacheBytes: this.options.cacheBytes,
      usedBytes: state.usedBytes,
      dirtyBytes: state.dirtyBytes,
      uploadBufferBytes: this.options.uploadBufferBytes,
      queueDepth: this.queue.depth,
      hits: state.hits,
      misses: state.misses,
    };
  }

  /** Makes written data durable, lets uploads in flight finish (the rest resume at the next open), and lets go of the engine's backend. */
  async close(): Promise<void> {
    if (this.io.closed) return;
    await this.io.sync();
    this.io.closed = true;
    await this.io.settleReadAhead();
    clearInterval(this.writeback);
    await this.queue.close();
    await this.catalog.settled();
    await this.spares.close();
    await this.files.closeAll();
    this.state.notify();
    this.routes.defaultBackend.close();
    for (const backend of this.namespaceBackends.values()) backend.close();
    this.namespaceBackends.clear();
  }
}

const MiB = 1024 * 1024;
