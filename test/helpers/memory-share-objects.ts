// A stand-in for the cache engine's share namespace, in memory: the protocol
// and file-system tests run on it without an S3 endpoint. "bucket" is what
// the bucket holds (drain() and the test's own puts put objects there);
// "cache" what the gateway's cache holds. The gateway itself runs shares on
// the engine (test/share/gateway-share.test.ts covers that path).
import type { ListedEntry, ObjectHead, ShareObjects } from '../../src/share/fs/share-objects.ts';

interface StoredObject {
  data: Buffer;
  /** Memory data may grow into (data is its start), so that a file written from start to end is not copied once per write. */
  room?: Buffer;
  metadata: Record<string, string>;
  lastModified: Date;
}

export class MemoryShareObjects implements ShareObjects {
  readonly bucket = new Map<string, StoredObject>();
  private readonly cache = new Map<string, StoredObject>();
  readonly deleted = new Set<string>();
  /** Keys changed here and not yet drained to the bucket. */
  private readonly dirty = new Set<string>();
  syncs = 0;
  /** A slow HEAD (a latency of the bucket's, held by the test): the next head() waits until it resolves. */
  private heldHead: Promise<void> | undefined;

  /** Another S3 client puts an object. */
  putFromElsewhere(key: string, data: Buffer, metadata: Record<string, string> = {}): void {
    this.bucket.set(key, { data, metadata, lastModified: new Date() });
  }

  private local(key: string): StoredObject | undefined {
    if (this.deleted.has(key)) return undefined;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const remote = this.bucket.get(key);
    if (!remote) return undefined;
    const copy = { ...remote, data: Buffer.from(remote.data), metadata: { ...remote.metadata } };
    this.cache.set(key, copy);
    return copy;
  }

  private writable(key: string): StoredObject {
    this.dirty.add(key);
    const existing = this.local(key);
    if (existing) return existing;
    this.deleted.delete(key);
    const created: StoredObject = { data: Buffer.alloc(0), metadata: {}, lastModified: new Date() };
    this.cache.set(key, created);
    return created;
  }

  async write(key: string, offset: number, data: Buffer): Promise<void> {
    const object = this.writable(key);
    const end = offset + data.length;
    if (end > object.data.length) {
      if (!object.room || object.room.length < end) {
        object.room = Buffer.alloc(Math.max(end, 2 * object.data.length));
        object.data.copy(object.room);
      }
      object.data = object.room.subarray(0, end);
    }
    data.copy(object.data, offset);
  }

  async read(key: string, offset: number, length: number): Promise<{ readonly data: Buffer; readonly release: () => void }> {
    const object = this.local(key);
    if (!object) throw new Error(`no object ${key}`);
    return { data: Buffer.from(object.data.subarray(offset, offset + length)), release: () => undefined };
  }

  async size(key: string): Promise<number | undefined> {
    return this.local(key)?.data.length;
  }

  async truncate(key: string, size: number): Promise<void> {
    const object = this.writable(key);
    const resized = Buffer.alloc(size);
    object.data.copy(resized, 0, 0, Math.min(size, object.data.length));
    object.data = resized;
    delete object.room;
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
    this.dirty.delete(key);
    this.bucket.delete(key);
    this.deleted.add(key);
  }

  async sync(): Promise<void> {
    this.syncs++;
  }

  async drain(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const object = this.cache.get(key);
      this.dirty.delete(key);
      if (object && !this.deleted.has(key)) {
        this.bucket.set(key, { data: Buffer.from(object.data), metadata: { ...object.metadata }, lastModified: new Date() });
      }
    }
  }

  async *list(prefix: string, options: { delimiter?: string }): AsyncGenerator<ListedEntry> {
    const keys = new Set<string>();
    for (const key of this.bucket.keys()) if (!this.deleted.has(key)) keys.add(key);
    for (const key of this.dirty) keys.add(key);
    let lastPrefix: string | undefined;
    for (const key of [...keys].sort()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const cut = options.delimiter ? rest.indexOf(options.delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + 1);
        if (common !== lastPrefix) yield { kind: 'prefix', prefix: common };
        lastPrefix = common;
        continue;
      }
      // As the engine lists: changes not yet drained as they are here, the rest as the bucket holds them.
      const object = this.dirty.has(key) ? this.local(key)! : this.bucket.get(key)!;
      yield { kind: 'object', key, size: object.data.length, modified: object.lastModified };
    }
  }

  /** The next head() answers only once the returned function is called (and as the object is then). */
  holdNextHead(): () => void {
    let release!: () => void;
    this.heldHead = new Promise((resolve) => (release = resolve));
    return release;
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const held = this.heldHead;
    this.heldHead = undefined;
    if (held) await held;
    const object = this.local(key);
    if (!object) return undefined;
    return { size: object.data.length, metadata: { ...object.metadata }, modified: object.lastModified };
  }

  async setMetadata(key: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    this.writable(key).metadata = { ...metadata };
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.local(from);
    if (!source) throw new Error(`no object ${from}`);
    this.deleted.delete(to);
    this.dirty.add(to);
    this.cache.set(to, { data: Buffer.from(source.data), metadata: { ...source.metadata }, lastModified: new Date() });
  }

  async forget(key: string): Promise<void> {
    this.cache.delete(key);
  }
}
