// The spare files a new extent's file is renamed from: a spare taken is made again on the event loop's
// thread, before the client's next request (a COMMIT's flushes) needs libuv's pool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, open, openSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { SpareFiles } from '../../src/cache/spare-files.ts';
import { silentLogger } from '../../src/log.ts';
import { tempDir } from '../cloud/helpers.ts';

describe('spare files', () => {
  it('makes the spare taken again without libuv pool, from the next turn of the event loop', async () => {
    const dir = await tempDir('spares-');
    const folder = join(dir, 'spare');
    const spares = await SpareFiles.open(folder, silentLogger());
    const fifos: string[] = [];
    const blocked: Promise<number>[] = [];
    try {
      let made = 0;
      for (let i = 0; i < 500 && (made = readdirSync(folder).length) < 64; i++) await sleep(10);
      assert.equal(made, 64, 'the first spares are made');
      // Every thread of the pool waits in an open of a FIFO no one writes to: nothing through the pool ends meanwhile.
      const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
      for (let i = 0; i < threads; i++) {
        const fifo = join(dir, `fifo${i}`);
        execFileSync('mkfifo', [fifo]);
        fifos.push(fifo);
        blocked.push(new Promise((resolve, reject) => open(fifo, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
      }
      await sleep(50);
      const taken = spares.take();
      assert.ok(taken, 'a spare is ready');
      closeSync(taken.fd);
      await nextTurn();
      assert.equal(readdirSync(folder).length, 65, 'the one taken (still there) and 64 ready');
    } finally {
      // A writer's open lets each reader's end; the pool is free again.
      for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      for (const fd of await Promise.all(blocked)) closeSync(fd);
      await spares.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
