// Holds every thread of libuv's pool busy until released, without timing:
// each thread blocks reading one byte from a FIFO that nobody has written to.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, read, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The pool's size as libuv reads it at start-up. */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/** Occupies the pool; the returned function frees it (once, however often it is called) and resolves once every blocked read has returned. */
export function occupyThreadPool(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pool-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // Opened for reading and writing, so that opening does not wait for a writer.
  const fd = openSync(fifo, 'r+');
  const reads = Array.from(
    { length: POOL_THREADS },
    () => new Promise<void>((resolve, reject) => read(fd, Buffer.alloc(1), 0, 1, null, (err) => (err ? reject(err) : resolve()))),
  );
  let freed: Promise<void> | undefined;
  return () =>
    (freed ??= (async () => {
      writeSync(fd, Buffer.alloc(POOL_THREADS));
      await Promise.all(reads);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    })());
}
