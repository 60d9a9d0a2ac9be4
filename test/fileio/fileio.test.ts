// The native file I/O: reads served from the page cache without blocking (a block LUN's small reads), the cache's large writes checksummed and written in one job,
// writes cut into small system calls (a volume chunk's file, kept in small page-cache folios).
import assert from 'node:assert/strict';
import { closeSync, fdatasyncSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import {
  readCached,
  readChecksummed,
  readUncached,
  threadSleeps,
  writeInPieces,
  writeChecksummed,
  writeInPiecesSync,
} from '../../src/fileio/fileio.ts';
import { kernelAtLeast } from '../helpers/kernel.ts';

describe('native file I/O', () => {
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

  it('writeInPieces and writeInPiecesSync write slices end to end at the position, whatever the piece size cuts across', async () => {
    const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff));
    const slices = [bytes(5000, 1), new Uint8Array(0), bytes(16_384, 2), bytes(1, 3), bytes(70_000, 4)];
    const whole = Buffer.concat(slices);
    for (const [name, write] of [
      ['writeInPieces', writeInPieces],
      ['writeInPiecesSync', writeInPiecesSync],
    ] as const) {
      for (const piece of [1, 4096, 16_384, 1 << 20]) {
        ftruncateSync(fd, 0);
        await write(fd, slices, 777, piece);
        const file = readFileSync(join(dir, 'f'));
        assert.equal(file.length, 777 + whole.length, `${name}, piece ${piece}`);
        assert.ok(file.subarray(777).equals(whole), `${name}, piece ${piece}: the bytes as given`);
      }
      await write(fd, [], 0, 4096);
    }
  });

  it('writeInPieces and writeInPiecesSync fail with the system error, and refuse arguments of the wrong kind', async () => {
    await assert.rejects(writeInPieces(-1, [Buffer.alloc(8)], 0, 4096), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    assert.throws(
      () => writeInPiecesSync(-1, [Buffer.alloc(8)], 0, 4096),
      (error: NodeJS.ErrnoException) => error.code === 'EBADF',
    );
    for (const write of [writeInPieces, writeInPiecesSync]) {
      assert.throws(() => write(fd, ['text'] as unknown as Uint8Array[], 0, 4096), TypeError);
      assert.throws(() => write(fd, 'text' as unknown as Uint8Array[], 0, 4096), TypeError);
      assert.throws(() => write(fd, [Buffer.alloc(1)], -1, 4096), TypeError);
      assert.throws(() => write(fd, [Buffer.alloc(1)], 0, 0), TypeError);
    }
  });

  it('writeInPieces uncached writes the same bytes, which leave the page cache once on disk; readUncached reads them back', async function () {
    const data = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 7) & 0xff));
    await writeInPieces(fd, [data.subarray(0, 1 << 20), data.subarray(1 << 20)], 4096, Number.MAX_SAFE_INTEGER, true);
    fdatasyncSync(fd);
    assert.ok(readFileSync(join(dir, 'f')).subarray(4096).equals(data), 'the bytes as given');
    const back = Buffer.alloc(data.length + 4096);
    assert.equal(await readUncached(fd, back, 4096), data.length, 'a short count at the end of the file');
    assert.ok(back.subarray(0, data.length).equals(data));
    await assert.rejects(readUncached(-1, back, 0), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    assert.throws(() => readUncached(fd, 'text' as unknown as Uint8Array, 0), TypeError);
    assert.throws(() => readUncached(fd, back, -1), TypeError);
    await assert.rejects(async () => writeInPieces(fd, [data], 0, 4096, 'yes' as never), TypeError);
    // RWF_DONTCACHE came with Linux 6.14 (ext4's from 6.15); before, the writes are plain ones and the pages stay.
    if (!kernelAtLeast(6, 15)) return this.skip();
    ftruncateSync(fd, 0); // pages already cached stay so: write new ones
    await writeInPieces(fd, [data], 0, Number.MAX_SAFE_INTEGER, true);
    fdatasyncSync(fd);
    assert.equal(readCached(fd, Buffer.alloc(4096), 1 << 20), -1, 'the page cache no longer holds what was written');
  });

  it('readChecksummed reads the bytes at the position and the CRC32C of each slice of them, cached or not; a short read gives no CRCs', async () => {
    const data = Buffer.from(Array.from({ length: (2 << 20) + 100 }, (_, i) => (i * 13) & 0xff));
    writeSync(fd, data, 0, data.length, 0);
    for (const uncached of [false, true]) {
      const into = Buffer.alloc(2 << 20);
      const slices = [into.subarray(0, 4096), into.subarray(4096, 1 << 20), into.subarray(1 << 20)];
      const { bytes, crcs } = await readChecksummed(fd, into, 100, slices, uncached);
      assert.equal(bytes, into.length);
      assert.ok(into.equals(data.subarray(100)), 'the bytes from the position');
      assert.deepEqual(crcs, [
        crc32c(data.subarray(100, 4196)),
        crc32c(data.subarray(4196, (1 << 20) + 100)),
        crc32c(data.subarray((1 << 20) + 100)),
      ]);
    }
    const past = Buffer.alloc(4096);
    assert.deepEqual(await readChecksummed(fd, past, data.length - 10, [past]), { bytes: 10, crcs: [] }, 'the file ends 10 bytes in');
    await assert.rejects(readChecksummed(-1, past, 0, [past]), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    assert.throws(() => readChecksummed(fd, past, -1, [past]), TypeError);
    assert.throws(() => readChecksummed(fd, past, 0, ['text' as unknown as Uint8Array]), TypeError);
    assert.throws(() => readChecksummed(fd, 'text' as unknown as Uint8Array, 0, []), TypeError);
  });

  it('writeChecksummed writes slices end to end at the position, in pieces, and gives the CRC32C of each slice asked for', async () => {
    const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff));
    const slices = [bytes(5000, 1), new Uint8Array(0), bytes(1 << 20, 2), bytes(70_000, 3)];
    const whole = Buffer.concat(slices);
    const crcSlices = [slices[0]!.subarray(100), slices[2]!, slices[3]!.subarray(0, 1)];
    for (const [piece, uncached, writeback] of [
      [Number.MAX_SAFE_INTEGER, false, true],
      [16_384, false, false],
      [4096, true, true],
    ] as const) {
      ftruncateSync(fd, 0);
      const crcs = await writeChecksummed(fd, slices, 777, { piece, uncached, crcSlices, writeback });
      assert.deepEqual(
        crcs,
        crcSlices.map((slice) => crc32c(slice)),
        `piece ${piece}`,
      );
      const file = readFileSync(join(dir, 'f'));
      assert.equal(file.length, 777 + whole.length, `piece ${piece}`);
      assert.ok(file.subarray(777).equals(whole), `piece ${piece}: the bytes as given`);
    }
    const options = { piece: 4096, uncached: false, crcSlices: [], writeback: true };
    await assert.rejects(writeChecksummed(-1, [Buffer.alloc(8)], 0, options), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    assert.throws(() => writeChecksummed(fd, ['text'] as unknown as Uint8Array[], 0, options), TypeError);
    assert.throws(
      () => writeChecksummed(fd, [Buffer.alloc(1)], 0, { ...options, crcSlices: ['text'] as unknown as Uint8Array[] }),
      TypeError,
    );
    assert.throws(() => writeChecksummed(fd, [Buffer.alloc(1)], -1, options), TypeError);
    assert.throws(() => writeChecksummed(fd, [Buffer.alloc(1)], 0, { ...options, piece: 0 }), TypeError);
  });

  it('writeChecksummed holds on to the slices itself: the caller may empty its arrays, and the slices be collected, before it resolves', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Large enough that freeing it gives its pages back to the system at once; checksummed many times over, so that it is freed while the pool still reads it.
    const size = 40 * 1024 * 1024;
    for (let round = 0; round < 2; round++) {
      let data: Buffer | undefined = Buffer.alloc(size, 0x11 + round);
      const slices: Uint8Array[] = [data];
      const crcSlices: Uint8Array[] = Array.from({ length: 16 }, (_, i) => data!.subarray(i));
      const expected = crcSlices.map((slice) => crc32c(slice));
      const pending = writeChecksummed(fd, slices, 0, { piece: Number.MAX_SAFE_INTEGER, uncached: false, crcSlices, writeback: false });
      slices.length = 0;
      crcSlices.length = 0;
      data = undefined;
      gc();
      gc();
      const other = Buffer.alloc(size, 0xee); // would take the freed memory over
      assert.deepEqual(await pending, expected);
      assert.equal(other[0], 0xee);
      const written = readFileSync(join(dir, 'f'));
      assert.equal(written.length, size);
      assert.ok(written.every((byte) => byte === 0x11 + round));
    }
  });

  it('threadSleeps counts a wait that puts this thread to sleep, and not work that keeps it running', () => {
    const before = threadSleeps();
    assert.ok(before >= 0, 'Linux reports the count');
    // A computation can still sleep now and then, on the address space's lock while a V8 thread maps
    // memory (CI saw one): one of three left uncounted shows that being preempted is not counted.
    const computed: number[] = [];
    let x = 0;
    for (let attempt = 0; attempt < 3 && !computed.includes(0); attempt++) {
      const start = threadSleeps();
      for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0;
      computed.push(threadSleeps() - start);
    }
    assert.ok(computed.includes(0), `computing (${x}) is not sleeping: ${computed.join(', ')} sleeps in turn`);
    const idle = threadSleeps();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    assert.ok(threadSleeps() > idle, 'a futex wait is');
  });
});
