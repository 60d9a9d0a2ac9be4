// A volume's image in the cache engine: fixed-size chunks, each an extent
// named by its chunk map entry. A chunk never written (or unmapped) has no
// object and reads as zeros. Objects a snapshot may hold are never written
// again: a write to one goes to a new generation of the chunk, and the map
// names the new one once it exists.
//
// Crash safety: the catalog records a chunk's new place (with its previous
// one) before the engine can make the new object durable; a sync() confirms
// it. After a crash, a chunk whose new object did not survive whole goes back
// to its previous place, so no object is ever left unnamed by the catalog,
// and nothing acknowledged by a sync() is lost.
import type { LentRead } from '../../scsi/sbc/block-device.ts';
import { noRelease } from '../buffers/release-once.ts';
import { ExtentNotFoundError } from '../cache/errors.ts';
import type { ExtentStore, ReadTally } from '../cache/extent-store.ts';
import { KeyedLock } from '../cache/keyed-lock.ts';
import { ChunkMap, chunkKey, type ChunkRef } from './chunk-map.ts';
import { refOf, toMapValue, type MapValue, type VolumeCatalog, type VolumeRecord } from './volume-catalog.ts';

/** Generations recorded as reserved at a time. */
const GEN_BLOCK = 1024;

/** Zeros to write around data in a new chunk, shared and never written to. */
let zeros = Buffer.alloc(0);
export function zeroBytes(length: number): Buffer {
  if (zeros.length < length) zeros = Buffer.alloc(Math.max(length, 1024 * 1024));
  return zeros.subarray(0, length);
}

export interface ImageVolume {
  readonly id: string;
  readonly chunkSize: number;
  /** Records the new reserve of generations (in the volume's record) before any of them is used. */
  reserveGenerations(ceiling: number): Promise<void>;
}

/** A chunk's content as a new object gets it: pieces laid end to end, chunkSize bytes in all. */
export type ChunkContent = () => Promise<readonly Uint8Array[]>;

