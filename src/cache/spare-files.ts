// Empty files made ahead of need in a folder of the cache's own, so that a
// new extent's file is one of them renamed into place: here ext4 spends about
// 280 us of system time making an inode, and a rename costs 15. A share's
// small files each need one, on the path of the client's WRITE. Each is kept
// open, so that the WRITE need not open it. The one taken is made again on the
// event loop's thread (see take()).
import { closeSync, open, openSync } from 'node:fs';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import type { Logger } from '../log.ts';
import { ignoreMissing } from './file-io.ts';

/** Spare files kept ready. */
const SPARES = 64;
/** A raw descriptor, opened on libuv's pool: a FileHandle would close it when collected. */
const openDescriptor = promisify(open);

/** An empty file, open for reading and writing. */
export interface SpareFile {
  readonly path: string;
  readonly fd: number;
}

export class SpareFiles {
  private readonly ready: SpareFile[] = [];
  private made = 0;
  private refilling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly folder: string,
    private readonly log: Logger,
    private readonly inlineWrites: InlineWriteGate,
  ) {}

  /**
   * The spares of `folder`, which is emptied first: what a previous run left there is never wanted.
   * `inlineWrites` decides when one may be made on the event loop's thread.
   */
  static async open(folder: string, log: Logger, inlineWrites = new InlineWriteGate()): Promise<SpareFiles> {
    await mkdir(folder, { recursive: true });
    for (const name of await readdir(folder)) await unlink(`${folder}/${name}`).catch(ignoreMissing);
    const spares = new SpareFiles(folder, log, inlineWrites);
    spares.refill();
    return spares;
  }

  /**
   * An empty file that is now the caller's to rename and close, or undefined
   * when none is ready. Another is made from after the caller's turn of the
   * event loop (a reply it sends goes first), while the client has yet to send
   * its next request: on this thread when the gate allows, as an open that
   * makes a file in this folder costs tens of microseconds (36 p50 here).
   * Made through libuv's pool, its round trip
   * fell in that next request, a new file's COMMIT, whose flushes it slowed by
   * a third. The pool's refill makes it when the gate is shut.
   */
  take(): SpareFile | undefined {
    const spare = this.ready.pop();
    setImmediate(() => this.replace());
    return spare;
  }

  /** Makes one spare on this thread when the gate allows, else starts the pool's refill (which reports a failure). */
  private replace(): void {
    if (this.refilling || this.closed || this.ready.length >= SPARES) return;
    const path = `${this.folder}/${this.made}`;
    let fd: number | undefined;
    try {
      this.inlineWrites.tryWrite(() => (fd = openSync(path, 'wx+')));
    } catch {
      // The refill tries again, and reports what fails.
    }
    if (fd === undefined) return this.refill();
    this.made++;
    this.ready.push({ path, fd });
  }

  private refill(): void {
    if (this.refilling || this.closed || this.ready.length >= SPARES) return;
    this.refilling = (async () => {
      while (!this.closed && this.ready.length < SPARES) {
        const path = `${this.folder}/${this.made++}`;
        const fd = await openDescriptor(path, 'wx+');
        if (this.closed) closeSync(fd);
        else this.ready.push({ path, fd });
      }
    })()
      .catch((err: unknown) => {
        this.closed = true;
        this.log.warn({ err }, 'making a spare cache file failed; new extent files are made as needed until the next start');
      })
      .finally(() => (this.refilling = undefined));
  }

  /** Stops making spares, once the one under way is made, and closes those not taken. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
    for (const { fd } of this.ready.splice(0)) closeSync(fd);
  }
}
