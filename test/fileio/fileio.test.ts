// The native file I/O: reads served from the page cache without blocking (a block LUN's small reads), writeback started early (the cache's large writes),
// writes cut into small system calls (a volume chunk's file, kept in small page-cache folios), large reads and writes checksummed in the same work item.
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import {
  readCached,
  readChecksummed,
  startWriteback,
  threadSleeps,
  writeChecksummed,
  writeInPieces,
  writeInPiecesSync,
} from '../../src/fileio/fileio.ts';

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

  it('startWriteback returns at once, leaves the bytes as they are, and ignores a descriptor that is not a file', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    writeSync(fd, data, 0, data.length, 0);
    startWriteback(fd, 0, data.length);
    startWriteback(-1, 0, 4096);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const back = Buffer.alloc(data.length);
    assert.equal(readCached(fd, back, 0), data.length);
    assert.ok(back.equals(data));
    assert.throws(() => startWriteback(fd, -1, 1), TypeError);
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

  it('writeChecksummed writes the slices end to end and returns the CRC32C of each checked part, cut across pieces and blocks', async () => {
    const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff));
    const pieces = [bytes(5001, 1), new Uint8Array(0), bytes(300_003, 2), bytes(7, 3)];
    const whole = Buffer.concat(pieces);
    // Parts as a caller's checksum blocks cut them: odd offsets, the tail of one piece, the head of the next, a whole piece, nothing.
    const checked = [
      pieces[0]!.subarray(3, 4099),
      pieces[0]!.subarray(4099),
      pieces[2]!.subarray(0, 262_144 - 5001),
      pieces[2]!.subarray(262_144 - 5001),
      pieces[3]!,
      pieces[1]!,
    ];
    for (const piece of [4096, Infinity]) {
      ftruncateSync(fd, 0);
      const crcs = await writeChecksummed(fd, pieces, 4093, piece, checked);
      assert.deepEqual(
        crcs,
        checked.map((slice) => crc32c(slice)),
        `piece ${piece}: the CRCs of the bytes given`,
      );
      const file = readFileSync(join(dir, 'f'));
      assert.equal(file.length, 4093 + whole.length);
      assert.ok(file.subarray(4093).equals(whole), `piece ${piece}: the bytes written`);
    }
  });

  it("writeChecksummed writes more slices than one system call takes (a tape's small records), all in order", async () => {
    const records = Array.from({ length: 2500 }, (_, i) => Buffer.alloc(100 + (i % 7), i & 0xff));
    const crcs = await writeChecksummed(fd, records, 3, Infinity, records);
    assert.deepEqual(
      crcs,
      records.map((record) => crc32c(record)),
    );
    assert.ok(readFileSync(join(dir, 'f')).subarray(3).equals(Buffer.concat(records)));
  });

  it('readChecksummed reads at the position and returns the CRC32C of each checked part of what it read: a damaged block shows', async () => {
    const data = Buffer.from(Array.from({ length: 5 * 65_536 + 123 }, (_, i) => (i * 31 + (i >> 9)) & 0xff));
    writeSync(fd, data, 0, data.length, 0);
    const position = 65_536 - 17;
    const buffer = Buffer.alloc(3 * 65_536 + 40);
    const blocks = (into: Buffer) => [
      into.subarray(0, 17),
      into.subarray(17, 65_553),
      into.subarray(65_553, 131_089),
      into.subarray(131_089),
    ];
    const expected = blocks(data.subarray(position, position + buffer.length)).map((block) => crc32c(block));
    const read = await readChecksummed(fd, buffer, position, blocks(buffer));
    assert.equal(read.bytesRead, buffer.length);
    assert.ok(buffer.equals(data.subarray(position, position + buffer.length)), 'the bytes on disk');
    assert.deepEqual(read.crcs, expected);

    writeSync(fd, Buffer.from([data[position + 70_000]! ^ 0x10]), 0, 1, position + 70_000);
    const damaged = await readChecksummed(fd, buffer, position, blocks(buffer));
    assert.deepEqual(
      damaged.crcs.map((crc, i) => crc === expected[i]),
      [true, true, false, true],
      'only the block holding the flipped bit fails its CRC',
    );
  });

  it('readChecksummed reports a read cut short by the end of the file, and fails with the system error', async () => {
    writeSync(fd, Buffer.alloc(1000, 7), 0, 1000, 0);
    const buffer = Buffer.alloc(4096);
    assert.equal((await readChecksummed(fd, buffer, 600, [buffer])).bytesRead, 400);
    assert.equal((await readChecksummed(fd, buffer, 5000, [buffer])).bytesRead, 0);
    await assert.rejects(readChecksummed(-1, buffer, 0, [buffer]), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    await assert.rejects(writeChecksummed(-1, [buffer], 0, 4096, [buffer]), (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    assert.throws(() => readChecksummed(fd, buffer, 0, ['text'] as unknown as Uint8Array[]), TypeError);
    assert.throws(() => writeChecksummed(fd, [buffer], 0, 4096, 'text' as unknown as Uint8Array[]), TypeError);
    assert.throws(() => readChecksummed(fd, buffer, -1, [buffer]), TypeError);
  });

  it('threadSleeps counts a wait that puts this thread to sleep, and not work that keeps it running', () => {
    const before = threadSleeps();
    assert.ok(before >= 0, 'Linux reports the count');
    let x = 0;
    for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0;
    assert.equal(threadSleeps(), before, `computing (${x}) is not sleeping`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    assert.ok(threadSleeps() > before, 'a futex wait is');
  });
});
