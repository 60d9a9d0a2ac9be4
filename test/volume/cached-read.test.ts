// Reads served from the page cache without blocking, the fast path of a block LUN's small reads.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCached } from '../../src/volume/cached-read.ts';

describe('readCached', () => {
  let dir: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cached-read-'));
    fd = openSync(join(dir, 'f'), 'w+');
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads bytes just written, which the page cache holds, at the position asked', () => {
    const data = Buffer.from(Array.from({ length: 3 * 4096 }, (_, i) => (i * 7) & 0xff));
    writeSync(fd, data, 0, data.length, 0);
    const buf = Buffer.alloc(4096 + 5);
    assert.equal(readCached(fd, buf, 4096 - 3), buf.length);
    assert.ok(buf.equals(data.subarray(4096 - 3, 2 * 4096 + 2)));
  });

  it('returns a short count at the end of the file, and -1 instead of throwing when the read cannot be done here', () => {
    writeSync(fd, Buffer.alloc(100, 1), 0, 100, 0);
    assert.equal(readCached(fd, Buffer.alloc(4096), 50), 50);
    assert.equal(readCached(-1, Buffer.alloc(16), 0), -1, 'a bad descriptor');
    assert.equal(readCached(0x7fff_fff0, Buffer.alloc(16), 0), -1);
  });

  it('refuses arguments of the wrong kind with a TypeError', () => {
    assert.throws(() => readCached(fd, 'text' as unknown as Buffer, 0), TypeError);
    assert.throws(() => readCached(fd, Buffer.alloc(1), -1), TypeError);
    assert.throws(() => (readCached as unknown as (...a: unknown[]) => number)(fd), TypeError);
  });
});
