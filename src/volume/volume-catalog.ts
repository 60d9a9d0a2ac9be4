// What the gateway keeps of its volumes and snapshots in the catalog's
// 'volumes' section. Keys:
//   v/VOLUME              VolumeRecord
//   m/VOLUME/INDEX        where chunk INDEX is (MapValue); absent: unmapped
//   k/VOLUME/INDEX        a stored volume's mark on a chunk (Mark)
//   s/SNAPSHOT            SnapshotRecord
//   sm/SNAPSHOT/INDEX     where chunk INDEX of the snapshot is ([volume, gen])
//   g/KEY                 a chunk object no longer needed, to delete
// INDEX is 8 hex digits, so keys sort by chunk.
import type { Catalog, Section } from '../catalog/catalog.ts';
import type { ChunkRef } from './chunk-map.ts';

export type VolumeType = 'cached' | 'stored';

/** As AWS's Volume Gateway names them (DescribeCachediSCSIVolumes, DescribeStorediSCSIVolumes). */
export type VolumeStatus = 'CREATING' | 'AVAILABLE' | 'BOOTSTRAPPING' | 'PASS THROUGH' | 'RESTORING' | 'IRRECOVERABLE' | 'DELETING';

export interface ChapSecret {
  readonly user: string;
  readonly secret: string;
}

/** Who may log in to a volume's target, when it replaces the gateway-wide settings. */
export interface VolumeAccess {
  readonly auth?: { readonly chap?: ChapSecret; readonly mutualChap?: ChapSecret };
  readonly allowedInitiators?: readonly string[];
}

export interface VolumeRecord extends VolumeAccess {
  readonly id: string;
  readonly name: string;
  readonly type: VolumeType;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly chunkSize: number;
  readonly createdAt: string;
  /** Generations below this may be held by a snapshot (or another volume): a write to such a chunk goes to a new generation. */
  readonly frozenBelow: number;
  /** Generations below this are reserved: the next ones are recorded before use, so no generation is ever given twice. */
  readonly genCeiling: number;
  /** What its SCSI serial number and designators derive from, for good: its name if the configuration made it, else its id. */
  readonly unitName: string;
  /** Named in the configuration file (the API cannot delete it). */
  readonly fromConfig?: boolean;
  /** Stored volumes: the local copy, a file in the volumes directory. */
  readonly file?: string;
  readonly sourceSnapshotId?: string;
  /**
   * Work that runs until done, resumed after a restart: copying a snapshot into
   * a stored volume's file ('restore'), checking that a cached volume's chunks
   * are all in the bucket ('verify'), reading a file adopted from the
   * configuration for its data ('adopt'). `cursor`: chunks below it are done.
   */
  readonly pass?: { readonly kind: 'restore' | 'verify' | 'adopt'; readonly cursor: number };
  /** Why the volume cannot be served whole (IRRECOVERABLE). */
  readonly irrecoverable?: string;
  readonly deleting?: boolean;
  /** Milliseconds between scheduled snapshots; null: none. */
  readonly snapshotEveryMs: number | null;
  readonly lastSnapshotAt?: string;
}

/** Where a chunk is; `p` while its object may not be durable yet: the chunk's previous place (null: unmapped), to go back to after a crash. */
export interface MapValue {
  readonly g: number;
  /** The volume that wrote it, when not this one. */
  readonly v?: string;
  readonly p?: { readonly g: number; readonly v?: string } | null;
}

/** intent: a write may be under way (after a crash, the object may differ from the file); stale: the object is behind the file. */
export type Mark = 'intent' | 'stale';

export type SnapshotStatus = 'PENDING' | 'COMPLETED' | 'ERROR';

export interface SnapshotRecord {
  readonly id: string;
  readonly volumeId: string;
  readonly volumeName: string;
  readonly volumeType: VolumeType;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly chunkSize: number;
  readonly description: string;
  readonly createdAt: string;
  readonly status: SnapshotStatus;
  readonly completedAt?: string;
  readonly error?: string;
  /** Chunks that hold data. */
  readonly chunkCount: number;
  /** Chunks written since the volume's previous snapshot: what this one uploads. */
  readonly changedChunks: number;
  readonly scheduled?: boolean;
  /** Found in the bucket (made by another gateway, or before this one's catalog was lost). */
  readonly imported?: boolean;
}

export type SnapshotEntry = readonly [volume: string, gen: number];

const idx = (index: number) => index.toString(16).padStart(8, '0');
const upTo = (prefix: string) => ({ gte: prefix, lt: `${prefix}\xff` });

export function toMapValue(volumeId: string, ref: ChunkRef, previous?: ChunkRef | null): MapValue {
  const own = (r: ChunkRef) => (r.volume === volumeId ? { g: r.gen } : { g: r.gen, v: r.volume });
  return { ...own(ref), ...(previous === undefined ? {} : { p: previous === null ? null : own(previous) }) };
}

export function refOf(volumeId: string, value: { g: number; v?: string }): ChunkRef {
  return { volume: value.v ?? volumeId, gen: value.g };
}

export class VolumeCatalog {
  private readonly section: Section<unknown>;

  constructor(catalog: Catalog) {
    this.section = catalog.section<unknown>('volumes');
  }

  // ---- volumes

  async volumes(): Promise<VolumeRecord[]> {
    return (await this.section.values(upTo('v/')).all()) as VolumeRecord[];
  }

  async putVolume(record: VolumeRecord, sync = false): Promise<void> {
    await this.section.put(`v/${record.id}`, record, sync ? ({ sync: true } as object) : {});
  }

