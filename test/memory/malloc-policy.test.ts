// The gateway's malloc policy (src/memory/malloc-policy.ts): large buffers freed go back to the system.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { holdMallocPolicy } from '../../src/memory/malloc-policy.ts';

const execFileAsync = promisify(execFile);
const script = new URL('./freed-buffers.ts', import.meta.url).pathname;

async function freedBuffers(args: string[]) {
  const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args]);
  return JSON.parse(stdout) as { held: boolean; before: number; peak: number; after: number };
}

describe('malloc policy', () => {
  it('returns 64 MiB of freed 1 MiB buffers to the system, even after a 16 MiB buffer was freed', async () => {
    const run = await freedBuffers(['hold']);
    assert.ok(run.peak - run.before >= 60, `the buffers made the process grow by ${run.peak - run.before} MiB`);
    assert.ok(run.peak - run.after >= 56, `freeing them gave back only ${(run.peak - run.after).toFixed(1)} MiB: ${JSON.stringify(run)}`);
    assert.equal(run.held, true);
  });

  it("leaves the threshold to glibc's own variable when the environment sets it", () => {
    assert.equal(holdMallocPolicy({ MALLOC_MMAP_THRESHOLD_: '65536' }), false);
  });
});
