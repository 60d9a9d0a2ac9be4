// The tape drive (SSC) logical unit as Linux's st driver sees it: CDBs built
// byte by byte, data and sense bytes checked, over the real Cartridge and drive
// LibraryBay (the engine under the cartridge is an in-memory stand-in).
import assert from 'node:assert/strict';
import type { ScsiLogicalUnit } from '../../scsi/logical-unit.ts';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type Nexus, type ScsiResponse } from '../../scsi/types.ts';
import { Cartridge, type CartridgeSpec } from '../../src/tape/cartridge.ts';
import { EMPTY_BAY, LibraryBay, type BayReport } from '../../src/tape/library-bay.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';
import { decodeSense } from '../helpers/sense.ts';
import { flipBits } from '../helpers/bytes.ts';

const KiB = 1024;
const BARCODE = 'TAPE01L5';

function nexus(n: number): Nexus {
  return {
    key: `iqn.2026-11.test:host${n},i,0x${n}|iqn.2026-11.test:drive,t,0x1`,
    initiatorPort: `iqn.2026-11.test:host${n},i,0x${n}`,
    initiatorName: `iqn.2026-11.test:host${n}`,
    relativeTargetPort: 1,
    targetPort: 'iqn.2026-11.test:drive,t,0x1',
  };
}
const A = nexus(1);
const B = nexus(2);

