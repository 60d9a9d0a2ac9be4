// Whole directories' entries (name -> file id) held in memory, so that a
// LOOKUP, and a CREATE's check that its name is free, answer without a catalog
// read: a name missing from a directory held here is missing from the catalog.
// A held directory's entries are also kept in id order, so that READDIR pages
// through them without a catalog read either (each read is a round trip
// through libuv's pool, and a READDIRPLUS reply of 8 KiB holds only ~56).
// A directory is held only complete: loaded from the catalog in one pass, then
// kept in step by every change the node table commits. A load that a commit
// touching its directory overtakes is dropped (its pass may have missed the
// change), as is a directory that grows past the bound; the least recently used
// directories go first when all of them together hold too many names.

/** What `get` knows: the id, `null` when the name is not in the directory, undefined when the directory is not held. */
export type HeldEntry = number | null | undefined;

/** One directory's entries: by name, and in id order (two arrays, index for index). */
interface Held {
  readonly byName: Map<string, number>;
  readonly ids: number[];
  readonly names: string[];
}

export class DirectoryEntries {
  /** By directory id, least recently used first. */
  private readonly held = new Map<number, Held>();
  private names = 0;
  /** Loads under way, by directory id: set to true once a commit has touched the directory meanwhile. */
  private readonly loading = new Map<number, { overtaken: boolean }>();
  /** Directories found too large to hold: not loaded again. */
  private readonly tooLarge = new Set<number>();

  constructor(
    /** Names held in all, past which whole directories are let go. */
    private readonly limit: number,
    /** A directory with more names than this is not held (its loads would cost more than they save). */
    private readonly perDirectory: number,
  ) {}

  get(dir: number, name: string): HeldEntry {
    const entries = this.used(dir);
    if (!entries) return undefined;
    return entries.byName.get(name) ?? null;
  }

  /** The entries after the id `after` in id order, at most `limit`; undefined when the directory is not held. */
  after(dir: number, after: number, limit: number): { id: number; name: string }[] | undefined {
    const entries = this.used(dir);
    if (!entries) return undefined;
    const found: { id: number; name: string }[] = [];
    const start = firstAbove(entries.ids, after);
    const end = Math.min(entries.ids.length, start + limit);
    for (let i = start; i < end; i++) found.push({ id: entries.ids[i]!, name: entries.names[i]! });
    return found;
  }

  /** Whether a load would be tried: the directory is not held, not being loaded and not known too large. */
  loadable(dir: number): boolean {
    return !this.held.has(dir) && !this.loading.has(dir) && !this.tooLarge.has(dir);
  }

  private used(dir: number): Held | undefined {
    const entries = this.held.get(dir);
    if (!entries) return undefined;
    this.held.delete(dir);
    this.held.set(dir, entries);
    return entries;
  }

  /** Loads a directory: `list` gives all its entries (or undefined past `perDirectory`); kept unless a commit overtook it. */
  async load(dir: number, list: (max: number) => Promise<Map<string, number> | undefined>): Promise<void> {
    if (!this.loadable(dir)) return;
    const state = { overtaken: false };
    this.loading.set(dir, state);
    try {
      const entries = await list(this.perDirectory);
      if (!entries) this.tooLarge.add(dir);
      else if (!state.overtaken) this.hold(dir, entries);
    } finally {
      this.loading.delete(dir);
    }
  }

  /** A directory known to be empty (just made). */
  holdEmpty(dir: number): void {
    if (!this.loading.has(dir)) this.hold(dir, new Map());
  }

  /** A committed change of a directory's entries. */
  linked(dir: number, name: string, id: number): void {
    const state = this.loading.get(dir);
    if (state) state.overtaken = true;
    const entries = this.held.get(dir);
    if (!entries) return;
    const old = entries.byName.get(name);
    if (old === undefined) this.names++;
    else unorder(entries, old);
    entries.byName.set(name, id);
    order(entries, id, name);
    if (entries.byName.size > this.perDirectory) {
      this.drop(dir);
      this.tooLarge.add(dir);
    } else {
      this.trim();
    }
  }

  unlinked(dir: number, name: string): void {
    const state = this.loading.get(dir);
    if (state) state.overtaken = true;
    const entries = this.held.get(dir);
    const id = entries?.byName.get(name);
    if (id === undefined) return;
    entries!.byName.delete(name);
    unorder(entries!, id);
    this.names--;
  }

  /** A directory removed: its entries go. */
  removed(dir: number): void {
    this.drop(dir);
    this.tooLarge.delete(dir);
  }

  private drop(dir: number): void {
    const entries = this.held.get(dir);
    if (!entries) return;
    this.names -= entries.byName.size;
    this.held.delete(dir);
  }

  clear(): void {
    this.held.clear();
    this.tooLarge.clear();
    this.names = 0;
    for (const state of this.loading.values()) state.overtaken = true;
  }

  private hold(dir: number, byName: Map<string, number>): void {
    this.drop(dir);
    const sorted = [...byName].sort((a, b) => a[1] - b[1]);
    this.held.set(dir, { byName, ids: sorted.map(([, id]) => id), names: sorted.map(([name]) => name) });
    this.names += byName.size;
    this.trim();
  }

  private trim(): void {
    for (const dir of this.held.keys()) {
      if (this.names <= this.limit || this.held.size <= 1) break;
      this.drop(dir);
    }
  }
}

/** The index of the first id above `id` in ascending `ids`. */
function firstAbove(ids: readonly number[], id: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ids[middle]! <= id) low = middle + 1;
    else high = middle;
  }
  return low;
}

function order(entries: Held, id: number, name: string): void {
  const at = firstAbove(entries.ids, id);
  entries.ids.splice(at, 0, id);
  entries.names.splice(at, 0, name);
}

function unorder(entries: Held, id: number): void {
  const at = firstAbove(entries.ids, id) - 1;
  if (entries.ids[at] !== id) return;
  entries.ids.splice(at, 1);
  entries.names.splice(at, 1);
}
