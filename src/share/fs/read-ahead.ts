// Sequential READs of a file: while one reply goes out, the range after it is
// read from the cache, so that the client's next READ finds it ready. An NFS
// client reading a file with one call at a time (libnfs's, a kernel's without
// its own read-ahead) otherwise waits for each range's disk read and checksum
// pass in turn. A range read ahead is used only by a READ of exactly that range
// while the file has not changed since (its generation); else it is given back.

/** A read's bytes; `release()` once done with them (their buffer may be reused). */
export interface HeldRead {
  readonly data: Buffer;
  readonly release: () => void;
}

interface Ahead {
  readonly offset: number;
  readonly length: number;
  readonly generation: number;
  readonly read: Promise<HeldRead>;
}

export class ReadAhead {
  /** By file id, the least recently read first: a read ahead, or where the last read ended. */
  private readonly files = new Map<number, { end: number; ahead?: Ahead }>();

  constructor(
    /** Files followed at once; past this the least recently read is dropped (and its range given back). */
    private readonly limit: number,
  ) {}

  /**
   * The range as read ahead, if it was and the file is still at `generation`;
   * else undefined. Either way the read is noted: whether it continues the last
   * one is what `sequential` tells next.
   */
  take(id: number, offset: number, length: number, generation: number): { read?: Promise<HeldRead>; sequential: boolean } {
    const known = this.files.get(id);
    this.files.delete(id);
    this.files.set(id, { end: offset + length });
    this.trim();
    if (!known) return { sequential: offset === 0 };
    const ahead = known.ahead;
    if (ahead && ahead.offset === offset && ahead.length === length && ahead.generation === generation)
      return { read: ahead.read, sequential: true };
    if (ahead) giveBack(ahead);
    return { sequential: known.end === offset };
  }

  /** Reads the range after the one just taken (take() must have come first). */
  start(id: number, offset: number, length: number, generation: number, read: () => Promise<HeldRead>): void {
    const known = this.files.get(id);
    if (!known) return;
    const started = read();
    started.catch(() => undefined); // a failed read ahead is only missed; a READ that takes it sees its error
    known.ahead = { offset, length, generation, read: started };
  }

  /** The file changed or went: what was read ahead of it is given back. */
  forget(id: number): void {
    const known = this.files.get(id);
    this.files.delete(id);
    if (known?.ahead) giveBack(known.ahead);
  }

  private trim(): void {
    for (const id of this.files.keys()) {
      if (this.files.size <= this.limit) break;
      this.forget(id);
    }
  }
}

function giveBack(ahead: Ahead): void {
  ahead.read.then(
    (read) => read.release(),
    () => undefined,
  );
}
