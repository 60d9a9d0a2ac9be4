import { strict as assert } from 'node:assert';
import { Status } from '../../scsi/types.ts';
import type { Nexus } from '../../scsi/types.ts';
import { A, B, clearPowerOn, command, nexus, senseOf, testUnit } from './helpers.ts';

const C = nexus(3);
const TUR = [0x00, 0, 0, 0, 0, 0];
const READ = [0x08, 0, 0, 0, 1, 0];
const WRITE = [0x0a, 0, 0, 0, 1, 0];
const INQUIRY = [0x12, 0, 0, 0, 36, 0];

async function ready() {
  const t = testUnit();
  await clearPowerOn(t.unit, A, B, C);
  return t;
}

function prOutList(key: bigint, serviceActionKey: bigint, flags = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(serviceActionKey, 8);
  b[20] = flags;
  return b;
}

type Unit = ReturnType<typeof testUnit>['unit'];

const prOut = (unit: Unit, n: Nexus, sa: number, key: bigint, sark: bigint, type = 0, flags = 0) =>
  unit.execute(command([0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0], { nexus: n, dataOut: prOutList(key, sark, flags) }));
const prIn = async (unit: Unit, sa: number, n: Nexus = A) =>
  (await unit.execute(command([0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0], { nexus: n }))).data!;

const REGISTER = 0,
  RESERVE = 1,
  RELEASE = 2,
  CLEAR = 3,
  PREEMPT = 4,
  PREEMPT_AND_ABORT = 5,
  REGISTER_IGNORE = 6;
const WE = 1,
  EA = 3,
  WE_RO = 5,
  EA_AR = 8;

