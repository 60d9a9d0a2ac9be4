import { strict as assert } from 'node:assert';
import { Access, CommandTable, CONTROL, type CommandEntry } from '../../scsi/command-table.ts';
import { Status } from '../../scsi/types.ts';
import { A, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

describe('scsi/command-table and logical unit dispatch', () => {
  it('answers an unknown opcode with ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A);
    const r = await unit.execute(command([0xc5, 0, 0, 0, 0, 0]));
    assert.equal(r.status, Status.CheckCondition);
    assert.deepEqual(senseOf(r), { key: 0x5, asc: 0x20, ascq: 0x00 });
  });

  it('answers an unknown service action with INVALID FIELD IN CDB pointing at byte 1 bit 4', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A);
    const r = await unit.execute(command([0xa3, 0x1f, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]));
    assert.deepEqual(senseOf(r), { key: 0x5, asc: 0x24, ascq: 0x00, sks: [0xcc, 0x00, 0x01] });
  });

  it('refuses reserved bits with a field pointer to the unused field', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A);
    // TEST UNIT READY byte 2 is reserved.
    assert.deepEqual(senseOf(await unit.execute(command([0x00, 0, 0x01, 0, 0, 0]))), {
      key: 5,
      asc: 0x24,
      ascq: 0,
      sks: [0xcf, 0x00, 0x02],
    });
    // INQUIRY byte 1 bit 1 (obsolete CmdDt): the run of unused bits 7..1 is reported by its top bit.
    assert.deepEqual(senseOf(await unit.execute(command([0x12, 0x02, 0, 0, 36, 0]))).sks, [0xcf, 0x00, 0x01]);
  });

  it('refuses NACA=1 (no ACA) and the LINK bit in the CONTROL byte', async () => {
    const { unit } = testUnit();
    await clearPowerOn(unit, A);
    assert.deepEqual(senseOf(await unit.execute(command([0x12, 0, 0, 0, 36, 0x04]))).sks, [0xca, 0x00, 0x05]);
    assert.deepEqual(senseOf(await unit.execute(command([0x12, 0, 0, 0, 36, 0x01]))).sks, [0xc9, 0x00, 0x05]);
  });

  it('runs the readiness hook for commands that need the medium', async () => {
    const { unit, device } = testUnit();
    await clearPowerOn(unit, A);
    device.loaded = false;
    assert.deepEqual(senseOf(await unit.execute(command([0x08, 0, 0, 0, 4, 0]))), { key: 0x2, asc: 0x3a, ascq: 0 });
    assert.deepEqual(senseOf(await unit.execute(command([0x00, 0, 0, 0, 0, 0]))), { key: 0x2, asc: 0x3a, ascq: 0 });
    assert.equal(device.reads, 0);
    device.loaded = true;
    const r = await unit.execute(command([0x08, 0, 0, 0, 4, 0]));
    assert.equal(r.status, Status.Good);
    assert.deepEqual([...r.data!], [0xab, 0xab, 0xab, 0xab]);
  });

  it('turns an unexpected exception into HARDWARE ERROR, INTERNAL TARGET FAILURE and logs it', async () => {
    const { unit, logged } = testUnit();
    await clearPowerOn(unit, A);
    const r = await unit.execute(command([0x01, 0, 0, 0, 0, 0]));
    assert.deepEqual(senseOf(r), { key: 0x4, asc: 0x44, ascq: 0 });
    assert.equal(logged.length, 1);
    assert.ok((logged[0] as { err: unknown }).err instanceof TypeError);
  });

  it('rejects malformed tables', () => {
    const entry = (e: Partial<CommandEntry>): CommandEntry => ({
      opcode: 0x00,
      name: 'X',
      usage: [0x00, 0, 0, 0, 0, CONTROL],
      access: Access.always,
      handler: () => undefined,
      ...e,
    });
    assert.throws(() => new CommandTable([entry({}), entry({})]), /duplicate/);
    assert.throws(() => new CommandTable([entry({ usage: [0x01, 0, 0, 0, 0, 0] })]), /usage\[0\]/);
    assert.throws(() => new CommandTable([entry({ opcode: 0x9e, serviceAction: 0x10, usage: [0x9e, 0x11] })]), /service action/);
    assert.throws(
      () =>
        new CommandTable([entry({ opcode: 0x9e, usage: [0x9e, 0] }), entry({ opcode: 0x9e, serviceAction: 0x10, usage: [0x9e, 0x10] })]),
      /mixes/,
    );
  });
});
