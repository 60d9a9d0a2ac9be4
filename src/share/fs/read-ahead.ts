// Sequential READs of a file: while one reply goes out, the next ranges (as
// long as the READ, up to `depth` of them) are read from the cache, so that the
// client's next READ finds its range ready. An NFS client reading a file with
// one call at a time (libnfs's, a kernel's without its own read-ahead)
// otherwise waits for each range's disk read and checksum pass in turn; with one
// range ahead it still waited whenever that pass took longer than the client's
// turn (a busy machine), most READs of a 512 MiB file by 0.2-0.7 ms. A range
// read ahead is used only by a READ of exactly that range while the file has not
// changed since (its generation); else it is given back, with those after it.
// The caller's read decides where the bytes are copied and checked: ShareFs
// has the engine do it on the event loop's thread, between a reply and the
// client's next call, as reading on libuv's pool (in batches of three ranges,
// to save round trips) left three threads busy on two cores with a client
// that checks each reply, and READs waited on the ones that lost their turn.

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
  /** By file id, the least recently read first: where the last read ended, and the ranges read ahead after it, in order. */
  private readonly files = new Map<number, { end: number; ahead: Ahead[] }>();

  constructor(
    /** Files followed at once; past this the least recently read is dropped (and its ranges given back). */
    private readonly limit: number,
    /** Ranges read ahead of a file at most. */
    private readonly depth: number,
  ) {}

  /**
   * The range as read ahead, if it was and the file is still at `generation`;
   * else undefined. Either way the read is noted: whether it continues the last
   * one is what `sequential` tells next.
   */
  take(id: number, offset: number, length: number, generation: number): { read?: Promise<HeldRead>; sequential: boolean } {
    const known = this.files.get(id);
    this.files.delete(id);
    const ahead = known?.ahead ?? [];
    this.files.set(id, { end: offset + length, ahead });
    this.trim();
    if (!known) return { sequential: offset === 0 };
    const first = ahead[0];
    if (first && first.offset === offset && first.length === length && first.generation === generation) {
      ahead.shift();
      return { read: first.read, sequential: true };
    }
    ahead.splice(0).forEach(giveBack);
    return { sequential: known.end === offset };
  }

  /**
   * Reads ranges of `length` after the one just taken (take() must have come
   * first), up to the depth and the file's `size`, each with `read`.
   */
  extend(id: number, length: number, size: number, generation: number, read: (offset: number, length: number) => Promise<HeldRead>): void {
    const known = this.files.get(id);
    if (!known) return;
    const last = known.ahead.at(-1);
    let next = last ? last.offset + last.length : known.end;
    while (known.ahead.length < this.depth && next < size) {
      const bytes = Math.min(length, size - next);
      const started = read(next, bytes);
      started.catch(() => undefined); // a failed read ahead is only missed; a READ that takes it sees its error
      known.ahead.push({ offset: next, length: bytes, generation, read: started });
      next += bytes;
    }
  }

  /** The file changed or went: what was read ahead of it is given back. */
  forget(id: number): void {
    const known = this.files.get(id);
    this.files.delete(id);
    known?.ahead.forEach(giveBack);
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
