// A cartridge's store across threads: a drive served by a thread of its own
// (src/gateway/drive-thread.ts) keeps its cartridge there, and the cartridge
// reaches the cache engine, which stays on the gateway's main thread, through
// these calls. A batch's or a piece's bytes cross in shared memory the drive's
// thread lends for the call (SharedSlots): a write batch (about 4 MiB) is
// joined into a slot and the engine writes it from there; a read piece is read
// by the engine into a slot (readv into given buffers) and lent on to the
// drive's readers, the slot going back to the drive's pool when they release
// it. So no call allocates, and a read is copied only when the engine serves
// it from a block it keeps. Small reads (manifests, indexes) come back by
// transfer of a copy. What stays on the main thread for a batch is the
// engine's own work: the CRC32C pass, the cache file's write or read, its
// bookkeeping.
import type { CartridgeStore } from './cartridge.ts';
import { Transfer, type Rpc } from '../threads/rpc.ts';
import { SharedSlots } from '../threads/shared-slots.ts';
import { releaseOnce } from '../buffers/release-once.ts';
import { BLOCK } from '../cache/extent.ts';
import type { ReadBuffers, ReadvResult, WriteOptions } from '../cache/extent-store.ts';

interface WritevArgs {
  readonly key: string;
  readonly offset: number;
  /** The pieces end to end from its start. */
  readonly slot: SharedArrayBuffer;
  readonly lengths: readonly number[];
  readonly options?: WriteOptions;
}

interface ReadvArgs {
  readonly key: string;
  readonly offset: number;
  readonly lengths: readonly number[];
  /** Where the engine reads to: it reads whole checksum blocks around the ranges. */
  readonly slot: SharedArrayBuffer;
}

interface ReadvReply {
  /** Where in the slot the ranges start. */
  readonly at: number;
  readonly crcs: readonly number[];
}

/** The drive thread's side: a CartridgeStore whose every call is answered by serveCartridgeStore() on the engine's thread. */
export class RemoteCartridgeStore implements CartridgeStore {
  private readonly slots = new SharedSlots();

  constructor(private readonly rpc: Rpc) {}

  async write(key: string, offset: number, data: Uint8Array, options?: WriteOptions): Promise<void> {
    await this.writev(key, offset, [data], options);
  }

  async writev(key: string, offset: number, pieces: readonly Uint8Array[], options?: WriteOptions): Promise<number[]> {
    const lengths = pieces.map((p) => p.length);
    const slot = this.slots.take(lengths.reduce((sum, l) => sum + l, 0));
    const view = new Uint8Array(slot);
    let at = 0;
    for (const piece of pieces) {
      view.set(piece, at);
      at += piece.length;
    }
    try {
      const args: WritevArgs = { key, offset, slot, lengths, ...(options ? { options } : {}) };
      return await this.rpc.call('store.writev', args);
    } finally {
      this.slots.give(slot);
    }
  }

  async read(key: string, offset: number, length: number): Promise<Buffer> {
    return Buffer.from(await this.rpc.call<ArrayBuffer>('store.read', { key, offset, length }));
  }

  async readv(key: string, offset: number, lengths: readonly number[]): Promise<ReadvResult> {
    const length = lengths.reduce((sum, l) => sum + l, 0);
    const slot = this.slots.take(length + 2 * BLOCK);
    try {
      const { at, crcs } = await this.rpc.call<ReadvReply>('store.readv', { key, offset, lengths, slot } satisfies ReadvArgs);
      return { data: Buffer.from(slot, at, length), crcs, release: releaseOnce(() => this.slots.give(slot)) };
    } catch (error) {
      this.slots.give(slot);
      throw error;
    }
  }

  size(key: string): Promise<number | undefined> {
    return this.rpc.call('store.size', { key });
  }

  truncate(key: string, size: number): Promise<void> {
    return this.rpc.call('store.truncate', { key, size });
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.rpc.call('store.deleteMany', { keys });
  }

  sync(keys?: readonly string[]): Promise<void> {
    return this.rpc.call('store.sync', { keys });
  }
}

/** The engine's side: answers a drive thread's RemoteCartridgeStore from `store`. */
export function serveCartridgeStore(rpc: Rpc, store: CartridgeStore): void {
  rpc.handle('store.writev', ({ key, offset, slot, lengths, options }: WritevArgs) => {
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const length of lengths) {
      pieces.push(new Uint8Array(slot, at, length));
      at += length;
    }
    return store.writev(key, offset, pieces, options);
  });
  rpc.handle('store.read', async ({ key, offset, length }: { key: string; offset: number; length: number }) => {
    // The engine's buffer may be shared with other reads: the copy is what crosses.
    const read = await store.read(key, offset, length);
    const copy = new Uint8Array(read.length);
    copy.set(read);
    return new Transfer(copy.buffer, [copy.buffer]);
  });
  rpc.handle('store.readv', async ({ key, offset, lengths, slot }: ReadvArgs): Promise<ReadvReply> => {
    const memory = Buffer.from(slot);
    // The slot is the drive thread's to give back: the engine only reads into it.
    const into: ReadBuffers = {
      take: (size) => (size <= memory.length ? memory.subarray(0, size) : Buffer.allocUnsafe(size)),
      give: () => undefined,
    };
    const { data, crcs, release } = await store.readv(key, offset, lengths, undefined, into);
    try {
      if (data.buffer === slot) return { at: data.byteOffset, crcs };
      // Served from elsewhere (a block the engine keeps checked, or a span larger than the slot).
      data.copy(memory);
      return { at: 0, crcs };
    } finally {
      release();
    }
  });
  rpc.handle('store.size', ({ key }: { key: string }) => store.size(key));
  rpc.handle('store.truncate', ({ key, size }: { key: string; size: number }) => store.truncate(key, size));
  rpc.handle('store.deleteMany', ({ keys }: { keys: string[] }) => store.deleteMany(keys));
  rpc.handle('store.sync', ({ keys }: { keys?: string[] }) => store.sync(keys));
}