  /** A new volume's record and, with it, its chunk map (a restore's). */
  async createVolume(record: VolumeRecord, entries: Iterable<readonly [number, ChunkRef]> = []): Promise<void> {
    const batch = this.section.batch();
    for (const [index, ref] of entries) batch.put(`m/${record.id}/${idx(index)}`, toMapValue(record.id, ref));
    batch.put(`v/${record.id}`, record);
    await batch.write({ sync: true } as object);
  }

  /** The volume's record and everything kept for it (map, marks); with it, atomically, the chunk objects to delete. */
  async deleteVolume(id: string, garbage: readonly string[] = []): Promise<void> {
    const batch = this.section.batch();
    for (const key of garbage) batch.put(`g/${key}`, 1);
    for (const prefix of [`m/${id}/`, `k/${id}/`]) for await (const key of this.section.keys(upTo(prefix))) batch.del(key);
    batch.del(`v/${id}`);
    await batch.write({ sync: true } as object);
  }

  // ---- chunk maps

  async *map(volumeId: string): AsyncGenerator<[number, MapValue]> {
    for await (const [key, value] of this.section.iterator(upTo(`m/${volumeId}/`))) yield [parseInt(key.slice(-8), 16), value as MapValue];
  }

  /** Records where a chunk is (or, with null, that it is unmapped, and `garbage` keys to delete). */
  async putChunk(
    volumeId: string,
    index: number,
    value: MapValue | null,
    options: { garbage?: readonly string[]; sync?: boolean } = {},
  ): Promise<void> {
    const batch = this.section.batch();
    if (value === null) batch.del(`m/${volumeId}/${idx(index)}`);
    else batch.put(`m/${volumeId}/${idx(index)}`, value);
    for (const key of options.garbage ?? []) batch.put(`g/${key}`, 1);
    await batch.write(options.sync ? { sync: true } : {});
  }

  /** Several chunks at once (a restore's whole map, confirmations after a sync). */
  async putChunks(volumeId: string, entries: Iterable<readonly [number, MapValue]>, sync = false): Promise<void> {
    const batch = this.section.batch();
    for (const [index, value] of entries) batch.put(`m/${volumeId}/${idx(index)}`, value);
    await batch.write(sync ? { sync: true } : {});
  }

  // ---- garbage: chunk objects to delete once nothing refers to them

  async garbage(): Promise<string[]> {
    return (await this.section.keys(upTo('g/')).all()).map((k) => k.slice(2));
  }

  async addGarbage(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.section.batch(keys.map((key) => ({ type: 'put' as const, key: `g/${key}`, value: 1 })));
  }

  async dropGarbage(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.section.batch(keys.map((key) => ({ type: 'del' as const, key: `g/${key}` })));
  }

  // ---- marks of stored volumes

  async marks(volumeId: string): Promise<Map<number, Mark>> {
    const marks = new Map<number, Mark>();
    for await (const [key, value] of this.section.iterator(upTo(`k/${volumeId}/`))) marks.set(parseInt(key.slice(-8), 16), value as Mark);
    return marks;
  }

  /** Sets (a Mark) or clears (null) marks; `sync`: durable when it resolves. */
  async putMarks(volumeId: string, changes: Iterable<readonly [number, Mark | null]>, sync: boolean): Promise<void> {
    const batch = this.section.batch();
    for (const [index, mark] of changes) {
      if (mark === null) batch.del(`k/${volumeId}/${idx(index)}`);
      else batch.put(`k/${volumeId}/${idx(index)}`, mark);
    }
    await batch.write(sync ? { sync: true } : {});
  }

  // ---- snapshots

  async snapshots(): Promise<SnapshotRecord[]> {
    return (await this.section.values(upTo('s/')).all()) as SnapshotRecord[];
  }

  async putSnapshot(record: SnapshotRecord, sync = false): Promise<void> {
    await this.section.put(`s/${record.id}`, record, sync ? ({ sync: true } as object) : {});
  }

  /** A snapshot's record, its map and (with it, atomically) the volume record that froze its chunks. */
  async addSnapshot(record: SnapshotRecord, entries: Iterable<readonly [number, ChunkRef]>, volume?: VolumeRecord): Promise<void> {
    const batch = this.section.batch();
    batch.put(`s/${record.id}`, record);
    for (const [index, ref] of entries) batch.put(`sm/${record.id}/${idx(index)}`, [ref.volume, ref.gen] satisfies SnapshotEntry);
    if (volume) batch.put(`v/${volume.id}`, volume);
    await batch.write({ sync: true } as object);
  }

  async *snapshotMap(snapshotId: string): AsyncGenerator<[number, ChunkRef]> {
    for await (const [key, value] of this.section.iterator(upTo(`sm/${snapshotId}/`))) {
      const [volume, gen] = value as SnapshotEntry;
      yield [parseInt(key.slice(-8), 16), { volume, gen }];
    }
  }

  /** Where chunk `index` is in a snapshot, if it holds one there. */
  async snapshotChunk(snapshotId: string, index: number): Promise<ChunkRef | undefined> {
    const value = (await this.section.get(`sm/${snapshotId}/${idx(index)}`)) as SnapshotEntry | undefined;
    return value ? { volume: value[0], gen: value[1] } : undefined;
  }

  /** The snapshot's record and map; with it, atomically, the objects to delete. */
  async deleteSnapshot(snapshotId: string, garbage: readonly string[] = []): Promise<void> {
    const batch = this.section.batch();
    for (const key of garbage) batch.put(`g/${key}`, 1);
    for await (const key of this.section.keys(upTo(`sm/${snapshotId}/`))) batch.del(key);
    batch.del(`s/${snapshotId}`);
    await batch.write({ sync: true } as object);
  }
}
