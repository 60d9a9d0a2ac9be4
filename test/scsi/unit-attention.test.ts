import { strict as assert } from 'node:assert';
import { Status } from '../../scsi/types.ts';
import { senseCodes } from '../helpers/sense.ts';
import { A, B, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

const TUR = [0x00, 0, 0, 0, 0, 0];
const REQUEST_SENSE = [0x03, 0, 0, 0, 252, 0];

describe('scsi unit attentions and REQUEST SENSE', () => {
  it('reports POWER ON, RESET once per nexus', async () => {
    const { unit } = testUnit();
    assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: A }))), { key: 6, asc: 0x29, ascq: 0x00 });
    assert.equal((await unit.execute(command(TUR, { nexus: A }))).status, Status.Good);
    assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: B }))), { key: 6, asc: 0x29, ascq: 0x00 });
    assert.equal((await unit.execute(command(TUR, { nexus: B }))).status, Status.Good);
  });

  it('REQUEST SENSE returns the pending unit attention as data and clears it', async () => {
    const { unit } = testUnit();
    const r = await unit.execute(command(REQUEST_SENSE));
    assert.equal(r.status, Status.Good);
    assert.equal(r.data!.length, 18);
    assert.deepEqual(senseCodes(r.data!), { key: 6, asc: 0x29, ascq: 0 });
    const again = await unit.execute(command(REQUEST_SENSE));
    assert.deepEqual([...again.data!], [0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal((await unit.execute(command(TUR))).status, Status.Good);
  });

  it('REQUEST SENSE honours DESC and the allocation length', async () => {
    const { unit } = testUnit();
    assert.deepEqual([...(await unit.execute(command([0x03, 1, 0, 0, 252, 0]))).data!], [0x72, 6, 0x29, 0, 0, 0, 0, 0]);
    assert.deepEqual([...(await unit.execute(command([0x03, 0, 0, 0, 3, 0]))).data!], [0x70, 0, 0]);
  });

  it('REQUEST SENSE describes a unit that is not ready', async () => {
    const { unit, device } = testUnit();
    await clearPowerOn(unit, A);
    device.loaded = false;
    const r = await unit.execute(command(REQUEST_SENSE));
    assert.equal(r.status, Status.Good);
    assert.deepEqual(senseCodes(r.data!), { key: 2, asc: 0x3a, ascq: 0 });
  });

  it('LUN reset: every nexus gets POWER ON, RESET, OR BUS DEVICE RESET OCCURRED, superseding what was pending', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A, B);
    unit.unitAttentions.establish(B.key, 0x2a01);
    unit.taskManagement('lun-reset', A);
    for (const n of [A, B]) {
      assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: n }))), { key: 6, asc: 0x29, ascq: 0x00 });
      assert.equal((await unit.execute(command(TUR, { nexus: n }))).status, Status.Good);
    }
  });

  it('tells the device type of task management after the core has handled it', async () => {
    const seen: string[] = [];
    const { unit } = testUnit({ taskManagement: (fn, n) => void seen.push(`${fn} ${n === A}`) });
    unit.taskManagement('lun-reset', A);
    unit.taskManagement('i-t-nexus-loss', B);
    assert.deepEqual(seen, ['lun-reset true', 'i-t-nexus-loss false']);
  });

  it('a nexus that logs in again, or is lost, starts over with POWER ON', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A, B);
    unit.nexusAdded(A);
    assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: A }))), { key: 6, asc: 0x29, ascq: 0x00 });
    unit.taskManagement('i-t-nexus-loss', B);
    assert.deepEqual(senseOf(await unit.execute(command(TUR, { nexus: B }))), { key: 6, asc: 0x29, ascq: 0x00 });
  });

  it('INQUIRY and REPORT LUNS run without consuming a unit attention; other commands report it', async () => {
    const { unit } = testUnit();
    assert.equal((await unit.execute(command([0x12, 0, 0, 0, 36, 0]))).status, Status.Good);
    assert.equal((await unit.execute(command([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0]))).status, Status.Good);
    assert.deepEqual(senseOf(await unit.execute(command([0x08, 0, 0, 0, 1, 0]))), { key: 6, asc: 0x29, ascq: 0 });
  });

  it('an unknown opcode reports the pending unit attention first', async () => {
    const { unit } = testUnit();
    assert.deepEqual(senseOf(await unit.execute(command([0xc5, 0, 0, 0, 0, 0]))), { key: 6, asc: 0x29, ascq: 0 });
    assert.deepEqual(senseOf(await unit.execute(command([0xc5, 0, 0, 0, 0, 0]))), { key: 5, asc: 0x20, ascq: 0 });
  });
});
