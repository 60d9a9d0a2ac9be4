// The medium changer (SMC-3) as an initiator sees it, over the real library on
// a real LevelDB catalog (a stand-in only for the cartridge): CDBs built byte
// by byte, READ ELEMENT STATUS parsed byte by byte.
import assert from 'node:assert/strict';
import { Asc } from '../../scsi/sense.ts';
import type { ScsiLogicalUnit } from '../../scsi/logical-unit.ts';
import { createChangerUnit } from '../../scsi/smc/changer.ts';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type Nexus, type ScsiResponse } from '../../scsi/types.ts';
import { driveIdentities, libraryFixture, type LibraryFixture } from '../tape/library-helpers.ts';
import { parseReport, type Report } from './element-status-report.ts';
import { decodeSense } from '../helpers/sense.ts';
import { A, B, clearPowerOn, command, senseOf } from './helpers.ts';

// The small library of these tests: transport 1, drives 500-501, slots 1000-1003, I/E 2000-2001.
const T = 1;
const D1 = 500;
const D2 = 501;
const S1 = 1000;
const S2 = 1001;
const S4 = 1003;
const IE1 = 2000;
const IE2 = 2001;

const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const be24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

interface ResOptions {
  type?: number;
  start?: number;
  count?: number;
  voltag?: boolean;
  dvcid?: boolean;
  allocation?: number;
  byte1?: number;
}

function resCdb(o: ResOptions = {}): number[] {
  const byte1 = (o.byte1 ?? 0) | (o.voltag ? 0x10 : 0) | (o.type ?? 0);
  return [0xb8, byte1, ...be16(o.start ?? 0), ...be16(o.count ?? 0xffff), o.dvcid ? 0x01 : 0, ...be24(o.allocation ?? 0xffffff), 0, 0];
}

const moveCdb = (source: number, destination: number, transport = 0, byte10 = 0): number[] => [
  0xa5,
  0,
  ...be16(transport),
  ...be16(source),
  ...be16(destination),
  0,
  0,
  byte10,
  0,
];

const FULL = 0x01;
const IMPEXP = 0x02;
const EXCEPT = 0x04;
const ACCESS = 0x08;
const EXENAB = 0x10;
const INENAB = 0x20;

