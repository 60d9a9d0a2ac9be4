// Cartridges on the real engine (LevelDB catalog, cache directory, s3rver over
// HTTP): sequential semantics, sync points, rewrites, and rebuilding from the
// bucket alone.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { EndOfPartitionError, MediumError, WormOverwriteError, type TapeObject } from '../../scsi/ssc/tape-medium.ts';
import { Cartridge, cartridgeKeys } from '../../src/tape/cartridge.ts';
import { decodeManifest, type Manifest } from '../../src/tape/manifest.ts';
import { openEngine, pattern, type OpenedEngine } from '../cache/helpers.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { flipBits } from '../helpers/bytes.ts';

const KiB = 1024;

function record(i: number, length = 10 * KiB): Buffer {
  return pattern(`record-${i}`, length);
}

async function readAll(cartridge: Cartridge): Promise<TapeObject[]> {
  const objects: TapeObject[] = [];
  for (;;) {
    const object = await cartridge.read();
    objects.push(object);
    if (object.kind === 'end-of-data') return objects;
  }
}

function shape(objects: TapeObject[]): string[] {
  return objects.map((o) => (o.kind === 'record' ? `r${o.data.length}` : o.kind === 'filemark' ? 'FM' : 'EOD'));
}

describe('@slow cartridges on the engine', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  let dir: string;
  let opened: OpenedEngine;

  beforeEach(async () => {
    s3 = await startS3();
    dir = await tempDir('cartridge-');
    opened = await openEngine(join(dir, 'gw1'), s3.settings);
  });
  afterEach(async () => {
    await opened.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  const create = (barcode = 'TEST01L5', extra: Partial<Parameters<typeof Cartridge.create>[1]> = {}) =>
    Cartridge.create(opened.store, { barcode, capacityBytes: 64 * 1024 * KiB, segmentBytes: 64 * KiB, ...extra });

  it('reads back records and filemarks in order, then end-of-data', async () => {
    const tape = await create();
    await tape.writeRecords([record(1), record(2)]);
    await tape.writeFilemarks(1);
    await tape.writeRecords([record(3, 100)]);
    await tape.writeFilemarks(2);
    await tape.rewind();
    const objects = await readAll(tape);
    assert.deepEqual(shape(objects), ['r10240', 'r10240', 'FM', 'r100', 'FM', 'FM', 'EOD']);
    assert.ok((objects[0] as { data: Buffer }).data.equals(record(1)));
    assert.ok((objects[3] as { data: Buffer }).data.equals(record(3, 100)));
    assert.equal((await tape.read()).kind, 'end-of-data', 'end-of-data does not move');
    assert.deepEqual(tape.location(), { objectNumber: 6, fileNumber: 3, recordInFile: 0, atBeginning: false, atEndOfData: true });
  });

  it("keeps what a record held when written, though the writer reuses the record's buffer at once (as the fabric does)", async () => {
    const tape = await create('TEST02L5', { segmentBytes: 64 * 1024 * KiB });
    const sizes = [256 * KiB, 100 * KiB, 256 * KiB, 5 * 1024 * KiB, 256 * KiB];
    const shared = Buffer.alloc(Math.max(...sizes));
    for (const [i, size] of sizes.entries()) {
      const data = shared.subarray(0, size);
      record(i, size).copy(data);
      await tape.writeRecords([data]);
      data.fill(0xee);
    }
    await tape.writeFilemarks(1);
    await tape.rewind();
    const objects = await readAll(tape);
    assert.deepEqual(shape(objects), [...sizes.map((n) => `r${n}`), 'FM', 'EOD']);
    sizes.forEach((size, i) =>
      assert.ok((objects[i] as { data: Buffer }).data.equals(record(i, size)), `record ${i} of ${size} bytes read back as written`),
    );
  });

  it('reads through buffers the engine reuses once a reader releases its records, and never under a record still held', async () => {
    const tape = await create('TEST04L5', { segmentBytes: 64 * 1024 * KiB });
    const records = Array.from({ length: 160 }, (_, i) => record(i, 256 * KiB));
    for (let i = 0; i < records.length; i += 16) await tape.writeRecords(records.slice(i, i + 16));
    await tape.writeFilemarks(1);
    await tape.rewind();
    const buffers = new Set<ArrayBufferLike>();
    const held = await tape.read();
    assert.ok(held.kind === 'record');
    for (let i = 1; i < records.length; i++) {
      const object = await tape.read();
      assert.ok(object.kind === 'record' && object.data.equals(records[i]!), `record ${i}`);
      buffers.add(object.data.buffer);
      object.release?.();
    }
    assert.equal((await tape.read()).kind, 'filemark');
    assert.ok(held.data.equals(records[0]!), 'the record held from the first piece kept its bytes through 40 MiB of reads');
    assert.ok(buffers.size <= 3, `40 MiB read through ${buffers.size} buffers: the engine's are reused`);
    held.release?.();
  });

  it("holds large records in the writer's buffers until their batch is written, and copies small ones", async () => {
    const tape = await create('TEST05L5', { segmentBytes: 64 * 1024 * KiB });
    let holds = 0;
    let released = 0;
    const hold = () => {
      holds++;
      return () => released++;
    };
    const large = Array.from({ length: 3 }, (_, i) => record(i, 256 * KiB));
    for (const r of large) await tape.writeRecords([r], hold);
    const small = record(9, 60 * KiB);
    await tape.writeRecords([small], hold);
    assert.equal(holds, 3, 'each large record is held, the small one copied');
    assert.equal(released, 0, 'nothing is released before its batch is written');
    await tape.writeFilemarks(1);
    await tape.flush();
    assert.equal(released, 3, 'every hold ends once the batch is written');
    await tape.rewind();
    const objects = await readAll(tape);
    [...large, small].forEach((r, i) => assert.ok((objects[i] as { data: Buffer }).data.equals(r), `record ${i}`));
  });

  it('goes on writing new segments while S3 is unreachable, as a backup must when the link is down', async () => {
    await create('TEST03L5');
    await opened.close();
    // The same cache, its cloud now unreachable: nothing listens on port 9.
    opened = await openEngine(join(dir, 'gw1'), { ...s3.settings, endpoint: 'http://127.0.0.1:9', retry: { maxAttempts: 1 } });
    const tape = await Cartridge.open(opened.store, 'TEST03L5');
    const records = Array.from({ length: 12 }, (_, i) => record(i, 20 * KiB));
    await tape.writeRecords(records);
    await tape.writeFilemarks(1);
    await tape.rewind();
    const objects = await readAll(tape);
    assert.deepEqual(shape(objects), [...records.map(() => 'r20480'), 'FM', 'EOD'], 'four segments of 64 KiB written and read back');
    records.forEach((r, i) => assert.ok((objects[i] as { data: Buffer }).data.equals(r), `record ${i}`));
  });

  it('a write in the middle ends the data there', async () => {
    const tape = await create();
    await tape.writeRecords(Array.from({ length: 20 }, (_, i) => record(i)));
    await tape.writeFilemarks(1);
    await tape.flush();
    await tape.locate(5);
    await tape.writeRecords([record(100, 300)]);
    await tape.rewind();
    assert.deepEqual(shape(await readAll(tape)), [...Array(5).fill('r10240'), 'r300', 'EOD']);
    assert.equal(tape.capacity().usedBytes, 5 * 10 * KiB + 300);
  });

  it('a sync point after a rewrite from the start does not wait for the old segments to be deleted, which follows', async () => {
    const tape = await create('TEST06L5');
    await tape.writeRecords(Array.from({ length: 20 }, (_, i) => record(i)));
    await tape.writeFilemarks(1);
    await tape.flush();
    const oldKeys = [1, 2, 3].map((seq) => cartridgeKeys('TEST06L5').data(seq));
    for (const key of oldKeys) assert.ok((await opened.store.size(key)) !== undefined, `${key} holds the first write`);
    // A stand-in for a slow delete (a busy disk or catalog): the engine's deletes wait until the test lets them go.
    let letGo = (): void => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const store = opened.store;
    const deleteLater = store.deleteMany.bind(store);
    store.deleteMany = async (keys: readonly string[]) => {
      await held;
      return deleteLater(keys);
    };
    await tape.rewind();
    await tape.writeRecords([record(100, 300)]);
    await tape.writeFilemarks(1);
    await tape.flush();
    assert.ok((await opened.store.size(oldKeys[1]!)) !== undefined, 'the sync point came back before any deletion');
    letGo();
    await tape.deleted();
    for (const key of oldKeys) assert.equal(await opened.store.size(key), undefined, `${key} deleted after it`);
    await tape.rewind();
    assert.deepEqual(shape(await readAll(tape)), ['r300', 'FM', 'EOD']);
  });

  it('segments a crash kept from being deleted are listed in the manifest, deleted by the next to open it, and then no longer listed', async () => {
    const tape = await create('TEST07L5');
    await tape.writeRecords(Array.from({ length: 20 }, (_, i) => record(i)));
    await tape.writeFilemarks(1);
    await tape.flush();
    const keys = cartridgeKeys('TEST07L5');
    const oldKeys = [1, 2, 3].flatMap((seq) => [keys.data(seq), keys.index(seq)]);
    for (const key of oldKeys) assert.ok((await opened.store.size(key)) !== undefined, `${key} holds the first write`);
    // A stand-in for the gateway dying before its deletions ran: the engine's deletes never start.
    const store = opened.store;
    const deleteNow = store.deleteMany.bind(store);
    store.deleteMany = () => new Promise<void>(() => undefined);
    await tape.rewind();
    await tape.writeRecords([record(100, 300)]);
    await tape.writeFilemarks(1);
    await tape.flush();
    assert.deepEqual((await newestManifest('TEST07L5')).garbage, [1, 2, 3]);
    store.deleteMany = deleteNow;

    const reopened = await Cartridge.open(opened.store, 'TEST07L5');
    await reopened.deleted();
    for (const key of oldKeys) assert.equal(await opened.store.size(key), undefined, `${key} deleted after the reopen`);
    assert.equal((await newestManifest('TEST07L5')).garbage, undefined, 'nothing left for the next open to redo');
    assert.deepEqual(shape(await readAll(reopened)), ['r300', 'FM', 'EOD']);
  });

  async function newestManifest(barcode: string): Promise<Manifest> {
    const manifests: Manifest[] = [];
    for (const key of cartridgeKeys(barcode).manifests) {
      const size = await opened.store.size(key);
      if (size !== undefined) manifests.push(decodeManifest(await opened.store.read(key, 0, size)));
    }
    return manifests.reduce((a, b) => (b.generation > a.generation ? b : a));
  }

  it('spaces over records and filemarks both ways, stopping where SSC says', async () => {
    const tape = await create();
    // objects: 0 r, 1 r, 2 FM, 3 r, 4 r, 5 r, 6 FM, 7 r
    await tape.writeRecords([record(0), record(1)]);
    await tape.writeFilemarks(1);
    await tape.writeRecords([record(3), record(4), record(5)]);
    await tape.writeFilemarks(1);
    await tape.writeRecords([record(7)]);
    await tape.rewind();
    assert.deepEqual(await tape.spaceRecords(5), { moved: 2, stoppedAt: 'filemark' });
    assert.equal(tape.location().objectNumber, 3, 'past the filemark going forward');
    assert.deepEqual(await tape.spaceRecords(2), { moved: 2 });
    assert.deepEqual(await tape.spaceRecords(-5), { moved: 2, stoppedAt: 'filemark' });
    assert.equal(tape.location().objectNumber, 2, 'before the filemark going back');
    assert.deepEqual(await tape.spaceFilemarks(2), { moved: 2 });
    assert.equal(tape.location().objectNumber, 7, 'past the second filemark');
    assert.deepEqual(await tape.spaceFilemarks(1), { moved: 0, stoppedAt: 'end-of-data' });
    assert.equal(tape.location().atEndOfData, true);
    assert.deepEqual(await tape.spaceFilemarks(-1), { moved: 1 });
    assert.equal(tape.location().objectNumber, 6, 'before the filemark going back');
    assert.deepEqual(await tape.spaceFilemarks(-3), { moved: 1, stoppedAt: 'beginning-of-partition' });
    assert.equal(tape.location().atBeginning, true);
    assert.deepEqual(await tape.spaceRecords(0), { moved: 0 });
    assert.deepEqual(await tape.locate(100), { moved: 0, stoppedAt: 'end-of-data' });
    assert.equal(tape.location().objectNumber, 8);
    await tape.locate(4);
    assert.deepEqual(tape.location(), { objectNumber: 4, fileNumber: 1, recordInFile: 1, atBeginning: false, atEndOfData: false });
    const next = await tape.read();
    assert.ok(next.kind === 'record' && next.data.equals(record(4)));
  });

  it('gives early warning before the end, then refuses what does not fit', async () => {
    const tape = await create('TEST02L5', { capacityBytes: 100 * KiB, earlyWarningBytes: 30 * KiB });
    const early: boolean[] = [];
    for (let i = 0; i < 8; i++) early.push((await tape.writeRecords([record(i)])).earlyWarning);
    // Early warning once no more than 30 KiB remain: from the seventh 10 KiB record on.
    assert.deepEqual(early, [false, false, false, false, false, false, true, true]);
    await tape.writeRecords([record(8)]);
    await assert.rejects(tape.writeRecords([record(9), record(10)]), (e: unknown) => e instanceof EndOfPartitionError && e.written === 1);
    assert.equal(tape.capacity().usedBytes, 100 * KiB);
  });

  it('keeps what a sync point made durable, and only that, when the gateway stops without one', async () => {
    const tape = await create();
    await tape.writeRecords(Array.from({ length: 12 }, (_, i) => record(i)));
    await tape.writeFilemarks(1);
    await tape.flush();
    await tape.writeRecords([record(50), record(51)]);
    // The process goes away: no flush of the cartridge; the engine closes as it would on shutdown.
    await opened.close();
    opened = await openEngine(join(dir, 'gw1'), s3.settings);
    const reopened = await Cartridge.open(opened.store, 'TEST01L5');
    assert.deepEqual(shape(await readAll(reopened)), [...Array(12).fill('r10240'), 'FM', 'EOD']);
  });

  it('a rewrite not yet synced leaves the last durable state whole', async () => {
    const tape = await create();
    await tape.writeRecords(Array.from({ length: 30 }, (_, i) => record(i)));
    await tape.flush();
    await tape.locate(3);
    await tape.writeRecords(Array.from({ length: 10 }, (_, i) => record(200 + i, 4 * KiB)));
    await opened.close();
    opened = await openEngine(join(dir, 'gw1'), s3.settings);
    const reopened = await Cartridge.open(opened.store, 'TEST01L5');
    const objects = await readAll(reopened);
    assert.equal(objects.length, 31);
    objects.slice(0, 30).forEach((o, i) => assert.ok(o.kind === 'record' && o.data.equals(record(i)), `record ${i} intact`));
  });

  it('is rebuilt from the bucket alone by a fresh gateway, identical', async () => {
    const tape = await create('TEST03L5');
    const written = Array.from({ length: 25 }, (_, i) => record(i, 7 * KiB + i));
    await tape.writeRecords(written.slice(0, 10));
    await tape.writeFilemarks(1);
    await tape.writeRecords(written.slice(10));
    await tape.writeFilemarks(1);
    await tape.flush();
    await opened.store.drain();
    const fresh = await openEngine(join(dir, 'gw2'), s3.settings);
    try {
      const rebuilt = await Cartridge.open(fresh.store, 'TEST03L5');
      const objects = await readAll(rebuilt);
      assert.deepEqual(shape(objects), [
        ...written.slice(0, 10).map((r) => `r${r.length}`),
        'FM',
        ...written.slice(10).map((r) => `r${r.length}`),
        'FM',
        'EOD',
      ]);
      const records = objects.filter((o): o is { kind: 'record'; data: Buffer } => o.kind === 'record');
      assert.deepEqual(
        records.map((o) => o.data),
        written,
      );
    } finally {
      await fresh.close();
    }
  });

  it('reports a record altered in the bucket as a medium error, never as data', async () => {
    const tape = await create('TEST04L5');
    await tape.writeRecords([record(1), record(2)]);
    await tape.flush();
    await opened.store.drain();
    const key = cartridgeKeys('TEST04L5').data(1);
    const forged = Buffer.concat([record(1), record(2)]);
    flipBits(forged, 5);
    await s3.raw.send(new PutObjectCommand({ Bucket: s3.settings.bucket, Key: key, Body: forged }));
    const fresh = await openEngine(join(dir, 'gw2'), s3.settings);
    try {
      const rebuilt = await Cartridge.open(fresh.store, 'TEST04L5');
      await assert.rejects(rebuilt.read(), MediumError);
    } finally {
      await fresh.close();
    }
  });

  it('a batch write that fails in the background is reported by a later command, not as an unhandled rejection', async () => {
    await create('FAIL01L5', { segmentBytes: 64 * 1024 * KiB });
    // Fault stand-in: the real engine, except that data writes fail as a full disk would.
    const failing = Object.create(opened.store) as typeof opened.store;
    failing.writev = async (key: string, offset: number, pieces: readonly Uint8Array[]) => {
      if (key.endsWith('.data')) throw new Error('ENOSPC: no space left on device');
      return opened.store.writev(key, offset, pieces);
    };
    failing.write = async (key: string, offset: number, data: Uint8Array) => {
      await failing.writev(key, offset, [data]);
    };
    const broken = await Cartridge.open(failing, 'FAIL01L5');
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const batch = Array.from({ length: 64 }, (_, i) => record(i, 64 * KiB));
      await broken.writeRecords(batch); // 4 MiB: the first batch goes to the engine in the background
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(broken.writeRecords(batch), /ENOSPC/);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('a WORM cartridge appends but never overwrites or erases', async () => {
    const tape = await create('WORM01LV', { worm: true });
    await tape.writeRecords([record(1), record(2)]);
    await tape.rewind();
    await assert.rejects(tape.writeRecords([record(3)]), WormOverwriteError);
    await assert.rejects(tape.erase(), WormOverwriteError);
    await tape.spaceToEndOfData();
    await tape.writeRecords([record(3)]);
    await tape.rewind();
    assert.deepEqual(shape(await readAll(tape)), ['r10240', 'r10240', 'r10240', 'EOD']);
  });
});
