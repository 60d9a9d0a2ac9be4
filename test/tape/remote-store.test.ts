// A cartridge's store across threads (src/tape/remote-store.ts) on the real
// engine: batches and read pieces cross in shared memory the drive's side lends,
// the engine reading into it, and the memory is used again once released.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import { Cartridge } from '../../src/tape/cartridge.ts';
import { RemoteCartridgeStore, serveCartridgeStore } from '../../src/tape/remote-store.ts';
import { Rpc } from '../../src/threads/rpc.ts';
import { MiB, openEngine, pattern, type OpenedEngine } from '../cache/helpers.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';

const KEY = 'tapes/REMOTE01/segments/00000000.data';

describe('@slow a cartridge store across threads, on the engine', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  let dir: string;
  let opened: OpenedEngine;
  let channel: MessageChannel;
  let remote: RemoteCartridgeStore;

  beforeEach(async () => {
    s3 = await startS3();
    dir = await tempDir('remote-store-');
    opened = await openEngine(join(dir, 'gw1'), s3.settings);
    channel = new MessageChannel();
    serveCartridgeStore(new Rpc(channel.port2), opened.store);
    remote = new RemoteCartridgeStore(new Rpc(channel.port1));
  });
  afterEach(async () => {
    channel.port1.close();
    await opened.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads pieces into the shared memory it lends, and lends the same memory again once a piece is released', async () => {
    const records = Array.from({ length: 16 }, (_, i) => pattern(`record-${i}`, 256 * 1024));
    const crcs = await remote.writev(KEY, 0, records, { fresh: true });
    assert.deepEqual(
      crcs,
      records.map((r) => crc32c(r) >>> 0),
    );
    const lengths = records.map((r) => r.length);
    const first = await remote.readv(KEY, 0, lengths);
    assert.ok(first.data.equals(Buffer.concat(records)), 'the piece reads back as written');
    assert.deepEqual(first.crcs, crcs);
    assert.ok(first.data.buffer instanceof SharedArrayBuffer, 'the engine read into memory shared with the drive, not a copy sent over');
    const memory = first.data.buffer;
    first.release();
    const second = await remote.readv(KEY, 0, lengths);
    assert.ok(second.data.buffer === memory, 'the released memory is lent again');
    assert.ok(second.data.equals(Buffer.concat(records)));
    // Memory still lent is not lent twice.
    const third = await remote.readv(KEY, 0, lengths);
    assert.ok(third.data.buffer !== memory);
    assert.ok(third.data.equals(Buffer.concat(records)));
    second.release();
    third.release();
  });

  it('serves a cartridge written and read in it, large records and small ones', async () => {
    const tape = await Cartridge.create(remote, { barcode: 'REMOTE01', capacityBytes: 256 * MiB, segmentBytes: 8 * MiB });
    const records = [
      ...Array.from({ length: 40 }, (_, i) => pattern(`large-${i}`, 1024 * 1024 - 7 * i)),
      ...Array.from({ length: 100 }, (_, i) => pattern(`small-${i}`, 1000 + i)),
    ];
    for (let i = 0; i < records.length; i += 10) await tape.writeRecords(records.slice(i, i + 10));
    await tape.writeFilemarks(1);
    await tape.rewind();
    for (const [i, expected] of records.entries()) {
      const read = await tape.read();
      assert.equal(read.kind, 'record', `record ${i}`);
      if (read.kind !== 'record') return;
      assert.ok(read.data.equals(expected), `record ${i} reads back as written`);
      read.release?.();
    }
    assert.equal((await tape.read()).kind, 'filemark');
  });
});
