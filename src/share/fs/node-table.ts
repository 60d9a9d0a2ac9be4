// The share's namespace as the gateway knows it, in the catalog's `shares`
// section: one record per file, directory and symbolic link, named by a file id
// that never changes (renames included) and is never reused, so that NFS file
// handles built from it survive renames and restarts. Per share, keys are
//   <sid>!n!<id>            the node
//   <sid>!e!<parent>!<name> the child's id, by name (LOOKUP)
//   <sid>!o!<parent>!<id>   the child's name and type, by id (READDIR: cookies are ids,
//                           so a listing resumes where it stopped whatever was removed)
//   <sid>!d!<id>            the node has changes not yet in the bucket
//   <sid>!next              the next id to give
// Ids are written as 13 hexadecimal digits, so their order is numeric order.
import type { Section } from '../../catalog/catalog.ts';
import { DirectoryEntries } from './directory-entries.ts';
import type { NodeType, PosixAttributes, Time } from './attributes.ts';

export const ROOT_ID = 1;

export interface NodeRecord extends PosixAttributes {
  readonly id: number;
  readonly parent: number;
  readonly name: string;
  readonly type: NodeType;
  readonly size: number;
  /** Where the object's bytes are now: its path, or its old one until a rename's move reaches it. "dir/" for directories, "" for the root. */
  readonly key: string;
  readonly target?: string;
  /** The attributes are known (written here, or read from the object's metadata), not defaults from a listing. */
  readonly headed: boolean;
  /** Changed here and not yet uploaded. */
  readonly dirty?: boolean;
  /** The object as the bucket last showed it; undefined for one never uploaded. */
  readonly remote?: { readonly size: number; /** ms since the epoch */ readonly modified?: number };
  /** Directories: when the bucket was last listed for it (ms since the epoch). */
  readonly listedAt?: number;
  /** The verifier of an EXCLUSIVE create, until the first SETATTR. */
  readonly createVerifier?: string;
}

export interface ChildRef {
  readonly id: number;
  readonly name: string;
  readonly type: NodeType;
}

const hex = (id: number) => id.toString(16).padStart(13, '0');

/** Changes made together, in one atomic catalog write. */
export class NodeChanges {
  readonly ops: { type: 'put' | 'del'; key: string; value?: unknown }[] = [];
  readonly puts = new Map<number, NodeRecord>();
  readonly deletes = new Set<number>();
  /** The changes of directories' entries, in order. */
  readonly entries: { readonly parent: number; readonly name: string; readonly id?: number }[] = [];

  constructor(private readonly prefix: string) {}

  put(node: NodeRecord): this {
    this.ops.push({ type: 'put', key: `${this.prefix}n!${hex(node.id)}`, value: node });
    this.puts.set(node.id, node);
    this.deletes.delete(node.id);
    if (node.dirty) this.ops.push({ type: 'put', key: `${this.prefix}d!${hex(node.id)}`, value: 1 });
    else this.ops.push({ type: 'del', key: `${this.prefix}d!${hex(node.id)}` });
    return this;
  }

  remove(id: number): this {
    this.ops.push({ type: 'del', key: `${this.prefix}n!${hex(id)}` }, { type: 'del', key: `${this.prefix}d!${hex(id)}` });
    this.deletes.add(id);
    this.puts.delete(id);
    return this;
  }

  link(parent: number, name: string, id: number, type: NodeType): this {
    this.ops.push(
      { type: 'put', key: `${this.prefix}e!${hex(parent)}!${name}`, value: id },
      { type: 'put', key: `${this.prefix}o!${hex(parent)}!${hex(id)}`, value: [name, type] },
    );
    this.entries.push({ parent, name, id });
    return this;
  }

  unlink(parent: number, name: string, id: number): this {
    this.ops.push(
      { type: 'del', key: `${this.prefix}e!${hex(parent)}!${name}` },
      { type: 'del', key: `${this.prefix}o!${hex(parent)}!${hex(id)}` },
    );
    this.entries.push({ parent, name });
    return this;
  }
}

export class NodeTable {
  private readonly prefix: string;
  private readonly cache = new Map<number, NodeRecord>();
  /** Records changed by changeLater() and not yet written. */
  private readonly unwritten = new Map<number, NodeRecord>();
  private nextId = ROOT_ID + 1;
  private static readonly CACHE_LIMIT = 100_000;
  /** Whole directories' names, for lookups that need no catalog read (a name not there included). */
  private readonly entries = new DirectoryEntries(100_000, 20_000);

  constructor(
    private readonly section: Section<unknown>,
    shareId: number,
  ) {
    this.prefix = `${hex(shareId)}!`;
  }

  /** Loads the id counter; creates the root directory the first time. */
  async open(root: () => NodeRecord): Promise<void> {
    const next = (await this.section.get(`${this.prefix}next`)) as number | undefined;
    if (next !== undefined) {
      this.nextId = next;
      return;
    }
    await this.commit(this.changes().put(root()));
  }

  changes(): NodeChanges {
    return new NodeChanges(this.prefix);
  }

  newId(): number {
    return this.nextId++;
  }