describe('SMC medium changer', function () {
  let f: LibraryFixture;
  let unit: ScsiLogicalUnit;

  async function run(cdb: number[], options: { nexus?: Nexus; dataOut?: number[] } = {}): Promise<ScsiResponse> {
    return unit.execute(command(cdb, options));
  }

  async function good(cdb: number[], nexus: Nexus = A): Promise<Buffer> {
    const r = await run(cdb, { nexus });
    assert.equal(r.status, Status.Good, r.sense ? `sense ${JSON.stringify(senseOf(r))}` : undefined);
    return r.data ?? Buffer.alloc(0);
  }

  async function res(o: ResOptions = {}): Promise<Report> {
    return parseReport(await good(resCdb(o)));
  }

  async function checkSense(cdb: number[], key: number, asc: number, fieldByte?: number, nexus: Nexus = A): Promise<void> {
    const r = await run(cdb, { nexus });
    assert.equal(r.status, Status.CheckCondition);
    const s = decodeSense(r.sense!);
    assert.deepEqual([s.key, (s.asc << 8) | s.ascq], [key, asc], `sense ${JSON.stringify(s)}`);
    if (fieldByte !== undefined) {
      assert.ok(s.fieldPointer, 'field pointer expected');
      assert.equal(s.fieldPointer.cdb, true, 'C/D: in the CDB');
      assert.equal(s.fieldPointer.byte, fieldByte);
    }
  }

  /** Takes the unit attentions operator actions left pending, so the next command runs. */
  async function settle(...nexuses: Nexus[]): Promise<void> {
    for (const n of nexuses) while ((await run([0x00, 0, 0, 0, 0, 0], { nexus: n })).status !== Status.Good);
  }

  function makeUnit(): void {
    unit = createChangerUnit({ identity: { serial: 'XYZZY_A1', gatewayId: 'sgw-12345678', name: 'changer' }, library: f.library });
  }

  beforeEach(async function () {
    f = await libraryFixture();
    makeUnit();
    await clearPowerOn(unit, A, B);
  });

  afterEach(async function () {
    await f.close();
  });

  describe('identity and mode pages', function () {
    it('is a removable medium changer that says STK L700 and SMC-3', async function () {
      const d = await good([0x12, 0, 0, 0, 96, 0]);
      assert.equal(d[0], 0x08);
      assert.equal(d[1], 0x80);
      assert.equal(d.subarray(8, 16).toString('latin1'), 'STK     ');
      assert.equal(d.subarray(16, 32).toString('latin1'), 'L700            ');
      assert.equal(d.subarray(32, 36).toString('latin1'), '0105');
      const versions = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => d.readUInt16BE(58 + 2 * i));
      assert.ok(versions.includes(0x0480));
      const serial = await good([0x12, 1, 0x80, 0, 64, 0]);
      assert.equal(serial.subarray(4).toString('latin1'), 'XYZZY_A1');
    });

    it('takes another identity when configured', async function () {
      unit = createChangerUnit({
        identity: { vendor: 'IBM', product: '03584L32', revision: '0402', serial: 'S1', gatewayId: 'g', name: 'changer' },
        library: f.library,
      });
      const d = await good([0x12, 0, 0, 0, 96, 0]);
      assert.equal(d.subarray(8, 36).toString('latin1'), 'IBM     03584L32        0402');
    });

    it('reports element address assignment (1Dh) from the layout', async function () {
      const d = await good([0x1a, 0x08, 0x1d, 0, 255, 0]);
      assert.deepEqual(
        [...d],
        [
          d[0],
          0,
          0,
          0, // header: no block descriptors
          0x1d,
          0x12,
          ...be16(T),
          ...be16(1),
          ...be16(S1),
          ...be16(4),
          ...be16(IE1),
          ...be16(2),
          ...be16(D1),
          ...be16(2),
          0,
          0,
        ],
      );
      assert.equal(d[0], d.length - 1);
    });

    it('reports transport geometry (1Eh) and device capabilities (1Fh), and all pages with 3Fh', async function () {
      const geometry = await good([0x1a, 0x08, 0x1e, 0, 255, 0]);
      assert.deepEqual([...geometry.subarray(4)], [0x1e, 0x02, 0x00, 0x00]);
      const caps = await good([0x1a, 0x08, 0x1f, 0, 255, 0]);
      assert.deepEqual([...caps.subarray(4)], [0x1f, 0x12, 0x0e, 0, 0x00, 0x0e, 0x0e, 0x0e, ...new Array<number>(12).fill(0)]);
      const all = await good([0x5a, 0x08, 0x3f, 0, 0, 0, 0, 0x10, 0, 0]);
      const codes: number[] = [];
      for (let o = 8; o < all.length; o += 2 + all[o + 1]!) codes.push(all[o]! & 0x3f);
      assert.deepEqual(codes, [0x0a, 0x1c, 0x1d, 0x1e, 0x1f]);
    });

    it('lets MODE SELECT restate page 1Dh but not change it', async function () {
      const sense = await good([0x1a, 0x08, 0x1d, 0, 255, 0]);
      const list = [0, 0, 0, 0, ...sense.subarray(4)];
      const same = await run([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list });
      assert.equal(same.status, Status.Good);
      const changed = [...list];
      changed[4 + 7] = 9; // number of storage elements
      const r = await run([0x15, 0x10, 0, 0, changed.length, 0], { dataOut: changed });
      assert.deepEqual([senseOf(r).key, senseOf(r).asc], [0x05, 0x26]);
    });
  });

  describe('READ ELEMENT STATUS', function () {
    beforeEach(async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.tape('ABC00002L5', { kind: 'slot', index: 4 });
      await f.tape('IMP00001'); // first I/E slot, by the operator
      await settle(A);
      await good(moveCdb(S4, D2));
    });

    it('reports storage elements byte by byte', async function () {
      const d = await good(resCdb({ type: 2, start: S1, count: 4, voltag: true }));
      assert.deepEqual([...d.subarray(0, 16)], [...be16(S1), 0, 4, 0, ...be24(8 + 4 * 52), 0x02, 0x80, 0, 52, 0, ...be24(4 * 52)]);
      const first = d.subarray(16, 16 + 52);
      const volumeTag = Buffer.alloc(36);
      volumeTag.write('ABC00001'.padEnd(32, ' '), 'latin1');
      assert.deepEqual(first, Buffer.from([...be16(S1), ACCESS | FULL, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, ...volumeTag, 0, 0, 0, 0]));
      const second = d.subarray(16 + 52, 16 + 104);
      assert.deepEqual(second, Buffer.from([...be16(S2), ACCESS, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array<number>(36).fill(0), 0, 0, 0, 0]));
      assert.equal(d.length, 8 + 8 + 4 * 52);
    });

    it('reports the data transfer elements with SVALID, the source, and DVCID', async function () {
      const r = await res({ type: 4, voltag: true, dvcid: true });
      assert.equal(r.pages.length, 1);
      const page = r.pages[0]!;
      assert.equal(page.type, 4);
      assert.equal(page.descriptorLength, 12 + 36 + 4 + 34);
      const [d1, d2] = page.descriptors;
      assert.equal(d1!.address, D1);
      assert.equal(d1!.flags, ACCESS);
      assert.equal(d2!.address, D2);
      assert.equal(d2!.flags, ACCESS | FULL);
      assert.ok(d2!.svalid);
      assert.equal(d2!.source, S4);
      assert.equal(d2!.voltag, 'ABC00002L5'.padEnd(32));
      assert.deepEqual(d2!.identifier, { codeSet: 2, type: 1, text: 'IBM     ULT3580-TD5     1013000002' });
      assert.deepEqual(d1!.identifier, { codeSet: 2, type: 1, text: 'IBM     ULT3580-TD5     1013000001' });
      // Bytes 6-8: no SCSI bus address to report over iSCSI.
      assert.deepEqual([...d2!.raw.subarray(6, 9)], [0, 0, 0]);
    });

    it('names each drive by the serial its own VPD 80h reports, and its INQUIRY vendor and product', async function () {
      const page = (await res({ type: 4, dvcid: true })).pages[0]!;
      for (const [i, bay] of f.library.bays.entries()) {
        const identity = f.library.elements().find((e) => e.address === D1 + i)!.drive!;
        const drive = createTapeDriveUnit({ identity: { ...identity, gatewayId: 'sgw-12345678', name: `drive-${i + 1}` }, bay });
        const serial = (await drive.execute(command([0x12, 1, 0x80, 0, 255, 0]))).data!.subarray(4).toString('latin1');
        const inquiry = (await drive.execute(command([0x12, 0, 0, 0, 96, 0]))).data!;
        assert.equal(page.descriptors[i]!.identifier!.text, inquiry.subarray(8, 32).toString('latin1') + serial);
      }
    });

    it('gives every drive the same descriptor length: DVCID padded to the longest serial', async function () {
      await f.reopen({
        drives: [
          { vendor: 'IBM', product: 'ULT3580-TD5', serial: '1013000001' },
          { vendor: 'IBM', product: 'ULT3580-TD5', serial: 'GW1234567890AB' },
        ],
      });
      makeUnit();
      await clearPowerOn(unit, A);
      const page = (await res({ type: 4, dvcid: true })).pages[0]!;
      assert.equal(page.descriptorLength, 16 + 24 + 14);
      assert.equal(page.descriptors[0]!.identifier!.text, 'IBM     ULT3580-TD5     1013000001    ');
      assert.equal(page.descriptors[1]!.identifier!.text.trimEnd().slice(24), 'GW1234567890AB');
    });

    it('leaves the identifier out without DVCID and the volume tags out without VOLTAG', async function () {
      const page = (await res({ type: 4 })).pages[0]!;
      assert.equal(page.descriptorLength, 16);
      assert.ok(!page.pvoltag);
      assert.equal(page.descriptors[1]!.identifier, undefined);
    });

    it('reports import/export elements with IMPEXP, INENAB and EXENAB', async function () {
      await good(moveCdb(S1, IE2));
      const r = await res({ type: 3, voltag: true });
      const [ie1, ie2] = r.pages[0]!.descriptors;
      assert.equal(ie1!.flags, INENAB | EXENAB | ACCESS | IMPEXP | FULL, 'put there by the operator');
      assert.equal(ie1!.svalid, false);
      assert.equal(ie2!.flags, INENAB | EXENAB | ACCESS | FULL, 'exported by the changer');
      assert.equal(ie2!.source, S1);
    });

    it('reports the transport element with no ACCESS bit', async function () {
      const r = await res({ type: 1, voltag: true });
      assert.equal(r.available, 1);
      assert.deepEqual(
        r.pages[0]!.descriptors.map((d) => [d.address, d.flags]),
        [[T, 0]],
      );
    });

    it('reports all types in address order, one page per type', async function () {
      const r = await res({ voltag: true, dvcid: true });
      assert.deepEqual(
        r.pages.map((p) => [p.type, p.descriptors.length]),
        [
          [1, 1],
          [4, 2],
          [2, 4],
          [3, 2],
        ],
      );
      assert.equal(r.first, T);
      assert.equal(r.available, 9);
      const lengths = r.pages.reduce((n, p) => n + 8 + p.byteCount, 0);
      assert.equal(r.byteCount, lengths);
      for (const p of r.pages) assert.equal(p.byteCount, p.descriptorLength * p.descriptors.length);
    });

    it('starts anywhere: inside a range, between ranges, and past the last element', async function () {
      let r = await res({ start: 1002 });
      assert.equal(r.first, 1002);
      assert.deepEqual(
        r.pages.map((p) => p.descriptors.map((d) => d.address)),
        [
          [1002, 1003],
          [IE1, IE2],
        ],
      );
      r = await res({ start: 2 });
      assert.equal(r.first, D1);
      assert.deepEqual(
        r.pages.map((p) => p.type),
        [4, 2, 3],
      );
      r = await res({ type: 2, start: 600 });
      assert.equal(r.first, S1);
      assert.equal(r.available, 4);
      r = await res({ start: 2002 });
      assert.deepEqual(r, { first: 0, available: 0, byteCount: 0, pages: [] });
      r = await res({ type: 4, start: 502 });
      assert.equal(r.available, 0);
    });

    it('counts NUMBER OF ELEMENTS across pages', async function () {
      const r = await res({ start: 501, count: 3 });
      assert.deepEqual(
        r.pages.map((p) => p.descriptors.map((d) => d.address)),
        [[D2], [S1, S2]],
      );
      assert.equal(r.available, 3);
      assert.deepEqual(await res({ count: 0 }), { first: 0, available: 0, byteCount: 0, pages: [] });
    });

    it('cuts to the allocation length at a whole descriptor, the counts telling the full size', async function () {
      const full = await good(resCdb({ type: 2, voltag: true }));
      const header = await good(resCdb({ type: 2, voltag: true, allocation: 8 }));
      assert.deepEqual(header, full.subarray(0, 8));
      assert.equal(header.readUIntBE(5, 3) + 8, full.length);
      const twoAndABit = await good(resCdb({ type: 2, voltag: true, allocation: 16 + 2 * 52 + 20 }));
      assert.equal(twoAndABit.length, 16 + 2 * 52);
      assert.deepEqual(twoAndABit, full.subarray(0, 16 + 2 * 52));
      const pageHeaderOnly = await good(resCdb({ type: 2, voltag: true, allocation: 20 }));
      assert.equal(pageHeaderOnly.length, 16);
      const tiny = await good(resCdb({ type: 2, allocation: 5 }));
      assert.deepEqual(tiny, full.subarray(0, 5));
    });

    it('accepts CURDATA and the SCSI-2 LUN bits Linux ch sets, and refuses reserved element types', async function () {
      const withLun = await good(resCdb({ type: 2, byte1: 0x20 }));
      assert.deepEqual(withLun, await good(resCdb({ type: 2 })));
      const cdb = resCdb({ type: 2 });
      cdb[6] = 0x02;
      await good(cdb);
      await checkSense(resCdb({ type: 5 }), 0x05, Asc.INVALID_FIELD_IN_CDB, 1);
    });
  });

  describe('thousands of elements', function () {
    it('reports 3211 elements of the default library whole, with 24-bit byte counts', async function () {
      await f.close();
      f = await libraryFixture({ storageSlots: 1600, importExportSlots: 1600, drives: driveIdentities(10) });
      makeUnit();
      await clearPowerOn(unit, A);
      await f.tape('LAST0001', { kind: 'import-export', index: 1600 });
      await settle(A);
      const r = await res({ voltag: true, dvcid: true });
      assert.equal(r.available, 3211);
      assert.deepEqual(
        r.pages.map((p) => [p.type, p.descriptors.length]),
        [
          [1, 1],
          [4, 10],
          [2, 1600],
          [3, 1600],
        ],
      );
      const expected = 4 * 8 + 52 + 10 * 86 + 1600 * 52 + 1600 * 52;
      assert.equal(r.byteCount, expected);
      assert.ok(expected > 0xffff, 'more than a 16-bit count holds');
      const addresses = r.pages.flatMap((p) => p.descriptors.map((d) => d.address));
      assert.deepEqual(
        addresses,
        [...addresses].sort((a, b) => a - b),
      );
      const last = r.pages[3]!.descriptors[1599]!;
      assert.equal(last.address, 3000 + 1599);
      assert.equal(last.voltag, 'LAST0001'.padEnd(32));
      const storage = await res({ type: 2, start: 1000, count: 1600, voltag: true });
      assert.equal(storage.byteCount, 8 + 1600 * 52);
    });
  });

  describe('MOVE MEDIUM', function () {
    beforeEach(async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.tape('ABC00002', { kind: 'slot', index: 2 });
      await settle(A, B);
    });

    it('loads a drive and puts the cartridge back, unloading it first', async function () {
      await good(moveCdb(S1, D1));
      assert.ok(f.cartridges.open.has('ABC00001'));
      assert.equal(f.library.bays[0]!.medium?.barcode, 'ABC00001');
      await good(moveCdb(D1, S4, T));
      assert.equal(f.cartridges.open.size, 0);
      assert.deepEqual(f.cartridges.log, ['open ABC00001', 'close ABC00001']);
      const s4 = (await res({ type: 2, start: S4, count: 1 })).pages[0]!.descriptors[0]!;
      assert.equal(s4.flags, ACCESS | FULL);
      assert.equal(s4.source, D1);
    });

    it('refuses invalid elements with 21/01 and a field pointer', async function () {
      await checkSense(moveCdb(999, S4), 0x05, Asc.INVALID_ELEMENT_ADDRESS, 4);
      await checkSense(moveCdb(S1, 1004), 0x05, Asc.INVALID_ELEMENT_ADDRESS, 6);
      await checkSense(moveCdb(S1, T), 0x05, Asc.INVALID_ELEMENT_ADDRESS, 6);
      await checkSense(moveCdb(S1, S4, 7), 0x05, Asc.INVALID_ELEMENT_ADDRESS, 2);
    });

    it('refuses an empty source (3B/0E) and a full destination (3B/0D)', async function () {
      await checkSense(moveCdb(S4, IE1), 0x05, Asc.MEDIUM_SOURCE_ELEMENT_EMPTY, 4);
      await checkSense(moveCdb(S1, S2), 0x05, Asc.MEDIUM_DESTINATION_ELEMENT_FULL, 6);
    });

    it('refuses INVERT: the transport cannot rotate media', async function () {
      await checkSense(moveCdb(S1, S4, 0, 0x01), 0x05, Asc.INVALID_FIELD_IN_CDB, 10);
    });

    it('refuses to take a cartridge from a drive whose removal is prevented (53/02)', async function () {
      await good(moveCdb(S1, D1));
      f.library.bays[0]!.preventRemoval(A.key, true);
      await checkSense(moveCdb(D1, S4), 0x05, Asc.MEDIUM_REMOVAL_PREVENTED, 4);
      const d1 = (await res({ type: 4 })).pages[0]!.descriptors[0]!;
      assert.equal(d1.flags, FULL, 'no ACCESS while prevented');
      f.library.bays[0]!.preventRemoval(A.key, false);
      await good(moveCdb(D1, S4));
    });

    it('refuses exports while an initiator prevents medium removal, imports still allowed', async function () {
      await good([0x1e, 0, 0, 0, 0x01, 0], B);
      await checkSense(moveCdb(S1, IE1), 0x05, Asc.MEDIUM_REMOVAL_PREVENTED, 6);
      await f.tape('IMP00001', { kind: 'import-export', index: 2 });
      await settle(A, B);
      await good(moveCdb(IE2, S4));
      await good([0x1e, 0, 0, 0, 0x00, 0], A); // another nexus's allow does not lift B's prevention
      await checkSense(moveCdb(S1, IE1), 0x05, Asc.MEDIUM_REMOVAL_PREVENTED, 6);
      await good([0x1e, 0, 0, 0, 0x00, 0], B);
      await good(moveCdb(S1, IE1));
      await checkSense([0x1e, 0, 0, 0, 0x02, 0], 0x05, Asc.INVALID_FIELD_IN_CDB, 4);
    });

    it('ends a prevention with a LUN reset or the loss of the nexus', async function () {
      await good([0x1e, 0, 0, 0, 0x01, 0], B);
      unit.taskManagement('i-t-nexus-loss', B);
      await good(moveCdb(S1, IE1));
      await good(moveCdb(IE1, S1));
      await good([0x1e, 0, 0, 0, 0x01, 0], A);
      unit.taskManagement('lun-reset', A);
      await clearPowerOn(unit, A);
      await run([0x00, 0, 0, 0, 0, 0]);
      await good(moveCdb(S1, IE1));
    });

    it('answers MEDIUM ERROR 53/00 when the cartridge cannot be loaded, and nothing moves', async function () {
      await f.library.insert('GHOST001', { kind: 'slot', index: 3 }); // no such cartridge in the engine
      await settle(A);
      await checkSense(moveCdb(S1 + 2, D1), 0x03, Asc.MEDIUM_LOAD_OR_EJECT_FAILED);
      assert.equal(f.library.locate('GHOST001')?.kind, 'slot');
      const d1 = (await res({ type: 4 })).pages[0]!.descriptors[0]!;
      assert.equal(d1.flags & (FULL | EXCEPT), 0);
    });

    it('tells the export hook when the changer puts a cartridge in an import/export slot', async function () {
      const exported: string[] = [];
      f.library.onExported((b) => exported.push(b));
      await good(moveCdb(S1, IE1));
      await good(moveCdb(IE1, IE2));
      assert.deepEqual(exported, ['ABC00001']);
    });

    it('does not raise a unit attention for its own moves', async function () {
      await good(moveCdb(S1, S4));
      await good([0x00, 0, 0, 0, 0, 0], B);
    });
  });

  describe('barcode search', function () {
    const template = (text: string, minimumSequence = 0): number[] => {
      const b = Buffer.alloc(40);
      b.write(text.padEnd(32, ' '), 'latin1');
      b.writeUInt16BE(minimumSequence, 34);
      return [...b];
    };
    const sendVolumeTag = (text: string, o: { type?: number; start?: number; action?: number; minimumSequence?: number } = {}) =>
      run([0xb6, o.type ?? 0, ...be16(o.start ?? 0), 0, o.action ?? 0x05, 0, 0, 0, 40, 0, 0], {
        dataOut: template(text, o.minimumSequence),
      });
    const rvea = (o: ResOptions = {}): number[] => {
      const cdb = resCdb(o);
      cdb[0] = 0xb5;
      return cdb;
    };

    beforeEach(async function () {
      await f.tape('ABC00001', { kind: 'slot', index: 1 });
      await f.tape('ABC00002', { kind: 'slot', index: 3 });
      await f.tape('XYZ00001');
      await settle(A, B);
      await good(moveCdb(1002, D2));
    });

    it('finds the elements whose barcode matches the template of SEND VOLUME TAG', async function () {
      assert.equal((await sendVolumeTag('ABC*')).status, Status.Good);
      const r = parseReport(await good(rvea({ voltag: true })), 0x05);
      assert.deepEqual(
        r.pages.map((p) => [p.type, p.descriptors.map((x) => x.voltag!.trimEnd())]),
        [
          [4, ['ABC00002']],
          [2, ['ABC00001']],
        ],
      );
      assert.equal(r.available, 2);
      await sendVolumeTag('?YZ0000?');
      assert.deepEqual(
        parseReport(await good(rvea({ voltag: true })), 0x05).pages.map((p) => p.descriptors.map((x) => x.address)),
        [[IE1]],
      );
      await sendVolumeTag('ABC*', { type: 2 });
      assert.deepEqual(
        parseReport(await good(rvea()), 0x05).pages.map((p) => p.descriptors.map((x) => x.address)),
        [[S1]],
      );
      await sendVolumeTag('ABC*', { minimumSequence: 1 });
      assert.equal(parseReport(await good(rvea()), 0x05).available, 0);
    });

    it('keeps one search per nexus and wants SEND VOLUME TAG first', async function () {
      await checkSense(rvea(), 0x05, 0x2c00);
      await sendVolumeTag('ABC00001');
      await checkSense(rvea(), 0x05, 0x2c00, undefined, B);
      assert.equal(parseReport(await good(rvea()), 0x05).first, S1);
      unit.taskManagement('i-t-nexus-loss', A);
      await clearPowerOn(unit, A);
      await checkSense(rvea(), 0x05, 0x2c00);
    });

    it('supports only the translate action on primary tags', async function () {
      const r = await sendVolumeTag('ABC*', { action: 0x08 });
      assert.deepEqual([senseOf(r).key, senseOf(r).asc, senseOf(r).sks?.[2]], [0x05, 0x24, 5]);
    });
  });

  describe('other commands', function () {
    it('INITIALIZE ELEMENT STATUS and WITH RANGE answer GOOD', async function () {
      await good([0x07, 0, 0, 0, 0, 0]);
      await good([0x37, 0x01, ...be16(S1), 0, 0, ...be16(2), 0, 0]);
      await good([0x37, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]);
    });

    it('POSITION TO ELEMENT accepts any element and refuses others', async function () {
      await good([0x2b, 0, 0, 0, ...be16(D2), 0, 0, 0, 0]);
      await good([0x2b, 0, ...be16(T), ...be16(IE1), 0, 0, 0, 0]);
      await checkSense([0x2b, 0, 0, 0, ...be16(1500), 0, 0, 0, 0], 0x05, Asc.INVALID_ELEMENT_ADDRESS, 4);
    });

    it('lists the changer commands in REPORT SUPPORTED OPERATION CODES', async function () {
      const d = await good([0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]);
      const ops = new Set<number>();
      for (let o = 4; o < d.length; o += 8 + (d[o + 5]! & 0x02 ? 12 : 0)) ops.add(d[o]!);
      for (const op of [0xb8, 0xa5, 0x07, 0x37, 0x2b, 0x1e, 0xb5, 0xb6]) assert.ok(ops.has(op), `opcode ${op.toString(16)}`);
    });
  });

  describe('unit attention', function () {
    it('tells every nexus 28/01 after an operator insert into an import/export slot', async function () {
      await f.tape('NEW00001');
      for (const n of [A, B]) await checkSense([0x00, 0, 0, 0, 0, 0], 0x06, Asc.IMPORT_OR_EXPORT_ELEMENT_ACCESSED, undefined, n);
      await good([0x00, 0, 0, 0, 0, 0], A);
    });

    it('tells every nexus 28/00 when storage changes under it', async function () {
      await f.tape('NEW00001', { kind: 'slot', index: 3 });
      for (const n of [A, B]) await checkSense(resCdb({ type: 2 }), 0x06, Asc.NOT_READY_TO_READY_CHANGE, undefined, n);
      const r = await res({ type: 2, start: 1002, count: 1, voltag: true });
      assert.equal(r.pages[0]!.descriptors[0]!.voltag, 'NEW00001'.padEnd(32));
    });
  });
});
