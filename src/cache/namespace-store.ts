// One consumer's view of the engine: the keys under its namespace (`tapes/`,
// `volumes/`, `shares/NAME/`), the same keys the cache index and, by default,
// the bucket use. A key outside it is refused, so no consumer touches another's.
import type { CacheIO } from './cache-io.ts';
import type {
  DrainOptions,
  ExtentHead,
  ExtentListing,
  ExtentMetadata,
  ExtentStore,
  ReadBuffers,
  ReadOptions,
  ReadTally,
  ReadvResult,
  WriteOptions,
} from './extent-store.ts';

const nothing = (): void => undefined;

export class KeyOutsideNamespaceError extends RangeError {
  override readonly name = 'KeyOutsideNamespaceError';
}

export class NamespaceStore implements ExtentStore {
  constructor(
    private readonly io: CacheIO,
    /** The prefix every key of this store starts with ('' for every key). */
    readonly namespace: string,
  ) {}

  write(key: string, offset: number, data: Uint8Array, options?: WriteOptions): Promise<void> {
    try {
      return this.io.writev(this.check(key), offset, [data], options).then(nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async writev(key: string, offset: number, pieces: readonly Uint8Array[], options?: WriteOptions): Promise<number[]> {
    return this.io.writev(this.check(key), offset, pieces, options);
  }

  async read(key: string, offset: number, length: number, tally?: ReadTally): Promise<Buffer> {
    return this.io.read(this.check(key), offset, length, tally);
  }

  async readv(
    key: string,
    offset: number,
    lengths: readonly number[],
    tally?: ReadTally,
    buffers?: ReadBuffers,
    options?: ReadOptions,
  ): Promise<ReadvResult> {
    return this.io.readv(this.check(key), offset, lengths, tally, buffers, options);
  }

  async size(key: string): Promise<number | undefined> {
    return this.io.size(this.check(key));
  }

  async head(key: string): Promise<ExtentHead | undefined> {
    return this.io.head(this.check(key));
  }

  async truncate(key: string, size: number): Promise<void> {
    return this.io.truncate(this.check(key), size);
  }

  async setMetadata(key: string, metadata: ExtentMetadata): Promise<void> {
    return this.io.setMetadata(this.check(key), metadata);
  }

  async copy(from: string, to: string): Promise<void> {
    return this.io.copy(this.check(from), this.check(to));
  }

  async evict(key: string): Promise<void> {
    return this.io.evict(this.check(key));
  }

  async delete(key: string): Promise<void> {
    return this.io.deleteMany([this.check(key)]);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    return this.io.deleteMany(keys.map((key) => this.check(key)));
  }

  list(prefix = this.namespace, options?: { delimiter?: string }): AsyncIterable<ExtentListing> {
    return this.io.list(this.check(prefix), options);
  }

  async sync(keys?: readonly string[]): Promise<void> {
    return this.io.sync(
      keys?.map((key) => this.check(key)),
      this.namespace,
    );
  }

  noteForeground(): void {
    this.io.noteForeground();
  }

  async drain(keys?: readonly string[], options?: DrainOptions): Promise<void> {
    return this.io.drain(
      keys?.map((key) => this.check(key)),
      this.namespace,
      options,
    );
  }

  private check(key: string): string {
    if (!key.startsWith(this.namespace))
      throw new KeyOutsideNamespaceError(`key ${key} is outside the namespace ${this.namespace} of this store`);
    return key;
  }
}
