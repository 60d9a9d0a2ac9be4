import { strict as assert } from 'node:assert';
import { A, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

const rsoc = (options: number, opcode = 0, sa = 0, allocation = 0x2000) =>
  command([
    0xa3,
    0x0c,
    options,
    opcode,
    sa >> 8,
    sa & 0xff,
    allocation >>> 24,
    (allocation >> 16) & 0xff,
    (allocation >> 8) & 0xff,
    allocation & 0xff,
    0,
    0,
  ]);

async function ready() {
  const t = testUnit();
  await clearPowerOn(t.unit, A);
  return t;
}

describe('scsi/spc REPORT SUPPORTED OPERATION CODES and TASK MANAGEMENT FUNCTIONS', () => {
  it('lists exactly the table, in order, with service actions and CDB lengths', async () => {
    const { unit } = await ready();
    const d = (await unit.execute(rsoc(0))).data!;
    const entries = unit.table.entries;
    assert.equal(d.readUInt32BE(0), entries.length * 8);
    entries.forEach((e, i) => {
      const o = 4 + i * 8;
      assert.deepEqual(
        [...d.subarray(o, o + 8)],
        [e.opcode, 0, 0, e.serviceAction ?? 0, 0, e.serviceAction === undefined ? 0 : 1, 0, e.usage.length],
        e.name,
      );
    });
    const listed = entries.map((e) =>
      e.serviceAction === undefined ? e.opcode.toString(16) : `${e.opcode.toString(16)}/${e.serviceAction.toString(16)}`,
    );
    assert.deepEqual(listed, [
      '0',
      '1',
      '3',
      '8',
      'a',
      '12',
      '15',
      '16',
      '17',
      '1a',
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
      'a0',
      'a3/c',
      'a3/d',
    ]);
  });

  it('adds command timeouts descriptors with RCTD', async () => {
    const { unit } = await ready();
    const d = (await unit.execute(rsoc(0x80))).data!;
    assert.equal(d.readUInt32BE(0), unit.table.entries.length * 20);
    const read = unit.table.entries.findIndex((e) => e.opcode === 0x08);
    const o = 4 + read * 20;
    assert.deepEqual([...d.subarray(o, o + 20)], [0x08, 0, 0, 0, 0, 0x02, 0, 6, 0, 0x0a, 0, 0, 0, 0, 0, 60, 0, 0, 0x02, 0x58]);
  });

  it('reports one command with its CDB usage data', async () => {
    const { unit } = await ready();
    assert.deepEqual([...(await unit.execute(rsoc(1, 0x12))).data!], [0, 0x03, 0, 6, 0x12, 0x01, 0xff, 0xff, 0xff, 0x04]);
    assert.deepEqual([...(await unit.execute(rsoc(1, 0xc5))).data!], [0, 0x01, 0, 0]);
    assert.deepEqual([...(await unit.execute(rsoc(2, 0x5e, 0x01))).data!], [0, 0x03, 0, 10, 0x5e, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0x04]);
    assert.deepEqual([...(await unit.execute(rsoc(2, 0x5e, 0x1f))).data!], [0, 0x01, 0, 0]);
    assert.deepEqual([...(await unit.execute(rsoc(3, 0x12, 0x55))).data!.subarray(0, 4)], [0, 0x03, 0, 6]);
    const withTimeouts = (await unit.execute(rsoc(0x81, 0x08))).data!;
    assert.deepEqual([...withTimeouts.subarray(0, 2)], [0, 0x83]);
    assert.equal(withTimeouts.length, 4 + 6 + 12);
  });

  it('refuses reporting options that do not fit the opcode, and unknown options', async () => {
    const { unit } = await ready();
    assert.deepEqual(senseOf(await unit.execute(rsoc(1, 0x5e))), { key: 5, asc: 0x24, ascq: 0, sks: [0xca, 0x00, 0x02] });
    assert.deepEqual(senseOf(await unit.execute(rsoc(2, 0x12))), { key: 5, asc: 0x24, ascq: 0, sks: [0xca, 0x00, 0x02] });
    assert.deepEqual(senseOf(await unit.execute(rsoc(4))), { key: 5, asc: 0x24, ascq: 0, sks: [0xca, 0x00, 0x02] });
  });

  it('truncates to the allocation length', async () => {
    const { unit } = await ready();
    assert.equal((await unit.execute(rsoc(0, 0, 0, 10))).data!.length, 10);
  });

  it('REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, basic and extended', async () => {
    const { unit } = await ready();
    const basic = await unit.execute(command([0xa3, 0x0d, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0]));
    assert.deepEqual([...basic.data!], [0xda, 0, 0, 0]);
    const extended = await unit.execute(command([0xa3, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 16, 0, 0]));
    assert.deepEqual([...extended.data!], [0xda, 0, 0, 0x0c, ...new Array<number>(12).fill(0)]);
  });
});
