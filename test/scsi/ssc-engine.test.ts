// The tape drive over the whole storage stack: real Cartridge, cache engine
// (LevelDB catalog, cache directory) and s3rver. What was written up to a sync
// point reads back, byte for byte, after the engine is closed and reopened.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type Nexus, type ScsiResponse } from '../../scsi/types.ts';
import { Cartridge } from '../../src/tape/cartridge.ts';
import { LibraryBay } from '../../src/tape/library-bay.ts';
import { openEngine, pattern, type OpenedEngine } from '../cache/helpers.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { decodeSense, senseKeyAsc } from '../helpers/sense.ts';

const nexus: Nexus = {
  key: 'iqn.2026-11.test:host,i,0x1|iqn.2026-11.test:drive,t,0x1',
  initiatorPort: 'iqn.2026-11.test:host,i,0x1',
  initiatorName: 'iqn.2026-11.test:host',
  relativeTargetPort: 1,
  targetPort: 'iqn.2026-11.test:drive,t,0x1',
};

const BARCODE = 'ENGINEL5';
const RECORD = 64 * 1024;
/** What st reads with in variable-block mode: a buffer larger than any record. */
const READ_BUFFER = 256 * 1024;

function driveOn(opened: OpenedEngine) {
  const bay = new LibraryBay({
    cartridges: { openCartridge: (barcode) => Cartridge.open(opened.store, barcode), closeCartridge: async () => {} },
    exclusive: (work) => work(),
  });
  const unit = createTapeDriveUnit({ identity: { serial: '1013000009', gatewayId: 'gw-engine', name: 'drive-09' }, bay });
  let tag = 0;
  const exec = (cdb: number[], dataOut: Buffer = Buffer.alloc(0)): Promise<ScsiResponse> =>
    unit.execute({
      nexus,
      lun: Buffer.alloc(8),
      cdb: Buffer.from(cdb),
      dataOut,
      dataInLength: READ_BUFFER,
      attribute: 'simple',
      tag: tag++,
    });
  return { bay, exec };
}

const len3 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

describe('SSC tape drive on the cache engine', function () {
  this.timeout(60_000);
  let s3: S3Fixture;
  let dir: string;

  beforeEach(async () => {
    s3 = await startS3();
    dir = await tempDir('ssc-engine-');
  });
  afterEach(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('files written across filemarks read back with the same checksums after the engine reopens', async () => {
    const files = [0, 1].map((f) => Array.from({ length: 40 }, (_, i) => pattern(`file${f}-${i}`, i === 39 ? 1000 : RECORD)));
    const digest = (records: Buffer[]): string => records.reduce((h, r) => h.update(r), createHash('sha256')).digest('hex');

    let opened = await openEngine(join(dir, 'gw'), s3.settings);
    await Cartridge.create(opened.store, { barcode: BARCODE, capacityBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024 });
    let d = driveOn(opened);
    await d.bay.insert(BARCODE);
    await d.exec([0, 0, 0, 0, 0, 0]);
    for (const file of files) {
      for (const r of file) assert.equal((await d.exec([0x0a, 0, ...len3(r.length), 0], r)).status, Status.Good);
      assert.equal((await d.exec([0x10, 0, 0, 0, 1, 0])).status, Status.Good);
    }
    assert.equal((await d.exec([0x1b, 0, 0, 0, 0, 0])).status, Status.Good, 'UNLOAD');
    await opened.close();

    opened = await openEngine(join(dir, 'gw'), s3.settings);
    d = driveOn(opened);
    await d.bay.insert(BARCODE);
    await d.exec([0, 0, 0, 0, 0, 0]);
    for (const file of files) {
      const read: Buffer[] = [];
      for (;;) {
        const r = await d.exec([0x08, 0, ...len3(READ_BUFFER), 0]);
        assert.equal(r.status, Status.CheckCondition, 'every record is shorter than the buffer');
        const s = decodeSense(r.sense!);
        if (s.filemark) break; // end of this file
        assert.equal(s.ili, true, 'ILI');
        assert.equal(s.information, READ_BUFFER - r.data!.length, 'residue');
        read.push(r.data!);
      }
      assert.equal(digest(read), digest(file));
    }
    const end = await d.exec([0x08, 0, ...len3(READ_BUFFER), 0]);
    assert.deepEqual(senseKeyAsc(end.sense!), [0x8, 0x00, 0x05]);
    await opened.close();
  });
});
