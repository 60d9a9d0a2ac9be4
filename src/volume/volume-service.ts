// What an operator can do with volumes and snapshots (the management API
// serves it; the CLI calls the API): create, list, describe and delete
// volumes while the gateway runs, schedule and take snapshots, restore a new
// volume from any snapshot, including those found in the bucket.
import type { BlockDevice } from '../../scsi/sbc/block-device.ts';
import { BufferPool } from '../buffers/buffer-pool.ts';
import type { ExtentStore, ReadTally } from '../cache/extent-store.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import type { Logger } from '../log.ts';
import { CachedVolume } from './cached-volume.ts';
import { chunkKey, type ChunkRef } from './chunk-map.ts';
import { newVolumeId } from './ids.ts';
import { Snapshots } from './snapshots.ts';
import { StoredVolume } from './stored-volume.ts';
import {
  VolumeCatalog,
  type SnapshotRecord,
  type SnapshotStatus,
  type VolumeAccess,
  type VolumeRecord,
  type VolumeStatus,
  type VolumeType,
} from './volume-catalog.ts';
import { SnapshotRefusedError, type VolumeContext } from './volume.ts';

export type { SnapshotStatus, VolumeAccess, VolumeStatus, VolumeType };

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

/**
 * Chunk size of new volumes (a restored volume keeps its snapshot's). 1 MiB:
 * see src/volume/README.md ("Chunk size") for the measurements behind it.
 */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/** AWS's Volume Gateway limits: cached 1 GiB to 32 TiB, stored 1 GiB to 16 TiB, 32 volumes a gateway. */
export const SIZE_LIMITS: Record<VolumeType, { min: number; max: number }> = {
  cached: { min: GiB, max: 32 * TiB },
  stored: { min: GiB, max: 16 * TiB },
};
export const MAX_VOLUMES = 32;
/** Stored volumes are snapshotted once a day unless told otherwise, as on AWS. */
export const DEFAULT_STORED_SCHEDULE_MS = 24 * 3600 * 1000;
const MAX_DESCRIPTION = 255;
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/** A due scheduled snapshot of a volume that is not AVAILABLE is tried again this much later. */
const SCHEDULE_RETRY_MS = 60_000;

export interface VolumeInfo {
  readonly id: string;
  readonly name: string;
  readonly type: VolumeType;
  readonly status: VolumeStatus;
  /** Percent done while BOOTSTRAPPING or RESTORING. */
  readonly progress?: number;
  readonly error?: string;
  readonly sizeBytes: number;
  /** Bytes of chunks that hold data. */
  readonly usedBytes: number;
  readonly blockSize: number;
  readonly chunkSize: number;
  readonly target: string;
  /** Sessions logged in to its target. */
  readonly sessions: number;
  /** Cached volumes: percent of the reads since the gateway started that the cache served, once there was one (AWS's CacheHitPercent). */
  readonly cacheHitPercent?: number;
  readonly createdAt: string;
  readonly fromConfig: boolean;
  readonly sourceSnapshotId?: string;
  readonly snapshotSchedule: { readonly everySeconds: number | null; readonly nextAt?: string };
  readonly lastSnapshotAt?: string;
}

export interface SnapshotInfo {
  readonly id: string;
  readonly volumeId: string;
  readonly volumeName: string;
  readonly volumeType: VolumeType;
  readonly status: SnapshotStatus;
  /** Percent uploaded while PENDING. */
  readonly progress?: number;
  readonly description: string;
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly chunkSize: number;
  /** Chunks that hold data, and of them those written since the volume's previous snapshot (what this one uploaded). */
  readonly chunkCount: number;
  readonly changedChunks: number;
  readonly changedBytes: number;
  readonly scheduled: boolean;
  readonly imported: boolean;
  readonly error?: string;
}

export interface CreateVolumeRequest extends VolumeAccess {
  readonly name: string;
  readonly type: VolumeType;
  /** Default: the snapshot's size when restoring. */
  readonly sizeBytes?: number;
  /** 512 or 4096; default 512, or the snapshot's. */
  readonly blockSize?: number;
  readonly fromSnapshot?: string;
}

