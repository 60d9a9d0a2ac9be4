// Which file system a folder is on, as util-linux's findmnt tells it, and whether a new file's flush
// makes its name durable there (ext4, XFS) or its folder needs a flush of its own (tmpfs).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileSystemType, namesDurableWithData } from '../../src/fileio/name-durability.ts';

const exec = promisify(execFile);

/** The type findmnt gives (once per mount where several are stacked there). */
async function findmnt(path: string): Promise<string> {
  return (await exec('findmnt', ['-n', '-o', 'FSTYPE', '--target', path])).stdout.split('\n')[0] ?? '';
}

describe('file systems that make a new name durable with its file', () => {
  it('tells the type of the file system a folder is on, as findmnt does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fstype-'));
    try {
      for (const path of [dir, '/dev/shm', '/proc']) assert.equal(await fileSystemType(path), await findmnt(path), path);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('counts on ext4 and XFS alone', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'fstype-'));
    try {
      const type = await findmnt(dir);
      assert.equal(await namesDurableWithData(dir), type === 'ext4' || type === 'xfs', type);
      if ((await findmnt('/dev/shm')) !== 'tmpfs') this.skip();
      assert.equal(await namesDurableWithData('/dev/shm'), false, 'tmpfs: the folder is flushed');
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
