import { strict as assert } from 'node:assert';
import { decodeLun, ScsiTarget } from '../../scsi/target.ts';
import { Status, type LogicalUnit, type Nexus, type TaskManagementFunction } from '../../scsi/types.ts';
import { senseCodes } from '../helpers/sense.ts';
import { A, B, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

const lunField = (lun: number): number[] => (lun < 256 ? [0, lun, 0, 0, 0, 0, 0, 0] : [0x40 | (lun >> 8), lun & 0xff, 0, 0, 0, 0, 0, 0]);
const reportLuns = (select: number, allocation: number, lun = 0) =>
  command([0xa0, 0, select, 0, 0, 0, allocation >>> 24, (allocation >> 16) & 0xff, (allocation >> 8) & 0xff, allocation & 0xff, 0, 0], {
    lun: lunField(lun),
  });

/** A logical unit that only records what reaches it. */
function recorder(): LogicalUnit & { calls: Array<[TaskManagementFunction | 'added', string]> } {
  const calls: Array<[TaskManagementFunction | 'added', string]> = [];
  return {
    calls,
    execute: async () => ({ status: Status.Good }),
    taskManagement: (fn: TaskManagementFunction, n: Nexus) => void calls.push([fn, n.key]),
    nexusAdded: (n: Nexus) => void calls.push(['added', n.key]),
  };
}

describe('scsi/target', () => {
  it('decodes peripheral and flat LUN addressing and refuses other forms', () => {
    assert.equal(decodeLun(Buffer.from([0, 5, 0, 0, 0, 0, 0, 0])), 5);
    assert.equal(decodeLun(Buffer.from([0x41, 0x2c, 0, 0, 0, 0, 0, 0])), 300);
    assert.equal(decodeLun(Buffer.from([0x01, 0x05, 0, 0, 0, 0, 0, 0])), undefined); // bus 1
    assert.equal(decodeLun(Buffer.from([0x80, 0x05, 0, 0, 0, 0, 0, 0])), undefined); // logical unit addressing
    assert.equal(decodeLun(Buffer.from([0, 5, 0, 1, 0, 0, 0, 0])), undefined); // second level
  });

  it('REPORT LUNS lists every LUN, in peripheral or flat format, to any LUN address', async () => {
    const target = new ScsiTarget({
      luns: [
        { lun: 300, unit: testUnit().unit },
        { lun: 0, unit: testUnit().unit },
      ],
    });
    const expected = [0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x2c, 0, 0, 0, 0, 0, 0];
    for (const lun of [0, 300, 7]) {
      const r = await target.execute(reportLuns(0, 4096, lun));
      assert.equal(r.status, Status.Good, `lun ${lun}`);
      assert.deepEqual([...r.data!], expected);
    }
    assert.deepEqual([...(await target.execute(reportLuns(2, 4096))).data!], expected);
    assert.deepEqual([...(await target.execute(reportLuns(1, 4096))).data!], [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('REPORT LUNS truncates, refuses allocation lengths under 16 and unknown select reports', async () => {
    const target = new ScsiTarget({
      luns: [
        { lun: 0, unit: testUnit().unit },
        { lun: 1, unit: testUnit().unit },
      ],
    });
    assert.deepEqual([...(await target.execute(reportLuns(0, 16))).data!], [0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const lun of [0, 9]) {
      assert.deepEqual(senseOf(await target.execute(reportLuns(0, 15, lun))), { key: 5, asc: 0x24, ascq: 0, sks: [0xc0, 0x00, 0x06] });
      assert.deepEqual(senseOf(await target.execute(reportLuns(3, 4096, lun))), { key: 5, asc: 0x24, ascq: 0, sks: [0xc0, 0x00, 0x02] });
    }
  });

  it('a missing LUN: INQUIRY answers qualifier 011b type 1Fh, REQUEST SENSE returns 25/00, others fail with 25/00', async () => {
    const target = new ScsiTarget({ luns: [{ lun: 0, unit: testUnit().unit }] });
    const lun = lunField(3);
    const inq = await target.execute(command([0x12, 0, 0, 0, 36, 0], { lun }));
    assert.equal(inq.status, Status.Good);
    assert.deepEqual([...inq.data!.subarray(0, 5)], [0x7f, 0, 0x06, 0x12, 31]);
    const rs = await target.execute(command([0x03, 0, 0, 0, 18, 0], { lun }));
    assert.equal(rs.status, Status.Good);
    assert.deepEqual(senseCodes(rs.data!), { key: 5, asc: 0x25, ascq: 0 });
    assert.deepEqual(senseOf(await target.execute(command([0x00, 0, 0, 0, 0, 0], { lun }))), { key: 5, asc: 0x25, ascq: 0 });
    assert.deepEqual(senseOf(await target.execute(command([0x12, 1, 0x80, 0, 36, 0], { lun }))), { key: 5, asc: 0x25, ascq: 0 });
  });

  it('routes commands to the addressed unit', async () => {
    const zero = testUnit();
    const one = testUnit();
    const target = new ScsiTarget({
      luns: [
        { lun: 0, unit: zero.unit },
        { lun: 1, unit: one.unit },
      ],
    });
    await target.execute(command([0x00, 0, 0, 0, 0, 0], { lun: lunField(1) }));
    await target.execute(command([0x08, 0, 0, 0, 1, 0], { lun: lunField(1) }));
    assert.deepEqual([zero.device.reads, one.device.reads], [0, 1]);
  });

  it('fans out task management and nexus events', () => {
    const [u0, u1] = [recorder(), recorder()];
    const target = new ScsiTarget({
      luns: [
        { lun: 0, unit: u0 },
        { lun: 1, unit: u1 },
      ],
    });
    target.taskManagement('lun-reset', A, Buffer.from(lunField(1)));
    target.taskManagement('target-reset', A);
    target.nexusAdded(B);
    target.nexusRemoved(B);
    target.taskManagement('lun-reset', A, Buffer.from(lunField(5)));
    assert.deepEqual(u0.calls, [
      ['target-reset', A.key],
      ['added', B.key],
      ['i-t-nexus-loss', B.key],
    ]);
    assert.deepEqual(u1.calls, [
      ['lun-reset', A.key],
      ['target-reset', A.key],
      ['added', B.key],
      ['i-t-nexus-loss', B.key],
    ]);
  });

  it('nexusAdded gives the nexus a fresh power-on unit attention; a target reset another', async () => {
    const { unit } = testUnit();
    const target = new ScsiTarget({ luns: [{ lun: 0, unit }] });
    await clearPowerOn(target, A);
    target.nexusAdded(A);
    assert.deepEqual(senseOf(await target.execute(command([0x00, 0, 0, 0, 0, 0]))), { key: 6, asc: 0x29, ascq: 0 });
    target.taskManagement('target-reset', B);
    assert.deepEqual(senseOf(await target.execute(command([0x00, 0, 0, 0, 0, 0]))), { key: 6, asc: 0x29, ascq: 0 });
  });

  it('refuses bad LUN maps', () => {
    assert.throws(
      () =>
        new ScsiTarget({
          luns: [
            { lun: 0, unit: recorder() },
            { lun: 0, unit: recorder() },
          ],
        }),
      /twice/,
    );
    assert.throws(() => new ScsiTarget({ luns: [{ lun: 16384, unit: recorder() }] }), RangeError);
  });
});
