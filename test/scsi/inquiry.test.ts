import { strict as assert } from 'node:assert';
import { Status } from '../../scsi/types.ts';
import { A, B, command, identity, senseOf, testUnit } from './helpers.ts';

const ascii = (s: string, n: number): number[] => [...Buffer.from(s.padEnd(n, ' '), 'ascii')];

describe('scsi/spc INQUIRY', () => {
  it('returns standard data before the power-on unit attention, which it leaves pending', async () => {
    const { unit } = testUnit();
    const r = await unit.execute(command([0x12, 0, 0, 0, 96, 0]));
    assert.equal(r.status, Status.Good);
    const d = r.data!;
    assert.equal(d.length, 96);
    assert.deepEqual([...d.subarray(0, 8)], [0x01, 0x80, 0x06, 0x12, 91, 0x00, 0x00, 0x02]);
    assert.deepEqual([...d.subarray(8, 16)], ascii('IBM', 8));
    assert.deepEqual([...d.subarray(16, 32)], ascii('ULT3580-TD5', 16));
    assert.deepEqual([...d.subarray(32, 36)], ascii('0105', 4));
    // SAM-5, SPC-4, iSCSI, then the device's SSC-3.
    assert.deepEqual([...d.subarray(58, 68)], [0x00, 0xa0, 0x04, 0x60, 0x09, 0x60, 0x04, 0x00, 0, 0]);
    assert.deepEqual(senseOf(await unit.execute(command([0x00, 0, 0, 0, 0, 0]))), { key: 6, asc: 0x29, ascq: 0 });
  });

  it('truncates to the allocation length, and 0 means no data', async () => {
    const { unit } = testUnit();
    assert.equal((await unit.execute(command([0x12, 0, 0, 0, 5, 0]))).data!.length, 5);
    assert.equal((await unit.execute(command([0x12, 0, 0, 0x01, 0x00, 0]))).data!.length, 96);
    assert.equal((await unit.execute(command([0x12, 0, 0, 0, 0, 0]))).data!.length, 0);
    const vpd = (await unit.execute(command([0x12, 1, 0x83, 0, 6, 0]))).data!;
    assert.equal(vpd.length, 6);
    assert.deepEqual([vpd[0], vpd[1], vpd[4], vpd[5]], [0x01, 0x83, 0x01, 0x03]);
    assert.ok(vpd.readUInt16BE(2) > 2);
  });

  it('refuses a page code without EVPD, and unknown VPD pages, pointing at byte 2', async () => {
    const { unit } = testUnit();
    assert.deepEqual(senseOf(await unit.execute(command([0x12, 0, 0x80, 0, 96, 0]))), {
      key: 5,
      asc: 0x24,
      ascq: 0,
      sks: [0xc0, 0x00, 0x02],
    });
    assert.deepEqual(senseOf(await unit.execute(command([0x12, 1, 0xc7, 0, 96, 0]))), {
      key: 5,
      asc: 0x24,
      ascq: 0,
      sks: [0xc0, 0x00, 0x02],
    });
  });

  it("lists the supported VPD pages, the device type's included", async () => {
    const { unit } = testUnit();
    const d = (await unit.execute(command([0x12, 1, 0x00, 0, 255, 0]))).data!;
    assert.deepEqual([...d], [0x01, 0x00, 0x00, 0x05, 0x00, 0x80, 0x83, 0x86, 0xb0]);
    assert.deepEqual([...(await unit.execute(command([0x12, 1, 0xb0, 0, 255, 0]))).data!], [0x01, 0xb0, 0x00, 0x02, 0x00, 0x01]);
  });

  it('lets a device type replace an SPC VPD page', async () => {
    const { unit } = testUnit({ vpdPages: [{ page: 0x80, name: 'Unit Serial Number', data: () => Buffer.from('X') }] });
    assert.deepEqual([...(await unit.execute(command([0x12, 1, 0x80, 0, 255, 0]))).data!], [0x01, 0x80, 0x00, 1, 0x58]);
    assert.deepEqual(
      [...(await unit.execute(command([0x12, 1, 0x00, 0, 255, 0]))).data!],
      [0x01, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0x86],
    );
  });

  it('returns the unit serial number', async () => {
    const { unit } = testUnit();
    const d = (await unit.execute(command([0x12, 1, 0x80, 0, 255, 0]))).data!;
    assert.deepEqual([...d], [0x01, 0x80, 0x00, 10, ...Buffer.from('1013000001')]);
  });

  it('identifies the device with NAA, T10 vendor, SCSI name strings and the relative target port', async () => {
    const { unit } = testUnit();
    const d = (await unit.execute(command([0x12, 1, 0x83, 0, 255, 0]))).data!;
    assert.equal(d.readUInt16BE(2), d.length - 4);
    const designators: Buffer[] = [];
    for (let o = 4; o < d.length; o += 4 + d[o + 3]!) designators.push(d.subarray(o, o + 4 + d[o + 3]!));
    const [naa, t10, luName, rtp, portName, deviceName] = designators;
    assert.equal(designators.length, 6);
    assert.deepEqual([...naa!.subarray(0, 4)], [0x01, 0x03, 0x00, 0x08]);
    assert.equal(naa![4]! >> 4, 0x3);
    assert.deepEqual([...t10!], [0x02, 0x01, 0x00, 18, ...ascii('IBM', 8), ...Buffer.from('1013000001')]);
    assert.deepEqual([...luName!.subarray(0, 4)], [0x03, 0x08, 0x00, 24]);
    assert.equal(luName!.subarray(4).toString('utf8'), `naa.${naa!.subarray(4).toString('hex').toUpperCase()}\0\0\0\0`);
    assert.deepEqual([...rtp!], [0x51, 0x94, 0x00, 0x04, 0, 0, 0, 1]);
    assert.deepEqual([...portName!.subarray(0, 2)], [0x53, 0x98]);
    assert.equal(portName!.subarray(4).toString('utf8').replace(/\0+$/, ''), 'iqn.2026-11.io.tapegateway:gw1-dev,t,0x1');
    assert.equal(portName![3]! % 4, 0);
    assert.deepEqual([...deviceName!.subarray(0, 2)], [0x53, 0xa8]);
    assert.equal(deviceName!.subarray(4).toString('utf8').replace(/\0+$/, ''), 'iqn.2026-11.io.tapegateway:gw1-dev');
  });

  it('derives the NAA designator from gateway id and device name only', async () => {
    const naaOf = async (over: Partial<typeof identity>, nexus = A): Promise<string> => {
      const { unit } = testUnit({ identity: { ...identity, ...over } });
      return (await unit.execute(command([0x12, 1, 0x83, 0, 255, 0], { nexus }))).data!.subarray(8, 16).toString('hex');
    };
    const base = await naaOf({});
    assert.equal(await naaOf({}, B), base);
    assert.equal(await naaOf({ serial: 'other' }), base);
    assert.notEqual(await naaOf({ name: 'drive-02' }), base);
    assert.notEqual(await naaOf({ gatewayId: 'sgw-87654321' }), base);
  });

  it('uses an NAA 6 designator with the IEEE company id when one is given', async () => {
    const { unit } = testUnit({ identity: { ...identity, ieeeCompanyId: 0x001234 } });
    const d = (await unit.execute(command([0x12, 1, 0x83, 0, 255, 0]))).data!;
    assert.deepEqual([...d.subarray(4, 8)], [0x01, 0x03, 0x00, 0x10]);
    assert.deepEqual([d[8], d[9], d[10], d[11]! >> 4], [0x60, 0x01, 0x23, 0x4]);
  });

  it('returns extended INQUIRY data', async () => {
    const { unit } = testUnit();
    const d = (await unit.execute(command([0x12, 1, 0x86, 0, 255, 0]))).data!;
    assert.equal(d.length, 64);
    assert.deepEqual([...d.subarray(0, 6)], [0x01, 0x86, 0x00, 0x3c, 0x00, 0x07]);
  });
});
