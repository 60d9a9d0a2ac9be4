import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlockDevice } from '../../src/volume/file-block-device.ts';
import { InlineWriteGate } from '../../src/fileio/inline-write-gate.ts';
import { CountingPool } from '../helpers/counting-pool.ts';
import { occupyThreadPool } from '../helpers/thread-pool.ts';

/** Whether `promise` has settled once everything already queued on the event loop has run. */
async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('FileBlockDevice', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fbd-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a sparse file of the given size that reads as zeros', async () => {
    const path = join(dir, 'vol');
    const dev = await FileBlockDevice.open({ path, size: 64 * 1024 * 1024, blockSize: 4096 });
    try {
      assert.equal(dev.size, 64 * 1024 * 1024);
      assert.equal(dev.blockSize, 4096);
      const st = await stat(path);
      assert.equal(st.size, 64 * 1024 * 1024);
      assert.ok(st.blocks * 512 < 1024 * 1024, 'file should be sparse');
      assert.ok((await dev.read(32 * 1024 * 1024, 8192)).equals(Buffer.alloc(8192)));
      await dev.write(32 * 1024 * 1024 + 4096, Buffer.alloc(4096, 1));
      await dev.discard(0, dev.size);
      assert.ok((await stat(path)).blocks * 512 < 1024 * 1024, 'discarding a hole keeps it a hole');
      assert.ok((await dev.read(32 * 1024 * 1024, 16384)).equals(Buffer.alloc(16384)));
    } finally {
      await dev.close();
    }
  });

  it('many small reads in flight at once each get their own bytes, in buffers that do not overlap', async () => {
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 4 * 1024 * 1024, blockSize: 4096 });
    try {
      // More than a 1 MiB slab's worth of 4 KiB and odd-sized reads.
      const sizes = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 4096 : 512 * (1 + (i % 7))));
      await Promise.all(sizes.map((_, i) => dev.write(i * 8192, Buffer.alloc(8192, i & 0xff))));
      const reads = await Promise.all(sizes.map((size, i) => dev.read(i * 8192, size)));
      reads.forEach((buf, i) => assert.ok(buf.equals(Buffer.alloc(sizes[i]!, i & 0xff)), `read ${i}`));
      const mark = (i: number): number => (i * 7 + 1) & 0xff;
      reads.forEach((buf, i) => buf.fill(mark(i)));
      reads.forEach((buf, i) => assert.ok(buf.equals(Buffer.alloc(sizes[i]!, mark(i))), `filling another buffer changed read ${i}`));
      assert.ok((await dev.read(0, 4096)).equals(Buffer.alloc(4096, 0)), 'the file itself is unchanged');
    } finally {
      await dev.close();
    }
  });

  it('writes and reads back at offsets, and keeps data across reopen', async () => {
    const path = join(dir, 'vol');
    const dev = await FileBlockDevice.open({ path, size: 1024 * 1024 });
    const data = Buffer.alloc(3 * 512, 0xa5);
    await dev.write(512 * 7, data, { fua: true });
    await dev.flush();
    assert.ok((await dev.read(512 * 7, data.length)).equals(data));
    assert.ok((await dev.read(512 * 6, 512)).equals(Buffer.alloc(512)));
    await dev.close();

    const again = await FileBlockDevice.open({ path });
    try {
      assert.equal(again.size, 1024 * 1024);
      assert.ok((await again.read(512 * 7, data.length)).equals(data));
    } finally {
      await again.close();
    }
  });

  it('grows an existing file but refuses to shrink it or to open a ragged one', async () => {
    const path = join(dir, 'vol');
    await writeFile(path, Buffer.alloc(4096, 1));
    const grown = await FileBlockDevice.open({ path, size: 8192 });
    assert.equal(grown.size, 8192);
    assert.ok((await grown.read(0, 4096)).equals(Buffer.alloc(4096, 1)));
    await grown.close();
    await assert.rejects(FileBlockDevice.open({ path, size: 4096 }), RangeError);
    await writeFile(join(dir, 'ragged'), Buffer.alloc(1000));
    await assert.rejects(FileBlockDevice.open({ path: join(dir, 'ragged') }), RangeError);
    await assert.rejects(FileBlockDevice.open({ path: join(dir, 'missing') }), { code: 'ENOENT' });
    await assert.rejects(FileBlockDevice.open({ path: join(dir, 'bad'), size: 4096, blockSize: 1000 }), RangeError);
    await assert.rejects(FileBlockDevice.open({ path: join(dir, 'bad'), size: 4096, physicalBlockSize: 1536 }), RangeError);
    await assert.rejects(FileBlockDevice.open({ path: join(dir, 'bad'), size: 4096, blockSize: 4096, physicalBlockSize: 512 }), RangeError);
  });

  it('discard zeroes the range and provisioning reports it deallocated', async () => {
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 4 * 1024 * 1024 });
    try {
      await dev.write(0, Buffer.alloc(16 * 512, 0x41));
      await dev.discard(4 * 512, 2 * 512);
      const back = await dev.read(0, 16 * 512);
      assert.ok(back.subarray(0, 4 * 512).equals(Buffer.alloc(4 * 512, 0x41)));
      assert.ok(back.subarray(4 * 512, 6 * 512).equals(Buffer.alloc(2 * 512)));
      assert.ok(back.subarray(6 * 512).equals(Buffer.alloc(10 * 512, 0x41)));

      assert.deepEqual(await dev.provisioning(0, 20 * 512), [
        { offset: 0, length: 4 * 512, mapped: true },
        { offset: 4 * 512, length: 2 * 512, mapped: false },
        { offset: 6 * 512, length: 10 * 512, mapped: true },
        { offset: 16 * 512, length: 4 * 512, mapped: false },
      ]);
      // Never beyond the end of the device, and always at least one block.
      assert.deepEqual(await dev.provisioning(dev.size - 512, 1 << 20), [{ offset: dev.size - 512, length: 512, mapped: false }]);
      assert.deepEqual(await dev.provisioning(512, 0), [{ offset: 512, length: 512, mapped: true }]);
    } finally {
      await dev.close();
    }
  });

  it('a read-only device opens an existing file without creating or growing it', async () => {
    const path = join(dir, 'vol');
    await assert.rejects(FileBlockDevice.open({ path, size: 4096, readOnly: true }), { code: 'ENOENT' });
    await writeFile(path, Buffer.alloc(4096, 7));
    const dev = await FileBlockDevice.open({ path, readOnly: true });
    try {
      assert.equal(dev.readOnly, true);
      assert.ok((await dev.read(0, 4096)).equals(Buffer.alloc(4096, 7)));
    } finally {
      await dev.close();
    }
  });

  it('a FUA write that close() overtakes still completes, its flush included, and its data is there after reopening', async () => {
    const path = join(dir, 'fua');
    const dev = await FileBlockDevice.open({ path, size: 1024 * 1024 });
    const data = Buffer.alloc(64 * 1024, 0x3c);
    const writing = dev.write(4096, data, { fua: true });
    await Promise.all([writing, dev.close()]);
    const again = await FileBlockDevice.open({ path });
    try {
      assert.ok((await again.read(4096, data.length)).equals(data));
    } finally {
      await again.close();
    }
  });

  it('close waits for I/O in flight, later I/O fails with EBADF, and closing again resolves', async () => {
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 1024 * 1024 });
    const data = Buffer.alloc(64 * 1024, 0x5a);
    const writing = dev.write(0, data, { fua: true });
    const reading = dev.read(512 * 1024, 4096);
    const closing = dev.close();
    assert.equal(dev.close(), closing);
    await Promise.all([writing, reading, closing]);
    await assert.rejects(dev.read(0, 512), { code: 'EBADF' });
    await assert.rejects(dev.write(0, Buffer.alloc(512)), { code: 'EBADF' });
    await assert.rejects(dev.flush(), { code: 'EBADF' });
    await dev.close();
    const again = await FileBlockDevice.open({ path: join(dir, 'vol') });
    try {
      assert.ok((await again.read(0, data.length)).equals(data));
    } finally {
      await again.close();
    }
  });

  it('a small write of whole pages completes while the thread pool is busy; an unaligned, a large or a later write waits for the pool, and each lands where it was sent', async () => {
    // A real gate may be shut by a write that slept; this one never learns of a sleep.
    const inlineWrites = new InlineWriteGate(
      undefined,
      () => 0,
      () => 0,
    );
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 4 * 1024 * 1024, blockSize: 512, inlineWrites });
    const freePool = occupyThreadPool();
    try {
      const page = dev.write(8192, Buffer.alloc(8192, 1));
      assert.equal(await settledSoon(page), true, 'two whole pages are written on the event loop thread');
      const unaligned = dev.write(512, Buffer.alloc(512, 2));
      const large = dev.write(1 << 20, Buffer.alloc(256 * 1024, 3));
      // Behind a write still queued on the pool, even a whole page waits, so that it cannot overtake it.
      const behind = dev.write(0, Buffer.alloc(4096, 4));
      assert.deepEqual(await Promise.all([unaligned, large, behind].map(settledSoon)), [false, false, false]);
      await freePool();
      await Promise.all([page, unaligned, large, behind]);
      const expected = Buffer.alloc(2 * 1024 * 1024);
      expected.fill(4, 0, 4096);
      expected.fill(1, 8192, 16384);
      expected.fill(3, 1 << 20, (1 << 20) + 256 * 1024);
      expected.fill(2, 512, 1024); // last: it was sent before the write at 0 but covers part of it
      const back = await dev.read(0, expected.length);
      assert.ok(back.subarray(0, 512).equals(Buffer.alloc(512, 4)));
      assert.ok(back.subarray(1024).equals(expected.subarray(1024)));
    } finally {
      await freePool();
      await dev.close();
    }
  });

  it('while the gate is shut after a write slept, small writes wait for the thread pool', async () => {
    // Stand-ins for the kernel's count of this thread's sleeps and for the clock, which say that every write slept 5 ms.
    let sleeps = 0;
    let ms = 0;
    const gate = new InlineWriteGate(
      undefined,
      () => (ms += 5),
      () => sleeps++,
    );
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 1024 * 1024, inlineWrites: gate });
    const freePool = occupyThreadPool();
    try {
      const first = dev.write(0, Buffer.alloc(4096, 1));
      assert.equal(await settledSoon(first), true, 'the gate was open for the first');
      const second = dev.write(4096, Buffer.alloc(4096, 2));
      assert.equal(await settledSoon(second), false);
      await freePool();
      await second;
      assert.ok((await dev.read(0, 8192)).equals(Buffer.concat([Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)])));
    } finally {
      await freePool();
      await dev.close();
    }
  });

  it('lends large reads a buffer of its pool, given back once by release and at once when the read fails; small reads need no giving back', async () => {
    const pool = new CountingPool();
    const dev = await FileBlockDevice.open({ path: join(dir, 'vol'), size: 4 * 1024 * 1024, readBuffers: pool });
    const data = Buffer.alloc(1024 * 1024, 7);
    await dev.write(1024 * 1024, data);
    const first = await dev.readLent(1024 * 1024, data.length);
    assert.ok(first.data.equals(data));
    const second = await dev.readLent(0, data.length);
    assert.notEqual(second.data.buffer, first.data.buffer, 'a buffer still lent is not lent again');
    assert.equal(pool.out, 2);
    first.release();
    first.release();
    second.release();
    assert.equal(pool.out, 0, 'each buffer came back once');
    const third = await dev.readLent(1024 * 1024, data.length);
    assert.ok([first.data.buffer, second.data.buffer].includes(third.data.buffer), 'a buffer given back is reused');
    third.release();
    const small = await dev.readLent(1024 * 1024, 4096);
    assert.ok(small.data.equals(data.subarray(0, 4096)));
    assert.equal(pool.out, 0, 'a small read comes from the slab');
    await dev.close();
    await assert.rejects(dev.readLent(0, data.length), { code: 'EBADF' });
    assert.equal(pool.out, 0, 'a failed read gives its buffer back');
  });
});
