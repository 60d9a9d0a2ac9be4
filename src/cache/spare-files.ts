// Empty files made ahead of need in a folder of the cache's own, so that a
// new extent's file is one of them renamed into place: here ext4 spends about
// 280 us of system time making an inode, and a rename costs 15. A share's
// small files each need one, on the path of the client's WRITE.
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { ignoreMissing } from './file-io.ts';

/** Spare files kept ready. */
const SPARES = 64;

export class SpareFiles {
  private readonly ready: string[] = [];
  private made = 0;
  private refilling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly folder: string,
    private readonly log: Logger,
  ) {}

  /** The spares of `folder`, which is emptied first: what a previous run left there is never wanted. */
  static async open(folder: string, log: Logger): Promise<SpareFiles> {
    await mkdir(folder, { recursive: true });
    for (const name of await readdir(folder)) await unlink(`${folder}/${name}`).catch(ignoreMissing);
    const spares = new SpareFiles(folder, log);
    spares.refill();
    return spares;
  }

  /** The path of an empty file that is now the caller's to rename, or undefined when none is ready; more are made in the background. */
  take(): string | undefined {
    const path = this.ready.pop();
    this.refill();
    return path;
  }

  private refill(): void {
    if (this.refilling || this.closed || this.ready.length >= SPARES) return;
    this.refilling = (async () => {
      while (!this.closed && this.ready.length < SPARES) {
        const path = `${this.folder}/${this.made++}`;
        await (await open(path, 'wx')).close();
        this.ready.push(path);
      }
    })()
      .catch((err: unknown) => {
        this.closed = true;
        this.log.warn({ err }, 'making a spare cache file failed; new extent files are made as needed until the next start');
      })
      .finally(() => (this.refilling = undefined));
  }

  /** Stops making spares, once the one under way is made. */
  async close(): Promise<void> {
    this.closed = true;
    await this.refilling;
  }
}
