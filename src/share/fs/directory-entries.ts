// Whole directories' entries (name -> file id) held in memory, so that a
// LOOKUP, and a CREATE's check that its name is free, answer without a catalog
// read: a name missing from a directory held here is missing from the catalog.
// A directory is held only complete: loaded from the catalog in one pass, then
// kept in step by every change the node table commits. A load that a commit
// touching its directory overtakes is dropped (its pass may have missed the
// change), as is a directory that grows past the bound; the least recently used
// directories go first when all of them together hold too many names.

/** What `get` knows: the id, `null` when the name is not in the directory, undefined when the directory is not held. */
export type HeldEntry = number | null | undefined;

export class DirectoryEntries {
  /** By directory id, least recently used first. */
  private readonly held = new Map<number, Map<string, number>>();
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
    const entries = this.held.get(dir);
    if (!entries) return undefined;
    this.held.delete(dir);
    this.held.set(dir, entries);
    return entries.get(name) ?? null;
  }

  /** Loads a directory: `list` gives all its entries (or undefined past `perDirectory`); kept unless a commit overtook it. */
  async load(dir: number, list: (max: number) => Promise<Map<string, number> | undefined>): Promise<void> {
    if (this.held.has(dir) || this.loading.has(dir) || this.tooLarge.has(dir)) return;
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
    if (!entries.has(name)) this.names++;
    entries.set(name, id);
    if (entries.size > this.perDirectory) {
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
    if (entries?.delete(name)) this.names--;
  }

  /** A directory removed: its entries go. */
  removed(dir: number): void {
    this.drop(dir);
    this.tooLarge.delete(dir);
  }

  private drop(dir: number): void {
    const entries = this.held.get(dir);
    if (!entries) return;
    this.names -= entries.size;
    this.held.delete(dir);
  }

  clear(): void {
    this.held.clear();
    this.tooLarge.clear();
    this.names = 0;
    for (const state of this.loading.values()) state.overtaken = true;
  }

  private hold(dir: number, entries: Map<string, number>): void {
    this.drop(dir);
    this.held.set(dir, entries);
    this.names += entries.size;
    this.trim();
  }

  private trim(): void {
    for (const dir of this.held.keys()) {
      if (this.names <= this.limit || this.held.size <= 1) break;
      this.drop(dir);
    }
  }
}
