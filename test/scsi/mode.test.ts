import { strict as assert } from 'node:assert';
import { Status } from '../../scsi/types.ts';
import { A, B, clearPowerOn, command, senseOf, testUnit } from './helpers.ts';

const CONTROL_PAGE = [0x0a, 0x0a, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00];
const DEVICE_CONFIGURATION = [0x10, 0x0e, ...new Array<number>(14).fill(0)];
const IE_PAGE = [0x1c, 0x0a, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
const BLOCK_DESCRIPTOR = [0x58, 0, 0, 0, 0, 0, 0, 0];

async function ready() {
  const t = testUnit();
  await clearPowerOn(t.unit, A, B);
  return t;
}

describe('scsi/spc MODE SENSE and MODE SELECT', () => {
  it('MODE SENSE(6) all pages: header, block descriptor, pages in order, subpages left out', async () => {
    const { unit } = await ready();
    const d = (await unit.execute(command([0x1a, 0, 0x3f, 0, 255, 0]))).data!;
    assert.deepEqual([...d], [51, 0x00, 0x10, 8, ...BLOCK_DESCRIPTOR, ...CONTROL_PAGE, ...DEVICE_CONFIGURATION, ...IE_PAGE]);
  });

  it('MODE SENSE(10) 3Fh/FFh includes subpages in sub_page format; DBD drops the block descriptors', async () => {
    const { unit } = await ready();
    const d = (await unit.execute(command([0x5a, 0x08, 0x3f, 0xff, 0, 0, 0, 0x01, 0x00, 0]))).data!;
    const subpage = [0x50, 0x01, 0x00, 28, ...new Array<number>(28).fill(0)];
    assert.deepEqual(
      [...d],
      [0, 8 - 2 + 12 + 16 + 32 + 12, 0x00, 0x10, 0, 0, 0, 0, ...CONTROL_PAGE, ...DEVICE_CONFIGURATION, ...subpage, ...IE_PAGE],
    );
  });

  it('MODE SENSE answers page 00h with header and block descriptors only', async () => {
    const { unit } = await ready();
    assert.deepEqual([...(await unit.execute(command([0x1a, 0, 0x00, 0, 255, 0]))).data!], [11, 0, 0x10, 8, ...BLOCK_DESCRIPTOR]);
  });

  it('MODE SENSE returns changeable and default values, and refuses saved ones', async () => {
    const { unit } = await ready();
    assert.deepEqual(
      [...(await unit.execute(command([0x1a, 0x08, 0x4a, 0, 255, 0]))).data!.subarray(4)],
      [0x0a, 0x0a, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual([...(await unit.execute(command([0x1a, 0x08, 0x8a, 0, 255, 0]))).data!.subarray(4)], CONTROL_PAGE);
    assert.deepEqual(senseOf(await unit.execute(command([0x1a, 0x08, 0xca, 0, 255, 0]))), { key: 5, asc: 0x39, ascq: 0 });
  });

  it('MODE SENSE refuses unknown pages and subpages with field pointers', async () => {
    const { unit } = await ready();
    assert.deepEqual(senseOf(await unit.execute(command([0x1a, 0, 0x19, 0, 255, 0]))).sks, [0xcd, 0x00, 0x02]);
    assert.deepEqual(senseOf(await unit.execute(command([0x1a, 0, 0x0a, 0x05, 255, 0]))).sks, [0xc0, 0x00, 0x03]);
  });

  it('MODE SENSE truncates to the allocation length without changing MODE DATA LENGTH', async () => {
    const { unit } = await ready();
    assert.deepEqual([...(await unit.execute(command([0x1a, 0, 0x3f, 0, 4, 0]))).data!], [51, 0x00, 0x10, 8]);
  });

  it('MODE SELECT setting D_SENSE switches sense data to descriptor format, and tells the other nexus', async () => {
    const { unit } = await ready();
    const page = [...CONTROL_PAGE];
    page[2] = 0x04;
    const list = [0, 0, 0, 0, ...page];
    const r = await unit.execute(command([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list }));
    assert.equal(r.status, Status.Good);
    const bad = await unit.execute(command([0xc5, 0, 0, 0, 0, 0]));
    assert.deepEqual([...bad.sense!], [0x72, 0x05, 0x20, 0x00, 0, 0, 0, 0]);
    // The other nexus learns of it, in the new format.
    assert.deepEqual([...(await unit.execute(command([0x00, 0, 0, 0, 0, 0], { nexus: B }))).sense!], [0x72, 0x06, 0x2a, 0x01, 0, 0, 0, 0]);
    assert.equal((await unit.execute(command([0x00, 0, 0, 0, 0, 0], { nexus: A }))).status, Status.Good);
    // A LUN reset brings the default (fixed) format back.
    unit.taskManagement('lun-reset', A);
    assert.equal((await unit.execute(command([0xc5, 0, 0, 0, 0, 0]))).sense![0], 0x70);
  });

  it('MODE SELECT(10) with a subpage and a changeable field', async () => {
    const { unit } = await ready();
    const subpage = [0x50, 0x01, 0x00, 28, 0, 0x0a, ...new Array<number>(26).fill(0)];
    const list = [0, 0, 0, 0, 0, 0, 0, 0, ...subpage];
    assert.equal((await unit.execute(command([0x55, 0x10, 0, 0, 0, 0, 0, 0, list.length, 0], { dataOut: list }))).status, Status.Good);
    const d = (await unit.execute(command([0x5a, 0x08, 0x10, 0x01, 0, 0, 0, 0, 255, 0]))).data!;
    assert.deepEqual([...d.subarray(8, 14)], [0x50, 0x01, 0x00, 28, 0, 0x0a]);
  });

  it('MODE SELECT refuses a change outside the changeable mask, pointing into the parameter list', async () => {
    const { unit } = await ready();
    const page = [...CONTROL_PAGE];
    page[3] = 0x12; // QErr (bits 2-1) is not changeable: the differing bit is pointed at
    const list = [0, 0, 0, 0, ...page];
    const r = await unit.execute(command([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list }));
    assert.deepEqual(senseOf(r), { key: 5, asc: 0x26, ascq: 0, sks: [0x89, 0x00, 0x07] });
  });

  it('MODE SELECT refuses unknown pages, wrong page lengths and the PS bit', async () => {
    const { unit } = await ready();
    const run = (list: number[]) => unit.execute(command([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list }));
    assert.deepEqual(senseOf(await run([0, 0, 0, 0, 0x19, 2, 0, 0])).sks, [0x8d, 0x00, 0x04]);
    assert.deepEqual(senseOf(await run([0, 0, 0, 0, 0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0])).sks, [0x80, 0x00, 0x05]);
    assert.deepEqual(senseOf(await run([0, 0, 0, 0, 0x8a, ...CONTROL_PAGE.slice(1)])).sks, [0x8f, 0x00, 0x04]);
  });

  it('MODE SELECT: parameter list length errors, PF=0 with pages, SP=1', async () => {
    const { unit } = await ready();
    const list = [0, 0, 0, 0, ...CONTROL_PAGE];
    assert.deepEqual(senseOf(await unit.execute(command([0x15, 0x10, 0, 0, 3, 0], { dataOut: list.slice(0, 3) }))), {
      key: 5,
      asc: 0x1a,
      ascq: 0,
    });
    assert.deepEqual(senseOf(await unit.execute(command([0x15, 0x10, 0, 0, 10, 0], { dataOut: list.slice(0, 10) }))), {
      key: 5,
      asc: 0x1a,
      ascq: 0,
    });
    assert.deepEqual(senseOf(await unit.execute(command([0x15, 0x00, 0, 0, list.length, 0], { dataOut: list }))).sks, [0xcc, 0x00, 0x01]);
    assert.deepEqual(senseOf(await unit.execute(command([0x15, 0x11, 0, 0, list.length, 0], { dataOut: list }))).sks, [0xc8, 0x00, 0x01]);
    assert.equal((await unit.execute(command([0x15, 0x10, 0, 0, 0, 0]))).status, Status.Good);
  });

  it('MODE SELECT applies nothing when any page is refused', async () => {
    const { unit } = await ready();
    const page = [...CONTROL_PAGE];
    page[2] = 0x04;
    const list = [0, 0, 0, 0, ...page, 0x19, 2, 0, 0];
    assert.equal(senseOf(await unit.execute(command([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list }))).asc, 0x26);
    assert.deepEqual([...(await unit.execute(command([0x1a, 0x08, 0x0a, 0, 255, 0]))).data!.subarray(4)], CONTROL_PAGE);
    assert.equal((await unit.execute(command([0x00, 0, 0, 0, 0, 0], { nexus: B }))).status, Status.Good);
  });

  it('MODE SENSE(10) asks the device type for long block descriptors with LLBAA', async () => {
    const asked: boolean[] = [];
    const { unit } = testUnit({ modeParameters: { blockDescriptors: (long) => (asked.push(long), [Buffer.alloc(long ? 16 : 8, 1)]) } });
    await clearPowerOn(unit, A);
    const d = (await unit.execute(command([0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0]))).data!;
    assert.deepEqual([...d.subarray(0, 8)], [0, 6 + 16 + 12, 0, 0, 0x01, 0, 0, 16]);
    const short = (await unit.execute(command([0x5a, 0x00, 0x0a, 0, 0, 0, 0, 0, 255, 0]))).data!;
    assert.deepEqual([...short.subarray(0, 8)], [0, 6 + 8 + 12, 0, 0, 0x00, 0, 0, 8]);
    assert.deepEqual(asked, [true, false]);
  });

  it('MODE SELECT passes the header and block descriptors to the device type', async () => {
    const seen: unknown[] = [];
    const { unit } = testUnit({
      modeParameters: { select: (header) => void seen.push({ ...header, blockDescriptors: header.blockDescriptors.map((b) => [...b]) }) },
    });
    await clearPowerOn(unit, A);
    const list = [0, 0, 0x10, 8, 0x58, 0, 0, 0, 0, 0, 0x80, 0];
    assert.equal((await unit.execute(command([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list }))).status, Status.Good);
    assert.deepEqual(seen, [
      { mediumType: 0, deviceSpecificParameter: 0x10, blockDescriptors: [[0x58, 0, 0, 0, 0, 0, 0x80, 0]], long: false },
    ]);
  });
});
