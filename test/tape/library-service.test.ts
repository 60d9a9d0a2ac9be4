// The operator's library service over a real LevelDB catalog, the real
// library, the real cartridges (on an in-memory stand-in of the cache engine)
// and the real pool catalog: pools, retention locks, RETRIEVED tapes, WORM.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScsiLogicalUnit } from '../../scsi/logical-unit.ts';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type ScsiResponse } from '../../scsi/types.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { Library } from '../../src/tape/library.ts';
import { LibraryService } from '../../src/tape/library-service.ts';
import { TapeCatalog } from '../../src/tape/tape-catalog.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';
import { senseKeyAsc } from '../helpers/sense.ts';
import { libraryServiceOn } from './library-helpers.ts';
import { refusal } from './refusal.ts';

const MiB = 2 ** 20;
const DAY = 86_400_000;
const SIZE = 64 * MiB;

interface Fixture {
  service: LibraryService;
  library: Library;
  tapes: TapeCatalog;
  store: MemoryCartridgeStore;
  close(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'library-service-'));
  const catalog = await Catalog.open(join(dir, 'catalog'));
  const store = new MemoryCartridgeStore();
  const { service, library, tapes } = await libraryServiceOn(catalog, store, { storageSlots: 6, importExportSlots: 2 });
  return {
    service,
    library,
    tapes,
    store,
    async close() {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('library service: pools, retention, WORM', function () {
  let f: Fixture;

  beforeEach(async function () {
    f = await fixture();
  });
  afterEach(async function () {
    await f.close();
  });

  /** Makes the cartridge as old as `days`, as if created then. */
  async function age(barcode: string, days: number): Promise<void> {
    const record = (await f.tapes.get(barcode))!;
    await f.tapes.put({ ...record, createdAt: new Date(Date.now() - days * DAY).toISOString() });
  }

  describe('pools', function () {
    it('creates, lists, describes and deletes pools', async function () {
      const created = await f.service.createPool({
        name: 'finance-7y',
        destination: { kind: 'vault', vault: 'finance' },
        retention: { mode: 'COMPLIANCE', days: 2555 },
      });
      assert.equal(created.builtIn, false);
      assert.deepEqual(
        (await f.service.listPools()).map((p) => p.name),
        ['GLACIER', 'DEEP_ARCHIVE', 'finance-7y'],
      );
      assert.deepEqual(await f.service.describePool('finance-7y'), created);
      assert.equal((await f.service.describePool('GLACIER')).builtIn, true);
      await f.service.deletePool('finance-7y');
      assert.match(
        await refusal(f.service.describePool('finance-7y'), 'POOL_NOT_FOUND'),
        /there is no pool finance-7y: choose one of GLACIER, DEEP_ARCHIVE/,
      );
      assert.match(await refusal(f.service.deletePool('DEEP_ARCHIVE'), 'INVALID_POOL'), /built-in pool and cannot be deleted/);
    });

    it('refuses tapes in a pool that does not exist, naming the pools there are, and creates none', async function () {
      await f.service.createPool({ name: 'weekly', destination: { kind: 'vault', vault: 'weekly' } });
      const one = await refusal(f.service.createTape({ barcode: 'ABC001L5', sizeBytes: SIZE, pool: 'monthly' }), 'POOL_NOT_FOUND');
      assert.equal(one, 'there is no pool monthly: choose one of GLACIER, DEEP_ARCHIVE, weekly, or create it with "tapegw pool create"');
      await refusal(f.service.createTapes({ count: 2, barcodePrefix: 'ABC', sizeBytes: SIZE, pool: 'monthly' }), 'POOL_NOT_FOUND');
      assert.deepEqual(await f.service.listTapes(), []);
      assert.deepEqual(await f.tapes.all(), [], 'no barcode used up');

      const [tape] = await f.service.createTapes({ count: 1, barcodePrefix: 'ABC', sizeBytes: SIZE, pool: 'weekly' });
      assert.deepEqual([tape!.barcode, tape!.pool], ['ABC001L5', 'weekly']);
      assert.equal((await f.service.createTape({ barcode: 'DEF001L5', sizeBytes: SIZE })).pool, 'GLACIER');
    });

    it('refuses to delete a pool while any cartridge, in the library or on the shelf, is in it', async function () {
      await f.service.createPool({ name: 'weekly', destination: { kind: 'vault', vault: 'weekly' } });
      await f.service.createTape({ barcode: 'WEK001L5', sizeBytes: SIZE, pool: 'weekly' });
      assert.match(
        await refusal(f.service.deletePool('weekly'), 'POOL_IN_USE'),
        /pool weekly still has cartridges: delete them \(or their archives\) first/,
      );

      // On the shelf: its record stays, it has left the library.
      await f.library.remove('WEK001L5');
      assert.deepEqual(await f.service.listTapes(), []);
      await refusal(f.service.deletePool('weekly'), 'POOL_IN_USE');

      // Deleted for good: a tombstone keeps the barcode, not the pool.
      const record = (await f.tapes.get('WEK001L5'))!;
      await f.tapes.put({ ...record, deletedAt: new Date().toISOString() });
      await f.service.deletePool('weekly');
      assert.deepEqual(
        (await f.service.listPools()).map((p) => p.name),
        ['GLACIER', 'DEEP_ARCHIVE'],
      );
    });
  });

  describe('retention lock', function () {
    beforeEach(async function () {
      await f.service.createPool({
        name: 'gov-30',
        destination: { kind: 'vault', vault: 'g' },
        retention: { mode: 'GOVERNANCE', days: 30 },
      });
      await f.service.createPool({
        name: 'comp-30',
        destination: { kind: 'vault', vault: 'c' },
        retention: { mode: 'COMPLIANCE', days: 30 },
      });
    });

    it('shows until when each tape is locked; nothing for a pool without a lock', async function () {
      const gov = await f.service.createTape({ barcode: 'GOV001L5', sizeBytes: SIZE, pool: 'gov-30' });
      assert.equal(Date.parse(gov.retentionUntil!), Date.parse(gov.createdAt) + 30 * DAY);
      await f.service.createTape({ barcode: 'PLN001L5', sizeBytes: SIZE });
      const listed = await f.service.listTapes();
      assert.deepEqual(
        listed.map((t) => [t.barcode, t.retentionUntil !== undefined]),
        [
          ['GOV001L5', true],
          ['PLN001L5', false],
        ],
      );
      assert.equal('retentionUntil' in (await f.service.describeTape('PLN001L5')), false);
    });

    it('GOVERNANCE: refuses a delete until the lock ends, unless bypassed', async function () {
      await f.service.createTape({ barcode: 'GOV001L5', sizeBytes: SIZE, pool: 'gov-30' });
      const message = await refusal(f.service.deleteTape('GOV001L5'), 'RETENTION_LOCKED');
      assert.match(
        message,
        /^cartridge GOV001L5 is in pool gov-30, whose GOVERNANCE retention lock keeps it until \S+: wait, or delete with --bypass-governance-retention$/,
      );
      await refusal(f.service.deleteTape('GOV001L5', { bypassGovernanceRetention: false }), 'RETENTION_LOCKED');
      assert.equal((await f.service.describeTape('GOV001L5')).status, 'AVAILABLE', 'still there');

      await f.service.deleteTape('GOV001L5', { bypassGovernanceRetention: true });
      await refusal(f.service.describeTape('GOV001L5'), 'TAPE_NOT_FOUND');
      assert.equal(f.store.objects.size, 0, 'its data is gone');

      await f.service.createTape({ barcode: 'GOV002L5', sizeBytes: SIZE, pool: 'gov-30' });
      await age('GOV002L5', 31);
      await f.service.deleteTape('GOV002L5');
      await refusal(f.service.describeTape('GOV002L5'), 'TAPE_NOT_FOUND');
    });

    it('COMPLIANCE: refuses a delete until the lock ends, bypass or not', async function () {
      await f.service.createTape({ barcode: 'CMP001L5', sizeBytes: SIZE, pool: 'comp-30' });
      await age('CMP001L5', 29);
      for (const options of [undefined, { bypassGovernanceRetention: true }]) {
        const message = await refusal(f.service.deleteTape('CMP001L5', options), 'RETENTION_LOCKED');
        assert.match(message, /whose COMPLIANCE retention lock keeps it until \S+; nobody can delete it before then$/);
      }
      assert.equal((await f.service.describeTape('CMP001L5')).barcode, 'CMP001L5');
      await age('CMP001L5', 30.01);
      await f.service.deleteTape('CMP001L5');
      await refusal(f.service.describeTape('CMP001L5'), 'TAPE_NOT_FOUND');
    });
  });

  it('refuses to import or create a barcode that is no label before it looks in the store', async function () {
    const asked: string[] = [];
    const size = f.store.size.bind(f.store);
    f.store.size = async (key) => (asked.push(key), size(key));
    for (const barcode of ['..', 'A/B/C12', 'abc123l5', 'A'.repeat(2000)]) {
      await refusal(f.service.importTape(barcode), 'INVALID_BARCODE');
      await refusal(f.service.createTape({ barcode, sizeBytes: SIZE }), 'INVALID_BARCODE');
    }
    assert.deepEqual(asked, []);
  });

  it('shows a tape brought back from the shelf (read-only record) as RETRIEVED wherever it sits', async function () {
    await f.service.createTape({ barcode: 'RTV001L5', sizeBytes: SIZE });
    const record = (await f.tapes.get('RTV001L5'))!;
    await f.tapes.put({ ...record, readOnly: true });
    await f.service.moveTape({ barcode: 'RTV001L5', to: { kind: 'import-export', index: 1 } });
    const described = await f.service.describeTape('RTV001L5');
    assert.deepEqual([described.status, described.location.kind], ['RETRIEVED', 'import-export']);
    assert.deepEqual(
      (await f.service.listTapes()).map((t) => t.status),
      ['RETRIEVED'],
    );
  });

  describe('WORM through the drive', function () {
    let unit: ScsiLogicalUnit;
    let tag = 0;
    const exec = (cdb: number[], dataOut: Buffer = Buffer.alloc(0)): Promise<ScsiResponse> =>
      unit.execute({
        nexus: {
          key: 'host|drive',
          initiatorPort: 'iqn.2026-11.test:host,i,0x1',
          initiatorName: 'iqn.2026-11.test:host',
          relativeTargetPort: 1,
          targetPort: 'drive',
        },
        lun: Buffer.alloc(8),
        cdb: Buffer.from(cdb),
        dataOut,
        dataInLength: 1 << 20,
        attribute: 'simple',
        tag: tag++,
      });
    const good = (r: ScsiResponse): Buffer => {
      assert.equal(r.status, Status.Good, r.sense ? `sense ${r.sense.toString('hex')}` : `status ${r.status}`);
      return r.data ?? Buffer.alloc(0);
    };
    /** Sense key, ASC, ASCQ of a CHECK CONDITION. */
    const sense = (r: ScsiResponse): [number, number, number] => {
      assert.equal(r.status, Status.CheckCondition);
      return senseKeyAsc(r.sense!);
    };
    const write = (data: Buffer) => exec([0x0a, 0, 0, (data.length >> 8) & 0xff, data.length & 0xff, 0], data);
    const read = (length: number) => exec([0x08, 0, 0, (length >> 8) & 0xff, length & 0xff, 0]);
    /** TEST UNIT READY until the unit attentions of power-on and load are reported. */
    const ready = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) if ((await exec([0, 0, 0, 0, 0, 0])).status === Status.Good) return;
      assert.fail('the drive never became ready');
    };
    const REWIND = [0x01, 0, 0, 0, 0, 0];
    const ERASE_LONG = [0x19, 0x01, 0, 0, 0, 0];
    const DATA_PROTECT = 0x7;
    const WORM_OVERWRITE = [DATA_PROTECT, 0x30, 0x0c];
    const records: Buffer[] = [Buffer.alloc(512, 0xa1), Buffer.alloc(700, 0xb2)];

    /** A tape created through the service, moved into the drive, written with two records. */
    async function wormInDrive(worm: boolean): Promise<void> {
      const tape = await f.service.createTape({ barcode: 'WRM001L5', sizeBytes: SIZE, worm });
      assert.equal(tape.worm, worm);
      unit = createTapeDriveUnit({ identity: { serial: '1013000001', gatewayId: 'gw-test', name: 'drive-01' }, bay: f.library.bays[0]! });
      await f.service.moveTape({ barcode: 'WRM001L5', to: { kind: 'drive', index: 1 } });
      await ready();
      for (const r of records) good(await write(r));
      good(await exec(REWIND));
    }

    it('a WORM tape refuses WRITE after a rewind and ERASE with DATA PROTECT 30/0C, and keeps its data', async function () {
      await wormInDrive(true);
      assert.deepEqual(sense(await write(Buffer.alloc(100, 0xff))), WORM_OVERWRITE);
      assert.deepEqual(sense(await exec(ERASE_LONG)), WORM_OVERWRITE);
      good(await exec(REWIND));
      assert.deepEqual(good(await read(512)), records[0]);
      assert.deepEqual(good(await read(700)), records[1]);

      // Unloaded and back in a slot, then loaded again: still there.
      await f.service.moveTape({ barcode: 'WRM001L5', to: { kind: 'slot', index: 1 } });
      assert.equal((await f.service.describeTape('WRM001L5')).usedBytes > 0, true);
      await f.service.moveTape({ barcode: 'WRM001L5', to: { kind: 'drive', index: 1 } });
      await ready();
      assert.deepEqual(good(await read(512)), records[0]);
      assert.deepEqual(good(await read(700)), records[1]);
    });

    it("an ordinary tape takes the same overwrite (the refusal is WORM's)", async function () {
      await wormInDrive(false);
      good(await write(Buffer.alloc(100, 0xff)));
      good(await exec(REWIND));
      assert.deepEqual(good(await read(100)), Buffer.alloc(100, 0xff));
    });
  });
});
