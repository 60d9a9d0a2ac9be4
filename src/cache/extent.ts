// An extent: one object's bytes as the cache holds them, in one local file,
// checked by CRC32C per block (256 KiB unless its namespace says otherwise:
// a volume's chunks, read and written in small pieces, have smaller ones). Blocks of a clean extent may be absent
// (evicted, or never fetched); a dirty extent always holds all its blocks.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { GotObject } from '../cloud/object-backend.ts';
import { decodeCrcs, encodeCrcs } from '../crc32c/block-checksums.ts';

/** The checksum block of an extent whose namespace names none. */
export const BLOCK = 256 * 1024;

export type ExtentState = 'dirty' | 'uploading' | 'clean';

/** A window [start, end) fetched ahead of a sequential reader; kept only while the extent stays at generation `gen`. */
export interface Prefetch {
  readonly start: number;
  readonly end: number;
  readonly gen: number;
  /** Undefined when the GET failed: the reader then fetches for itself. */
  readonly got: Promise<GotObject | undefined>;
  landed: boolean;
}

/** The extent as the catalog's 'cache' section keeps it. */
export interface ExtentRecord {
  size: number;
  state: ExtentState;
  /** CRC32C per block (base64, big-endian); 0 for absent blocks. */
  crcs: string;
  /** One '0'/'1' per block; absent when every block is present. */
  present?: string;
  /** Bytes per checksum block; absent: BLOCK. */
  block?: number;
  /** User metadata that goes to the cloud with the object; absent when there is none. */
  metadata?: Record<string, string>;
}

export class Extent {
  size = 0;
  state: ExtentState = 'clean';
  crcs: number[] = [];
  present: boolean[] = [];
  metadata: Record<string, string> = {};
  /** When the cloud last changed the object, if learnt from it (not kept across restarts). */
  cloudModified: Date | undefined;
  /** Bumped by every write; an upload marks clean only the generation it read. */
  gen = 0;
  /** Generation last recorded durably by sync(). */
  syncedGen = 0;
  /** Where a sequential reader would read next, and how far ahead to fetch for it. */
  nextRead = -1;
  readAhead = 0;
  /** The read-ahead GETs in flight for this extent, oldest first. */
  prefetches: Prefetch[] = [];

  constructor(
    readonly key: string,
    readonly path: string,
    /** Bytes per checksum block. */
    readonly blockSize: number = BLOCK,
  ) {}

  static fromRecord(key: string, path: string, record: ExtentRecord): Extent {
    const extent = new Extent(key, path, record.block ?? BLOCK);
    extent.size = record.size;
    extent.state = record.state;
    extent.crcs = decodeCrcs(record.crcs);
    const blocks = blockCount(record.size, extent.blockSize);
    if (extent.crcs.length !== blocks) throw new Error(`cache record of ${key}: ${extent.crcs.length} checksums for ${blocks} blocks`);
    extent.present = record.present === undefined ? new Array<boolean>(blocks).fill(true) : [...record.present].map((c) => c === '1');
    extent.metadata = record.metadata ?? {};
    return extent;
  }

  toRecord(state: ExtentState = this.state): ExtentRecord {
    const all = this.present.every(Boolean);
    return {
      size: this.size,
      state,
      crcs: encodeCrcs(this.crcs),
      present: all ? undefined : this.present.map((p) => (p ? '1' : '0')).join(''),
      metadata: Object.keys(this.metadata).length > 0 ? this.metadata : undefined,
      block: this.blockSize === BLOCK ? undefined : this.blockSize,
    };
  }

  get dirty(): boolean {
    return this.state !== 'clean';
  }

  /** Sets the size, growing or shrinking the per-block arrays to match. */
  resize(size: number): void {
    const blocks = blockCount(size, this.blockSize);
    // Assigning a length, even the same one, is a call into V8's runtime: on every write it showed in profiles.
    if (this.crcs.length > blocks) this.crcs.length = blocks;
    if (this.present.length > blocks) this.present.length = blocks;
    while (this.crcs.length < blocks) this.crcs.push(0);
    while (this.present.length < blocks) this.present.push(false);
    this.size = size;
  }

  blockLength(block: number): number {
    return Math.min(this.blockSize, this.size - block * this.blockSize);
  }

  /** The block that holds byte `offset`. */
  blockOf(offset: number): number {
    return Math.floor(offset / this.blockSize);
  }

  presentBytes(): number {
    let bytes = 0;
    this.present.forEach((p, b) => (bytes += p ? this.blockLength(b) : 0));
    return bytes;
  }

  allPresent(first = 0, last = this.present.length - 1): boolean {
    for (let b = first; b <= last; b++) if (!this.present[b]) return false;
    return true;
  }
}

export function blockCount(size: number, blockSize = BLOCK): number {
  return Math.ceil(size / blockSize);
}

/** Files spread over 256 directories by a hash of the key, so keys may hold any character. */
export function extentPath(directory: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex');
  return join(directory, hash.slice(0, 2), hash);
}
