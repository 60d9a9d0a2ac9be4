// A share's objects on the cache engine: its namespace "shares/NAME/" (which
// the gateway routes to the share's own bucket and prefix), with the share's
// keys relative to it. What the share asks beyond the engine's calls: reads
// that stop at the end of the object, and truncation that also grows (the gap
// reads as zeros).
import type { ExtentStore } from '../cache/extent-store.ts';
import type { DrainOptions, ListedEntry, ObjectHead, ReadOptions, ShareObjects } from './fs/share-objects.ts';

export function shareNamespace(name: string): string {
  return `shares/${name}/`;
}

export class EngineShareObjects implements ShareObjects {
  constructor(
    private readonly store: ExtentStore,
    /** "shares/NAME/" */
    private readonly namespace: string,
  ) {}

  private key(key: string): string {
    return this.namespace + key;
  }

  async write(key: string, offset: number, data: Buffer, options: { readonly fresh?: boolean } = {}): Promise<void> {
    await this.store.write(this.key(key), offset, data, options.fresh ? { fresh: true } : {});
  }

  async read(
    key: string,
    offset: number,
    length: number,
    options: ReadOptions = {},
  ): Promise<{ readonly data: Buffer; readonly release: () => void }> {
    const size = (await this.store.size(this.key(key))) ?? 0;
    const available = Math.max(0, Math.min(length, size - offset));
    // readv(): a large read's buffer comes from the engine's pool and goes back to it, not to the garbage collector.
    return available === 0
      ? { data: Buffer.alloc(0), release: () => undefined }
      : this.store.readv(this.key(key), offset, [available], undefined, undefined, options);
  }

  size(key: string): Promise<number | undefined> {
    return this.store.size(this.key(key));
  }

  async truncate(key: string, size: number): Promise<void> {
    const current = (await this.store.size(this.key(key))) ?? 0;
    if (size < current) await this.store.truncate(this.key(key), size);
    else if (size > current) await this.store.write(this.key(key), size - 1, Buffer.alloc(1));
  }

  delete(key: string): Promise<void> {
    return this.store.delete(this.key(key));
  }

  sync(keys: readonly string[]): Promise<void> {
    return this.store.sync(keys.map((key) => this.key(key)));
  }

  drain(keys: readonly string[], options: DrainOptions = {}): Promise<void> {
    return this.store.drain(
      keys.map((key) => this.key(key)),
      options,
    );
  }

  async *list(prefix: string, options: { readonly delimiter?: string }): AsyncIterable<ListedEntry> {
    const cut = this.namespace.length;
    for await (const entry of this.store.list(this.key(prefix), options.delimiter ? { delimiter: options.delimiter } : {})) {
      if (entry.kind === 'prefix') yield { kind: 'prefix', prefix: entry.prefix.slice(cut) };
      else
        yield {
          kind: 'object',
          key: entry.key.slice(cut),
          size: entry.size,
          ...(entry.cloudModified ? { modified: entry.cloudModified } : {}),
        };
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const head = await this.store.head(this.key(key));
    if (!head) return undefined;
    return { size: head.size, metadata: head.metadata, ...(head.cloudModified ? { modified: head.cloudModified } : {}) };
  }

  setMetadata(key: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.store.setMetadata(this.key(key), metadata);
  }

  copy(from: string, to: string): Promise<void> {
    return this.store.copy(this.key(from), this.key(to));
  }

  noteRequest(): void {
    this.store.noteForeground();
  }

  forget(key: string): Promise<void> {
    return this.store.evict(this.key(key));
  }
}
