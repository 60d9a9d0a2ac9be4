// The library inventory over a real LevelDB catalog, with a stand-in for the cartridge.
import assert from 'node:assert/strict';
import { Asc } from '../../scsi/sense.ts';
import { ElementType, MoveMediumError, type ElementStatus } from '../../scsi/smc/media-library.ts';
import { Cartridge } from '../../src/tape/cartridge.ts';
import type { CartridgeRecord } from '../../src/tape/library.ts';
import { DEFAULT_SHAPE, elementLayout, LibraryConfigError } from '../../src/tape/element-plan.ts';
import { libraryFixture, type LibraryFixture } from './library-helpers.ts';
import { refusal } from './refusal.ts';

// transport 1, drives 500-501, slots 1000-1003, I/E 2000-2001
const D1 = 500;
const S1 = 1000;
const S2 = 1001;
const S3 = 1002;
const IE1 = 2000;

function element(elements: readonly ElementStatus[], address: number): ElementStatus {
  const e = elements.find((x) => x.address === address);
  assert.ok(e, `element ${address}`);
  return e;
}

describe('tape library inventory', function () {
  let f: LibraryFixture;

  beforeEach(async function () {
    f = await libraryFixture();
  });

  afterEach(async function () {
    await f.close();
  });

  describe('element address plan', function () {
    it('follows the STK L-series plan, I/E slots after the storage slots', function () {
      assert.deepEqual(elementLayout(DEFAULT_SHAPE), {
        transport: { first: 1, count: 1 },
        dataTransfer: { first: 500, count: 10 },
        storage: { first: 1000, count: 1600 },
        importExport: { first: 3000, count: 1600 },
      });
      assert.deepEqual(f.library.layout().importExport, { first: 2000, count: 2 });
    });

    it('takes first addresses from configuration and refuses overlaps and overflows with what to change', function () {
      const novastor = elementLayout({
        ...DEFAULT_SHAPE,
        firstAddresses: { transport: 0, dataTransfer: 10000, storage: 20000, importExport: 30000 },
      });
      assert.deepEqual(novastor.storage, { first: 20000, count: 1600 });
      assert.throws(
        () => elementLayout({ ...DEFAULT_SHAPE, drives: 600 }),
        (err: Error) =>
          err instanceof LibraryConfigError &&
          err.message === 'the drives (500-1099) overlap the storage slots (1000-2599): give one of them another first address',
      );
      assert.throws(
        () => elementLayout({ ...DEFAULT_SHAPE, firstAddresses: { importExport: 65000 } }),
        (err: Error) => err instanceof LibraryConfigError && /do not fit element addresses 0-65535/.test(err.message),
      );
      assert.throws(
        () => elementLayout({ ...DEFAULT_SHAPE, storageSlots: 0 }),
        /storage slots must be a whole number of at least 1, not 0/,
      );
      assert.doesNotThrow(() => elementLayout({ ...DEFAULT_SHAPE, importExportSlots: 0 }));
    });
  });

  describe('elements', function () {
    it("lists every element in address order with the drives' identities", async function () {
      const all = f.library.elements();
      assert.deepEqual(
        all.map((e) => e.address),
        [1, 500, 501, 1000, 1001, 1002, 1003, 2000, 2001],
      );
      assert.deepEqual(
        all.map((e) => e.type),
        [1, 4, 4, 2, 2, 2, 2, 3, 3],
      );
      assert.deepEqual(element(all, 501).drive, { vendor: 'IBM', product: 'ULT3580-TD5', serial: '1013000002' });
      assert.ok(all.every((e) => !e.full && e.accessible));
    });
  });

  describe('moves', function () {
    beforeEach(async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.tape('ABC00002', 'slot');
    });

    it('persists each move before it resolves', async function () {
      await f.library.moveMedium(S1, S3);
      const stored = await f.catalog.section<CartridgeRecord>('library').get('ABC00001');
      assert.deepEqual(stored, { at: { kind: 'slot', index: 3 }, from: { kind: 'slot', index: 1 } });
      assert.deepEqual(f.library.locate('ABC00002'), { kind: 'slot', index: 2, address: S2 });
    });

    it('loads a cartridge moved into a drive and tells the drive; unloads it on the way out', async function () {
      const bay = f.library.bays[0]!;
      const loaded = (): string | undefined => bay.medium?.barcode;
      let changes = 0;
      bay.onMediumChanged(() => changes++);
      await f.library.moveMedium(S1, D1);
      assert.ok(bay.occupied);
      assert.equal(loaded(), 'ABC00001');
      assert.equal(changes, 1);
      await bay.unload();
      assert.ok(bay.occupied);
      assert.equal(loaded(), undefined);
      await bay.load();
      assert.equal(loaded(), 'ABC00001');
      await bay.medium!.writeRecords([Buffer.from('written before the move')]);
      await f.library.moveMedium(D1, IE1);
      assert.equal(changes, 2);
      assert.ok(!bay.occupied);
      assert.deepEqual(f.cartridges.log, ['open ABC00001', 'close ABC00001', 'open ABC00001', 'close ABC00001']);
      const again = await Cartridge.open(f.cartridges.store, 'ABC00001');
      const first = await again.read();
      assert.ok(first.kind === 'record' && first.data.equals(Buffer.from('written before the move')), 'unloading was a sync point');
      await assert.rejects(bay.load(), (err: Error & { sense?: { asc: number } }) => err.sense?.asc === Asc.MEDIUM_NOT_PRESENT);
    });

    it('refuses to take a cartridge from a drive an initiator prevents, until it allows', async function () {
      await f.library.moveMedium(S1, D1);
      f.library.bays[0]!.preventRemoval('nexus-1', true);
      await assert.rejects(
        f.library.moveMedium(D1, S3),
        (err: Error) => err instanceof MoveMediumError && err.reason === 'removal-prevented' && err.element === 'source',
      );
      assert.equal(element(f.library.elements(), D1).accessible, false);
      f.library.bays[0]!.preventRemoval('nexus-1', false);
      await f.library.moveMedium(D1, S3);
    });

    it('moves between drives, unloading one before loading the other', async function () {
      await f.library.moveMedium(S1, D1);
      await f.library.moveMedium(D1, D1 + 1);
      assert.deepEqual(f.cartridges.log, ['open ABC00001', 'close ABC00001', 'open ABC00001']);
      assert.equal(f.library.bays[1]!.medium?.barcode, 'ABC00001');
    });

    it('runs concurrent moves one at a time', async function () {
      const results = await Promise.allSettled([f.library.moveMedium(S1, S3), f.library.moveMedium(S2, S3)]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected'],
      );
      assert.equal((results[1] as PromiseRejectedResult).reason.reason, 'destination-full');
    });

    it('reports exports to the hook, after the move is durable', async function () {
      const exported: Promise<{ barcode: string; record: unknown }>[] = [];
      f.library.onExported((barcode) =>
        exported.push(
          f.catalog
            .section('library')
            .get(barcode)
            .then((record) => ({ barcode, record })),
        ),
      );
      await f.library.moveMedium(S2, IE1);
      assert.deepEqual(await Promise.all(exported), [
        { barcode: 'ABC00002', record: { at: { kind: 'import-export', index: 1 }, from: { kind: 'slot', index: 2 } } },
      ]);
    });
  });

  describe('operator actions', function () {
    it('insert into the first free import/export slot, flagged as imported, and tell the changer', async function () {
      const changes: boolean[] = [];
      f.library.onInventoryChanged((c) => changes.push(c.importExportOnly));
      assert.deepEqual(await f.tape('NEW00001'), { kind: 'import-export', index: 1, address: IE1 });
      await f.tape('NEW00002', { kind: 'slot', index: 4 });
      const ie = element(f.library.elements(), IE1);
      assert.deepEqual([ie.full, ie.barcode, ie.importedByOperator, ie.sourceAddress], [true, 'NEW00001', true, undefined]);
      await f.library.move('NEW00002', { kind: 'import-export', index: 2 });
      await f.library.remove('NEW00001');
      assert.deepEqual(changes, [true, false, false, true]);
      assert.equal(f.library.locate('NEW00001'), undefined);
    });

    it('refuses with messages that say what to do', async function () {
      assert.equal(
        await refusal(f.library.insert('bad'), 'INVALID_BARCODE'),
        'barcode "bad" has 3 characters, at least 5 are needed: e.g. type BAD00',
      );
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      assert.equal(
        await refusal(f.library.insert('ABC00001'), 'DUPLICATE_BARCODE'),
        'cartridge ABC00001 is already in storage slot 1: choose another barcode',
      );
      assert.equal(
        await refusal(f.library.insert('ABC00002', { kind: 'slot', index: 1 }), 'ELEMENT_FULL'),
        'storage slot 1 holds ABC00001: choose an empty one',
      );
      assert.equal(
        await refusal(f.library.insert('ABC00002', { kind: 'slot', index: 9 }), 'ELEMENT_NOT_FOUND'),
        'there is no storage slot 9: this library has 4 storage slots, 2 import/export slots and 2 drives; choose one of its storage or import/export slots',
      );
      await refusal(f.library.insert('ABC00002', { kind: 'drive', index: 1 }), 'ELEMENT_NOT_FOUND');
      await f.tape('IE000001');
      await f.tape('IE000002');
      assert.equal(
        await refusal(f.library.insert('IE000003'), 'NO_FREE_SLOT'),
        'every import/export slot is full: remove a cartridge from one, or insert into a storage slot',
      );
      await f.library.move('ABC00001', { kind: 'drive', index: 1 });
      assert.equal(
        await refusal(f.library.remove('ABC00001'), 'TAPE_IN_DRIVE'),
        'cartridge ABC00001 is in drive 1: move it to a slot first',
      );
      assert.equal(
        await refusal(f.library.remove('NOPE00001'), 'TAPE_NOT_FOUND'),
        'cartridge NOPE00001 is not in the library: check the barcode',
      );
      assert.equal(
        await refusal(f.library.move('IE000001', { kind: 'drive', index: 1 }), 'ELEMENT_FULL'),
        'cannot move IE000001 to drive 1: drive 1 holds ABC00001',
      );
    });
  });

  describe('persistence', function () {
    it('keeps every cartridge where it was across a restart, drives loaded again', async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.tape('ABC00002', { kind: 'slot', index: 2 });
      await f.tape('IMP00001');
      await f.library.moveMedium(S1, D1);
      await f.library.moveMedium(S2, S3);
      const before = f.library.elements();
      await f.reopen();
      assert.deepEqual(f.library.elements(), before);
      assert.equal(f.library.bays[0]!.medium?.barcode, 'ABC00001');
      assert.deepEqual([...f.cartridges.open.keys()], ['ABC00001']);
      assert.equal(element(f.library.elements(), S3).sourceAddress, S2);
    });

    it('keeps places when the addresses change, and says so when a place is gone', async function () {
      await f.tape('ABC00004', { kind: 'slot', index: 4 });
      await f.reopen({ firstAddresses: { storage: 4000 } });
      assert.deepEqual(f.library.locate('ABC00004'), { kind: 'slot', index: 4, address: 4003 });
      await assert.rejects(
        f.reopen({ storageSlots: 3 }),
        (err: Error) =>
          err instanceof LibraryConfigError &&
          err.message === 'cartridge ABC00004 is in storage slot 4, which this library no longer has: configure at least 4 storage slots',
      );
    });

    it('refuses a catalog record that is not a library record', async function () {
      await f.catalog.section('library').put('ABC00001', { at: { kind: 'shelf', index: 1 } });
      await assert.rejects(
        f.reopen(),
        (err: Error) => err instanceof LibraryConfigError && /record of cartridge ABC00001 is not a library record/.test(err.message),
      );
    });

    it('shows a drive whose cartridge fails to load at start-up as EXCEPT 53/00, and clears it on a good load', async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.library.moveMedium(S1, D1);
      f.cartridges.store.objects.clear(); // the cartridge's data is gone
      const logged: unknown[] = [];
      await f.reopen({ log: (message, fields) => logged.push({ message, barcode: fields.barcode }) });
      assert.deepEqual(logged, [{ message: 'cartridge in a drive failed to load at start-up', barcode: 'ABC00001' }]);
      const d1 = element(f.library.elements(), D1);
      assert.deepEqual([d1.full, d1.exception, d1.type], [true, Asc.MEDIUM_LOAD_OR_EJECT_FAILED, ElementType.DataTransfer]);
      assert.ok(f.library.bays[0]!.occupied);
      assert.equal(f.library.bays[0]!.medium, undefined);
      await f.cartridges.create('ABC00001');
      await f.library.bays[0]!.load();
      assert.equal(element(f.library.elements(), D1).exception, undefined);
    });
  });
});
