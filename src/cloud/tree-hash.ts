// Glacier's SHA-256 tree hash: SHA-256 of each 1 MiB leaf (the last may be
// shorter), then hashes of concatenated pairs level by level, a lone node
// promoted unchanged, up to one root. Ranges whose own tree is a node of the
// archive's tree are "tree-hash aligned": only for those does Glacier send the
// hash of a downloaded range.
import { createHash } from 'node:crypto';

export const TREE_HASH_LEAF = 1024 * 1024;
const MAX_PART = 4 * 1024 * TREE_HASH_LEAF;

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const pair = (left: Buffer, right: Buffer): Buffer => createHash('sha256').update(left).update(right).digest();

/**
 * Folds node hashes into their root as they arrive, keeping one pending node
 * per level (log2 of the count in memory). Fed leaves, it gives the tree hash;
 * fed the tree hashes of consecutive power-of-two-MiB parts, the same root.
 */
export class TreeFold {
  private readonly pending: { level: number; hash: Buffer }[] = [];
  private count = 0;

  add(hash: Buffer): void {
    let node = { level: 0, hash };
    for (let top = this.pending.at(-1); top && top.level === node.level; top = this.pending.at(-1)) {
      this.pending.pop();
      node = { level: node.level + 1, hash: pair(top.hash, node.hash) };
    }
    this.pending.push(node);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The root; the right edge's incomplete nodes were promoted, so they join from the right. */
  root(): Buffer {
    if (this.pending.length === 0) return sha256(Buffer.alloc(0));
    let hash = this.pending[this.pending.length - 1]!.hash;
    for (let i = this.pending.length - 2; i >= 0; i--) hash = pair(this.pending[i]!.hash, hash);
    return hash;
  }
}

/** The tree hash of bytes fed in any slicing, computed as they stream. */
export class TreeHasher {
  private readonly fold = new TreeFold();
  private leaf = createHash('sha256');
  private inLeaf = 0;
  private total = 0;

  /** `onLeaf` sees each leaf's hash as it closes, e.g. to keep them for ranged reads later. */
  constructor(private readonly onLeaf?: (hash: Buffer) => void) {}

  update(chunk: Buffer): this {
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(TREE_HASH_LEAF - this.inLeaf, chunk.length - at);
      this.leaf.update(chunk.subarray(at, at + take));
      this.inLeaf += take;
      at += take;
      if (this.inLeaf === TREE_HASH_LEAF) this.closeLeaf();
    }
    this.total += chunk.length;
    return this;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.total;
  }

  digest(): Buffer {
    if (this.inLeaf > 0 || this.fold.size === 0) this.closeLeaf();
    return this.fold.root();
  }

  private closeLeaf(): void {
    const hash = this.leaf.digest();
    this.onLeaf?.(hash);
    this.fold.add(hash);
    this.leaf = createHash('sha256');
    this.inLeaf = 0;
  }
}

export function treeHash(data: Buffer): Buffer {
  return new TreeHasher().update(data).digest();
}

/** The tree hash of an archive from the tree hashes of its parts, in order (parts of one power-of-two size). */
export function combineTreeHashes(hashes: readonly Buffer[]): Buffer {
  const fold = new TreeFold();
  for (const hash of hashes) fold.add(hash);
  return fold.root();
}

/** Glacier's part sizes: a power of two from 1 MiB to 4 GiB. */
export function isValidPartSize(bytes: number): boolean {
  return isPowerOfTwoLeaves(bytes) && bytes <= MAX_PART;
}

/** The smallest valid part size of at least `atLeast` bytes (undefined above 4 GiB). */
export function partSizeAtLeast(atLeast: number): number | undefined {
  const size = leafSpanAtLeast(atLeast);
  return size <= MAX_PART ? size : undefined;
}

/**
 * Whether [start, end) of a `size`-byte archive is a node of its tree: it starts
 * at a multiple of 2^k MiB and spans 2^k MiB, or less when it runs to the end.
 */
export function isTreeHashAligned(start: number, end: number, size: number): boolean {
  if (!(0 <= start && start < end && end <= size) || start % TREE_HASH_LEAF !== 0) return false;
  const length = end - start;
  if (end === size) {
    return start % leafSpanAtLeast(length) === 0;
  }
  return isPowerOfTwoLeaves(length) && start % length === 0;
}

/** Whether [start, end) may be retrieved by a job: it starts on a MiB and ends on one or at the end. */
export function isMegabyteAligned(start: number, end: number, size: number): boolean {
  return 0 <= start && start < end && end <= size && start % TREE_HASH_LEAF === 0 && (end % TREE_HASH_LEAF === 0 || end === size);
}

/** Consecutive tree-hash-aligned ranges covering `size` bytes, each `chunk` long (a power-of-two MiB) but the last. */
export function* alignedRanges(size: number, chunk: number): Generator<{ start: number; end: number }> {
  if (!isPowerOfTwoLeaves(chunk)) throw new RangeError(`chunk ${chunk} is not a power-of-two multiple of 1 MiB`);
  for (let start = 0; start < size; start += chunk) yield { start, end: Math.min(size, start + chunk) };
}

/** The smallest power-of-two multiple of 1 MiB that holds `bytes`. */
function leafSpanAtLeast(bytes: number): number {
  let span = TREE_HASH_LEAF;
  while (span < bytes) span *= 2;
  return span;
}

function isPowerOfTwoLeaves(bytes: number): boolean {
  const leaves = bytes / TREE_HASH_LEAF;
  return Number.isSafeInteger(leaves) && leaves >= 1 && 2 ** Math.round(Math.log2(leaves)) === leaves;
}