  async commit(changes: NodeChanges): Promise<void> {
    await this.section.batch([...changes.ops, { type: 'put', key: `${this.prefix}next`, value: this.nextId }] as never);
    for (const [id, node] of changes.puts) {
      this.remember(id, node);
      this.unwritten.delete(id);
    }
    for (const id of changes.deletes) {
      this.cache.delete(id);
      this.unwritten.delete(id);
    }
    for (const { parent, name, id } of changes.entries) {
      if (id === undefined) this.entries.unlinked(parent, name);
      else this.entries.linked(parent, name, id);
    }
    for (const id of changes.deletes) this.entries.removed(id);
  }

  /**
   * Changes a node's record in memory only: it is written by the node's next
   * commit, by writeNow() or by writeAll(). For changes a crash may lose: an
   * UNSTABLE WRITE's new size and times (a restart takes a changed file's size
   * from the engine, which keeps what was made durable). The caller holds the
   * node's lock, as every writer of a node's record does, so that no older
   * record is written after it.
   */
  changeLater(node: NodeRecord): void {
    this.unwritten.set(node.id, node);
    this.remember(node.id, node);
  }

  /** Writes the node's record if changeLater() left it unwritten (COMMIT). The caller holds the node's lock. */
  async writeNow(id: number): Promise<void> {
    const node = this.unwritten.get(id);
    if (node) await this.commit(this.changes().put(node));
  }

  /** Writes every record changeLater() left unwritten (closing). */
  async writeAll(): Promise<void> {
    const changes = this.changes();
    for (const node of this.unwritten.values()) changes.put(node);
    if (changes.puts.size > 0) await this.commit(changes);
  }

  /** A directory just made, with no entries yet: its lookups need no catalog read. */
  madeDirectory(id: number): void {
    this.entries.holdEmpty(id);
  }

  private remember(id: number, node: NodeRecord): void {
    this.cache.delete(id);
    this.cache.set(id, node);
    if (this.cache.size > NodeTable.CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The node if it is in memory: no catalog read, and no promise to wait for (READDIRPLUS asks for ~56 a reply). */
  cached(id: number): NodeRecord | undefined {
    const cached = this.cache.get(id) ?? this.unwritten.get(id);
    if (cached) this.remember(id, cached);
    return cached;
  }

  async get(id: number): Promise<NodeRecord | undefined> {
    const cached = this.cached(id);
    if (cached) return cached;
    const node = (await this.section.get(`${this.prefix}n!${hex(id)}`)) as NodeRecord | undefined;
    if (node) this.remember(id, node);
    return node;
  }

  async childId(parent: number, name: string): Promise<number | undefined> {
    let held = this.entries.get(parent, name);
    if (held === undefined) {
      await this.entries.load(parent, (max) => this.allEntries(parent, max));
      held = this.entries.get(parent, name);
    }
    if (held !== undefined) return held ?? undefined;
    return (await this.section.get(`${this.prefix}e!${hex(parent)}!${name}`)) as number | undefined;
  }

  /** A directory's entries, name -> id; undefined when it has more than `max`. */
  private async allEntries(parent: number, max: number): Promise<Map<string, number> | undefined> {
    const entries = new Map<string, number>();
    for (const child of await this.children(parent, 0, max + 1)) entries.set(child.name, child.id);
    return entries.size > max ? undefined : entries;
  }

  /**
   * A directory's entries for READDIR: in id order, after the id `after` (0: from the start), at most `limit`.
   * From the directory's names held in memory, loaded at the first listing (unless it is too large to hold).
   */
  async entriesAfter(parent: number, after: number, limit: number): Promise<readonly { id: number; name: string }[]> {
    if (this.entries.loadable(parent)) await this.entries.load(parent, (max) => this.allEntries(parent, max));
    return this.entries.after(parent, after, limit) ?? (await this.children(parent, after, limit));
  }

  /** Children in id order, after the id `after` (0: from the start), at most `limit`. */
  async children(parent: number, after: number, limit: number): Promise<ChildRef[]> {
    const base = `${this.prefix}o!${hex(parent)}!`;
    // all(): the entries in one batch from LevelDB, not one promise each (a READDIRPLUS reply holds about 60).
    const found = await this.section.iterator({ gt: `${base}${hex(after)}`, lt: `${base}~`, limit }).all();
    return found.map(([key, value]) => {
      const [name, type] = value as [string, NodeType];
      return { id: parseInt(key.slice(base.length), 16), name, type };
    });
  }

  async hasChildren(parent: number): Promise<boolean> {
    return (await this.children(parent, 0, 1)).length > 0;
  }

  /** Every node with changes not yet in the bucket. */
  async dirtyIds(): Promise<number[]> {
    const base = `${this.prefix}d!`;
    const ids: number[] = [];
    for await (const key of this.section.keys({ gt: base, lt: `${base}~` })) ids.push(parseInt(key.slice(base.length), 16));
    return ids;
  }

  /** Removes every record of the share (share deletion). */
  async clear(): Promise<void> {
    await this.section.clear({ gt: this.prefix, lt: `${this.prefix}~` });
    this.cache.clear();
    this.unwritten.clear();
    this.entries.clear();
  }
}

export function sameTime(a: Time, b: Time): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}
