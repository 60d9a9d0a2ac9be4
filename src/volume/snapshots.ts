// Snapshots of volumes: taken at a crash-consistent moment (no write half
// done; from then on the chunks it names are never written again), uploaded
// in the background (only the chunks written since the volume's last snapshot
// are not in the bucket already), then described by a manifest in the bucket.
// Deleting one deletes the chunk objects nothing else names. Snapshots found
// in the bucket that the catalog does not know (another gateway's, or a
// rebuilt one's) are imported, so that volumes can be restored from them.
import { ExtentNotFoundError } from '../cache/errors.ts';
import type { ExtentStore } from '../cache/extent-store.ts';
import type { Logger } from '../log.ts';
import { chunkKey, type ChunkRef } from './chunk-map.ts';
import { newSnapshotId, SNAPSHOT_ID } from './ids.ts';
import { decodeManifest, decodePart, encodeManifest, encodeParts, SNAPSHOTS_PREFIX, snapshotKeys } from './snapshot-manifest.ts';
import type { SnapshotRecord, VolumeCatalog } from './volume-catalog.ts';
import type { Volume } from './volume.ts';

/** Chunk objects a drain waits for at once, and drains at once: progress moves in these steps. */
const DRAIN_BATCH = 32;
const DRAINS_IN_FLIGHT = 8;

export interface SnapshotProgress {
  readonly done: number;
  readonly total: number;
}

export class Snapshots {
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly progress = new Map<string, { done: number; total: number }>();
  private readonly uploads = new Set<Promise<void>>();
  private closing = false;

  constructor(
    private readonly store: ExtentStore,
    private readonly catalog: VolumeCatalog,
    private readonly volumes: () => Iterable<Volume>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Loads the catalog's snapshots; those still PENDING resume their upload. */
  async load(): Promise<void> {
    for (const record of await this.catalog.snapshots()) {
      this.records.set(record.id, record);
      if (record.status === 'PENDING') this.upload(record, true);
    }
  }

  all(): SnapshotRecord[] {
    return [...this.records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): SnapshotRecord | undefined {
    return this.records.get(id);
  }

  /** Percent uploaded of a PENDING snapshot. */
  percent(id: string): number | undefined {
    const p = this.progress.get(id);
    return p ? Math.min(99, (100 * p.done) / Math.max(1, p.total)) : undefined;
  }

  /** Takes a snapshot of `volume` now; it uploads in the background (PENDING, then COMPLETED). */
  async take(volume: Volume, options: { description: string; scheduled?: boolean }): Promise<SnapshotRecord> {
    const id = newSnapshotId();
    const createdAt = this.now().toISOString();
    const record = await volume.capture(async (entries, volumeRecord, frozenBefore) => {
      const snapshot: SnapshotRecord = {
        id,
        volumeId: volume.id,
        volumeName: volume.name,
        volumeType: volumeRecord.type,
        sizeBytes: volumeRecord.sizeBytes,
        blockSize: volumeRecord.blockSize,
        chunkSize: volumeRecord.chunkSize,
        description: options.description,
        createdAt,
        status: 'PENDING',
        chunkCount: entries.length,
        changedChunks: entries.filter(([, ref]) => ref.volume === volume.id && ref.gen >= frozenBefore).length,
        ...(options.scheduled ? { scheduled: true } : {}),
      };
      await this.catalog.addSnapshot(snapshot, entries, { ...volumeRecord, lastSnapshotAt: createdAt });
      return snapshot;
    });
    await volume.update({ lastSnapshotAt: createdAt });
    this.records.set(id, record);
    this.log.info(
      { snapshot: id, volume: volume.name, chunks: record.chunkCount, changed: record.changedChunks },
      'snapshot taken; uploading',
    );
    this.upload(record, false);
    return record;
  }

  private upload(record: SnapshotRecord, resumed: boolean): void {
    const running = this.uploadNow(record, resumed)
      .catch(async (err: unknown) => {
        if (this.closing) return; // resumes at the next start
        this.log.error({ err, snapshot: record.id }, 'snapshot failed');
        await this.finish({ ...record, status: 'ERROR', error: (err as Error).message });
      })
      .finally(() => {
        this.uploads.delete(running);
        this.progress.delete(record.id);
      });
    this.uploads.add(running);
  }

  private async uploadNow(record: SnapshotRecord, resumed: boolean): Promise<void> {
    const entries: [number, ChunkRef][] = [];
    for await (const entry of this.catalog.snapshotMap(record.id)) entries.push(entry);
    const keys = entries.map(([index, ref]) => chunkKey(ref, index));
    const progress = { done: 0, total: keys.length };
    this.progress.set(record.id, progress);
    if (resumed) {
      // A chunk object that did not survive the restart cannot be in the snapshot.
      for (const key of keys)
        if ((await this.store.size(key)) !== record.chunkSize) throw new Error(`chunk object ${key} did not survive the gateway's restart`);
    }
    const batches: string[][] = [];
    for (let at = 0; at < keys.length; at += DRAIN_BATCH) batches.push(keys.slice(at, at + DRAIN_BATCH));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await this.store.drain(batch);
        progress.done += batch.length;
      }
    };
    await Promise.all(Array.from({ length: DRAINS_IN_FLIGHT }, worker));

    const completedAt = this.now().toISOString();
    const parts = encodeParts(record.id, entries);
    for (const part of parts) await this.putWhole(part.key, part.data);
    await this.store.drain(parts.map((p) => p.key));
    const manifest = snapshotKeys(record.id).manifest;
    await this.putWhole(
      manifest,
      encodeManifest(
        record,
        completedAt,
        parts.map((p) => p.part),
      ),
    );
    await this.store.drain([manifest]);
    await this.finish({ ...record, status: 'COMPLETED', completedAt });
    this.log.info({ snapshot: record.id, volume: record.volumeName, chunks: record.chunkCount }, 'snapshot COMPLETED');
  }

