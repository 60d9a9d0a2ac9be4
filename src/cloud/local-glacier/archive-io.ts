// Archive bytes between sockets and disk. Coming in, a body goes to a temporary
// file while its SHA-256, tree hash and leaf hashes are computed; going out, the
// leaves a range touches are read whole and checked against the stored leaf
// hashes (themselves checked against the archive's tree hash) before a byte of
// them is sent.
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { TREE_HASH_LEAF, TreeHasher, combineTreeHashes } from '../tree-hash.ts';
import { GlacierError } from './errors.ts';
import { readBounded } from './files.ts';

const HASH = 32;

export interface Received {
  path: string;
  size: number;
  sha256: string;
  treeHash: string;
  /** The leaf hashes, 32 bytes each. */
  leaves: Buffer;
}

/** Copies a stream of exactly `length` bytes to `path`, synced, hashing as it goes. */
export async function receive(body: Readable, path: string, length: number): Promise<Received> {
  const sha = createHash('sha256');
  const leaves: Buffer[] = [];
  const tree = new TreeHasher((leaf) => leaves.push(leaf));
  const handle = await open(path, 'w');
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > length) throw new Error(`body longer than its Content-Length ${length}`);
      sha.update(chunk);
      tree.update(chunk);
      await handle.write(chunk);
    }
    if (size !== length) throw new GlacierError(408, 'RequestTimeoutException', `Body ended at ${size} of its Content-Length ${length}`);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return { path, size, sha256: sha.digest('hex'), treeHash: tree.digest().toString('hex'), leaves: Buffer.concat(leaves) };
}

/** The stored leaf hashes of an archive, checked against its tree hash. */
export async function readLeaves(path: string, size: number, treeHash: string): Promise<Buffer> {
  const expected = Math.ceil(size / TREE_HASH_LEAF) * HASH;
  const leaves = await readBounded(path, expected);
  if (!leaves || leaves.length !== expected) throw new Error(`${path}: leaf hashes missing or of the wrong length`);
  if (combineTreeHashes(splitLeaves(leaves)).toString('hex') !== treeHash)
    throw new Error(`${path}: leaf hashes do not make the archive's tree hash`);
  return leaves;
}

export function splitLeaves(leaves: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < leaves.length; at += HASH) out.push(leaves.subarray(at, at + HASH));
  return out;
}

/** The tree hash of [start, end) from the leaf hashes; meaningful only for tree-hash-aligned ranges. */
export function rangeTreeHash(leaves: Buffer, start: number, end: number): string {
  const first = start / TREE_HASH_LEAF;
  const last = Math.ceil(end / TREE_HASH_LEAF);
  return combineTreeHashes(splitLeaves(leaves.subarray(first * HASH, last * HASH))).toString('hex');
}

/**
 * Writes [start, end) of the file at `path` to `out`, one leaf at a time, each
 * checked against its stored hash; a damaged leaf throws before it is sent.
 */
export async function sendVerified(path: string, size: number, leaves: Buffer, start: number, end: number, out: Writable): Promise<void> {
  const handle = await open(path, 'r');
  try {
    if ((await handle.stat()).size !== size) throw new Error(`${path}: stored size differs from ${size}`);
    const buffer = Buffer.allocUnsafe(TREE_HASH_LEAF);
    for (let leaf = Math.floor(start / TREE_HASH_LEAF); leaf * TREE_HASH_LEAF < end; leaf++) {
      const at = leaf * TREE_HASH_LEAF;
      const length = Math.min(TREE_HASH_LEAF, size - at);
      const { bytesRead } = await handle.read(buffer, 0, length, at);
      const data = buffer.subarray(0, length);
      if (
        bytesRead !== length ||
        !createHash('sha256')
          .update(data)
          .digest()
          .equals(leaves.subarray(leaf * HASH, leaf * HASH + HASH))
      ) {
        throw new Error(`${path}: leaf ${leaf} fails its SHA-256`);
      }
      // A copy: the buffer is reused while the socket may still hold the slice.
      const slice = Buffer.from(data.subarray(Math.max(0, start - at), Math.min(length, end - at)));
      if (!out.write(slice)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
      if (out.destroyed) return;
    }
  } finally {
    await handle.close();
  }
}