describe('scsi reservations', () => {
  describe('RESERVE(6) / RELEASE(6)', () => {
    it('conflicts for the other nexus until released', async () => {
      const { unit } = await ready();
      assert.equal((await unit.execute(command([0x16, 0, 0, 0, 0, 0], { nexus: A }))).status, Status.Good);
      assert.equal((await unit.execute(command(READ, { nexus: A }))).status, Status.Good);
      for (const cdb of [READ, WRITE, TUR, [0x16, 0, 0, 0, 0, 0]]) {
        assert.equal((await unit.execute(command(cdb, { nexus: B }))).status, Status.ReservationConflict);
      }
      // INQUIRY, REQUEST SENSE, REPORT LUNS and RELEASE (a no-op) do not conflict.
      assert.equal((await unit.execute(command(INQUIRY, { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command([0x03, 0, 0, 0, 18, 0], { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command([0x17, 0, 0, 0, 0, 0], { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.ReservationConflict);
      assert.equal((await unit.execute(command([0x17, 0, 0, 0, 0, 0], { nexus: A }))).status, Status.Good);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.Good);
    });

    it("is released by a LUN reset and by loss of the holder's nexus", async () => {
      const { unit } = await ready();
      await unit.execute(command([0x16, 0, 0, 0, 0, 0], { nexus: A }));
      unit.taskManagement('lun-reset', B);
      await clearPowerOn(unit, B);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.Good);
      await unit.execute(command([0x16, 0, 0, 0, 0, 0], { nexus: A }));
      unit.taskManagement('i-t-nexus-loss', A);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.Good);
    });

    it('makes PERSISTENT RESERVE commands of other nexuses conflict', async () => {
      const { unit } = await ready();
      await unit.execute(command([0x16, 0, 0, 0, 0, 0], { nexus: A }));
      assert.equal((await prOut(unit, B, REGISTER, 0n, 0xbbn)).status, Status.ReservationConflict);
    });
  });

  describe('PERSISTENT RESERVE', () => {
    it('registers, reads keys and counts generations', async () => {
      const { unit } = await ready();
      assert.deepEqual([...(await prIn(unit, 0))], [0, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal((await prOut(unit, A, REGISTER, 0n, 0xaan)).status, Status.Good);
      assert.equal((await prOut(unit, B, REGISTER, 0n, 0xbbn)).status, Status.Good);
      const keys = await prIn(unit, 0);
      assert.deepEqual([...keys], [0, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0xbb]);
      // Wrong current key conflicts; REGISTER AND IGNORE EXISTING KEY does not care.
      assert.equal((await prOut(unit, A, REGISTER, 0x11n, 0xa1n)).status, Status.ReservationConflict);
      assert.equal((await prOut(unit, A, REGISTER_IGNORE, 0x11n, 0xa1n)).status, Status.Good);
      assert.equal((await prOut(unit, A, REGISTER, 0xa1n, 0n)).status, Status.Good);
      const after = await prIn(unit, 0);
      assert.deepEqual([...after.subarray(0, 8)], [0, 0, 0, 4, 0, 0, 0, 8]);
      assert.equal(after.readBigUInt64BE(8), 0xbbn);
    });

    it('WRITE EXCLUSIVE: others may read but not write; only the holder releases', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, B, REGISTER, 0n, 0xbbn);
      assert.equal((await prOut(unit, A, RESERVE, 0xaan, 0n, WE)).status, Status.Good);
      assert.deepEqual([...(await prIn(unit, 1))], [0, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0, 0, 0, 0, 0, WE, 0, 0]);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command(WRITE, { nexus: B }))).status, Status.ReservationConflict);
      assert.equal((await unit.execute(command(WRITE, { nexus: A }))).status, Status.Good);
      // Another reservation by a non-holder conflicts; RELEASE by a non-holder is a no-op.
      assert.equal((await prOut(unit, B, RESERVE, 0xbbn, 0n, WE)).status, Status.ReservationConflict);
      assert.equal((await prOut(unit, B, RELEASE, 0xbbn, 0n, WE)).status, Status.Good);
      assert.equal((await unit.execute(command(WRITE, { nexus: B }))).status, Status.ReservationConflict);
      // Releasing with the wrong type is INVALID RELEASE OF PERSISTENT RESERVATION.
      assert.deepEqual(senseOf(await prOut(unit, A, RELEASE, 0xaan, 0n, EA)), { key: 5, asc: 0x26, ascq: 0x04 });
      assert.equal((await prOut(unit, A, RELEASE, 0xaan, 0n, WE)).status, Status.Good);
      assert.equal((await unit.execute(command(WRITE, { nexus: B }))).status, Status.Good);
      assert.deepEqual([...(await prIn(unit, 1)).subarray(4, 8)], [0, 0, 0, 0]);
    });

    it('EXCLUSIVE ACCESS: others may not even read; an unregistered nexus cannot reserve', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      assert.equal((await prOut(unit, C, RESERVE, 0n, 0n, EA)).status, Status.ReservationConflict);
      await prOut(unit, A, RESERVE, 0xaan, 0n, EA);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.ReservationConflict);
      assert.equal((await unit.execute(command(INQUIRY, { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command(TUR, { nexus: B }))).status, Status.Good);
    });

    it('registrants-only: registered nexuses may write; the holder unregistering releases it, telling the others', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, B, REGISTER, 0n, 0xbbn);
      await prOut(unit, A, RESERVE, 0xaan, 0n, WE_RO);
      assert.equal((await unit.execute(command(WRITE, { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command(WRITE, { nexus: C }))).status, Status.ReservationConflict);
      await prOut(unit, A, REGISTER, 0xaan, 0n);
      assert.deepEqual([...(await prIn(unit, 1)).subarray(4, 8)], [0, 0, 0, 0]);
      assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: B }))), { key: 6, asc: 0x2a, ascq: 0x04 });
    });

    it('PREEMPT takes the reservation and removes the preempted registration, with a unit attention', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, B, REGISTER, 0n, 0xbbn);
      await prOut(unit, A, RESERVE, 0xaan, 0n, EA);
      assert.equal((await prOut(unit, B, PREEMPT, 0xbbn, 0xaan, WE)).status, Status.Good);
      const r = await prIn(unit, 1, B);
      assert.equal(r.readBigUInt64BE(8), 0xbbn);
      assert.equal(r[21], WE);
      const keys = await prIn(unit, 0, B);
      assert.deepEqual([...keys.subarray(4, 8)], [0, 0, 0, 8]);
      assert.equal(keys.readBigUInt64BE(8), 0xbbn);
      assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: A }))), { key: 6, asc: 0x2a, ascq: 0x05 });
      assert.equal((await unit.execute(command(WRITE, { nexus: A }))).status, Status.ReservationConflict);
      // Preempting a key nobody holds conflicts; key 0 without a reservation is an invalid field.
      assert.equal((await prOut(unit, B, PREEMPT_AND_ABORT, 0xbbn, 0x99n, WE)).status, Status.ReservationConflict);
      await prOut(unit, B, RELEASE, 0xbbn, 0n, WE);
      assert.deepEqual(senseOf(await prOut(unit, B, PREEMPT, 0xbbn, 0n, WE)).sks, [0x80, 0x00, 0x08]);
    });

    it('all-registrants: every registrant holds it; it lasts until the last one leaves', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, B, REGISTER, 0n, 0xbbn);
      await prOut(unit, A, RESERVE, 0xaan, 0n, EA_AR);
      const r = await prIn(unit, 1);
      assert.equal(r.readBigUInt64BE(8), 0n);
      assert.equal(r[21], EA_AR);
      assert.equal((await unit.execute(command(WRITE, { nexus: B }))).status, Status.Good);
      assert.equal((await unit.execute(command(READ, { nexus: C }))).status, Status.ReservationConflict);
      await prOut(unit, A, REGISTER, 0xaan, 0n);
      assert.equal((await unit.execute(command(READ, { nexus: C }))).status, Status.ReservationConflict);
      await prOut(unit, B, REGISTER, 0xbbn, 0n);
      assert.equal((await unit.execute(command(READ, { nexus: C }))).status, Status.Good);
    });

    it('CLEAR removes everything and tells the other registrants', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, B, REGISTER, 0n, 0xbbn);
      await prOut(unit, B, RESERVE, 0xbbn, 0n, WE);
      assert.equal((await prOut(unit, A, CLEAR, 0xaan, 0n)).status, Status.Good);
      assert.deepEqual([...(await prIn(unit, 0))], [0, 0, 0, 3, 0, 0, 0, 0]);
      assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: B }))), { key: 6, asc: 0x2a, ascq: 0x03 });
    });

    it('REPORT CAPABILITIES and READ FULL STATUS', async () => {
      const { unit } = await ready();
      assert.deepEqual([...(await prIn(unit, 2))], [0, 8, 0x10, 0x80, 0xea, 0x01, 0, 0]);
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, A, RESERVE, 0xaan, 0n, WE);
      const s = await prIn(unit, 3);
      const tid = Buffer.from('iqn.1994-05.com.redhat:host1,i,0x23d000000001\0\0\0');
      assert.deepEqual([...s.subarray(0, 8)], [0, 0, 0, 1, 0, 0, 0, 24 + 4 + tid.length]); // RESERVE does not bump PRGENERATION
      assert.equal(s.readBigUInt64BE(8), 0xaan);
      assert.deepEqual([...s.subarray(20, 32)], [0x01, WE, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4 + tid.length]);
      assert.deepEqual([...s.subarray(32, 36)], [0x45, 0, 0, tid.length]);
      assert.deepEqual(s.subarray(36), tid);
    });

    it('refuses APTPL, ALL_TG_PT, SPEC_I_PT, a wrong parameter list length, and a bad type or scope', async () => {
      const { unit } = await ready();
      assert.deepEqual(senseOf(await prOut(unit, A, REGISTER, 0n, 0xaan, 0, 0x01)).sks, [0x88, 0x00, 20]);
      assert.deepEqual(senseOf(await prOut(unit, A, REGISTER, 0n, 0xaan, 0, 0x04)).sks, [0x8a, 0x00, 20]);
      assert.deepEqual(senseOf(await prOut(unit, A, REGISTER, 0n, 0xaan, 0, 0x08)).sks, [0x8b, 0x00, 20]);
      const short = await unit.execute(command([0x5f, 0, 0, 0, 0, 0, 0, 0, 20, 0], { dataOut: Buffer.alloc(20) }));
      assert.deepEqual(senseOf(short), { key: 5, asc: 0x1a, ascq: 0 });
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      assert.deepEqual(senseOf(await prOut(unit, A, RESERVE, 0xaan, 0n, 2)).sks, [0xcb, 0x00, 0x02]);
      assert.deepEqual(senseOf(await prOut(unit, A, RESERVE, 0xaan, 0n, 0x10 | WE)).sks, [0xcf, 0x00, 0x02]);
    });

    it('a persistent reservation survives nexus loss and LUN reset; RESERVE(6) then conflicts', async () => {
      const { unit } = await ready();
      await prOut(unit, A, REGISTER, 0n, 0xaan);
      await prOut(unit, A, RESERVE, 0xaan, 0n, EA);
      unit.taskManagement('i-t-nexus-loss', A);
      unit.taskManagement('lun-reset', B);
      await clearPowerOn(unit, B);
      assert.equal((await unit.execute(command(READ, { nexus: B }))).status, Status.ReservationConflict);
      assert.equal((await unit.execute(command([0x16, 0, 0, 0, 0, 0], { nexus: B }))).status, Status.ReservationConflict);
    });
  });
});
