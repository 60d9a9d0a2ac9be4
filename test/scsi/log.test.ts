import { strict as assert } from 'node:assert';
import { Status } from '../../scsi/types.ts';
import { A, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

const logSense = (pageByte: number, subpage = 0, pointer = 0, allocation = 1024, byte1 = 0) =>
  command([0x4d, byte1, pageByte, subpage, 0, pointer >> 8, pointer & 0xff, allocation >> 8, allocation & 0xff, 0]);

async function ready(reset?: () => void) {
  const t = testUnit(
    reset
      ? {
          logPages: [
            { page: 0x2e, name: 'TapeAlert', parameters: () => [{ code: 1, value: Buffer.from([0]) }], reset },
            { page: 0x17, name: 'Volume Statistics', parameters: () => [] },
          ],
        }
      : {},
  );
  await clearPowerOn(t.unit, A);
  return t;
}

describe('scsi/spc LOG SENSE and LOG SELECT', () => {
  it('lists supported pages, and pages with subpages', async () => {
    const { unit } = await ready();
    assert.deepEqual([...(await unit.execute(logSense(0x00))).data!], [0x00, 0x00, 0x00, 0x02, 0x00, 0x2e]);
    assert.deepEqual([...(await unit.execute(logSense(0x00, 0xff))).data!], [0x40, 0xff, 0x00, 0x06, 0x00, 0x00, 0x00, 0xff, 0x2e, 0x00]);
  });

  it("returns a page's parameters from the parameter pointer on, truncated to the allocation length", async () => {
    const { unit } = await ready();
    const all = (await unit.execute(logSense(0x6e))).data!;
    assert.deepEqual([...all], [0x2e, 0, 0, 15, 0, 1, 0x03, 1, 0, 0, 2, 0x03, 1, 0, 0, 3, 0x03, 1, 0]);
    assert.deepEqual([...(await unit.execute(logSense(0x6e, 0, 2))).data!], [0x2e, 0, 0, 10, 0, 2, 0x03, 1, 0, 0, 3, 0x03, 1, 0]);
    assert.deepEqual([...(await unit.execute(logSense(0x6e, 0, 0, 4))).data!], [0x2e, 0, 0, 15]);
  });

  it('refuses unknown pages, a pointer past the last parameter, PPC and SP', async () => {
    const { unit } = await ready();
    assert.deepEqual(senseOf(await unit.execute(logSense(0x30))).sks, [0xcd, 0x00, 0x02]);
    assert.deepEqual(senseOf(await unit.execute(logSense(0x2e, 0x01))).sks, [0xc0, 0x00, 0x03]);
    assert.deepEqual(senseOf(await unit.execute(logSense(0x2e, 0, 4))).sks, [0xc0, 0x00, 0x05]);
    assert.deepEqual(senseOf(await unit.execute(logSense(0x2e, 0, 0, 1024, 0x02))).sks, [0xc9, 0x00, 0x01]);
    assert.deepEqual(senseOf(await unit.execute(logSense(0x2e, 0, 0, 1024, 0x01))).sks, [0xc8, 0x00, 0x01]);
  });

  it('LOG SELECT with PCR resets the pages; parameters are not settable', async () => {
    let resets = 0;
    const { unit } = await ready(() => resets++);
    assert.equal((await unit.execute(command([0x4c, 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0]))).status, Status.Good);
    assert.equal(resets, 1);
    assert.equal((await unit.execute(command([0x4c, 0x02, 0x6e, 0, 0, 0, 0, 0, 0, 0]))).status, Status.Good);
    assert.equal(resets, 2);
    assert.equal((await unit.execute(command([0x4c, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0]))).status, Status.Good);
    assert.equal(resets, 2);
    assert.deepEqual(
      senseOf(await unit.execute(command([0x4c, 0, 0x40, 0, 0, 0, 0, 0, 8, 0], { dataOut: Buffer.alloc(8) }))).sks,
      [0xc0, 0x00, 0x07],
    );
  });
});