const be = (value: number | bigint, bytes: number): number[] => {
  let v = BigInt.asUintN(bytes * 8, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
};

const FIXED = 0x01;
const SILI = 0x02;
const read6 = (length: number, flags = 0): number[] => [0x08, flags, ...be(length, 3), 0];
const write6 = (length: number, flags = 0): number[] => [0x0a, flags, ...be(length, 3), 0];
const writeFilemarks = (count: number, immed = false): number[] => [0x10, immed ? 1 : 0, ...be(count, 3), 0];
const space6 = (code: number, count: number): number[] => [0x11, code, ...be(count, 3), 0];
const space16 = (code: number, count: number): number[] => [0x91, code, 0, 0, ...be(count, 8), 0, 0, 0, 0];
const locate10 = (object: number): number[] => [0x2b, 0, 0, ...be(object, 4), 0, 0, 0];
const locate16 = (destType: number, id: number): number[] => [0x92, destType << 3, 0, 0, ...be(id, 8), 0, 0, 0, 0];
const readPosition = (sa: number, allocation = 0): number[] => [0x34, sa, 0, 0, 0, 0, 0, ...be(allocation, 2), 0];
const REWIND = [0x01, 0, 0, 0, 0, 0];
const TUR = [0x00, 0, 0, 0, 0, 0];
const loadUnload = (flags: number): number[] => [0x1b, 0, 0, 0, flags, 0];
const preventAllow = (prevent: number): number[] => [0x1e, 0, 0, 0, prevent, 0];
const modeSense6 = (page: number, subpage = 0, allocation = 255): number[] => [0x1a, 0, page, subpage, allocation, 0];
const logSense = (page: number, allocation = 0xffff): number[] => [0x4d, 0, 0x40 | page, 0, 0, 0, 0, ...be(allocation, 2), 0];

/** MODE SELECT(6) with a header and one block descriptor. */
function modeSelectBlock(blockLength: number, deviceSpecific = 0x10, density = 0): { cdb: number[]; data: Buffer } {
  const data = Buffer.from([0, 0, deviceSpecific, 8, density, 0, 0, 0, 0, ...be(blockLength, 3)]);
  return { cdb: [0x15, 0x10, 0, 0, data.length, 0], data };
}

interface TapeSense {
  key: number;
  asc: number;
  ascq: number;
  filemark: boolean;
  eom: boolean;
  ili: boolean;
  /** INFORMATION as a signed 32-bit residue, when VALID. */
  information?: number;
  fieldPointer?: { byte: number; bit?: number };
}

/** Fixed-format sense, as st reads it (st_analyze_sense). */
function tapeSense(r: ScsiResponse): TapeSense {
  assert.equal(r.status, Status.CheckCondition, `expected CHECK CONDITION, got ${r.status}`);
  const { format, deferred, key, asc, ascq, filemark, eom, ili, information, fieldPointer } = decodeSense(r.sense!);
  assert.deepEqual([format, deferred], ['fixed', false], 'current sense in fixed format (70h)');
  const out: TapeSense = { key, asc, ascq, filemark, eom, ili };
  if (information !== undefined) out.information = information;
  if (fieldPointer) out.fieldPointer = { byte: fieldPointer.byte, ...(fieldPointer.bit !== undefined ? { bit: fieldPointer.bit } : {}) };
  return out;
}

function expectSense(r: ScsiResponse, key: number, asc: number, ascq: number, bits: Partial<TapeSense> = {}): TapeSense {
  const s = tapeSense(r);
  assert.deepEqual([s.key, s.asc, s.ascq], [key, asc, ascq], `sense ${s.key}/${s.asc.toString(16)}/${s.ascq.toString(16)}`);
  for (const [k, v] of Object.entries(bits)) assert.deepEqual(s[k as keyof TapeSense], v, k);
  return s;
}

function good(r: ScsiResponse): Buffer {
  assert.equal(r.status, Status.Good, r.sense ? `sense ${r.sense.toString('hex')}` : `status ${r.status}`);
  return r.data ?? Buffer.alloc(0);
}

const NO_SENSE = 0x0;
const NOT_READY = 0x2;
const ILLEGAL_REQUEST = 0x5;
const UNIT_ATTENTION = 0x6;
const DATA_PROTECT = 0x7;
const BLANK_CHECK = 0x8;
const VOLUME_OVERFLOW = 0xd;

function record(i: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let j = 0; j < length; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

interface Drive {
  unit: ScsiLogicalUnit;
  bay: LibraryBay;
  /** What the bay last reported to its library: what the changer shows of the drive. */
  changerSees(): BayReport;
  store: MemoryCartridgeStore;
  exec(cdb: number[], options?: { dataOut?: Buffer; nexus?: Nexus; holdDataOut?: () => () => void }): Promise<ScsiResponse>;
  write(data: Buffer): Promise<ScsiResponse>;
}

async function drive(spec: Partial<CartridgeSpec> = {}, options: { readOnly?: boolean } = {}): Promise<Drive> {
  const store = new MemoryCartridgeStore();
  await Cartridge.create(store, {
    barcode: BARCODE,
    capacityBytes: 4 * 1024 * KiB,
    earlyWarningBytes: 256 * KiB,
    segmentBytes: 256 * KiB,
    ...spec,
  });
  let reported = EMPTY_BAY;
  const bay = new LibraryBay({
    cartridges: { openCartridge: (barcode) => Cartridge.open(store, barcode, options), closeCartridge: async () => {} },
    exclusive: (work) => work(),
    report: (state) => (reported = state),
  });
  const unit = createTapeDriveUnit({
    identity: { serial: '1013000001', gatewayId: 'gw-test', name: 'drive-01' },
    bay,
    now: () => 1_800_000_000_000,
  });
  await bay.insert(spec.barcode ?? BARCODE);
  let tag = 0;
  const exec: Drive['exec'] = (cdb, o = {}) =>
    unit.execute({
      nexus: o.nexus ?? A,
      lun: Buffer.alloc(8),
      cdb: Buffer.from(cdb),
      dataOut: o.dataOut ?? Buffer.alloc(0),
      holdDataOut: o.holdDataOut,
      dataInLength: 1 << 24,
      attribute: 'simple',
      tag: tag++,
    });
  for (const n of [A, B]) expectSense(await exec(TUR, { nexus: n }), UNIT_ATTENTION, 0x29, 0x00);
  return { unit, bay, changerSees: () => reported, store, exec, write: (data) => exec(write6(data.length), { dataOut: data }) };
}

/** Short form READ POSITION: first and last logical object, BOP/EOP, objects and bytes in the buffer. */
async function position(d: Drive): Promise<{ bop: boolean; eop: boolean; first: number; last: number; objects: number; bytes: number }> {
  const p = good(await d.exec(readPosition(0x01)));
  assert.equal(p.length, 20);
  return {
    bop: (p[0]! & 0x80) !== 0,
    eop: (p[0]! & 0x40) !== 0,
    first: p.readUInt32BE(4),
    last: p.readUInt32BE(8),
    objects: p.readUIntBE(13, 3),
    bytes: p.readUInt32BE(16),
  };
}

describe('SSC tape drive', () => {
  describe('identity', () => {
    it('is an IBM ULT3580-TD5 sequential-access device with removable medium', async () => {
      const d = await drive();
      const inquiry = good(await d.exec([0x12, 0, 0, 0, 96, 0]));
      assert.equal(inquiry[0], 0x01);
      assert.equal(inquiry[1], 0x80);
      assert.equal(inquiry.subarray(8, 36).toString('ascii'), 'IBM     ULT3580-TD5     D8D5');
      const pages = good(await d.exec([0x12, 1, 0x00, 0, 255, 0]));
      assert.deepEqual([...pages.subarray(4)], [0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2, 0xc0, 0xc1]);
    });

    it('answers VPD B0h (WORM capable), B1h, B2h and IBM C0h/C1h', async () => {
      const d = await drive();
      assert.deepEqual([...good(await d.exec([0x12, 1, 0xb0, 0, 255, 0]))], [0x01, 0xb0, 0, 2, 0x01, 0]);
      assert.equal(
        good(await d.exec([0x12, 1, 0xb1, 0, 255, 0]))
          .subarray(4)
          .toString('ascii'),
        '1013000001',
      );
      const b2 = good(await d.exec([0x12, 1, 0xb2, 0, 255, 0]));
      assert.equal(b2.readUInt16BE(2), 12);
      assert.equal(b2[4], 0x20 | 0x08 | 0x04, 'flags 03h, 05h, 06h');
      assert.equal(b2[5], 0x80 | 0x40, 'flags 09h, 0Ah');
      const c0 = good(await d.exec([0x12, 1, 0xc0, 0, 255, 0]));
      assert.equal(c0.readUInt16BE(2), 0x27);
      assert.equal(c0.subarray(4, 16).toString('ascii'), 'D8D5        ');
      const c1 = good(await d.exec([0x12, 1, 0xc1, 0, 255, 0]));
      assert.equal(c1.readUInt16BE(2), 0x18);
      assert.equal(c1.subarray(16, 28).toString('ascii'), '1013000001  ');
    });

    it('REPORT SUPPORTED OPERATION CODES lists exactly the drive table', async () => {
      const d = await drive();
      const data = good(await d.exec([0xa3, 0x0c, 0, 0, 0, 0, ...be(8192, 4), 0, 0]));
      const listed: string[] = [];
      for (let o = 4; o < 4 + data.readUInt32BE(0); o += 8) {
        listed.push(data[o + 5]! & 1 ? `${data[o]!.toString(16)}/${data.readUInt16BE(o + 2).toString(16)}` : data[o]!.toString(16));
      }
      assert.deepEqual(listed, [
        '0',
        '1',
        '3',
        '5',
        '8',
        'a',
        '10',
        '11',
        '12',
        '13',
        '15',
        '16',
        '17',
        '19',
        '1a',
        '1b',
        '1e',
        '2b',
        '34/0',
        '34/1',
        '34/6',
        '34/8',
        '44',
        '4c',
        '4d',
        '55',
        '5a',
        '5e/0',
        '5e/1',
        '5e/2',
        '5e/3',
        '5f/0',
        '5f/1',
        '5f/2',
        '5f/3',
        '5f/4',
        '5f/5',
        '5f/6',
        '82',
        '8c/0',
        '8c/1',
        '8c/2',
        '8c/3',
        '8c/5',
        '8d',
        '91',
        '92',
        'a0',
        'a2',
        'a3/c',
        'a3/d',
        'a3/f',
        'a4/f',
        'b5',
      ]);
      assert.deepEqual(listed.length, d.unit.table.entries.length);
    });
  });

  describe('readiness', () => {
    it('NOT READY 3A/00 with no cartridge, 04/02 with one that is not loaded; LOAD makes it ready', async () => {
      const d = await drive();
      good(await d.exec(TUR));
      good(await d.exec(loadUnload(0)));
      expectSense(await d.exec(TUR), NOT_READY, 0x04, 0x02);
      expectSense(await d.exec(read6(10)), NOT_READY, 0x04, 0x02);
      good(await d.exec(loadUnload(1)));
      good(await d.exec(TUR));
      expectSense(await d.exec(TUR, { nexus: B }), UNIT_ATTENTION, 0x28, 0x00);
      await d.bay.eject();
      d.bay.notify();
      // A cartridge leaving is no unit attention: the empty drive is simply not ready.
      expectSense(await d.exec(TUR), NOT_READY, 0x3a, 0x00);
      expectSense(await d.exec(TUR, { nexus: B }), NOT_READY, 0x3a, 0x00);
      expectSense(await d.exec(readPosition(0)), NOT_READY, 0x3a, 0x00);
      expectSense(await d.exec(loadUnload(1)), NOT_READY, 0x3a, 0x00);
      // What needs no medium still works.
      assert.equal(good(await d.exec([0x05, 0, 0, 0, 0, 0])).length, 6);
      good(await d.exec(modeSense6(0x3f)));
      // A cartridge arriving is: every nexus learns that the medium may have changed.
      await d.bay.insert(BARCODE);
      d.bay.notify();
      for (const n of [A, B]) expectSense(await d.exec(TUR, { nexus: n }), UNIT_ATTENTION, 0x28, 0x00);
      good(await d.exec(TUR));
    });

    it('PREVENT MEDIUM REMOVAL refuses UNLOAD (5/53/02) until ALLOW', async () => {
      const d = await drive();
      good(await d.exec(preventAllow(1)));
      assert.equal(d.changerSees().prevented, true);
      expectSense(await d.exec(loadUnload(0)), ILLEGAL_REQUEST, 0x53, 0x02);
      expectSense(await d.exec(preventAllow(2)), ILLEGAL_REQUEST, 0x24, 0x00);
      good(await d.exec(preventAllow(0)));
      assert.equal(d.changerSees().prevented, false);
      good(await d.exec(loadUnload(0)));
      expectSense(await d.exec(loadUnload(0x05)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 4, bit: 2 } });
    });

    it('RESERVE(6) by one initiator keeps the other off the medium', async () => {
      const d = await drive();
      good(await d.exec([0x16, 0, 0, 0, 0, 0], { nexus: B }));
      assert.equal((await d.write(record(1, 10))).status, Status.ReservationConflict);
      assert.equal((await d.exec(REWIND)).status, Status.ReservationConflict);
      good(await d.exec([0x12, 0, 0, 0, 96, 0]));
      good(await d.exec(write6(10), { nexus: B, dataOut: record(1, 10) }));
      good(await d.exec(REWIND, { nexus: B }));
      assert.deepEqual(good(await d.exec(read6(10), { nexus: B })), record(1, 10));
    });

    it('a LUN reset or the loss of the nexus clears its prevent', async () => {
      const d = await drive();
      good(await d.exec(preventAllow(1), { nexus: B }));
      d.unit.taskManagement('i-t-nexus-loss', B);
      assert.equal(d.changerSees().prevented, false);
      good(await d.exec(preventAllow(1)));
      d.unit.taskManagement('lun-reset', A);
      assert.equal(d.changerSees().prevented, false);
    });
  });

  describe('reading and writing', () => {
    it('a write in the middle ends the data there', async () => {
      const d = await drive();
      for (let i = 0; i < 3; i++) good(await d.write(record(i, 1000)));
      good(await d.exec(REWIND));
      good(await d.exec(space6(0, 1)));
      good(await d.write(record(9, 500)));
      good(await d.exec(REWIND));
      assert.deepEqual(good(await d.exec(read6(1000))), record(0, 1000));
      assert.deepEqual(good(await d.exec(read6(500))), record(9, 500));
      expectSense(await d.exec(read6(1000)), BLANK_CHECK, 0x00, 0x05, { information: 1000, eom: false });
    });

    it('reading past the last record: BLANK CHECK 00/05, position stays at end-of-data', async () => {
      const d = await drive();
      good(await d.write(record(1, 64)));
      good(await d.exec(REWIND));
      good(await d.exec(read6(64)));
      expectSense(await d.exec(read6(4096)), BLANK_CHECK, 0x00, 0x05, { information: 4096, filemark: false });
      expectSense(await d.exec(read6(4096)), BLANK_CHECK, 0x00, 0x05);
      assert.equal((await position(d)).first, 1);
    });

    it('reading across a filemark: NO SENSE with FM, 00/01, INFORMATION = the request, then past it', async () => {
      const d = await drive();
      good(await d.write(record(1, 100)));
      good(await d.exec(writeFilemarks(1)));
      good(await d.write(record(2, 200)));
      good(await d.exec(REWIND));
      good(await d.exec(read6(100)));
      const r = await d.exec(read6(512));
      expectSense(r, NO_SENSE, 0x00, 0x01, { filemark: true, eom: false, ili: false, information: 512 });
      assert.equal((await position(d)).first, 2);
      assert.deepEqual(good(await d.exec(read6(200))), record(2, 200));
    });

    it('variable-block reads of a short and a long record: ILI with the residue, the data read returned', async () => {
      const d = await drive();
      good(await d.write(record(1, 100)));
      good(await d.write(record(2, 300)));
      good(await d.write(record(3, 50)));
      good(await d.exec(REWIND));
      const short = await d.exec(read6(150));
      expectSense(short, NO_SENSE, 0x00, 0x00, { ili: true, information: 50 });
      assert.deepEqual(short.data, record(1, 100));
      const long = await d.exec(read6(200));
      expectSense(long, NO_SENSE, 0x00, 0x00, { ili: true, information: -100 });
      assert.deepEqual(long.data, record(2, 300).subarray(0, 200));
      assert.equal((await position(d)).first, 2, 'positioned after the long record');
      // SILI suppresses the short-record report.
      assert.deepEqual(good(await d.exec(read6(4096, SILI))), record(3, 50));
    });

    it('fixed-block mode: MODE SELECT sets the block length; a short block gives ILI and the blocks not read', async () => {
      const d = await drive();
      const select = modeSelectBlock(512);
      good(await d.exec(select.cdb, { dataOut: select.data }));
      const blocks = Buffer.concat([record(1, 512), record(2, 512), record(3, 512)]);
      good(await d.exec(write6(3, FIXED), { dataOut: blocks }));
      good(await d.write(record(4, 100)));
      good(await d.exec(writeFilemarks(1)));
      good(await d.exec(REWIND));
      const r = await d.exec(read6(5, FIXED));
      expectSense(r, NO_SENSE, 0x00, 0x00, { ili: true, information: 2 });
      assert.deepEqual(r.data!.subarray(0, 1536), blocks);
      const fm = await d.exec(read6(2, FIXED));
      expectSense(fm, NO_SENSE, 0x00, 0x01, { filemark: true, information: 2 });
      expectSense(await d.exec(read6(2, FIXED | SILI)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 1 } });
      const sense = good(await d.exec(modeSense6(0)));
      assert.deepEqual([...sense.subarray(4, 12)], [0x58, 0, 0, 0, 0, 0, 0x02, 0x00]);
    });

    it('FIXED=1 in variable-block mode is an invalid field', async () => {
      const d = await drive();
      expectSense(await d.exec(read6(1, FIXED)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 0 } });
      expectSense(await d.exec(write6(1, FIXED), { dataOut: Buffer.alloc(512) }), ILLEGAL_REQUEST, 0x24, 0x00);
    });

    it('VERIFY(6) reads without transfer: a block, blocks, filemarks (VBF) or to end-of-data (VTE)', async () => {
      const d = await drive();
      good(await d.write(record(1, 100)));
      good(await d.exec(writeFilemarks(1)));
      good(await d.write(record(2, 50)));
      good(await d.exec(REWIND));
      const verify = (flags: number, length: number): number[] => [0x13, flags, ...be(length, 3), 0];
      assert.equal(good(await d.exec(verify(0, 100))).length, 0);
      expectSense(await d.exec(verify(0, 100)), NO_SENSE, 0x00, 0x01, { filemark: true, information: 100 });
      expectSense(await d.exec(verify(0, 60)), NO_SENSE, 0x00, 0x00, { ili: true, information: 10 });
      good(await d.exec(REWIND));
      good(await d.exec(verify(0x08, 1)));
      assert.equal((await position(d)).first, 2);
      good(await d.exec(REWIND));
      expectSense(await d.exec(verify(0x08, 3)), BLANK_CHECK, 0x00, 0x05, { information: 2 });
      good(await d.exec(REWIND));
      good(await d.exec(verify(0x20, 0)));
      assert.equal((await position(d)).first, 3);
      expectSense(await d.exec(verify(0x28, 0)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 5 } });
      expectSense(await d.exec(verify(0x02, 1)), ILLEGAL_REQUEST, 0x24, 0x00); // BYTCMP
      expectSense(await d.exec(verify(0x01, 1)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 0 } });
    });

    it("WRITE(6) lets the cartridge hold a large record in the transport's buffer until a sync point has written it", async () => {
      const d = await drive({ capacityBytes: 64 * 1024 * KiB, segmentBytes: 8 * 1024 * KiB });
      let held = 0;
      const holdDataOut = () => {
        held++;
        return () => held--;
      };
      const data = record(1, 128 * KiB);
      good(await d.exec(write6(data.length), { dataOut: data, holdDataOut }));
      assert.equal(held, 1, 'held past the command');
      good(await d.exec(writeFilemarks(1)));
      assert.equal(held, 0, 'released once written');
      good(await d.exec(REWIND));
      assert.ok(good(await d.exec(read6(data.length))).equals(data));
    });

    it("READ(6) passes a record's buffer up to be released once sent; VERIFY(6) and joined fixed blocks give theirs back at once", async () => {
      const d = await drive();
      for (let i = 0; i < 4; i++) good(await d.write(record(i, 512)));
      good(await d.exec(REWIND));
      const first = await d.exec(read6(512));
      assert.ok(good(first).equals(record(0, 512)));
      assert.equal(typeof first.release, 'function', 'a single record travels with its release');
      good(await d.exec([0x13, 0, ...be(512, 3), 0])); // VERIFY(6) of record 1
      good(await d.exec(modeSelectBlock(512).cdb, { dataOut: modeSelectBlock(512).data }));
      const joined = await d.exec(read6(2, FIXED));
      assert.ok(good(joined).equals(Buffer.concat([record(2, 512), record(3, 512)])));
      assert.equal(joined.release, undefined, 'joined blocks are a copy');
      good(await d.exec(REWIND));
      good(await d.write(record(9, 512))); // ends the data: the piece read ahead is dropped
      assert.equal(d.store.lent, 1, 'only the read whose record is still held stays lent');
      first.release!();
      await new Promise(setImmediate);
      assert.equal(d.store.lent, 0);
    });

    it('READ BLOCK LIMITS: granularity 0, 8 MiB maximum, 1 byte minimum; longer variable writes are refused', async () => {
      const d = await drive();
      assert.deepEqual([...good(await d.exec([0x05, 0, 0, 0, 0, 0]))], [0x00, 0x80, 0x00, 0x00, 0x00, 0x01]);
      expectSense(await d.exec(write6(0x800001), { dataOut: Buffer.alloc(0x800001) }), ILLEGAL_REQUEST, 0x24, 0x00, {
        fieldPointer: { byte: 2 },
      });
    });

    it('early warning comes before the end of the medium, then volume overflow', async () => {
      const d = await drive({ capacityBytes: 1024 * KiB, earlyWarningBytes: 256 * KiB });
      const size = 100 * KiB;
      const outcomes: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await d.write(record(i, size));
        if (r.status === Status.Good) outcomes.push('good');
        else {
          const s = tapeSense(r);
          assert.equal(s.eom, true);
          assert.deepEqual([s.asc, s.ascq], [0x00, 0x02]);
          if (s.key === NO_SENSE) {
            assert.equal(s.information, 0, 'everything written');
            outcomes.push('ew');
          } else {
            assert.equal(s.key, VOLUME_OVERFLOW);
            assert.equal(s.information, size, 'the record was not written');
            outcomes.push('overflow');
          }
        }
      }
      assert.deepEqual(outcomes, ['good', 'good', 'good', 'good', 'good', 'good', 'good', 'ew', 'ew', 'ew', 'overflow', 'overflow']);
      expectSense(await d.exec(writeFilemarks(1)), NO_SENSE, 0x00, 0x02, { eom: true });
      assert.equal((await position(d)).eop, true);
      good(await d.exec(REWIND));
      good(await d.exec(space6(0, 10)));
      expectSense(await d.exec(read6(size)), NO_SENSE, 0x00, 0x01, { filemark: true });
      expectSense(await d.exec(read6(size)), BLANK_CHECK, 0x00, 0x05, { eom: true });
    });

    it('WRITE FILEMARKS(0) is a sync point; READ POSITION shows what waits for it', async () => {
      const d = await drive();
      good(await d.write(record(1, 1000)));
      good(await d.write(record(2, 24)));
      assert.deepEqual(await position(d), { bop: false, eop: false, first: 2, last: 0, objects: 2, bytes: 1024 });
      const syncs = d.store.syncs;
      good(await d.exec(writeFilemarks(0)));
      assert.ok(d.store.syncs > syncs, 'the cartridge was flushed');
      assert.deepEqual(await position(d), { bop: false, eop: false, first: 2, last: 2, objects: 0, bytes: 0 });
      good(await d.exec(writeFilemarks(2, true)));
      assert.equal((await position(d)).objects, 2, 'IMMED=1 leaves the filemarks buffered');
      good(await d.exec(REWIND));
      assert.deepEqual(await position(d), { bop: true, eop: false, first: 0, last: 0, objects: 0, bytes: 0 });
      expectSense(await d.exec([0x10, 0x02, 0, 0, 1, 0]), ILLEGAL_REQUEST, 0x24, 0x00); // WSMK: no setmarks
    });

    it('unbuffered mode (BUFFERED MODE 0) makes every write durable before GOOD', async () => {
      const d = await drive();
      const select = modeSelectBlock(0, 0x00);
      good(await d.exec(select.cdb, { dataOut: select.data }));
      assert.equal(good(await d.exec(modeSense6(0)))[2], 0x00);
      const syncs = d.store.syncs;
      good(await d.write(record(1, 10)));
      assert.ok(d.store.syncs > syncs);
      assert.equal((await position(d)).objects, 0);
      const bad = modeSelectBlock(0, 0x20);
      expectSense(await d.exec(bad.cdb, { dataOut: bad.data }), ILLEGAL_REQUEST, 0x26, 0x00, { fieldPointer: { byte: 2, bit: 6 } });
    });

    it('runs commands one at a time in arrival order', async () => {
      const d = await drive();
      const results = await Promise.all([
        d.write(record(1, 50_000)),
        d.write(record(2, 50_000)),
        d.exec(readPosition(0x01)),
        d.exec(REWIND),
        d.exec(read6(50_000)),
      ]);
      results.forEach((r) => good(r));
      assert.equal(results[2].data!.readUInt32BE(4), 2);
      assert.deepEqual(results[4].data, record(1, 50_000));
    });
  });

  describe('errors', () => {
    it('a record that fails its checksum: MEDIUM ERROR 11/00 and TapeAlert 03h and 05h', async () => {
      const d = await drive();
      good(await d.write(record(1, 100)));
      good(await d.exec(writeFilemarks(1)));
      const [key, data] = [...d.store.objects].find(([k]) => k.endsWith('.data'))!;
      flipBits(data, 10);
      d.store.objects.set(key, data);
      good(await d.exec(REWIND));
      expectSense(await d.exec(read6(100)), 0x3, 0x11, 0x00);
      const alerts = good(await d.exec(logSense(0x2e)));
      assert.deepEqual(
        [3, 5].map((flag) => alerts[4 + 5 * (flag - 1) + 4]),
        [1, 1],
      );
    });

    it('with D_SENSE set, tape conditions come in descriptor format with the stream commands descriptor', async () => {
      const d = await drive();
      const control = Buffer.from([0, 0, 0, 0, 0x0a, 10, 0x04, 0x10, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
      good(await d.exec([0x15, 0x10, 0, 0, control.length, 0], { dataOut: control }));
      good(await d.exec(writeFilemarks(1)));
      good(await d.exec(REWIND));
      const r = await d.exec(read6(64));
      const s = r.sense!;
      assert.deepEqual([s[0], s[1], s[2], s[3]], [0x72, NO_SENSE, 0x00, 0x01]);
      const body = s.subarray(8);
      assert.deepEqual([...body.subarray(0, 2)], [0x00, 0x0a], 'information descriptor');
      assert.equal(body.readBigUInt64BE(4), 64n);
      assert.deepEqual([...body.subarray(12, 16)], [0x04, 0x02, 0x00, 0x80], 'stream commands: FILEMARK');
    });
  });

  describe('protection', () => {
    it('a write-protected cartridge: WP in the mode header, DATA PROTECT 27/00 on writes', async () => {
      const d = await drive({}, { readOnly: true });
      assert.equal(good(await d.exec(modeSense6(0)))[2]! & 0x80, 0x80);
      expectSense(await d.write(record(1, 10)), DATA_PROTECT, 0x27, 0x00);
      expectSense(await d.exec(writeFilemarks(1)), DATA_PROTECT, 0x27, 0x00);
      expectSense(await d.exec([0x19, 0x01, 0, 0, 0, 0]), DATA_PROTECT, 0x27, 0x00);
      good(await d.exec(writeFilemarks(0)));
      const alerts = good(await d.exec(logSense(0x2e)));
      assert.equal(alerts[4 + 8 * 5 + 4], 1, 'TapeAlert 09h WRITE PROTECT');
      assert.equal(good(await d.exec(logSense(0x2e)))[4 + 8 * 5 + 4], 0, 'cleared once read');
    });

    it('a WORM cartridge appends but refuses to overwrite or erase: DATA PROTECT 30/0C', async () => {
      const d = await drive({ worm: true });
      good(await d.write(record(1, 10)));
      good(await d.write(record(2, 10)));
      assert.equal(good(await d.exec(modeSense6(0)))[1], 0x5c, 'LTO-5 WORM medium type');
      good(await d.exec(REWIND));
      expectSense(await d.write(record(3, 10)), DATA_PROTECT, 0x30, 0x0c);
      expectSense(await d.exec([0x19, 0x00, 0, 0, 0, 0]), DATA_PROTECT, 0x30, 0x0c);
      good(await d.exec(space6(3, 0)));
      good(await d.write(record(3, 10)));
    });
  });

  describe('append-only mode', () => {
    const allowOverwrite = (allow: number, object: number): number[] => [0x82, 0, allow, 0, ...be(object, 8), 0, 0, 0, 0];
    /** MODE SELECT(10) of page 10h/01h as read, with WRITE MODE set: what Spectrum Protect's SETAPPENDONLY sends. */
    async function setWriteMode(d: Drive, writeMode: number): Promise<ScsiResponse> {
      const sensed = good(await d.exec([0x5a, 0x08, 0x10, 0x01, 0, 0, 0, 0, 255, 0]));
      const page = Buffer.from(sensed.subarray(8));
      page[0]! &= 0x7f; // PS
      page[5] = (page[5]! & 0x0f) | (writeMode << 4);
      const data = Buffer.concat([Buffer.alloc(8), page]);
      return d.exec([0x55, 0x10, 0, 0, 0, 0, 0, 0, data.length, 0], { dataOut: data });
    }

    it('writes only at end-of-data; an overwrite gets DATA PROTECT, OPERATOR SELECTED WRITE PROTECT (5A/02) as on IBM drives, and loses nothing', async () => {
      const d = await drive();
      const changeable = good(await d.exec([0x5a, 0x08, 0x40 | 0x10, 0x01, 0, 0, 0, 0, 255, 0]));
      assert.equal(changeable[8 + 5], 0xf0, 'WRITE MODE changeable');
      for (let i = 0; i < 3; i++) good(await d.write(record(i, 100)));
      good(await d.exec(writeFilemarks(1)));
      good(await setWriteMode(d, 1));
      assert.equal(good(await d.exec([0x5a, 0x08, 0x10, 0x01, 0, 0, 0, 0, 255, 0]))[8 + 5]! >> 4, 1, 'append-only reported');
      expectSense(await setWriteMode(d, 2), ILLEGAL_REQUEST, 0x26, 0x00, { fieldPointer: { byte: 8 + 5, bit: 7 } });
      good(await d.exec(REWIND));
      expectSense(await d.write(record(9, 100)), DATA_PROTECT, 0x5a, 0x02);
      expectSense(await d.exec(writeFilemarks(1)), DATA_PROTECT, 0x5a, 0x02);
      expectSense(await d.exec([0x19, 0, 0, 0, 0, 0]), DATA_PROTECT, 0x5a, 0x02);
      good(await d.exec(writeFilemarks(0)));
      for (let i = 0; i < 3; i++) assert.deepEqual(good(await d.exec(read6(100))), record(i, 100));
      expectSense(await d.write(record(9, 100)), DATA_PROTECT, 0x5a, 0x02);
      // At end-of-data it appends.
      good(await d.exec(space6(3, 0)));
      good(await d.write(record(3, 100)));
      assert.equal((await position(d)).first, 5);
    });

    it('ALLOW OVERWRITE lets one write overwrite at the position it names; refused outside append-only mode; a reset leaves append-only', async () => {
      const d = await drive();
      expectSense(await d.exec(allowOverwrite(1, 0)), ILLEGAL_REQUEST, 0x20, 0x0c);
      for (let i = 0; i < 4; i++) good(await d.write(record(i, 100)));
      good(await setWriteMode(d, 1));
      good(await d.exec(locate10(2)));
      expectSense(await d.exec(allowOverwrite(1, 3)), ILLEGAL_REQUEST, 0x3b, 0x00);
      expectSense(await d.exec(allowOverwrite(2, 0)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 2, bit: 3 } });
      good(await d.exec(allowOverwrite(1, 2)));
      good(await d.write(record(7, 100)));
      good(await d.exec(REWIND));
      good(await d.exec(space6(0, 2)));
      assert.deepEqual(good(await d.exec(read6(100))), record(7, 100));
      expectSense(await d.exec(read6(100)), BLANK_CHECK, 0x00, 0x05);
      good(await d.exec(locate10(1)));
      expectSense(await d.write(record(8, 100)), DATA_PROTECT, 0x5a, 0x02);
      good(await d.exec(allowOverwrite(1, 1)));
      good(await d.exec(allowOverwrite(0, 0)));
      expectSense(await d.write(record(8, 100)), DATA_PROTECT, 0x5a, 0x02, {});
      // Back to overwrite-allowed by MODE SELECT, and by a logical unit reset.
      good(await setWriteMode(d, 0));
      good(await d.write(record(8, 100)));
      good(await setWriteMode(d, 1));
      d.unit.taskManagement('lun-reset', A);
      expectSense(await d.exec(TUR), UNIT_ATTENTION, 0x29, 0x00);
      good(await d.exec(REWIND));
      good(await d.write(record(9, 100)));
    });
  });

  describe('positioning', () => {
    /** r0 r1 FM r2 r3 FM r4, at end-of-data (object 7). */
    async function twoFiles(): Promise<Drive> {
      const d = await drive();
      for (const item of ['r', 'r', 'F', 'r', 'r', 'F', 'r'])
        good(item === 'r' ? await d.write(record(0, 10)) : await d.exec(writeFilemarks(1)));
      return d;
    }

    it('SPACE backwards over a filemark ends before it; a read then meets the filemark', async () => {
      const d = await twoFiles();
      good(await d.exec(space6(1, -1)));
      assert.equal((await position(d)).first, 5);
      expectSense(await d.exec(read6(10)), NO_SENSE, 0x00, 0x01, { filemark: true });
      good(await d.exec(space16(1, -2)));
      assert.equal((await position(d)).first, 2);
    });

    it('SPACE blocks stops at a filemark with FM, 00/01 and the count not spaced', async () => {
      const d = await twoFiles();
      good(await d.exec(REWIND));
      expectSense(await d.exec(space6(0, 5)), NO_SENSE, 0x00, 0x01, { filemark: true, information: 3 });
      assert.equal((await position(d)).first, 3, 'past the filemark going forward');
      expectSense(await d.exec(space6(0, -4)), NO_SENSE, 0x00, 0x01, { filemark: true, information: 4 });
      assert.equal((await position(d)).first, 2, 'before the filemark going back');
    });

    it('SPACE to BOP gives 00/04 with EOM; past end-of-data BLANK CHECK 00/05; count 0 does not move', async () => {
      const d = await twoFiles();
      good(await d.exec(locate10(4)));
      expectSense(await d.exec(space16(0, -3)), NO_SENSE, 0x00, 0x01, { filemark: true, information: 2 });
      good(await d.exec(locate10(1)));
      expectSense(await d.exec(space6(0, -3)), NO_SENSE, 0x00, 0x04, { eom: true, information: 2 });
      assert.equal((await position(d)).bop, true);
      good(await d.exec(space6(1, 2)));
      expectSense(await d.exec(space6(1, 1)), BLANK_CHECK, 0x00, 0x05, { information: 1 });
      good(await d.exec(locate10(3)));
      good(await d.exec(space6(0, 0)));
      good(await d.exec(space6(1, 0)));
      assert.equal((await position(d)).first, 3);
      good(await d.exec(space6(3, 0)));
      assert.equal((await position(d)).first, 7);
      expectSense(await d.exec(space6(2, 1)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 3 } });
    });

    it('LOCATE then READ POSITION agree in all three forms', async () => {
      const d = await twoFiles();
      good(await d.exec(locate10(4)));
      assert.deepEqual(await position(d), { bop: false, eop: false, first: 4, last: 4, objects: 0, bytes: 0 });
      const long = good(await d.exec(readPosition(0x06)));
      assert.equal(long.length, 32);
      assert.equal(long.readBigUInt64BE(8), 4n);
      assert.equal(long.readBigUInt64BE(16), 1n, 'file number');
      good(await d.exec(locate16(1, 2)));
      const extended = good(await d.exec(readPosition(0x08, 32)));
      assert.equal(extended.readUInt16BE(2), 0x1c);
      assert.equal(extended.readBigUInt64BE(8), 6n);
      assert.equal(extended.readBigUInt64BE(16), 6n);
      assert.equal(good(await d.exec(readPosition(0x08, 8))).length, 8);
      good(await d.exec(locate16(0, 1)));
      assert.equal((await position(d)).first, 1);
      good(await d.exec(locate16(3, 0)));
      assert.equal((await position(d)).first, 7);
      expectSense(await d.exec(locate10(9)), BLANK_CHECK, 0x00, 0x05);
      assert.equal((await position(d)).first, 7);
      expectSense(await d.exec(locate16(2, 0)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 1, bit: 5 } });
      expectSense(await d.exec([0x2b, 0x02, 0, 0, 0, 0, 0, 0, 1, 0]), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 8 } });
      expectSense(await d.exec(readPosition(0x02)), ILLEGAL_REQUEST, 0x24, 0x00);
      good(await d.exec(REWIND));
      assert.equal(good(await d.exec(readPosition(0x06)))[0]! & 0x80, 0x80, 'BOP');
    });
  });

  describe('mode, log and attribute pages', () => {
    it('MODE SENSE: buffered mode, LTO-5 medium type and density, pages 0Fh, 10h, 10h/01h, 11h, 1Ch, 25h', async () => {
      const d = await drive();
      const all = good(await d.exec([0x5a, 0, 0x3f, 0xff, 0, 0, 0, 0x10, 0, 0]));
      assert.equal(all[2], 0x58, 'medium type');
      assert.equal(all[3], 0x10, 'BUFFERED MODE 1');
      assert.equal(all.readUInt16BE(6), 8);
      assert.equal(all[8], 0x58, 'density code');
      const pages: string[] = [];
      for (let o = 16; o < all.length;) {
        const sub = all[o]! & 0x40;
        pages.push(sub ? `${(all[o]! & 0x3f).toString(16)}/${all[o + 1]}` : (all[o]! & 0x3f).toString(16));
        o += sub ? 4 + all.readUInt16BE(o + 2) : 2 + all[o + 1]!;
      }
      assert.deepEqual(pages, ['a', 'f', '10', '10/1', '11', '1c', '25']);
      const compression = good(await d.exec(modeSense6(0x0f)));
      assert.deepEqual([...compression.subarray(12, 16)], [0x0f, 0x0e, 0xc0, 0x80]);
      const changeable = good(await d.exec([0x1a, 0x08, 0x40 | 0x0f, 0, 255, 0]));
      assert.equal(changeable[6], 0x80, 'DCE changeable');
      const partition = good(await d.exec([0x1a, 0x08, 0x11, 0, 255, 0]));
      assert.deepEqual(
        [...partition.subarray(4, 14)],
        [0x11, 0x08, 0, 0, 0x18, 0x03, 0x02, 0, ...be(Math.floor((4 * 1024 * KiB) / 100), 2)],
      );
      const vendor = good(await d.exec([0x1a, 0x08, 0x25, 0, 255, 0]));
      assert.deepEqual([...vendor.subarray(4, 11)], [0x25, 0x1e, 0, 0, 0, 1, 1]);
    });

    it("page 0Fh: DCE and the compression algorithm change as Windows' miniclass sets them; DDE stays on; a reserved algorithm is refused", async () => {
      const d = await drive();
      const changeable = good(await d.exec([0x1a, 0x08, 0x40 | 0x0f, 0, 255, 0]));
      assert.deepEqual([...changeable.subarray(6, 14)], [0x80, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], 'DCE and COMPRESSION ALGORITHM');
      const current = good(await d.exec([0x1a, 0x08, 0x0f, 0, 255, 0]));
      // What dlttape's SetDriveParameters sends: the page as read, DCE set, algorithm 10h.
      const select = (page: Buffer): Promise<ScsiResponse> => {
        const data = Buffer.concat([Buffer.from([0, 0, 0x10, 0]), page]);
        return d.exec([0x15, 0x10, 0, 0, data.length, 0], { dataOut: data });
      };
      const page = Buffer.from(current.subarray(4));
      page.writeUInt32BE(0x10, 4);
      good(await select(page));
      const after = good(await d.exec([0x1a, 0x08, 0x0f, 0, 255, 0]));
      assert.deepEqual(
        [after[6], after.readUInt32BE(8), after[7], after.readUInt32BE(12)],
        [0xc0, 0x10, 0x80, 1],
        'DCE, DCC, algorithm 10h, DDE, decompression 1',
      );
      page[2] = 0x40;
      page.writeUInt32BE(0, 4);
      good(await select(page));
      const off = good(await d.exec([0x1a, 0x08, 0x0f, 0, 255, 0]));
      assert.deepEqual([off[6], off.readUInt32BE(8)], [0x40, 0], 'DCE off, no algorithm');
      page.writeUInt32BE(0x100, 4);
      expectSense(await select(page), ILLEGAL_REQUEST, 0x26, 0x00, { fieldPointer: { byte: 4 + 2 + 2 } });
      page.writeUInt32BE(1, 4);
      page[3] = 0x00;
      expectSense(await select(page), ILLEGAL_REQUEST, 0x26, 0x00);
      d.unit.taskManagement('lun-reset', A);
      expectSense(await d.exec(TUR), UNIT_ATTENTION, 0x29, 0x00);
      assert.equal(good(await d.exec([0x1a, 0x08, 0x0f, 0, 255, 0])).readUInt32BE(8), 1, 'a reset brings the default algorithm back');
    });

    it('LOG SENSE: supported pages, TapeAlert all clear, capacities in MiB', async () => {
      const d = await drive();
      good(await d.write(record(1, 1024 * KiB)));
      const supported = good(await d.exec(logSense(0x00)));
      assert.deepEqual([...supported.subarray(4)], [0x00, 0x0c, 0x17, 0x2e, 0x31]);
      const alerts = good(await d.exec(logSense(0x2e)));
      assert.equal(alerts.readUInt16BE(2), 64 * 5);
      for (let i = 0; i < 64; i++) assert.deepEqual([...alerts.subarray(4 + 5 * i, 9 + 5 * i)], [0, i + 1, 0x03, 1, 0]);
      const capacity = good(await d.exec(logSense(0x31)));
      assert.deepEqual([...capacity.subarray(4, 12)], [0, 1, 0, 4, ...be(3, 4)]);
      assert.equal(capacity.readUInt32BE(24), 4, 'maximum');
      const sequential = good(await d.exec(logSense(0x0c)));
      assert.equal(sequential.readBigUInt64BE(8), BigInt(1024 * KiB), 'bytes received');
      const volume = good(await d.exec(logSense(0x17)));
      assert.ok(volume.includes(Buffer.from(BARCODE.padEnd(32))), 'barcode');
    });

    it('LOG SELECT PCR resets the byte counters; default values are zero; a block length change tells the other nexus', async () => {
      const d = await drive();
      good(await d.write(record(1, 4096)));
      assert.equal(good(await d.exec(logSense(0x0c))).readBigUInt64BE(8), 4096n);
      const defaults = good(await d.exec([0x4d, 0, 0xc0 | 0x0c, 0, 0, 0, 0, 0xff, 0xff, 0]));
      assert.equal(defaults.readBigUInt64BE(8), 0n);
      good(await d.exec([0x4c, 0x02, 0x40 | 0x0c, 0, 0, 0, 0, 0, 0, 0]));
      assert.equal(good(await d.exec(logSense(0x0c))).readBigUInt64BE(8), 0n);
      const volume = good(await d.exec(logSense(0x17)));
      assert.deepEqual([...volume.subarray(4, 9)], [0, 0, 0x03, 1, 1], 'page valid');
      const select = modeSelectBlock(1024);
      good(await d.exec(select.cdb, { dataOut: select.data }));
      expectSense(await d.exec(TUR, { nexus: B }), UNIT_ATTENTION, 0x2a, 0x01);
      good(await d.exec(TUR));
      d.unit.taskManagement('lun-reset', A);
      expectSense(await d.exec(TUR, { nexus: B }), UNIT_ATTENTION, 0x29, 0x00);
      expectSense(await d.exec(TUR), UNIT_ATTENTION, 0x29, 0x00);
      assert.deepEqual([...good(await d.exec(modeSense6(0))).subarray(9, 12)], [0, 0, 0], 'a reset brings variable-block mode back');
    });

    it('READ ATTRIBUTE: values from the first attribute, barcode 0806h, list, allocation length', async () => {
      const d = await drive();
      const readAttribute = (sa: number, first: number, allocation: number, partition = 0): number[] => [
        0x8c,
        sa,
        0,
        0,
        0,
        0,
        0,
        partition,
        ...be(first, 2),
        ...be(allocation, 4),
        0,
        0,
      ];
      const barcode = good(await d.exec(readAttribute(0x00, 0x0806, 1024)));
      assert.deepEqual([...barcode.subarray(0, 9)], [0, 0, 0, 37, 0x08, 0x06, 0x01, 0, 32]);
      assert.equal(barcode.subarray(9).toString('ascii'), BARCODE.padEnd(32));
      const all = good(await d.exec(readAttribute(0x00, 0, 1024)));
      assert.deepEqual([...all.subarray(4, 17)], [0, 0, 0x80, 0, 8, ...be(4, 8)]);
      const cut = good(await d.exec(readAttribute(0x00, 0, 10)));
      assert.equal(cut.length, 10);
      assert.equal(cut.readUInt32BE(0), all.length - 4);
      const list = good(await d.exec(readAttribute(0x01, 0, 1024)));
      assert.deepEqual([...list.subarray(4, 8)], [0, 0, 0, 1]);
      assert.equal(list.readUInt32BE(0), 2 * 13);
      const mediumType = good(await d.exec(readAttribute(0x00, 0x0408, 1024)));
      assert.deepEqual([...mediumType.subarray(4, 10)], [0x04, 0x08, 0x80, 0, 1, 0x00]);
      expectSense(await d.exec(readAttribute(0x00, 0, 1024, 1)), ILLEGAL_REQUEST, 0x24, 0x00, { fieldPointer: { byte: 7 } });
      expectSense(await d.exec(readAttribute(0x04, 0, 1024)), ILLEGAL_REQUEST, 0x24, 0x00);
    });

    it('WRITE ATTRIBUTE: host attributes read back, kept by the cartridge across unload and reopening; read-only ones refused, nothing taken', async () => {
      const d = await drive();
      const readAttribute = (first: number, sa = 0x00): number[] => [0x8c, sa, 0, 0, 0, 0, 0, 0, ...be(first, 2), ...be(4096, 4), 0, 0];
      const attribute = (id: number, format: number, value: Buffer): Buffer =>
        Buffer.concat([Buffer.from([id >> 8, id & 0xff, format, ...be(value.length, 2)]), value]);
      const list = (...attributes: Buffer[]): Buffer => {
        const body = Buffer.concat(attributes);
        return Buffer.concat([Buffer.from(be(body.length, 4)), body]);
      };
      const writeAttribute = (data: Buffer, length = data.length): Promise<ScsiResponse> =>
        d.exec([0x8d, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, ...be(length, 4), 0, 0], { dataOut: data });
      const ascii = (text: string, length: number): Buffer => Buffer.from(text.padEnd(length));
      // What LTFS writes when it formats a cartridge: vendor, name, version, label, format version, coherency.
      const coherency = Buffer.from([8, ...be(7, 8), ...be(42, 8), ...be(1, 8), 0, 5, ...Buffer.from('LTFS\0')]);
      const written = list(
        attribute(0x0800, 1, ascii('IBM', 8)),
        attribute(0x0801, 1, ascii('LTFS', 32)),
        attribute(0x0802, 1, ascii('2.4.5', 8)),
        attribute(0x0803, 2, Buffer.concat([Buffer.from('weekly full'), Buffer.alloc(160 - 11)])),
        attribute(0x080b, 1, ascii('2.4.0', 16)),
        attribute(0x080c, 0, coherency),
        attribute(0x1623, 0, Buffer.from([1])),
      );
      good(await writeAttribute(written));
      const value = async (id: number): Promise<Buffer> => {
        const data = good(await d.exec(readAttribute(id)));
        assert.equal(data.readUInt16BE(4), id, `attribute ${id.toString(16)} first`);
        return data.subarray(9, 9 + data.readUInt16BE(7));
      };
      assert.equal((await value(0x0801)).toString(), ascii('LTFS', 32).toString());
      assert.deepEqual(await value(0x080c), coherency);
      assert.deepEqual(
        [...good(await d.exec(readAttribute(0x0800))).subarray(4, 9)],
        [0x08, 0x00, 0x01, 0, 8],
        'read/write, ASCII, 8 bytes',
      );
      assert.equal((await value(0x0806)).toString(), BARCODE.padEnd(32), 'the library fills in the barcode');
      const ids = good(await d.exec(readAttribute(0, 0x01)));
      const listed = Array.from({ length: ids.readUInt32BE(0) / 2 }, (_, i) => ids.readUInt16BE(4 + 2 * i));
      assert.deepEqual(
        listed.filter((id) => id >= 0x0800),
        [0x0800, 0x0801, 0x0802, 0x0803, 0x0806, 0x080b, 0x080c, 0x1623],
      );
      // Read-only (a medium attribute), a wrong length, a wrong format, out of order: refused, and nothing of the list is taken.
      const label = attribute(0x0803, 2, Buffer.alloc(160));
      expectSense(await writeAttribute(list(attribute(0x0401, 1, ascii('FORGED', 32)), label)), ILLEGAL_REQUEST, 0x26, 0x00, {
        fieldPointer: { byte: 4 },
      });
      expectSense(await writeAttribute(list(attribute(0x0800, 1, ascii('IBM', 7)))), ILLEGAL_REQUEST, 0x26, 0x00, {
        fieldPointer: { byte: 7 },
      });
      expectSense(await writeAttribute(list(attribute(0x0801, 0, ascii('X', 32)))), ILLEGAL_REQUEST, 0x26, 0x00, {
        fieldPointer: { byte: 6, bit: 1 },
      });
      expectSense(await writeAttribute(list(label, attribute(0x0801, 1, ascii('X', 32)))), ILLEGAL_REQUEST, 0x26, 0x00, {
        fieldPointer: { byte: 4 + 165 },
      });
      expectSense(
        await writeAttribute(list(attribute(0x0801, 1, Buffer.concat([ascii('X', 31), Buffer.from([0x07])])))),
        ILLEGAL_REQUEST,
        0x26,
        0x00,
        { fieldPointer: { byte: 4 + 5 + 31 } },
      );
      expectSense(await writeAttribute(list(label), 100), ILLEGAL_REQUEST, 0x1a, 0x00);
      expectSense(
        await writeAttribute(list(...Array.from({ length: 10 }, (_, i) => attribute(0x1400 + i, 0, Buffer.alloc(256))))),
        ILLEGAL_REQUEST,
        0x55,
        0x06,
      );
      assert.equal((await value(0x0803)).subarray(0, 11).toString(), 'weekly full', 'the refused lists changed nothing');
      // A length of 0 deletes one; the others stay.
      good(await writeAttribute(list(attribute(0x0802, 1, Buffer.alloc(0)))));
      assert.equal((await value(0x0803)).subarray(0, 11).toString(), 'weekly full');
      // Kept with the cartridge: after UNLOAD and LOAD, and by a new drive opening it.
      good(await d.exec(loadUnload(0)));
      good(await d.exec(loadUnload(1)));
      assert.equal((await value(0x0801)).toString().trim(), 'LTFS');
      await d.bay.eject();
      const reopened = await Cartridge.open(d.store, BARCODE);
      assert.deepEqual(
        reopened.hostAttributes.map((a) => a.id),
        [0x0800, 0x0801, 0x0803, 0x080b, 0x080c, 0x1623],
      );
      assert.deepEqual(reopened.hostAttributes.find((a) => a.id === 0x080c)!.value, coherency);
      expectSense(await writeAttribute(list(label)), NOT_READY, 0x3a, 0x00);
      const retrieved = await drive({}, { readOnly: true });
      expectSense(
        await retrieved.exec([0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...be(list(label).length, 4), 0, 0], { dataOut: list(label) }),
        DATA_PROTECT,
        0x27,
        0x00,
      );
      expectSense(await retrieved.exec([0x8d, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), ILLEGAL_REQUEST, 0x24, 0x00, {
        fieldPointer: { byte: 7 },
      });
    });

    it('REPORT DENSITY SUPPORT: LTO-3 read-only, LTO-4 and LTO-5 (default) writable; the mounted medium', async () => {
      const d = await drive();
      const drives = good(await d.exec([0x44, 0, 0, 0, 0, 0, 0, 0x10, 0, 0]));
      assert.equal(drives.readUInt16BE(0), 2 + 3 * 52);
      const descriptor = (i: number): Buffer => drives.subarray(4 + 52 * i, 56 + 52 * i);
      assert.deepEqual([...descriptor(0).subarray(0, 5)], [0x44, 0x44, 0x01, 0, 0x2f]);
      assert.deepEqual([...descriptor(1).subarray(0, 3)], [0x46, 0x46, 0x81]);
      assert.deepEqual([...descriptor(2).subarray(0, 3)], [0x58, 0x58, 0xa1]);
      assert.equal(descriptor(2).subarray(16, 52).toString('ascii'), 'LTO-CVE U-516   Ultrium 5/16T       ');
      const media = good(await d.exec([0x44, 1, 0, 0, 0, 0, 0, 0x10, 0, 0]));
      assert.equal(media.readUInt16BE(0), 54);
      assert.deepEqual([...media.subarray(4, 7)], [0x58, 0x58, 0xa1]);
      const lto4 = await drive({ barcode: 'TAPE02L4', densityCode: 0x46 });
      const list = good(await lto4.exec([0x44, 0, 0, 0, 0, 0, 0, 0x10, 0, 0]));
      assert.deepEqual([list[6], list[58], list[110]], [0x01, 0xa1, 0x81], 'DEFLT follows the mounted LTO-4 medium');
      assert.equal(good(await lto4.exec(modeSense6(0)))[1], 0x48, 'LTO-4 data medium type');
      const lto3 = await drive({ barcode: 'TAPE03L3', densityCode: 0x44 });
      assert.equal(good(await lto3.exec(modeSense6(0)))[2]! & 0x80, 0x80, 'LTO-3 is read-only in an LTO-5 drive');
      expectSense(await lto3.write(record(1, 10)), DATA_PROTECT, 0x30, 0x05);
    });

    it('REPORT TIMESTAMP reports the clock until SET TIMESTAMP sets it', async () => {
      const d = await drive();
      const report = [0xa3, 0x0f, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0];
      const before = good(await d.exec(report));
      assert.deepEqual([...before.subarray(0, 4)], [0, 10, 0x03, 0]);
      assert.equal(before.readUIntBE(4, 6), 1_800_000_000_000);
      const data = Buffer.from([0, 0, 0, 0, ...be(1_234_567, 6), 0, 0]);
      good(await d.exec([0xa4, 0x0f, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0], { dataOut: data }));
      const after = good(await d.exec(report));
      assert.equal(after[2], 0x02);
      assert.equal(after.readUIntBE(4, 6), 1_234_567);
    });
  });
});