/** A volume named in the configuration file: a stored volume unless it says otherwise. */
export interface ConfigVolume extends VolumeAccess {
  readonly name: string;
  readonly size: number;
  readonly blockSize: number;
  readonly type?: VolumeType;
}

export type VolumeErrorCode =
  | 'INVALID_NAME'
  | 'INVALID_TYPE'
  | 'INVALID_SIZE'
  | 'INVALID_BLOCK_SIZE'
  | 'INVALID_SCHEDULE'
  | 'INVALID_DESCRIPTION'
  | 'DUPLICATE_VOLUME'
  | 'VOLUME_NOT_FOUND'
  | 'VOLUME_LIMIT'
  | 'VOLUME_IN_USE'
  | 'VOLUME_IN_CONFIG'
  | 'VOLUME_NOT_AVAILABLE'
  | 'SNAPSHOT_NOT_FOUND'
  | 'SNAPSHOT_NOT_COMPLETED'
  | 'SNAPSHOT_TOO_LARGE';

/** A request the gateway refuses; `message` says what to do instead. */
export class VolumeServiceError extends Error {
  override readonly name = 'VolumeServiceError';
  constructor(
    readonly code: VolumeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A volume the gateway serves, as its iSCSI target needs it. */
export interface ServedVolume extends VolumeAccess {
  readonly id: string;
  readonly name: string;
  /** What its SCSI serial number and designators derive from. */
  readonly unitName: string;
  readonly device: BlockDevice;
}

/** How volumes reach initiators: the gateway's iSCSI targets. */
export interface VolumeExposure {
  /** The target's name for a volume name. */
  targetName(name: string): string;
  /** Serves the volume's target from now on (SendTargets lists it, logins are accepted). */
  attach(volume: ServedVolume): void;
  /** Stops serving it; its sessions are closed. */
  detach(name: string): Promise<void>;
  /** Sessions logged in to its target. */
  sessions(name: string): number;
}

export interface VolumeServiceOptions {
  readonly catalog: Catalog;
  /** The engine's namespace 'volumes/'. */
  readonly store: ExtentStore;
  /** Where stored volumes keep their files. */
  readonly directory: string;
  /** How full the engine's upload buffer is, 0 to 1. */
  readonly uploadBufferUse: () => number;
  /** Small writes into stored volumes' files made on the event loop's thread pass it (default a gate of the service's own; the gateway's is the cache engine's too). */
  readonly inlineWrites?: InlineWriteGate;
  /** Lends READs' buffers (default a pool of the service's own; the gateway's is the cache engine's too). */
  readonly readBuffers?: BufferPool;
  readonly exposure: VolumeExposure;
  readonly logger: Logger;
  readonly chunkSize?: number;
  /** Shortest snapshot schedule accepted (default 1 hour, as AWS). */
  readonly minimumScheduleMs?: number;
  readonly now?: () => Date;
}

type Flavour = CachedVolume | StoredVolume;

const fail = (code: VolumeErrorCode, message: string) => new VolumeServiceError(code, message);

export class VolumeService {
  private readonly catalog: VolumeCatalog;
  private readonly context: VolumeContext;
  private readonly volumes = new Map<string, Flavour>();
  private readonly creating = new Set<string>();
  private readonly schedules = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  /** Scheduled snapshots being taken, by volume id. */
  private readonly takingScheduled = new Map<string, Promise<void>>();
  private readonly snapshots: Snapshots;
  private readonly log: Logger;
  private readonly now: () => Date;
  /** The first look at the bucket for snapshots this gateway does not know. */
  private imported: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: VolumeServiceOptions) {
    this.catalog = new VolumeCatalog(options.catalog);
    this.log = options.logger.child({ component: 'volumes' });
    this.now = options.now ?? (() => new Date());
    this.context = {
      store: options.store,
      catalog: this.catalog,
      directory: options.directory,
      uploadBufferUse: options.uploadBufferUse,
      inlineWrites: options.inlineWrites ?? new InlineWriteGate(),
      readBuffers: options.readBuffers ?? new BufferPool(),
      log: this.log,
    };
    this.snapshots = new Snapshots(options.store, this.catalog, () => this.volumes.values(), this.log, this.now);
  }

  /**
   * Opens every volume of the catalog and those of the configuration (made,
   * or grown, as stored volumes unless they say otherwise), resumes their
   * background work and snapshots, serves their targets, and looks in the
   * bucket for snapshots to import.
   */
  static async open(options: VolumeServiceOptions, configured: readonly ConfigVolume[]): Promise<VolumeService> {
    const service = new VolumeService(options);
    try {
      await service.load(configured);
    } catch (error) {
      await service.close().catch(() => undefined);
      throw error;
    }
    return service;
  }

  private async load(configured: readonly ConfigVolume[]): Promise<void> {
    const records = new Map((await this.catalog.volumes()).map((r) => [r.name, r]));
    // A volume taken out of the configuration stays, as any other volume.
    for (const [name, record] of records) {
      if (record.fromConfig && !configured.some((c) => c.name === name)) {
        const { fromConfig: _, ...rest } = record;
        records.set(name, rest);
        await this.catalog.putVolume(rest);
      }
    }
    const fresh = new Set<string>();
    for (const config of configured) {
      const record = records.get(config.name);
      records.set(config.name, record ? this.reconfigured(record, config) : this.configRecord(config));
      if (!record) fresh.add(config.name);
      await this.catalog.putVolume(records.get(config.name)!, true);
    }
    const garbage: string[] = await this.catalog.garbage();
    for (const record of records.values()) {
      const { volume, garbage: more } = await this.openVolume(record, fresh.has(record.name));
      garbage.push(...more);
      this.volumes.set(record.id, volume);
    }
    await this.snapshots.load();
    await this.snapshots.collect(garbage);
    for (const volume of [...this.volumes.values()]) {
      if (volume.record.deleting) await this.finishDelete(volume);
      else {
        this.options.exposure.attach(this.served(volume));
        this.schedule(volume);
      }
    }
    this.imported = this.snapshots.importFromBucket().then(
      () => undefined,
      (err: unknown) => this.log.warn({ err }, 'looking for snapshots in the bucket failed'),
    );
  }

  /** A configured volume's record brought to what the configuration says now. */
  private reconfigured(record: VolumeRecord, config: ConfigVolume): VolumeRecord {
    const where = `volume "${config.name}" of the configuration`;
    const type = config.type ?? 'stored';
    if (record.type !== type)
      throw fail(
        'INVALID_TYPE',
        `${where} is a ${record.type} volume in the catalog, not ${type}: give it type "${record.type}", or a new name`,
      );
    if (config.size < record.sizeBytes)
      throw fail(
        'INVALID_SIZE',
        `${where} holds ${record.sizeBytes} bytes, more than ${config.size}: a volume cannot shrink; give it at least its current size, or a new name`,
      );
    if (config.blockSize !== record.blockSize)
      throw fail(
        'INVALID_BLOCK_SIZE',
        `${where} has ${record.blockSize}-byte blocks: its block size cannot change; give it ${record.blockSize}, or a new name`,
      );
    const { auth: _a, allowedInitiators: _i, ...rest } = record;
    return { ...rest, sizeBytes: config.size, fromConfig: true, ...access(config) };
  }

  private configRecord(config: ConfigVolume): VolumeRecord {
    const type = config.type ?? 'stored';
    return {
      ...this.newRecord({
        name: config.name,
        type,
        sizeBytes: config.size,
        blockSize: config.blockSize,
        chunkSize: this.chunkSize,
        ...access(config),
      }),
      unitName: config.name,
      fromConfig: true,
      // A file the gateway served before volumes reached the bucket: its data is read into the image.
      ...(type === 'stored' ? { file: `${config.name}.img`, pass: { kind: 'adopt' as const, cursor: 0 } } : {}),
    };
  }

  private get chunkSize(): number {
    return this.options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  private newRecord(
    fields: { name: string; type: VolumeType; sizeBytes: number; blockSize: number; chunkSize: number } & VolumeAccess,
  ): VolumeRecord {
    const id = newVolumeId();
    return {
      id,
      unitName: id,
      ...fields,
      createdAt: this.now().toISOString(),
      frozenBelow: 1,
      genCeiling: 1,
      snapshotEveryMs: fields.type === 'stored' ? DEFAULT_STORED_SCHEDULE_MS : null,
      ...(fields.type === 'stored' ? { file: `${id}.img` } : {}),
    };
  }

  private async openVolume(record: VolumeRecord, create: boolean): Promise<{ volume: Flavour; garbage: string[] }> {
    if (record.type === 'cached') return CachedVolume.open(record, this.context);
    return StoredVolume.open(record, this.context, { create: create || record.pass?.kind === 'restore' || record.pass?.kind === 'adopt' });
  }

  private served(volume: Flavour): ServedVolume {
    return { id: volume.id, name: volume.name, unitName: volume.record.unitName, device: volume, ...access(volume.record) };
  }

  // ---- volumes

  async createVolume(request: CreateVolumeRequest): Promise<VolumeInfo> {
    const { name, type } = request;
    if (typeof name !== 'string' || !NAME.test(name))
      throw fail(
        'INVALID_NAME',
        `volume name ${JSON.stringify(name)} is not valid: use 1 to 32 lower-case letters, digits or inner hyphens, e.g. "db-01"`,
      );
    const target = this.options.exposure.targetName(name);
    if (Buffer.byteLength(target) > 223)
      throw fail('INVALID_NAME', `volume name "${name}" makes the target name ${target} longer than 223 bytes: choose a shorter name`);
    if (type !== 'cached' && type !== 'stored')
      throw fail(
        'INVALID_TYPE',
        `volume type ${JSON.stringify(type)} is not one: say "cached" (the bucket holds the volume) or "stored" (the gateway's disk does)`,
      );
    if (this.byName(name) || this.creating.has(name))
      throw fail('DUPLICATE_VOLUME', `a volume named "${name}" exists already: choose another name, or delete that one first`);
    if (this.volumes.size + this.creating.size >= MAX_VOLUMES)
      throw fail('VOLUME_LIMIT', `the gateway has ${MAX_VOLUMES} volumes, as many as it serves: delete one first`);
    const snapshot = request.fromSnapshot === undefined ? undefined : await this.completedSnapshot(request.fromSnapshot);
    const blockSize = request.blockSize ?? snapshot?.blockSize ?? 512;
    if (blockSize !== 512 && blockSize !== 4096)
      throw fail('INVALID_BLOCK_SIZE', `block size ${blockSize} is not offered: say 512 or 4096`);
    const sizeBytes = request.sizeBytes ?? snapshot?.sizeBytes;
    if (snapshot && sizeBytes !== undefined && sizeBytes < snapshot.sizeBytes) {
      throw fail(
        'SNAPSHOT_TOO_LARGE',
        `snapshot ${snapshot.id} holds ${sizeText(snapshot.sizeBytes)}, more than a volume of ${sizeText(sizeBytes)}: give the volume at least ${sizeText(snapshot.sizeBytes)}, or leave the size out`,
      );
    }

    // A snapshot of a smaller volume (the configuration file's may be) restores at its own size.
    const limits = { min: Math.min(SIZE_LIMITS[type].min, snapshot?.sizeBytes ?? Infinity), max: SIZE_LIMITS[type].max };
    if (sizeBytes === undefined || !Number.isSafeInteger(sizeBytes) || sizeBytes < limits.min || sizeBytes > limits.max) {
      throw fail(
        'INVALID_SIZE',
        `a ${type} volume holds ${sizeText(limits.min)} to ${sizeText(limits.max)}${sizeBytes === undefined ? ': give its size' : `, not ${sizeBytes} bytes`}, e.g. 10GiB`,
      );
    }
    if (sizeBytes % blockSize !== 0)
      throw fail(
        'INVALID_SIZE',
        `${sizeBytes} bytes is not a whole number of ${blockSize}-byte blocks: e.g. ${Math.ceil(sizeBytes / blockSize) * blockSize}`,
      );
    this.creating.add(name);
    try {
      const base = this.newRecord({
        name,
        type,
        sizeBytes,
        blockSize,
        chunkSize: snapshot?.chunkSize ?? this.chunkSize,
        ...access(request),
      });
      const entries: [number, ChunkRef][] = [];
      if (snapshot) for await (const entry of this.catalog.snapshotMap(snapshot.id)) entries.push(entry);
      const record: VolumeRecord = snapshot
        ? { ...base, sourceSnapshotId: snapshot.id, pass: { kind: type === 'cached' ? 'verify' : 'restore', cursor: 0 } }
        : base;
      await this.catalog.createVolume(record, entries);
      const { volume } = await this.openVolume(record, true);
      this.volumes.set(record.id, volume);
      this.options.exposure.attach(this.served(volume));
      this.schedule(volume);
      this.creating.delete(name);
      this.log.info({ volume: name, volumeId: record.id, type, sizeBytes, fromSnapshot: snapshot?.id }, 'volume created');
      return this.info(volume);
    } finally {
      this.creating.delete(name);
    }
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    return [...this.volumes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((v) => this.info(v));
  }

  async describeVolume(name: string): Promise<VolumeInfo> {
    return this.info(this.volumeNamed(name));
  }

  /** Refused while initiators are logged in (unless forced) and for volumes of the configuration file. */
  async deleteVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    const volume = this.volumeNamed(name);
    if (volume.record.fromConfig) {
      throw fail(
        'VOLUME_IN_CONFIG',
        `volume "${name}" comes from the configuration file: remove it from "volumes" there and restart the gateway, then delete it`,
      );
    }
    const sessions = this.options.exposure.sessions(name);
    if (sessions > 0 && !options.force) {
      throw fail(
        'VOLUME_IN_USE',
        `volume "${name}" has ${sessions} initiator session(s) logged in to ${this.options.exposure.targetName(name)}: log them out first, or delete with force (tapegw volume delete ${name} --force)`,
      );
    }
    await volume.update({ deleting: true }, true);
    await this.options.exposure.detach(name);
    await this.finishDelete(volume);
  }

  /** Closes a volume marked deleting and deletes what is its alone: the chunk objects no other volume or snapshot names, its file, its records. */
  private async finishDelete(volume: Flavour): Promise<void> {
    this.unschedule(volume.id);
    await volume.close();
    this.volumes.delete(volume.id);
    const garbage: string[] = [];
    for (const [index, ref] of volume.image.map.entries()) {
      // Chunks of a restored volume may be another volume's that no snapshot names any more.
      if (!(await this.snapshots.referenced(index, ref, { volume: volume.id }))) garbage.push(chunkKey(ref, index));
    }
    await this.catalog.deleteVolume(volume.id, garbage);
    await volume.removeLocal();
    await this.snapshots.collect(garbage);
    this.log.info({ volume: volume.name, volumeId: volume.id, objects: garbage.length }, 'volume deleted');
  }

  /** Snapshots every `everyMs` (null: none) from the last one (or the volume's creation). */
  async setSchedule(name: string, everyMs: number | null): Promise<VolumeInfo> {
    const volume = this.volumeNamed(name);
    const minimum = this.options.minimumScheduleMs ?? 3600_000;
    if (everyMs !== null && (!Number.isSafeInteger(everyMs) || everyMs < minimum)) {
      throw fail(
        'INVALID_SCHEDULE',
        `snapshots can be taken every ${minimum / 1000} seconds at most often, not every ${everyMs / 1000}: e.g. every 24h, or off`,
      );
    }
    await volume.update({ snapshotEveryMs: everyMs }, true);
    this.schedule(volume);
    // A scheduled snapshot already under way finishes first: none appears after the answer says the schedule changed.
    await this.takingScheduled.get(volume.id);
    return this.info(volume);
  }

  private volumeNamed(name: string): Flavour {
    const volume = this.byName(name);
    if (!volume) {
      const names = [...this.volumes.values()].map((v) => v.name).sort();
      throw fail(
        'VOLUME_NOT_FOUND',
        `no volume is named ${JSON.stringify(name)}${names.length ? `: the gateway has ${names.join(', ')}` : ': create one with tapegw volume create NAME --type cached --size 10GiB'}`,
      );
    }
    return volume;
  }

  private byName(name: string): Flavour | undefined {
    for (const volume of this.volumes.values()) if (volume.name === name) return volume;
    return undefined;
  }

  private info(volume: Flavour): VolumeInfo {
    const r = volume.record;
    const state = this.creating.has(r.name) ? { status: 'CREATING' as const } : volume.state();
    const schedule = this.schedules.get(r.id);
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      status: state.status,
      ...(state.progress === undefined ? {} : { progress: Math.round(state.progress * 10) / 10 }),
      ...(state.error === undefined ? {} : { error: state.error }),
      sizeBytes: r.sizeBytes,
      usedBytes: Math.min(r.sizeBytes, volume.image.map.mapped * r.chunkSize),
      blockSize: r.blockSize,
      chunkSize: r.chunkSize,
      target: this.options.exposure.targetName(r.name),
      sessions: this.options.exposure.sessions(r.name),
      ...(r.type === 'cached' ? cacheHit(volume.image.reads) : {}),
      createdAt: r.createdAt,
      fromConfig: r.fromConfig ?? false,
      ...(r.sourceSnapshotId ? { sourceSnapshotId: r.sourceSnapshotId } : {}),
      snapshotSchedule: {
        everySeconds: r.snapshotEveryMs === null ? null : r.snapshotEveryMs / 1000,
        ...(schedule ? { nextAt: new Date(schedule.at).toISOString() } : {}),
      },
      ...(r.lastSnapshotAt ? { lastSnapshotAt: r.lastSnapshotAt } : {}),
    };
  }

  // ---- snapshots

  async createSnapshot(volumeName: string, options: { description?: string; scheduled?: boolean } = {}): Promise<SnapshotInfo> {
    const volume = this.volumeNamed(volumeName);
    const description = options.description ?? '';
    if (typeof description !== 'string' || description.length > MAX_DESCRIPTION)
      throw fail('INVALID_DESCRIPTION', `a description is at most ${MAX_DESCRIPTION} characters`);
    try {
      return this.snapshotInfo(await this.snapshots.take(volume, { description, ...(options.scheduled ? { scheduled: true } : {}) }));
    } catch (error) {
      if (error instanceof SnapshotRefusedError)
        throw fail(
          'VOLUME_NOT_AVAILABLE',
          `${error.message}; see its progress with tapegw volume describe ${volumeName}, and try again then`,
        );
      throw error;
    }
  }

  /** Every snapshot (those found in the bucket included), oldest first; only a volume's with `volume`. */
  async listSnapshots(options: { volume?: string } = {}): Promise<SnapshotInfo[]> {
    await this.imported;
    const volumeId = options.volume === undefined ? undefined : this.volumeNamed(options.volume).id;
    return this.snapshots
      .all()
      .filter((s) => volumeId === undefined || s.volumeId === volumeId)
      .map((s) => this.snapshotInfo(s));
  }

  async describeSnapshot(id: string): Promise<SnapshotInfo> {
    await this.imported;
    return this.snapshotInfo(this.snapshotWithId(id));
  }

  /** Deletes a snapshot and the chunks only it holds; refused while it is PENDING. */
  async deleteSnapshot(id: string): Promise<void> {
    await this.imported;
    const snapshot = this.snapshotWithId(id);
    if (snapshot.status === 'PENDING')
      throw fail('SNAPSHOT_NOT_COMPLETED', `snapshot ${id} is still uploading (PENDING): delete it once it is COMPLETED`);
    await this.snapshots.remove(id);
  }

  /** Looks in the bucket again for snapshots the catalog does not know. */
  async importSnapshots(): Promise<SnapshotInfo[]> {
    await this.imported;
    const found = await this.snapshots.importFromBucket();
    return found.map((id) => this.snapshotInfo(this.snapshots.get(id)!));
  }

  private async completedSnapshot(id: string): Promise<SnapshotRecord> {
    await this.imported;
    const snapshot = this.snapshotWithId(id);
    if (snapshot.status !== 'COMPLETED')
      throw fail('SNAPSHOT_NOT_COMPLETED', `snapshot ${id} is ${snapshot.status}: a volume can be restored only from a COMPLETED snapshot`);
    return snapshot;
  }

  private snapshotWithId(id: string): SnapshotRecord {
    const snapshot = typeof id === 'string' ? this.snapshots.get(id) : undefined;
    if (!snapshot) throw fail('SNAPSHOT_NOT_FOUND', `no snapshot has the id ${JSON.stringify(id)}: list them with tapegw snapshot list`);
    return snapshot;
  }

  private snapshotInfo(s: SnapshotRecord): SnapshotInfo {
    const progress = s.status === 'PENDING' ? this.snapshots.percent(s.id) : undefined;
    return {
      id: s.id,
      volumeId: s.volumeId,
      volumeName: s.volumeName,
      volumeType: s.volumeType,
      status: s.status,
      ...(progress === undefined ? {} : { progress: Math.round(progress * 10) / 10 }),
      description: s.description,
      createdAt: s.createdAt,
      ...(s.completedAt ? { completedAt: s.completedAt } : {}),
      sizeBytes: s.sizeBytes,
      blockSize: s.blockSize,
      chunkSize: s.chunkSize,
      chunkCount: s.chunkCount,
      changedChunks: s.changedChunks,
      changedBytes: s.changedChunks * s.chunkSize,
      scheduled: s.scheduled ?? false,
      imported: s.imported ?? false,
      ...(s.error ? { error: s.error } : {}),
    };
  }

  /** Resolves once no snapshot is uploading (benchmarks and tests). */
  uploadsSettled(): Promise<void> {
    return this.snapshots.settled();
  }

  // ---- schedules

  private schedule(volume: Flavour): void {
    this.unschedule(volume.id);
    const every = volume.record.snapshotEveryMs;
    if (every === null || this.closed) return;
    const from = Date.parse(volume.record.lastSnapshotAt ?? volume.record.createdAt);
    this.arm(volume, Math.max(this.now().getTime(), from + every));
  }

  private arm(volume: Flavour, at: number): void {
    const delay = Math.min(Math.max(0, at - this.now().getTime()), 2 ** 31 - 1);
    const timer = setTimeout(() => void this.scheduled(volume), delay).unref();
    this.schedules.set(volume.id, { timer, at });
  }

  private unschedule(volumeId: string): void {
    const armed = this.schedules.get(volumeId);
    if (armed) clearTimeout(armed.timer);
    this.schedules.delete(volumeId);
  }

  private async scheduled(volume: Flavour): Promise<void> {
    if (this.closed || this.volumes.get(volume.id) !== volume) return;
    const every = volume.record.snapshotEveryMs;
    if (every === null) return;
    const due = Date.parse(volume.record.lastSnapshotAt ?? volume.record.createdAt) + every;
    if (this.now().getTime() < due) return this.arm(volume, due); // the timer's longest delay is shorter than some schedules
    if (!volume.snapshotsAllowed()) {
      this.log.info({ volume: volume.name, status: volume.state().status }, 'scheduled snapshot waits until the volume is AVAILABLE');
      return this.arm(volume, this.now().getTime() + Math.min(every, SCHEDULE_RETRY_MS));
    }
    const taking = this.snapshots.take(volume, { description: 'scheduled', scheduled: true }).then(
      () => this.schedule(volume),
      (err: unknown) => {
        this.log.warn({ err, volume: volume.name }, 'scheduled snapshot failed; tried again later');
        if (volume.record.snapshotEveryMs !== null) this.arm(volume, this.now().getTime() + Math.min(every, SCHEDULE_RETRY_MS));
      },
    );
    this.takingScheduled.set(volume.id, taking);
    await taking;
    this.takingScheduled.delete(volume.id);
  }

  /** Stops schedules and background work, and makes every volume's writes durable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.schedules.keys()]) this.unschedule(id);
    this.snapshots.close();
    await this.imported;
    const failures: unknown[] = [];
    for (const volume of this.volumes.values()) {
      try {
        await volume.close();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} volume(s) did not close cleanly`);
  }
}

function access(from: VolumeAccess): VolumeAccess {
  return {
    ...(from.auth?.chap ? { auth: from.auth } : {}),
    ...(from.allowedInitiators ? { allowedInitiators: from.allowedInitiators } : {}),
  };
}

function sizeText(bytes: number): string {
  if (bytes % TiB === 0) return `${bytes / TiB}TiB`;
  if (bytes % GiB === 0) return `${bytes / GiB}GiB`;
  return `${bytes} bytes`;
}

/** AWS's CacheHitPercent, one decimal; nothing before the first read. */
function cacheHit(reads: ReadTally): { cacheHitPercent?: number } {
  const total = reads.hits + reads.misses;
  return total === 0 ? {} : { cacheHitPercent: Math.round((1000 * reads.hits) / total) / 10 };
}
