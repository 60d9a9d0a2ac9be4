// What a share needs from the cache engine: one share's objects, keys relative
// to the share's bucket and prefix. The gateway gives each share the engine's
// namespace `shares/<NAME>`, routed to the share's own bucket and prefix.

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
}

export interface ObjectListing {
  readonly objects: readonly ListedObject[];
  /** Common prefixes under the delimiter ("a/b/"). */
  readonly prefixes: readonly string[];
  /** Pass back to list the next page; undefined on the last one. */
  readonly next?: string;
}

export interface ObjectHead {
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly etag?: string;
  readonly lastModified?: Date;
}

export interface ShareObjects {
  /** Writes bytes at an offset, growing the object (a gap reads as zeros). */
  write(key: string, offset: number, data: Buffer): Promise<void>;
  /** Up to `length` bytes from `offset`; fewer at the end of the object. */
  read(key: string, offset: number, length: number): Promise<Buffer>;
  /** The object's size here or in the bucket, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  truncate(key: string, size: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Writes made so far to these keys survive a crash (local durability; uploads follow). */
  sync(keys: readonly string[]): Promise<void>;
  /** Resolves once these keys, as they are now, are in the bucket. */
  drain(keys: readonly string[]): Promise<void>;
  /** One page of the bucket's keys under a prefix: what the cache holds and the bucket holds. */
  list(prefix: string, options: { readonly delimiter?: string; readonly next?: string }): Promise<ObjectListing>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** Replaces the object's user metadata (uploaded with the data, or by a copy in place). */
  setMetadata(key: string, metadata: Readonly<Record<string, string>>): Promise<void>;
  /** The object at `to` becomes a copy of `from`, data and metadata. */
  copy(from: string, to: string): Promise<void>;
  /** Forgets what the cache holds of the key: the bucket's object changed under us. */
  forget(key: string): Promise<void>;
}
