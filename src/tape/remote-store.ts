// A cartridge's store across threads: a drive served by a thread of its own
// (src/gateway/drive-thread.ts) keeps its cartridge there, and the cartridge
// reaches the cache engine, which stays on the gateway's main thread, through
// these calls. Bytes cross by transfer, never by structured clone: a write
// batch (the cartridge hands over about 4 MiB at a time) is joined into fresh
// memory in the drive's thread and given away; a read comes back the same way,
// copied once on the engine's side out of the engine's pooled buffer (which
// must go back to its pool there). What stays on the main thread for a batch
// is the engine's own work: the CRC32C pass, the cache file's write, its
// bookkeeping.
import type { CartridgeStore } from './cartridge.ts';
import { Transfer, type Rpc } from '../threads/rpc.ts';
import type { ReadvResult, WriteOptions } from '../cache/extent-store.ts';

interface WritevArgs {
  readonly key: string;
  readonly offset: number;
  readonly data: ArrayBuffer;
  readonly lengths: readonly number[];
  readonly options?: WriteOptions;
}

/** The drive thread's side: a CartridgeStore whose every call is answered by serveCartridgeStore() on the engine's thread. */
export class RemoteCartridgeStore implements CartridgeStore {
  constructor(private readonly rpc: Rpc) {}

  async write(key: string, offset: number, data: Uint8Array, options?: WriteOptions): Promise<void> {
    await this.writev(key, offset, [data], options);
  }

  writev(key: string, offset: number, pieces: readonly Uint8Array[], options?: WriteOptions): Promise<number[]> {
    const data = joined(pieces);
    const args: WritevArgs = { key, offset, data, lengths: pieces.map((p) => p.length), ...(options ? { options } : {}) };
    return this.rpc.call('store.writev', args, [data]);
  }

  async read(key: string, offset: number, length: number): Promise<Buffer> {
    return Buffer.from(await this.rpc.call<ArrayBuffer>('store.read', { key, offset, length }));
  }

  async readv(key: string, offset: number, lengths: readonly number[]): Promise<ReadvResult> {
    const { data, crcs } = await this.rpc.call<{ data: ArrayBuffer; crcs: number[] }>('store.readv', { key, offset, lengths });
    // The memory is this thread's now: nothing to give back.
    return { data: Buffer.from(data), crcs, release: () => undefined };
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
  rpc.handle('store.writev', ({ key, offset, data, lengths, options }: WritevArgs) => {
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const length of lengths) {
      pieces.push(new Uint8Array(data, at, length));
      at += length;
    }
    return store.writev(key, offset, pieces, options);
  });
  rpc.handle('store.read', async ({ key, offset, length }: { key: string; offset: number; length: number }) => {
    // The engine's buffer may be shared with other reads: the copy is what crosses.
    const copy = joined([await store.read(key, offset, length)]);
    return new Transfer(copy, [copy]);
  });
  rpc.handle('store.readv', async ({ key, offset, lengths }: { key: string; offset: number; lengths: number[] }) => {
    const { data, crcs, release } = await store.readv(key, offset, lengths);
    try {
      const copy = joined([data]);
      return new Transfer({ data: copy, crcs }, [copy]);
    } finally {
      release();
    }
  });
  rpc.handle('store.size', ({ key }: { key: string }) => store.size(key));
  rpc.handle('store.truncate', ({ key, size }: { key: string; size: number }) => store.truncate(key, size));
  rpc.handle('store.deleteMany', ({ keys }: { keys: string[] }) => store.deleteMany(keys));
  rpc.handle('store.sync', ({ keys }: { keys?: string[] }) => store.sync(keys));
}

/** The pieces end to end in fresh memory of their own, which can be transferred. */
function joined(pieces: readonly Uint8Array[]): ArrayBuffer {
  const data = new Uint8Array(pieces.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    data.set(piece, at);
    at += piece.length;
  }
  return data.buffer;
}
