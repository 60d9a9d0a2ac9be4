// The disk (SBC-3) logical unit as an initiator sees it: CDBs built byte by
// byte, data and sense checked byte by byte, over a real temporary file.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeripheralDeviceType } from '../../scsi/identity.ts';
import type { ScsiLogicalUnit } from '../../scsi/logical-unit.ts';
import { createDiskUnit } from '../../scsi/sbc/disk.ts';
import { Status, type Nexus, type ScsiResponse } from '../../scsi/types.ts';
import { FileBlockDevice } from '../../src/volume/file-block-device.ts';
import { decodeSense } from '../helpers/sense.ts';
import { flipBits } from '../helpers/bytes.ts';

const BS = 512;
const BLOCKS = 8192; // 4 MiB

const nexus: Nexus = {
  key: 'iqn.2026-11.test:init,i,0x1|iqn.2026-11.test:disk,t,0x1',
  initiatorPort: 'iqn.2026-11.test:init,i,0x1',
  initiatorName: 'iqn.2026-11.test:init',
  relativeTargetPort: 1,
  targetPort: 'iqn.2026-11.test:disk,t,0x1',
};

const identity = {
  deviceType: PeripheralDeviceType.DirectAccess,
  vendor: 'TAPEGW',
  product: 'Volume',
  revision: '0100',
  serial: 'SBCTEST0001',
  gatewayId: 'gw-test',
  name: 'volume/test',
};