  /** Writes `data` as the whole extent `key` (shorter than a copy left by a crash, if need be). */
  private async putWhole(key: string, data: Buffer): Promise<void> {
    await this.store.write(key, 0, data, { fresh: true });
    if ((await this.store.size(key))! > data.length) await this.store.truncate(key, data.length);
    await this.store.sync([key]);
  }

  private async finish(record: SnapshotRecord): Promise<void> {
    if (!this.records.has(record.id)) return; // deleted meanwhile
    await this.catalog.putSnapshot(record, true);
    this.records.set(record.id, record);
  }

  /**
   * Deletes a snapshot (not while PENDING: the caller checks): its manifest
   * and map, and the chunk objects no volume and no other snapshot names.
   */
  async remove(id: string): Promise<void> {
    const garbage: string[] = [];
    for await (const [index, ref] of this.catalog.snapshotMap(id)) {
      if (!(await this.referenced(index, ref, { snapshot: id }))) garbage.push(chunkKey(ref, index));
    }
    for await (const entry of this.store.list(snapshotKeys(id).prefix)) if (entry.kind === 'extent') garbage.push(entry.key);
    await this.catalog.deleteSnapshot(id, garbage);
    this.records.delete(id);
    await this.collect(garbage);
    this.log.info({ snapshot: id, objects: garbage.length }, 'snapshot deleted');
  }

  /** Whether any volume (but `except.volume`) or snapshot (but `except.snapshot`) names this chunk object. */
  async referenced(index: number, ref: ChunkRef, except: { volume?: string; snapshot?: string }): Promise<boolean> {
    const same = (other: ChunkRef | undefined) => other !== undefined && other.volume === ref.volume && other.gen === ref.gen;
    for (const volume of this.volumes()) if (volume.id !== except.volume && same(volume.image.map.get(index))) return true;
    for (const snapshot of this.records.keys()) {
      if (snapshot !== except.snapshot && same(await this.catalog.snapshotChunk(snapshot, index))) return true;
    }
    return false;
  }

  /** Deletes objects recorded as garbage, then forgets them. */
  async collect(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.store.deleteMany(keys);
    await this.catalog.dropGarbage(keys);
  }

  /**
   * Imports the snapshots the bucket holds whole (their manifest is there)
   * that the catalog does not know. Returns their ids.
   */
  async importFromBucket(): Promise<string[]> {
    const found: string[] = [];
    for await (const entry of this.store.list(SNAPSHOTS_PREFIX, { delimiter: '/' })) {
      if (entry.kind !== 'prefix') continue;
      const id = entry.prefix.slice(SNAPSHOTS_PREFIX.length, -1);
      if (!SNAPSHOT_ID.test(id) || this.records.has(id)) continue;
      try {
        if (await this.importOne(id)) found.push(id);
      } catch (err) {
        this.log.warn({ err, snapshot: id }, 'a snapshot in the bucket cannot be imported');
      }
    }
    if (found.length > 0) this.log.info({ snapshots: found }, 'snapshots found in the bucket imported');
    return found;
  }

  private async importOne(id: string): Promise<boolean> {
    const keys = snapshotKeys(id);
    const size = await this.store.size(keys.manifest);
    if (size === undefined) return false; // never completed
    const manifest = decodeManifest(await this.store.read(keys.manifest, 0, size), id);
    const entries: [number, ChunkRef][] = [];
    for (const part of manifest.parts) {
      if (!part.key.startsWith(keys.prefix)) throw new Error(`its manifest names a map part outside the snapshot: ${part.key}`);
      let data: Buffer;
      try {
        data = await this.store.read(part.key, 0, part.bytes);
      } catch (error) {
        if (error instanceof ExtentNotFoundError || error instanceof RangeError)
          throw new Error(`map part ${part.key} is missing or short`, { cause: error });
        throw error;
      }
      entries.push(...decodePart(data, manifest, part));
    }
    const record: SnapshotRecord = {
      id,
      volumeId: manifest.volumeId,
      volumeName: manifest.volumeName,
      volumeType: manifest.volumeType,
      sizeBytes: manifest.sizeBytes,
      blockSize: manifest.blockSize,
      chunkSize: manifest.chunkSize,
      description: manifest.description,
      createdAt: manifest.createdAt,
      completedAt: manifest.completedAt,
      status: 'COMPLETED',
      chunkCount: manifest.chunkCount,
      changedChunks: 0,
      imported: true,
    };
    await this.catalog.addSnapshot(record, entries);
    this.records.set(id, record);
    return true;
  }

  /** Uploads under way stop when the engine closes; they resume at the next start. */
  close(): void {
    this.closing = true;
  }

  /** Resolves once no upload is under way (for tests and benchmarks that wait for COMPLETED). */
  async settled(): Promise<void> {
    while (this.uploads.size > 0) await Promise.allSettled([...this.uploads]);
  }
}