export class ChunkImage {
  private readonly locks = new KeyedLock();
  /** The initiators' reads of mapped chunks since the gateway started, by whether the cache held them (read-ahead not counted). */
  readonly reads: ReadTally = { hits: 0, misses: 0 };
  private nextGen: number;
  private ceiling: number;
  private reserving: Promise<void> | undefined;
  /** Generations below this may be held by a snapshot or another volume. */
  private frozenBelow: number;
  /** Objects written since the last sync(). */
  private touched = new Set<string>();
  /** Chunks in a new object since the last sync(), by generation: their records still name their previous place. */
  private unconfirmed = new Map<number, number>();
  /** Chunks getting a new object right now: a confirmation must not overtake their record. */
  private readonly renewing = new Set<number>();
  /** Map records are written one at a time, in call order. */
  private records: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: ExtentStore,
    private readonly catalog: VolumeCatalog,
    private readonly volume: ImageVolume,
    readonly map: ChunkMap,
    record: Pick<VolumeRecord, 'frozenBelow' | 'genCeiling'>,
  ) {
    // Generations below the recorded ceiling may have been given out before a crash.
    this.nextGen = Math.max(record.genCeiling, record.frozenBelow, 1);
    this.ceiling = this.nextGen;
    this.frozenBelow = record.frozenBelow;
  }

  /**
   * Loads the volume's chunk map. A chunk whose new object never became whole
   * (a crash before it was synced) goes back to its previous place; the
   * returned keys are objects nothing refers to any more, to delete.
   */
  static async open(
    store: ExtentStore,
    catalog: VolumeCatalog,
    volume: ImageVolume,
    record: Pick<VolumeRecord, 'frozenBelow' | 'genCeiling'>,
  ): Promise<{ image: ChunkImage; garbage: string[] }> {
    const map = new ChunkMap(volume.id);
    const settled: [number, MapValue][] = [];
    const reverted: [number, MapValue | null][] = [];
    const garbage: string[] = [];
    for await (const [index, value] of catalog.map(volume.id)) {
      const ref = refOf(volume.id, value);
      if (value.p === undefined) {
        map.set(index, ref);
        continue;
      }
      const key = chunkKey(ref, index);
      const size = await store.size(key);
      if (size === volume.chunkSize) {
        map.set(index, ref);
        settled.push([index, toMapValue(volume.id, ref)]);
        continue;
      }
      if (size !== undefined) garbage.push(key);
      const previous = value.p === null ? null : refOf(volume.id, value.p);
      if (previous) map.set(index, previous);
      reverted.push([index, previous && toMapValue(volume.id, previous)]);
    }
    await catalog.addGarbage(garbage);
    for (const [index, value] of reverted) await catalog.putChunk(volume.id, index, value);
    if (settled.length > 0) await catalog.putChunks(volume.id, settled);
    return { image: new ChunkImage(store, catalog, volume, map, record), garbage };
  }

  /** A new, empty image. */
  static create(
    store: ExtentStore,
    catalog: VolumeCatalog,
    volume: ImageVolume,
    record: Pick<VolumeRecord, 'frozenBelow' | 'genCeiling'>,
  ): ChunkImage {
    return new ChunkImage(store, catalog, volume, new ChunkMap(volume.id), record);
  }

  get chunkSize(): number {
    return this.volume.chunkSize;
  }

  /** The object of a chunk this volume wrote since the last snapshot (written in place), else undefined. */
  private ownKey(index: number): string | undefined {
    const gen = this.map.ownGen(index);
    return gen >= this.frozenBelow && gen > 0 ? chunkKey({ volume: this.volume.id, gen }, index) : undefined;
  }

  /** Whether chunk `index` is written in place (this volume wrote it since the last snapshot). */
  ownsCurrent(index: number): boolean {
    return this.ownKey(index) !== undefined;
  }

  // ---- reading

  /** `length` bytes of chunk `index` from `at`, zeros where it is unmapped: release them once done (a large read's buffer is the engine's pool's). */
  async readChunk(index: number, at: number, length: number): Promise<LentRead> {
    for (;;) {
      const ref = this.map.get(index);
      if (!ref) return { data: Buffer.alloc(length), release: noRelease };
      try {
        return await this.store.readv(chunkKey(ref, index), at, [length], this.reads);
      } catch (error) {
        // Unmapped meanwhile (UNMAP of the chunk while this read waited): read the map again.
        const now = this.map.get(index);
        if (!(error instanceof ExtentNotFoundError) || (now && now.volume === ref.volume && now.gen === ref.gen)) throw error;
      }
    }
  }

  /** Starts fetching a whole chunk into the cache, if it is mapped (a sequential reader's read-ahead). */
  prefetch(index: number): Promise<void> | undefined {
    const ref = this.map.get(index);
    if (!ref) return undefined;
    // readv: its buffer is lent from the engine's pool and given straight back, where read() would allocate a chunk's worth.
    return this.store.readv(chunkKey(ref, index), 0, [this.chunkSize]).then(
      ({ release }) => release(),
      () => undefined,
    );
  }

  // ---- writing

  /**
   * Writes `data` at `at` in chunk `index`: in place when this volume wrote
   * the chunk since the last snapshot, else into a new generation whose
   * content is `content()` (default: the chunk's content, or zeros, with the
   * data over it).
   */
  write(index: number, at: number, data: Uint8Array, content?: ChunkContent): Promise<void> {
    const key = this.ownKey(index);
    if (key !== undefined) {
      this.touched.add(key);
      return this.store.write(key, at, data);
    }
    return this.locks.run(String(index), async () => {
      const again = this.ownKey(index);
      if (again !== undefined) {
        this.touched.add(again);
        return this.store.write(again, at, data);
      }
      await this.renew(index, content ?? (() => this.overlay(index, at, data)));
    });
  }

  /** Replaces chunk `index` whole with `content()`, under the chunk's lock (a stored volume catching its copy up). */
  replace(index: number, content: ChunkContent): Promise<void> {
    return this.locks.run(String(index), async () => {
      const key = this.ownKey(index);
      if (key === undefined) return this.renew(index, content);
      this.touched.add(key);
      await this.store.writev(key, 0, await content());
    });
  }

  /** The chunk's content with `data` at `at`: the old object's bytes around it, or zeros. */
  private async overlay(index: number, at: number, data: Uint8Array): Promise<Uint8Array[]> {
    const size = this.chunkSize;
    const ref = this.map.get(index);
    if (!ref) return [zeroBytes(at), data, zeroBytes(size - at - data.length)];
    const old = await this.store.read(chunkKey(ref, index), 0, size);
    return [old.subarray(0, at), data, old.subarray(at + data.length)];
  }

  /** Gives chunk `index` a new object of this volume holding `content()`; the caller holds the chunk's lock. */
  private async renew(index: number, content: ChunkContent): Promise<void> {
    const previous = this.map.get(index) ?? null;
    const ref: ChunkRef = { volume: this.volume.id, gen: await this.generation() };
    const key = chunkKey(ref, index);
    this.renewing.add(index);
    try {
      await this.record(() => this.catalog.putChunk(this.volume.id, index, toMapValue(this.volume.id, ref, previous)));
      try {
        await this.store.writev(key, 0, await content(), { fresh: true });
      } catch (error) {
        // Back to where the chunk was; the new object, if any of it exists, is garbage.
        await this.record(() =>
          this.catalog.putChunk(this.volume.id, index, previous && toMapValue(this.volume.id, previous), { garbage: [key] }),
        );
        await this.collect([key]);
        throw error;
      }
      this.map.set(index, ref);
      this.touched.add(key);
      this.unconfirmed.set(index, ref.gen);
    } finally {
      this.renewing.delete(index);
    }
  }

  private async generation(): Promise<number> {
    while (this.nextGen >= this.ceiling) {
      this.reserving ??= (async () => {
        const ceiling = this.nextGen + GEN_BLOCK;
        await this.volume.reserveGenerations(ceiling);
        this.ceiling = ceiling;
      })().finally(() => (this.reserving = undefined));
      await this.reserving;
    }
    return this.nextGen++;
  }

  private record(write: () => Promise<void>): Promise<void> {
    const step = this.records.then(write);
    this.records = step.catch(() => undefined);
    return step;
  }

  /** Unmaps chunk `index`: it holds no object any more and reads as zeros. */
  unmap(index: number): Promise<void> {
    return this.locks.run(String(index), async () => {
      const ref = this.map.get(index);
      if (!ref) return;
      const key = chunkKey(ref, index);
      // Only an object this volume wrote since the last snapshot is its alone to delete.
      const own = this.ownKey(index) === key;
      await this.record(() => this.catalog.putChunk(this.volume.id, index, null, { garbage: own ? [key] : [] }));
      this.map.delete(index);
      this.unconfirmed.delete(index);
      this.touched.delete(key);
      if (own) await this.collect([key]);
    });
  }

  /** Deletes objects nothing refers to, and forgets them as garbage once they are gone. */
  async collect(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.store.deleteMany(keys);
    await this.catalog.dropGarbage(keys);
  }

  // ---- durability

  /** Makes every write so far durable on the cache disk, and the chunks' new places with it. */
  async sync(): Promise<void> {
    const keys = [...this.touched];
    const unconfirmed = [...this.unconfirmed];
    this.touched.clear();
    this.unconfirmed.clear();
    try {
      await this.store.sync(keys);
    } catch (error) {
      for (const key of keys) this.touched.add(key);
      for (const [index, gen] of unconfirmed) if (!this.unconfirmed.has(index)) this.unconfirmed.set(index, gen);
      throw error;
    }
    if (unconfirmed.length === 0) return;
    await this.record(() => {
      const confirmed = unconfirmed.filter(([index, gen]) => !this.renewing.has(index) && this.map.ownGen(index) === gen);
      return this.catalog.putChunks(
        this.volume.id,
        confirmed.map(([index, gen]) => [index, { g: gen }] as const),
        true,
      );
    });
  }

  // ---- snapshots

  /**
   * The map as it is now, and from now on every chunk in it is frozen (written
   * again only as a new generation). Call with no write in flight (WriteGate.pause).
   */
  capture(): { entries: [number, ChunkRef][]; frozenBelow: number } {
    this.frozenBelow = this.nextGen;
    return { entries: [...this.map.entries()], frozenBelow: this.frozenBelow };
  }
}