function be(value: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(bytes * 8, BigInt(value));
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

const cdb10 = (op: number, flags: number, lba: number, blocks: number): number[] => [op, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0];
const cdb12 = (op: number, flags: number, lba: number, blocks: number): number[] => [op, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0];
const cdb16 = (op: number, flags: number, lba: number | bigint, blocks: number): number[] => [
  op,
  flags,
  ...be(lba, 8),
  ...be(blocks, 4),
  0,
  0,
];

const pattern = (blocks: number, seed: number): Buffer => {
  const b = Buffer.alloc(blocks * BS);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
};

interface Sense {
  key: number;
  asc: number;
  ascq: number;
  information?: number;
  fieldPointer?: { cdb: boolean; byte: number; bit?: number };
}

/** The sense of a CHECK CONDITION in fixed format, as an initiator reads it. */
function sense(r: ScsiResponse): Sense {
  assert.equal(r.status, Status.CheckCondition, `expected CHECK CONDITION, got status ${r.status}`);
  const { format, deferred, key, asc, ascq, information, fieldPointer } = decodeSense(r.sense!);
  assert.deepEqual([format, deferred], ['fixed', false], 'current sense in fixed format (70h)');
  return { key, asc, ascq, ...(information !== undefined && { information: information >>> 0 }), ...(fieldPointer && { fieldPointer }) };
}

function assertSense(r: ScsiResponse, key: number, asc: number, ascq = 0): Sense {
  const s = sense(r);
  assert.deepEqual([s.key, s.asc, s.ascq], [key, asc, ascq], `sense ${s.key.toString(16)}/${s.asc.toString(16)}/${s.ascq.toString(16)}`);
  return s;
}

const ILLEGAL_REQUEST = 0x5;
const DATA_PROTECT = 0x7;
const MISCOMPARE = 0xe;

function good(r: ScsiResponse): Buffer {
  assert.equal(r.status, Status.Good, r.sense ? `sense ${r.sense.toString('hex')}` : `status ${r.status}`);
  return r.data ?? Buffer.alloc(0);
}

describe('SBC disk logical unit', () => {
  let dir: string;
  let device: FileBlockDevice;
  let lu: ScsiLogicalUnit;
  let tag = 0;

  function exec(cdb: number[], dataOut: Buffer = Buffer.alloc(0), dataInLength = 1 << 24): Promise<ScsiResponse> {
    return lu.execute({ nexus, lun: Buffer.alloc(8), cdb: Buffer.from(cdb), dataOut, dataInLength, attribute: 'simple', tag: tag++ });
  }

  async function open(options: { readOnly?: boolean } = {}): Promise<void> {
    device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), size: BLOCKS * BS, blockSize: BS, ...options });
    lu = createDiskUnit({ identity, device });
    // The first command of a nexus reports the power-on unit attention.
    assertSense(await exec([0, 0, 0, 0, 0, 0]), 0x6, 0x29, 0x00);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sbc-'));
    await open();
  });
  afterEach(async () => {
    await device.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('capacity and identity', () => {
    it('READ CAPACITY(10) answers the last LBA and the block length', async () => {
      const data = good(await exec([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      assert.deepEqual([...data], [...be(BLOCKS - 1, 4), ...be(BS, 4)]);
      assertSense(await exec([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]), ILLEGAL_REQUEST, 0x24);
    });

    it('READ CAPACITY(16) reports LBPME and LBPRZ and honours the allocation length', async () => {
      const data = good(await exec([0x9e, 0x10, ...be(0, 8), ...be(32, 4), 0, 0]));
      assert.equal(data.length, 32);
      assert.equal(data.readBigUInt64BE(0), BigInt(BLOCKS - 1));
      assert.equal(data.readUInt32BE(8), BS);
      assert.equal(data[12], 0, 'no protection');
      assert.equal(data[13], 0, 'one logical block per physical block');
      assert.equal(data[14]! & 0xc0, 0xc0, 'LBPME and LBPRZ');
      for (const alloc of [0, 1, 15]) assert.equal(good(await exec([0x9e, 0x10, ...be(0, 8), ...be(alloc, 4), 0, 0])).length, alloc);
    });

    it('reports a physical block larger than the logical one in READ CAPACITY(16) and Block Limits', async () => {
      await device.close();
      device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), blockSize: BS, physicalBlockSize: 4096 });
      lu = createDiskUnit({ identity, device });
      await exec([0, 0, 0, 0, 0, 0]);
      const data = good(await exec([0x9e, 0x10, ...be(0, 8), ...be(32, 4), 0, 0]));
      assert.equal(data[13], 3, 'LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT');
      const bl = good(await exec([0x12, 1, 0xb0, 0, 255, 0]));
      assert.equal(bl.readUInt16BE(6), 8, 'OPTIMAL TRANSFER LENGTH GRANULARITY');
      assert.equal(bl.readUInt32BE(28), 8, 'OPTIMAL UNMAP GRANULARITY');
    });

    it('refuses limits the Block Limits page cannot carry', () => {
      assert.throws(() => createDiskUnit({ identity, device, limits: { maxCompareAndWriteBlocks: 256 } }), RangeError);
      assert.throws(() => createDiskUnit({ identity, device, limits: { maxTransferBlocks: 0 } }), RangeError);
    });

    it('standard INQUIRY claims SBC-3 and a direct-access device', async () => {
      const data = good(await exec([0x12, 0, 0, 0, 96, 0]));
      assert.equal(data[0], 0x00);
      const versions = Array.from({ length: 8 }, (_, i) => data.readUInt16BE(58 + 2 * i));
      assert.ok(versions.includes(0x04c0), versions.map((v) => v.toString(16)).join(' '));
    });

    it('lists and serves VPD pages B0h, B1h and B2h', async () => {
      const supported = good(await exec([0x12, 1, 0x00, 0, 255, 0]));
      const pages = [...supported.subarray(4, 4 + supported.readUInt16BE(2))];
      for (const p of [0xb0, 0xb1, 0xb2]) assert.ok(pages.includes(p), `page ${p.toString(16)} in ${pages.join(',')}`);
      assert.deepEqual(
        pages,
        [...pages].sort((a, b) => a - b),
      );

      const bl = good(await exec([0x12, 1, 0xb0, 0, 255, 0]));
      assert.deepEqual([...bl.subarray(0, 4)], [0x00, 0xb0, 0x00, 0x3c]);
      assert.equal(bl.length, 64);
      assert.equal(bl[4]! & 1, 0, 'WSNZ');
      assert.equal(bl[5], 255, 'MAXIMUM COMPARE AND WRITE LENGTH');
      assert.equal(bl.readUInt32BE(8), (32 << 20) / BS, 'MAXIMUM TRANSFER LENGTH');
      assert.equal(bl.readUInt32BE(20), (512 << 20) / BS, 'MAXIMUM UNMAP LBA COUNT');
      assert.equal(bl.readUInt32BE(24), 256, 'MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT');
      assert.equal(bl.readBigUInt64BE(36), BigInt((512 << 20) / BS), 'MAXIMUM WRITE SAME LENGTH');

      const bdc = good(await exec([0x12, 1, 0xb1, 0, 255, 0]));
      assert.deepEqual([...bdc.subarray(0, 6)], [0x00, 0xb1, 0x00, 0x3c, 0x00, 0x01]);

      const lbp = good(await exec([0x12, 1, 0xb2, 0, 255, 0]));
      assert.deepEqual([...lbp], [0x00, 0xb2, 0x00, 0x04, 0x00, 0xe4, 0x02, 0x00]);
    });

    it('MODE SENSE reports DPOFUA, a block descriptor and the Caching page; MODE SELECT turns WCE off', async () => {
      const data = good(await exec([0x1a, 0, 0x3f, 0, 255, 0]));
      assert.equal(data[2], 0x10, 'DPOFUA, not write protected');
      assert.equal(data[3], 8);
      assert.deepEqual([...data.subarray(4, 12)], [...be(BLOCKS, 4), 0, ...be(BS, 3)]);
      const caching = good(await exec([0x1a, 0x08, 0x08, 0, 255, 0]));
      assert.deepEqual([...caching.subarray(4, 7)], [0x08, 0x12, 0x04]);

      const page = Buffer.from(caching.subarray(4));
      page[2] = 0;
      good(await exec([0x15, 0x10, 0, 0, 4 + page.length, 0], Buffer.concat([Buffer.alloc(4), page])));
      const after = good(await exec([0x1a, 0x08, 0x08, 0, 255, 0]));
      assert.equal(after[6], 0, 'WCE cleared');
      good(await exec(cdb10(0x2a, 0, 3, 1), pattern(1, 3)));
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 3, 1))), pattern(1, 3));
    });

    it('MODE SELECT refuses a block descriptor that changes the block length', async () => {
      const descriptor = [...be(0, 4), 0, ...be(4096, 3)];
      assertSense(await exec([0x15, 0x10, 0, 0, 12, 0], Buffer.from([0, 0, 0, 8, ...descriptor])), ILLEGAL_REQUEST, 0x26);
      good(await exec([0x15, 0x10, 0, 0, 12, 0], Buffer.from([0, 0, 0, 8, ...be(0, 4), 0, ...be(BS, 3)])));
    });
  });

  describe('READ and WRITE', () => {
    it('writes and reads back through the 6-, 10-, 12- and 16-byte forms', async () => {
      const a = pattern(4, 1);
      const r = await exec(cdb10(0x2a, 0, 10, 4), a);
      good(r);
      assert.equal(r.dataOutLength, 4 * BS);
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 10, 4))), a);
      assert.deepEqual(good(await exec(cdb12(0xa8, 0, 11, 2))), a.subarray(BS, 3 * BS));
      assert.deepEqual(good(await exec(cdb16(0x88, 0, 12, 2))), a.subarray(2 * BS));
      assert.deepEqual(good(await exec([0x08, 0, 0, 10, 1, 0])), a.subarray(0, BS));

      const b = pattern(3, 9);
      good(await exec(cdb16(0x8a, 0, BLOCKS - 3, 3), b));
      good(await exec(cdb12(0xaa, 0, 100, 1), b.subarray(0, BS)));
      good(await exec([0x0a, 0, 0, 101, 1, 0], b.subarray(BS, 2 * BS)));
      assert.deepEqual(good(await exec(cdb16(0x88, 0, BLOCKS - 3, 3))), b);
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 100, 2))), b.subarray(0, 2 * BS));
    });

    it('READ(6) with TRANSFER LENGTH 0 reads 256 blocks', async () => {
      assert.equal(good(await exec([0x08, 0, 0, 0, 0, 0])).length, 256 * BS);
    });

    it('accepts DPO, FUA and FUA_NV', async () => {
      good(await exec(cdb10(0x2a, 0x10 | 0x08 | 0x02, 0, 1), pattern(1, 2)));
      assert.deepEqual(good(await exec(cdb10(0x28, 0x18, 0, 1))), pattern(1, 2));
    });

    it('refuses RDPROTECT/WRPROTECT without protection information, pointing at the field', async () => {
      for (const p of [1, 7]) {
        const s = assertSense(await exec(cdb10(0x28, p << 5, 0, 1)), ILLEGAL_REQUEST, 0x24);
        assert.deepEqual(s.fieldPointer, { cdb: true, byte: 1, bit: 7 });
        assertSense(await exec(cdb16(0x8a, p << 5, 0, 1), pattern(1, 0)), ILLEGAL_REQUEST, 0x24);
      }
    });

    it('a zero TRANSFER LENGTH is GOOD with no data, yet still range-checked', async () => {
      assert.equal(good(await exec(cdb10(0x28, 0, 0, 0))).length, 0);
      good(await exec(cdb10(0x2a, 0, BLOCKS, 0)));
      assertSense(await exec(cdb10(0x28, 0, BLOCKS + 1, 0)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb10(0x2a, 0, 0xffffffff, 0)), ILLEGAL_REQUEST, 0x21);
    });

    it('answers LBA OUT OF RANGE past the end, including 64-bit wrap-around', async () => {
      assertSense(await exec(cdb10(0x28, 0, BLOCKS - 1, 2)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb16(0x88, 0, 0xffffffffffffffffn, 1)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb16(0x88, 0, 1n << 63n, 256)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb16(0x8a, 0, BLOCKS, 1), pattern(1, 0)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec([0x08, 0x1f, 0xff, 0xff, 1, 0]), ILLEGAL_REQUEST, 0x21);
    });

    it('refuses a TRANSFER LENGTH above the Block Limits maximum', async () => {
      const s = assertSense(await exec(cdb16(0x88, 0, 0, (32 << 20) / BS + 1)), ILLEGAL_REQUEST, 0x24);
      assert.deepEqual(s.fieldPointer, { cdb: true, byte: 10 });
    });

    it('writes only the whole blocks that arrived and reports what the CDB called for', async () => {
      good(await exec(cdb10(0x2a, 0, 0, 2), Buffer.alloc(2 * BS, 0x61)));
      const r = await exec(cdb10(0x2a, 0, 0, 2), Buffer.alloc(BS, 0x62));
      good(r);
      assert.equal(r.dataOutLength, 2 * BS);
      const back = good(await exec(cdb10(0x28, 0, 0, 2)));
      assert.deepEqual(back, Buffer.concat([Buffer.alloc(BS, 0x62), Buffer.alloc(BS, 0x61)]));

      const more = await exec(cdb10(0x2a, 0, 0, 1), Buffer.alloc(2 * BS, 0x63));
      good(more);
      assert.equal(more.dataOutLength, BS);
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 1, 1))), Buffer.alloc(BS, 0x61));
      good(await exec(cdb10(0x2a, 0, 0, 1), Buffer.alloc(200)));
    });

    it('keeps data durable across a SYNCHRONIZE CACHE and a reopen', async () => {
      good(await exec(cdb10(0x2a, 0, 77, 2), pattern(2, 5)));
      good(await exec(cdb10(0x35, 0x02, 0, 0)));
      good(await exec(cdb16(0x91, 0, 0, 0)));
      assertSense(await exec(cdb10(0x35, 0, BLOCKS, 1)), ILLEGAL_REQUEST, 0x21);
      await device.close();
      await open();
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 77, 2))), pattern(2, 5));
    });
  });

  describe('write protection', () => {
    it('answers DATA PROTECT / WRITE PROTECTED to every modifying command and sets WP', async () => {
      await device.close();
      await open({ readOnly: true });
      const one = pattern(1, 0);
      const protectedCommands: [number[], Buffer][] = [
        [cdb10(0x2a, 0, 0, 1), one],
        [cdb12(0xaa, 0, 0, 1), one],
        [cdb16(0x8a, 0, 0, 1), one],
        [cdb10(0x2e, 0x02, 0, 1), one],
        [cdb10(0x41, 0, 0, 1), one],
        [cdb16(0x93, 0x08, 0, 1), Buffer.alloc(0)],
        [cdb16(0x89, 0, 0, 0).map((b, i) => (i === 13 ? 1 : i >= 10 && i <= 12 ? 0 : b)), Buffer.concat([one, one])],
        [cdb16(0x8b, 0, 0, 1), one],
        [[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], Buffer.from([0, 22, 0, 16, 0, 0, 0, 0, ...be(0, 8), ...be(1, 4), 0, 0, 0, 0])],
      ];
      for (const [cdb, data] of protectedCommands) assertSense(await exec(cdb, data), DATA_PROTECT, 0x27);
      assert.equal(good(await exec([0x1a, 0, 0x3f, 0, 255, 0]))[2], 0x90, 'WP and DPOFUA');
      good(await exec(cdb10(0x28, 0, 0, 1)));
    });

    it('SWP in the Control page write-protects the volume until it is cleared', async () => {
      const changeable = good(await exec([0x1a, 0x08, 0x4a, 0, 255, 0]));
      assert.equal(changeable.readUInt8(4 + 4) & 0x08, 0x08, 'SWP is changeable');
      const current = good(await exec([0x1a, 0x08, 0x0a, 0, 255, 0]));
      const select = (swp: boolean) => {
        const page = Buffer.from(current.subarray(4));
        page[4] = swp ? page.readUInt8(4) | 0x08 : page.readUInt8(4) & ~0x08;
        const list = Buffer.concat([Buffer.alloc(4), page]);
        return exec([0x15, 0x10, 0, 0, list.length, 0], list);
      };
      good(await select(true));
      assertSense(await exec(cdb10(0x2a, 0, 0, 1), pattern(1, 0)), DATA_PROTECT, 0x27);
      assert.equal(good(await exec([0x1a, 0, 0x3f, 0, 255, 0])).readUInt8(2) & 0x80, 0x80, 'WP in the mode parameter header');
      good(await exec(cdb10(0x28, 0, 0, 1)));
      good(await select(false));
      good(await exec(cdb10(0x2a, 0, 0, 1), pattern(1, 0)));
    });
  });

  describe('WRITE SAME', () => {
    it('repeats one block over the range', async () => {
      const block = pattern(1, 4);
      good(await exec(cdb10(0x41, 0, 5, 300), block));
      const back = good(await exec(cdb10(0x28, 0, 5, 300)));
      for (let i = 0; i < 300; i++) assert.deepEqual(back.subarray(i * BS, (i + 1) * BS), block, `block ${i}`);
      good(await exec(cdb16(0x93, 0, BLOCKS - 2, 2), block));
      assert.deepEqual(good(await exec(cdb10(0x28, 0, BLOCKS - 2, 2))), Buffer.concat([block, block]));
      // More than one device write's worth, ending exactly before the last two blocks.
      good(await exec(cdb16(0x93, 0, 400, BLOCKS - 402), pattern(1, 11)));
      const span = good(await exec(cdb16(0x88, 0, BLOCKS - 2100, 2100)));
      for (let i = 0; i < 2098; i++) assert.deepEqual(span.subarray(i * BS, (i + 1) * BS), pattern(1, 11), `block ${BLOCKS - 2100 + i}`);
      assert.deepEqual(span.subarray(2098 * BS), Buffer.concat([block, block]));
    });

    it('with UNMAP and zeros deallocates: reads return zeros and GET LBA STATUS says deallocated', async () => {
      good(await exec(cdb10(0x2a, 0, 0, 8), pattern(8, 1)));
      good(await exec(cdb16(0x93, 0x08, 2, 3), Buffer.alloc(BS)));
      const back = good(await exec(cdb10(0x28, 0, 0, 8)));
      assert.deepEqual(back.subarray(2 * BS, 5 * BS), Buffer.alloc(3 * BS));
      assert.deepEqual(back.subarray(0, 2 * BS), pattern(8, 1).subarray(0, 2 * BS));
      const status = good(await exec([0x9e, 0x12, ...be(2, 8), ...be(24, 4), 0, 0]));
      assert.deepEqual([...status.subarray(8, 24)], [...be(2, 8), ...be(3, 4), 0x01, 0, 0, 0]);
    });

    it('NUMBER OF LOGICAL BLOCKS 0 runs to the end of the medium; NDOB writes zeros', async () => {
      good(await exec(cdb10(0x2a, 0, BLOCKS - 4, 4), pattern(4, 8)));
      good(await exec(cdb10(0x41, 0x08, BLOCKS - 3, 0), Buffer.alloc(BS)));
      const back = good(await exec(cdb10(0x28, 0, BLOCKS - 4, 4)));
      assert.deepEqual(back, Buffer.concat([pattern(4, 8).subarray(0, BS), Buffer.alloc(3 * BS)]));
      const r = await exec(cdb16(0x93, 0x01, BLOCKS - 4, 1));
      good(r);
      assert.equal(r.dataOutLength, 0);
      assert.deepEqual(good(await exec(cdb10(0x28, 0, BLOCKS - 4, 1))), Buffer.alloc(BS));
    });

    it('refuses ANCHOR (no ANC_SUP), LBDATA/PBDATA, a wrong Data-Out length and LBAs past the end', async () => {
      assertSense(await exec(cdb10(0x41, 0x10, 0, 1), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0x18, 0, 1), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0x02, 0, 1), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0, 0, 1), Buffer.alloc(BS / 2)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0, 0, 1), Buffer.alloc(2 * BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0, BLOCKS - 1, 2), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb10(0x41, 0, BLOCKS + 1, 0), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb16(0x93, 0, 1n << 63n, 0), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x21);
    });

    it('refuses more blocks than MAXIMUM WRITE SAME LENGTH, also when 0 means "to the end"', async () => {
      await device.close();
      device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), blockSize: BS });
      lu = createDiskUnit({ identity, device, limits: { maxWriteSameBlocks: 100 } });
      await exec([0, 0, 0, 0, 0, 0]);
      assertSense(await exec(cdb10(0x41, 0, 0, 101), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x41, 0, BLOCKS - 101, 0), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      good(await exec(cdb10(0x41, 0, BLOCKS - 100, 0), Buffer.alloc(BS)));
      const bl = good(await exec([0x12, 1, 0xb0, 0, 255, 0]));
      assert.equal(bl.readBigUInt64BE(36), 100n);
    });
  });

  describe('UNMAP and GET LBA STATUS', () => {
    const unmapList = (descriptors: [number | bigint, number][]): Buffer => {
      const body = descriptors.flatMap(([lba, n]) => [...be(lba, 8), ...be(n, 4), 0, 0, 0, 0]);
      return Buffer.from([...be(6 + body.length, 2), ...be(body.length, 2), 0, 0, 0, 0, ...body]);
    };
    const unmapCdb = (length: number): number[] => [0x42, 0, 0, 0, 0, 0, 0, ...be(length, 2), 0];

    it('deallocates every descriptor; the blocks read as zeros', async () => {
      good(await exec(cdb10(0x2a, 0, 0, 16), pattern(16, 3)));
      const list = unmapList([
        [1, 2],
        [10, 1],
        [12, 0],
      ]);
      good(await exec(unmapCdb(list.length), list));
      const back = good(await exec(cdb10(0x28, 0, 0, 16)));
      const expected = Buffer.from(pattern(16, 3));
      expected.fill(0, BS, 3 * BS);
      expected.fill(0, 10 * BS, 11 * BS);
      assert.deepEqual(back, expected);

      const status = good(await exec([0x9e, 0x12, ...be(0, 8), ...be(8 + 3 * 16, 4), 0, 0]));
      assert.equal(status.readUInt32BE(0), 4 + 3 * 16);
      assert.deepEqual(
        [...status.subarray(8)],
        [...be(0, 8), ...be(1, 4), 0x00, 0, 0, 0, ...be(1, 8), ...be(2, 4), 0x01, 0, 0, 0, ...be(3, 8), ...be(7, 4), 0x00, 0, 0, 0],
      );
    });

    it('accepts an empty list, no descriptors and zero-length descriptors up to the end', async () => {
      good(await exec(unmapCdb(0)));
      const empty = unmapList([]);
      good(await exec(unmapCdb(empty.length), empty));
      const atEnd = unmapList([[BLOCKS, 0]]);
      good(await exec(unmapCdb(atEnd.length), atEnd));
    });

    it('checks the parameter list: length, descriptor count, range and the LBA count', async () => {
      assertSense(await exec(unmapCdb(6), Buffer.alloc(6)), ILLEGAL_REQUEST, 0x1a);
      const past = unmapList([[BLOCKS - 1, 2]]);
      assertSense(await exec(unmapCdb(past.length), past), ILLEGAL_REQUEST, 0x21);
      const many = unmapList(Array.from({ length: 257 }, (_, i): [number, number] => [i, 1]));
      assertSense(await exec(unmapCdb(many.length), many), ILLEGAL_REQUEST, 0x26);
      assertSense(await exec([0x42, 1, 0, 0, 0, 0, 0, 0, 24, 0], unmapList([[0, 1]])), ILLEGAL_REQUEST, 0x24);

      await device.close();
      device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), blockSize: BS });
      lu = createDiskUnit({ identity, device, limits: { maxUnmapBlocks: 10 } });
      await exec([0, 0, 0, 0, 0, 0]);
      const tooMany = unmapList([
        [0, 6],
        [20, 5],
      ]);
      const s = assertSense(await exec(unmapCdb(tooMany.length), tooMany), ILLEGAL_REQUEST, 0x26);
      assert.deepEqual(s.fieldPointer, { cdb: false, byte: 8 + 16 + 8 });
    });

    it('GET LBA STATUS: a written block is mapped, a fresh one deallocated, and LBAs past the end are refused', async () => {
      good(await exec(cdb10(0x2a, 0, BLOCKS - 1, 1), pattern(1, 1)));
      const last = good(await exec([0x9e, 0x12, ...be(BLOCKS - 1, 8), ...be(24, 4), 0, 0]));
      assert.deepEqual([...last.subarray(8, 24)], [...be(BLOCKS - 1, 8), ...be(1, 4), 0, 0, 0, 0]);
      const first = good(await exec([0x9e, 0x12, ...be(0, 8), ...be(24, 4), 0, 0]));
      // One command examines at most 1 MiB: the initiator asks again from where it ends.
      assert.deepEqual([...first.subarray(8, 21)], [...be(0, 8), ...be((1 << 20) / BS, 4), 1]);
      for (const lba of [BigInt(BLOCKS), 1n << 63n, 0xffffffffffffffffn]) {
        assertSense(await exec([0x9e, 0x12, ...be(lba, 8), ...be(24, 4), 0, 0]), ILLEGAL_REQUEST, 0x21);
      }
      assert.equal(good(await exec([0x9e, 0x12, ...be(0, 8), ...be(4, 4), 0, 0])).length, 4);
    });
  });

  describe('COMPARE AND WRITE', () => {
    const caw = (lba: number, blocks: number, flags = 0): number[] => [0x89, flags, ...be(lba, 8), 0, 0, 0, blocks, 0, 0];

    it('writes when the medium matches and leaves it alone on a miscompare, with the offset in INFORMATION', async () => {
      const old = pattern(3, 1);
      const next = pattern(3, 2);
      good(await exec(cdb10(0x2a, 0, 40, 3), old));
      good(await exec(caw(40, 3, 0x08), Buffer.concat([old, next])));
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 40, 3))), next);

      const wrong = Buffer.from(next);
      flipBits(wrong, 2 * BS + 17);
      const s = assertSense(await exec(caw(40, 3), Buffer.concat([wrong, old])), MISCOMPARE, 0x1d);
      assert.equal(s.information, 2 * BS + 17);
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 40, 3))), next);
    });

    it('refuses more than the maximum, a Data-Out that does not hold both halves, and WRPROTECT', async () => {
      assertSense(await exec(caw(0, 1), Buffer.alloc(BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(caw(0, 0), Buffer.alloc(2 * BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(caw(0, 1, 0x20), Buffer.alloc(2 * BS)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(caw(BLOCKS, 1), Buffer.alloc(2 * BS)), ILLEGAL_REQUEST, 0x21);
      good(await exec(caw(0, 0)));

      await device.close();
      device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), blockSize: BS });
      lu = createDiskUnit({ identity, device, limits: { maxCompareAndWriteBlocks: 1 } });
      await exec([0, 0, 0, 0, 0, 0]);
      const s = assertSense(await exec(caw(0, 2), Buffer.alloc(4 * BS)), ILLEGAL_REQUEST, 0x24);
      assert.deepEqual(s.fieldPointer, { cdb: true, byte: 13 });
    });

    it('is atomic against a write racing it on the same blocks', async () => {
      const a = Buffer.alloc(BS, 0x41);
      const b = Buffer.alloc(BS, 0x42);
      const c = Buffer.alloc(BS, 0x43);
      good(await exec(cdb10(0x2a, 0, 0, 1), a));
      const [cawResult, writeResult] = await Promise.all([exec(caw(0, 1), Buffer.concat([a, b])), exec(cdb10(0x2a, 0, 0, 1), c)]);
      good(cawResult);
      good(writeResult);
      // Either order is fine; a blend of the two is not.
      const back = good(await exec(cdb10(0x28, 0, 0, 1)));
      assert.ok(back.equals(b) || back.equals(c));
    });
  });

  describe('VERIFY, WRITE AND VERIFY, ORWRITE', () => {
    it('VERIFY with BYTCHK 01b compares every block and reports where they differ', async () => {
      const data = pattern(4, 6);
      good(await exec(cdb10(0x2a, 0, 8, 4), data));
      good(await exec(cdb10(0x2f, 0x02, 8, 4), data));
      good(await exec(cdb16(0x8f, 0x02, 8, 4), data));
      good(await exec(cdb12(0xaf, 0x10 | 0x02, 8, 4), data));
      const wrong = Buffer.from(data);
      flipBits(wrong, BS + 3, 1);
      const s = assertSense(await exec(cdb10(0x2f, 0x02, 8, 4), wrong), MISCOMPARE, 0x1d);
      assert.equal(s.information, BS + 3);
    });

    it('VERIFY with BYTCHK 00b checks the medium only, 11b compares one block with each', async () => {
      good(await exec(cdb10(0x2f, 0, 0, 16)));
      good(await exec(cdb10(0x41, 0, 30, 5), pattern(1, 1)));
      const r = await exec(cdb10(0x2f, 0x06, 30, 5), pattern(1, 1));
      good(r);
      assert.equal(r.dataOutLength, BS);
      assertSense(await exec(cdb10(0x2f, 0x06, 30, 6), pattern(1, 1)), MISCOMPARE, 0x1d);
      assertSense(await exec(cdb10(0x2f, 0x04, 30, 1), pattern(1, 1)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x2f, 0x20 | 0x02, 30, 1), pattern(1, 1)), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x2f, 0x02, BLOCKS, 1), pattern(1, 1)), ILLEGAL_REQUEST, 0x21);
      good(await exec(cdb10(0x2f, 0x02, 0, 0)));
    });

    it('WRITE AND VERIFY writes and checks; BYTCHK other than 0 and 1 is refused', async () => {
      const data = pattern(2, 3);
      good(await exec(cdb10(0x2e, 0x02, 50, 2), data));
      good(await exec(cdb12(0xae, 0x10, 52, 2), data));
      good(await exec(cdb16(0x8e, 0x02, 54, 2), data));
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 50, 6))), Buffer.concat([data, data, data]));
      assertSense(await exec(cdb10(0x2e, 0x04, 50, 2), data), ILLEGAL_REQUEST, 0x24);
      assertSense(await exec(cdb10(0x2e, 0x40, 50, 2), data), ILLEGAL_REQUEST, 0x24);
    });

    it('ORWRITE ORs the data into the medium', async () => {
      good(await exec(cdb10(0x2a, 0, 60, 2), Buffer.alloc(2 * BS, 0xa5)));
      good(await exec(cdb16(0x8b, 0, 60, 2), Buffer.alloc(2 * BS, 0x5a)));
      assert.deepEqual(good(await exec(cdb10(0x28, 0, 60, 2))), Buffer.alloc(2 * BS, 0xff));
      good(await exec(cdb16(0x8b, 0, 0, 0)));
      assertSense(await exec(cdb16(0x8b, 0, BLOCKS + 1, 0)), ILLEGAL_REQUEST, 0x21);
    });
  });

  describe('PRE-FETCH, START STOP UNIT, READ DEFECT DATA', () => {
    it('PRE-FETCH answers GOOD in range, with or without IMMED, and LBA OUT OF RANGE past the end', async () => {
      good(await exec(cdb10(0x34, 0, 0, 256)));
      good(await exec(cdb10(0x34, 0x02, 0, 1)));
      good(await exec([0x34, 0x02, 0, 0, 0, 0, 3, 0, 1, 0]));
      good(await exec(cdb16(0x90, 0, BLOCKS - 1, 1)));
      assertSense(await exec(cdb10(0x34, 0, BLOCKS - 1, 2)), ILLEGAL_REQUEST, 0x21);
      assertSense(await exec(cdb16(0x90, 0, 0xffffffffffffffffn, 0)), ILLEGAL_REQUEST, 0x21);
    });

    it('START STOP UNIT stops and starts a fixed disk without losing it; LOEJ is refused', async () => {
      good(await exec([0x1b, 0, 0, 0, 0x00, 0]));
      good(await exec([0x1b, 1, 0, 0, 0x01, 0]));
      good(await exec([0, 0, 0, 0, 0, 0]));
      assertSense(await exec([0x1b, 0, 0, 0, 0x02, 0]), ILLEGAL_REQUEST, 0x24);
    });

    it('READ DEFECT DATA answers an empty list in the requested format', async () => {
      assert.deepEqual([...good(await exec([0x37, 0, 0x1d, 0, 0, 0, 0, 0, 32, 0]))], [0, 0x1d, 0, 0]);
      assert.deepEqual([...good(await exec([0xb7, 0x0d, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]))], [0, 0x0d, 0, 0, 0, 0, 0, 0]);
    });
  });

  describe('persistent reservations', () => {
    it('under Exclusive Access held by another nexus, READ CAPACITY is allowed and READ conflicts', async () => {
      const other: Nexus = {
        ...nexus,
        key: 'iqn.2026-11.test:other,i,0x2|t',
        initiatorPort: 'iqn.2026-11.test:other,i,0x2',
        initiatorName: 'iqn.2026-11.test:other',
      };
      const key = be(0x1234, 8);
      const prOut = (action: number, type: number, params: number[]) =>
        exec([0x5f, action, type, 0, 0, 0, 0, 0, 24, 0], Buffer.from(params));
      good(await prOut(0x00, 0, [...be(0, 8), ...key, 0, 0, 0, 0, 0, 0, 0, 0]));
      good(await prOut(0x01, 0x03, [...key, ...be(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]));
      const asOther = (cdb: number[]) =>
        lu.execute({
          nexus: other,
          lun: Buffer.alloc(8),
          cdb: Buffer.from(cdb),
          dataOut: Buffer.alloc(0),
          dataInLength: 4096,
          attribute: 'simple',
          tag: tag++,
        });
      await asOther([0, 0, 0, 0, 0, 0]);
      good(await asOther([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      good(await asOther([0x9e, 0x10, ...be(0, 8), ...be(32, 4), 0, 0]));
      assert.equal((await asOther(cdb10(0x28, 0, 0, 1))).status, Status.ReservationConflict);
    });
  });

  describe('device failures', () => {
    it('answer MEDIUM ERROR and are logged with the device name', async () => {
      const records: { message: string; fields: Record<string, unknown> }[] = [];
      lu = createDiskUnit({ identity, device, log: (message, fields) => records.push({ message, fields }) });
      await exec([0, 0, 0, 0, 0, 0]);
      await device.close();
      assertSense(await exec(cdb10(0x28, 0, 0, 1)), 0x3, 0x11, 0x00);
      assertSense(await exec(cdb10(0x2a, 0, 0, 1), pattern(1, 0)), 0x3, 0x0c, 0x00);
      assert.equal(records.length, 2);
      assert.equal(records[0]!.fields.device, identity.name);
      await open();
    });
  });

  describe('REPORT SUPPORTED OPERATION CODES', () => {
    it('shows DPO and FUA in the usage data of READ(10), WRITE(10) and COMPARE AND WRITE', async () => {
      for (const opcode of [0x28, 0x2a, 0x89]) {
        const data = good(await exec([0xa3, 0x0c, 0x01, opcode, 0, 0, ...be(512, 4), 0, 0]));
        assert.equal(data[1]! & 0x07, 0x03, 'supported, standard');
        assert.equal(data[4], opcode);
        assert.equal(data[5]! & 0x18, 0x18);
      }
    });
  });
});
