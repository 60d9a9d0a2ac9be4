// What a share needs from the cache engine: one share's objects, keys relative
// to the share's bucket and prefix. The gateway gives each share the engine's
// namespace `shares/<NAME>`, routed to the share's own bucket and prefix.

/** A listing entry: an object (with when the bucket last changed it, when known), or a common prefix under the delimiter ("a/b/"). */
export type ListedEntry =
  | { readonly kind: 'object'; readonly key: string; readonly size: number; readonly modified?: Date }
  | { readonly kind: 'prefix'; readonly prefix: string };

export interface ObjectHead {
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** When the bucket last changed it, if it holds it. */
  readonly modified?: Date;
}

export interface DrainOptions {
  readonly yieldUntil?: AbortSignal;
}

export interface ReadOptions {
  /** Bytes the page cache holds are copied and checked on the calling thread, as the engine's ReadOptions say. */
  readonly onThisThread?: boolean;
}

export interface ShareObjects {
  /**
   * Writes bytes at an offset, growing the object (a gap reads as zeros). `fresh`: the key is
   * new to the bucket (a file created here, never uploaded), so the bucket need not be asked.
   */
  write(key: string, offset: number, data: Buffer, options?: { readonly fresh?: boolean }): Promise<void>;
  /** Up to `length` bytes from `offset`; fewer at the end of the object. `release()` once done with them: their memory may be reused. */
  read(
    key: string,
    offset: number,
    length: number,
    options?: ReadOptions,
  ): Promise<{ readonly data: Buffer; readonly release: () => void }>;
  /** The object's size here or in the bucket, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /** Sets the object's size, cutting it or growing it with zeros. */
  truncate(key: string, size: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Writes made so far to these keys survive a crash (local durability; uploads follow). */
  sync(keys: readonly string[]): Promise<void>;
  /**
   * Resolves once these keys, as they are now, are in the bucket; with `yieldUntil`, their uploads
   * yield to the clients' requests until it aborts.
   */
  drain(keys: readonly string[], options?: DrainOptions): Promise<void>;
  /** The keys under a prefix in S3's order: changes not yet uploaded as they are here, the rest as the bucket holds them. */
  list(prefix: string, options: { readonly delimiter?: string }): AsyncIterable<ListedEntry>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** Replaces the object's user metadata (uploaded with the data, or by a copy in place); creates an empty object if there is none. */
  setMetadata(key: string, metadata: Readonly<Record<string, string>>): Promise<void>;
  /** The object at `to` becomes a copy of `from`, data and metadata. */
  copy(from: string, to: string): Promise<void>;
  /** A client's request is being served: background uploads yield to it as to reads and writes, for less long. */
  noteRequest(): void;
  /** Forgets what the cache holds of the key: the bucket's object changed under us. */
  forget(key: string): Promise<void>;
}
