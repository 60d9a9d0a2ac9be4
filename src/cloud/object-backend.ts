// What the cache engine needs of an object store: whole puts streamed from a
// source, verified ranged gets, heads, listings, deletes and server-side
// copies. ObjectStore (object-store.ts) implements it over S3 through the AWS
// SDK; another dialect, a fault layer or an encrypting layer is a new file that
// implements or wraps it, never a change to the engine.
import type { BlockChecksums } from '../crc32c/block-checksums.ts';
import type { RetryCause } from './retry.ts';

/** S3's limit of keys in one DeleteObjects request, and so the most a deleteMany() batch should hold. */
export const DELETE_MANY_MAX = 1000;

/** User metadata of an object, names without the `x-amz-meta-` prefix. */
export type ObjectMetadata = Readonly<Record<string, string>>;

/**
 * Where an upload reads its bytes, a piece (at most 1 MiB, aligned to 1 MiB) at
 * a time as they are sent, and again on a retry. `read` must return the bytes
 * `checksums` describe, or throw: the store sends those checksums without
 * another pass over the bytes. `checksums.blockSize` must divide 1 MiB.
 */
export interface PutSource {
  readonly size: number;
  readonly checksums: BlockChecksums;
  /** The bytes, read into `into` (of at least `length` bytes, the store's to reuse) when the source has to copy them anywhere. */
  read(offset: number, length: number, into: Buffer): Promise<Buffer>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  /** Set by head(); list() leaves it out. */
  metadata?: ObjectMetadata;
  lastModified?: Date;
  /** In a listing with a delimiter: `key` is a common prefix standing for the keys under it, not an object. */
  commonPrefix?: true;
}

export interface PutOptions {
  /** User metadata stored with the object, beside the store's own checksum metadata. */
  readonly metadata?: ObjectMetadata;
}

export interface GetOptions {
  /** The object's size when the caller knows it: saves a request for ranged reads. */
  readonly sizeHint?: number;
  /**
   * Serve an object that carries no checksum metadata of ours (put by another S3
   * client), trusting the transport; without it such an object is refused.
   */
  readonly allowUnverified?: boolean;
}

export interface GotObject {
  readonly data: Buffer;
  /** The whole object's size. */
  readonly size: number;
  /**
   * Gives `data`'s memory back for the next GET, which spares a fresh buffer's
   * page faults and its garbage collection; nobody may use `data` afterwards.
   * A caller that keeps `data` simply never calls it.
   */
  readonly release?: () => void;
}

export interface ObjectBackend {
  /** Where the objects live, for messages an operator reads: endpoint and bucket. */
  readonly location: string;
  /** How long a silent connection fails a request: uploads that pause must stay well inside it. */
  readonly idleTimeoutMs: number;
  put(key: string, body: Buffer | PutSource, options?: PutOptions): Promise<void>;
  /** `length` bytes at `offset` (the whole object without a range), verified before they are returned. */
  get(key: string, range?: { offset: number; length: number }, options?: GetOptions): Promise<GotObject>;
  /** The object's size and user metadata, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Objects under `prefix` in key order; with a delimiter, the keys that share what comes before it come once, as a common prefix. */
  list(prefix?: string, options?: { delimiter?: string; startAfter?: string }): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** The keys that could not be deleted, each with its error; throws if a request fails as a whole. */
  deleteMany(keys: readonly string[]): Promise<Map<string, Error>>;
  /** Server-side copy; `metadata` replaces the user metadata when given, else it travels with the object. */
  copy(fromKey: string, toKey: string, options?: { metadata?: ObjectMetadata }): Promise<void>;
  close(): void;
}

/** Told about traffic and retries; the engine's metrics implement it. */
export interface StoreObserver {
  retried?(cause: RetryCause, operation: string): void;
  uploaded?(bytes: number): void;
  downloaded?(bytes: number): void;
}

/** Paces the pieces of request bodies to a bandwidth limit; absent means full speed. */
export interface UploadShaper {
  /**
   * The lengths, in order and adding up to `length`, into which a piece of
   * `length` bytes is cut, each yielded when the limit lets it be sent. Lengths,
   * not bytes: a backend whose requests run on another thread paces them from here.
   */
  pace(length: number): AsyncIterable<number>;
}

/** What a backend is given by the engine that uses it. */
export interface BackendHooks {
  readonly observer?: StoreObserver;
  readonly shaper?: UploadShaper;
}

/** Opens a backend wired to the engine's metrics and bandwidth limit. */
export type OpenBackend = (hooks: BackendHooks) => ObjectBackend;

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly key: string) {
    super(`object ${key} does not exist`);
  }
}

/** An object without our checksum metadata: its bytes cannot be verified, so they are not served. */
export class UnverifiableObjectError extends Error {
  override readonly name = 'UnverifiableObjectError';
  constructor(readonly key: string) {
    super(`object ${key} has no checksum metadata of the gateway's; refusing to serve unverified bytes`);
  }
}

/** The store did not answer, or answered with server errors, through every retry. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    readonly location: string,
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(
      `the object store at ${location} is unavailable (${operation}: ${(options.cause as Error)?.message ?? String(options.cause)})`,
      options,
    );
  }
}
