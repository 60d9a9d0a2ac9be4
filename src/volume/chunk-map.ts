// Which object holds each chunk of a volume. A chunk is named by the volume
// that wrote it and a generation, so an object never changes once a snapshot
// may refer to it: a write to such a chunk goes to a new generation. The map
// keeps RAM in proportion to what is written (pages of typed arrays made on
// first use), so a thin 32 TiB volume costs nothing until it fills.

/** The object that holds a chunk: written by `volume`, generation `gen` (1 and up). */
export interface ChunkRef {
  readonly volume: string;
  readonly gen: number;
}

/** The engine's namespace of volumes: every key of a volume or a snapshot starts with it. */
export const VOLUMES_NAMESPACE = 'volumes/';

/**
 * Chunks are checked in 4 KiB blocks in the cache: initiators read and write a
 * volume in pieces of 4 KiB and up, and with the engine's default of 256 KiB a
 * 4 KiB read would read and check 256 (five to ten times the CPU of the read).
 */
export const CHUNK_CHECKSUM_BLOCK = 4096;

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

/** The key of chunk `index` of `ref` in the cache engine (and the bucket). */
export function chunkKey(ref: ChunkRef, index: number): string {
  return `${VOLUMES_NAMESPACE}${ref.volume}/chunks/${hex(index, 8)}.${hex(ref.gen, 12)}`;
}

/** Every chunk object a volume wrote has a key that starts with this. */
export function chunkPrefix(volumeId: string): string {
  return `${VOLUMES_NAMESPACE}${volumeId}/chunks/`;
}

/** The index and ref a chunk key names, or undefined for any other key. */
export function parseChunkKey(key: string): { index: number; ref: ChunkRef } | undefined {
  const m = /^volumes\/([^/]+)\/chunks\/([0-9a-f]{8})\.([0-9a-f]{12})$/.exec(key);
  if (!m) return undefined;
  return { index: parseInt(m[2]!, 16), ref: { volume: m[1]!, gen: parseInt(m[3]!, 16) } };
}

/** Chunks per page of the map. */
const PAGE = 4096;

interface Page {
  /** Generation per chunk; 0: unmapped. Float64 for generations past 2^32. */
  readonly gens: Float64Array;
  /** Index into origins of the volume that wrote each chunk. */
  readonly origins: Uint16Array;
  count: number;
}

export class ChunkMap {
  private readonly pages = new Map<number, Page>();
  /** origins[0] is the volume itself; others are volumes whose snapshots it was restored from. */
  private readonly origins: string[];
  private readonly originIndex = new Map<string, number>();
  /** Chunks that hold an object. */
  mapped = 0;

  constructor(readonly volumeId: string) {
    this.origins = [volumeId];
    this.originIndex.set(volumeId, 0);
  }

  get(index: number): ChunkRef | undefined {
    const page = this.pages.get(Math.floor(index / PAGE));
    if (!page) return undefined;
    const at = index % PAGE;
    const gen = page.gens[at]!;
    return gen === 0 ? undefined : { volume: this.origins[page.origins[at]!]!, gen };
  }

  /** The generation of a chunk this volume wrote, else 0 (unmapped, or written by another volume): the write path's test, without allocating. */
  ownGen(index: number): number {
    const page = this.pages.get(Math.floor(index / PAGE));
    if (!page) return 0;
    const at = index % PAGE;
    return page.origins[at] === 0 ? page.gens[at]! : 0;
  }

  set(index: number, ref: ChunkRef): void {
    if (!(Number.isSafeInteger(ref.gen) && ref.gen > 0)) throw new RangeError(`chunk generation ${ref.gen} is not a positive integer`);
    const pageNo = Math.floor(index / PAGE);
    let page = this.pages.get(pageNo);
    if (!page) {
      page = { gens: new Float64Array(PAGE), origins: new Uint16Array(PAGE), count: 0 };
      this.pages.set(pageNo, page);
    }
    const at = index % PAGE;
    if (page.gens[at] === 0) {
      page.count++;
      this.mapped++;
    }
    page.gens[at] = ref.gen;
    page.origins[at] = this.origin(ref.volume);
  }

  delete(index: number): void {
    const pageNo = Math.floor(index / PAGE);
    const page = this.pages.get(pageNo);
    if (!page || page.gens[index % PAGE] === 0) return;
    page.gens[index % PAGE] = 0;
    this.mapped--;
    if (--page.count === 0) this.pages.delete(pageNo);
  }

  /** Mapped chunks in index order. */
  *entries(): IterableIterator<[number, ChunkRef]> {
    for (const pageNo of [...this.pages.keys()].sort((a, b) => a - b)) {
      const page = this.pages.get(pageNo)!;
      for (let at = 0; at < PAGE; at++) {
        const gen = page.gens[at]!;
        if (gen !== 0) yield [pageNo * PAGE + at, { volume: this.origins[page.origins[at]!]!, gen }];
      }
    }
  }

  private origin(volume: string): number {
    let index = this.originIndex.get(volume);
    if (index === undefined) {
      index = this.origins.length;
      if (index > 0xffff) throw new RangeError(`a volume's chunks cannot come from more than 65535 other volumes`);
      this.origins.push(volume);
      this.originIndex.set(volume, index);
    }
    return index;
  }
}
