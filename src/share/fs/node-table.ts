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
//   <sid>!applied           the last journal record the catalog holds
// Ids are written as 13 hexadecimal digits, so their order is numeric order.
//
// A commit goes to the journal (node-journal.ts) and to memory at once, and to
// the catalog in the background, in order, commits waiting then together in
// one batch: a reply need not wait for LevelDB. Reads of the catalog itself wait
// for the batches under way. Opening replays what a crash left in the journal.
import type { Section } from '../../catalog/catalog.ts';
import { DirectoryEntries } from './directory-entries.ts';
import { NodeJournal, type JournalOp, type JournalRecord } from './node-journal.ts';
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
  readonly ops: JournalOp[] = [];
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

/** The journal is emptied once the catalog holds all of it and it has grown past this. */
const JOURNAL_BOUND = 4 * 1024 * 1024;

export class NodeTable {
  private readonly prefix: string;
  private readonly cache = new Map<number, NodeRecord>();
  /** Records changed by changeLater() and not yet written. */
  private readonly unwritten = new Map<number, NodeRecord>();
  private nextId = ROOT_ID + 1;
  private static readonly CACHE_LIMIT = 100_000;
  /** Whole directories' names, for lookups that need no catalog read (a name not there included). */
  private readonly entries = new DirectoryEntries(100_000, 20_000);
  private journal!: NodeJournal;
  private lastSeq = 0;
  /** Journal records not yet in the catalog, in order. */
  private pending: JournalRecord[] = [];
  private applying: Promise<void> | undefined;
  /** A catalog write that failed: the table takes no more commits. */
  private failure: Error | undefined;

  constructor(
    private readonly section: Section<unknown>,
    shareId: number,
    private readonly journalPath: string,
  ) {
    this.prefix = `${hex(shareId)}!`;
  }

  /** Replays what a crash left in the journal (returns how many commits), loads the id counter; creates the root directory the first time. */
  async open(root: () => NodeRecord): Promise<number> {
    const { journal, records } = NodeJournal.open(this.journalPath);
    this.journal = journal;
    this.lastSeq = ((await this.section.get(`${this.prefix}applied`)) as number | undefined) ?? 0;
    const replay = this.replayable(records);
    // Synchronously written: the journal that held them is emptied next.
    if (replay.length > 0) await this.apply(replay, true);
    this.journal.empty();
    const next = (await this.section.get(`${this.prefix}next`)) as number | undefined;
    if (next !== undefined) this.nextId = next;
    else this.commit(this.changes().put(root()));
    return replay.length;
  }

  /**
   * The records after the last the catalog holds. They follow it without a gap unless a power loss kept
   * the journal's newer records and not the catalog's older writes: then the catalog's state, a whole
   * commit, stands, and the newer records (which need what is lost) are left out.
   */
  private replayable(records: readonly JournalRecord[]): JournalRecord[] {
    const after = records.filter((r) => r.seq > this.lastSeq);
    const contiguous = after.findIndex((r, i) => r.seq !== this.lastSeq + 1 + i);
    return contiguous === -1 ? after : after.slice(0, contiguous);
  }

  changes(): NodeChanges {
    return new NodeChanges(this.prefix);
  }

  newId(): number {
    return this.nextId++;
  }

  /** Commits the changes: in the journal (a crash keeps them) and in memory when this returns; in the catalog soon after. */
  commit(changes: NodeChanges): void {
    if (this.failure !== undefined) throw this.failure;
    const record = {
      seq: this.lastSeq + 1,
      ops: [...changes.ops, { type: 'put' as const, key: `${this.prefix}next`, value: this.nextId }],
    };
    this.journal.append(record);
    this.lastSeq = record.seq;
    this.pending.push(record);
    this.applying ??= this.applyPending();
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

  /** Writes the pending records to the catalog, those waiting together, until none waits. */
  private async applyPending(): Promise<void> {
    // From the next microtask: commits made in the same turn go in the same batch.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const records = this.pending;
        this.pending = [];
        await this.apply(records);
      }
      if (this.journal.size > JOURNAL_BOUND) this.journal.empty();
    } catch (error) {
      this.failure = error as Error;
    } finally {
      this.applying = undefined;
    }
  }

  /** One atomic catalog write of the records, with the number of the last. */
  private async apply(records: readonly JournalRecord[], sync = false): Promise<void> {
    const ops = records.flatMap((r) => r.ops);
    const last = records[records.length - 1]!.seq;
    // The sublevel passes classic-level's sync option on to the database; its type does not show it.
    await this.section.batch([...ops, { type: 'put', key: `${this.prefix}applied`, value: last }] as never, { sync } as never);
  }

  /**
   * Resolves once the catalog holds every commit made so far: before reading the catalog itself, and
   * before a sync of the catalog that must cover them (LevelDB's synchronous write makes every write
   * before it durable).
   */
  async landed(): Promise<void> {
    while (this.applying) await this.applying;
    if (this.failure !== undefined) throw this.failure;
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

  /** Writes the node's record if changeLater() left it unwritten (COMMIT); at once, so no other writer of the record comes between. */
  writeNow(id: number): void {
    const node = this.unwritten.get(id);
    if (node) this.commit(this.changes().put(node));
  }

  /** Writes every record changeLater() left unwritten (closing). */
  writeAll(): void {
    const changes = this.changes();
    for (const node of this.unwritten.values()) changes.put(node);
    if (changes.puts.size > 0) this.commit(changes);
  }

  /** Writes what waits in memory and in the journal to the catalog, and closes the journal. */
  async close(): Promise<void> {
    this.writeAll();
    await this.landed();
    this.journal.close();
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
    await this.landed();
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
    await this.landed();
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
    await this.landed();
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
    await this.landed();
    const ids: number[] = [];
    for await (const key of this.section.keys({ gt: base, lt: `${base}~` })) ids.push(parseInt(key.slice(base.length), 16));
    return ids;
  }

  /** Removes every record of the share and its journal (share deletion, after close()). */
  async clear(): Promise<void> {
    this.journal.remove();
    await this.section.clear({ gt: this.prefix, lt: `${this.prefix}~` });
    this.cache.clear();
    this.unwritten.clear();
    this.entries.clear();
  }
}

export function sameTime(a: Time, b: Time): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}
