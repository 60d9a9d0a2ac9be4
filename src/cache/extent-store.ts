// The one interface tapes, volumes and shares program against: named byte
// ranges (extents) that live in the local cache and reach the object store in
// the background. Each consumer gets its own namespace of keys from
// CacheEngine.namespace(); errors are those of errors.ts. README.md beside this
// file says how each call behaves.

export interface DrainOptions {
  /**
   * The drain's uploads yield to reads, writes and other requests (within the queue's bounds) until
   * this signal aborts: someone now waits for the keys. Without it they yield to nothing.
   */
  readonly yieldUntil?: AbortSignal;
}

export interface WriteOptions {
  /**
   * The caller made this key up just now (a cartridge's next segment): unless the
   * cache holds it, the extent starts empty without a lookup in the cloud, and the
   * next upload replaces whatever the cloud may hold under the key.
   */
  readonly fresh?: boolean;
}

/** Consecutive ranges read in one call, with the CRC32C of each. */
export interface ReadvResult {
  readonly data: Buffer;
  readonly crcs: readonly number[];
  /** Gives the data's buffer back for reuse: call once nothing uses the data any more (never calling it only loses the reuse). */
  readonly release: () => void;
}

/**
 * Memory a read may go into instead of the engine's own pool (a BufferPool is
 * one): a caller that wants the bytes in memory of its choosing, such as a
 * drive's thread lending shared memory (src/tape/remote-store.ts).
 */
export interface ReadBuffers {
  /** A buffer of exactly `size` bytes, of undefined content. */
  take(size: number): Buffer;
  /** Returns a buffer from take(), once the read is released or failed. */
  give(buffer: Buffer): void;
}

/** How a read is made. */
export interface ReadOptions {
  /**
   * Bytes of the cache that the page cache holds are copied and checked on the
   * calling thread, whatever their size, instead of in one job on libuv's pool:
   * for a read made while its caller has nothing else to do (a share's
   * read-ahead, between a reply and the client's next call), where the pool's
   * round trip (two thread wakes) and a third busy thread cost more than the copy.
   */
  readonly onThisThread?: boolean;
}

/** User metadata of an extent (names as S3 keeps them, without `x-amz-meta-`). */
export type ExtentMetadata = Readonly<Record<string, string>>;

export interface ExtentHead {
  readonly size: number;
  readonly metadata: ExtentMetadata;
  /** When the object store last changed it, if it holds it. */
  readonly cloudModified?: Date;
}

/** A listing entry: an extent (with when the cloud last changed it, when known), or (with a delimiter) a common prefix standing for the keys under it. */
export type ExtentListing =
  | { readonly kind: 'extent'; readonly key: string; readonly size: number; readonly cloudModified?: Date }
  | { readonly kind: 'prefix'; readonly prefix: string };

/** Reads counted by where they were served from: the cache held every byte asked for (a hit), or some came from the cloud (a miss). */
export interface ReadTally {
  hits: number;
  misses: number;
}

export interface ExtentStore {
  /** Writes bytes at `offset`, growing the extent (a gap reads as zeros). Waits, never fails, while the upload buffer or the cache is full. Durable only once sync() covers it. */
  write(key: string, offset: number, data: Uint8Array, options?: WriteOptions): Promise<void>;
  /** write() of pieces laid end to end, without joining them; the CRC32C of each piece, taken in the pass that checksums the extent's blocks. The pieces must not change until it resolves. */
  writev(key: string, offset: number, pieces: readonly Uint8Array[], options?: WriteOptions): Promise<number[]>;
  /** `length` bytes at `offset`, from the cache or else the cloud, verified; counted in `tally` too when given (a volume's cache hits). The buffer may be shared with other reads' results: do not write into it. */
  read(key: string, offset: number, length: number, tally?: ReadTally): Promise<Buffer>;
  /**
   * read() of consecutive ranges, with the CRC32C of each taken in the pass that checks the cached blocks; a large read's buffer is lent
   * (ReadvResult.release), taken from `buffers` when given (a read of a block or two the engine keeps checked, and a read of nothing, come
   * from elsewhere).
   */
  readv(
    key: string,
    offset: number,
    lengths: readonly number[],
    tally?: ReadTally,
    buffers?: ReadBuffers,
    options?: ReadOptions,
  ): Promise<ReadvResult>;
  /** The extent's size, asking the cloud when the cache does not know it; undefined if it exists nowhere. */
  size(key: string): Promise<number | undefined>;
  /** Size and user metadata, or undefined if it exists nowhere. */
  head(key: string): Promise<ExtentHead | undefined>;
  /** Ends the extent's data at `size` (no larger than it is). */
  truncate(key: string, size: number): Promise<void>;
  /** Replaces the extent's user metadata; it reaches the cloud with the extent's next upload. */
  setMetadata(key: string, metadata: ExtentMetadata): Promise<void>;
  /** Makes `to` a copy of `from` (bytes and metadata), replacing whatever `to` held. */
  copy(from: string, to: string): Promise<void>;
  /**
   * Forgets a clean extent here (its cached blocks and what is known of it), so that
   * its next use asks the cloud again: for an object another client changed there.
   * An extent with changes not yet uploaded is kept.
   */
  evict(key: string): Promise<void>;
  /** Removes the extent here at once and from the cloud through the upload queue. */
  delete(key: string): Promise<void>;
  /** delete() of many, with one durable catalog write per batch. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /**
   * Extents under `prefix` in key order (S3's: by UTF-8 bytes): those with changes
   * not yet uploaded as they are here, the rest as the cloud lists them (a clean
   * extent gone from the cloud is gone), without the ones deleted here. With a
   * delimiter, the keys that share what comes before it come once, as a prefix.
   */
  list(prefix?: string, options?: { delimiter?: string }): AsyncIterable<ExtentListing>;
  /** Makes everything written to `keys` (default: the whole namespace) durable on the cache disk and queues it for upload. A write may be acknowledged once this resolves. */
  sync(keys?: readonly string[]): Promise<void>;
  /**
   * Resolves once everything written to `keys` (default: the whole namespace) is in the cloud.
   * `yieldUntil`: for a caller that wants them done but does not wait for them yet (see DrainOptions).
   */
  drain(keys?: readonly string[], options?: DrainOptions): Promise<void>;
  /**
   * The consumer is serving a request now that reads and writes no extent (a share's lookup or
   * listing): uploads yield to it as they do to reads and writes, but at most for the engine's
   * uploadRequestMaxDeferMs (10 s), so that a client browsing without pause leaves little to upload.
   */
  noteForeground(): void;
}
