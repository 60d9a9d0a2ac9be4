// COMPARE AND WRITE and ORWRITE(16) (SBC-3 5.x): each reads, decides and
// writes under the range lock every modifying command takes, so no other write
// slips in between, from this session or another.
import type { CommandEntry } from '../command-table.ts';
import { invalidFieldInCdb } from '../sense.ts';
import { CDB16, COMPARE_AND_WRITE, DPO, FUA, FUA_NV, usageOf } from './cdb.ts';
import { boundedExtent, checkWritable, compare, good, readMedium, receivedBlocks, writeMedium, type Disk } from './state.ts';

function compareAndWrite(disk: Disk): CommandEntry {
  return {
    opcode: 0x89,
    name: 'COMPARE AND WRITE',
    usage: usageOf(0x89, CDB16, DPO | FUA | FUA_NV).map((b, i) => (i >= 10 && i <= 12 ? 0 : b)),
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, COMPARE_AND_WRITE, disk.limits.maxCompareAndWriteBlocks);
      checkWritable(disk);
      const half = e.blocks * disk.device.blockSize;
      // The NUMBER OF LOGICAL BLOCKS splits the Data-Out into compare and write
      // halves; if the two disagree, neither half can be trusted.
      if (ctx.cmd.dataOut.length !== 2 * half) throw invalidFieldInCdb(COMPARE_AND_WRITE.lengthAt);
      if (e.blocks === 0) return;
      await disk.lock.run(e.lba, e.lba + e.blocks, async () => {
        compare(ctx.cmd.dataOut.subarray(0, half), await readMedium(disk, e));
        await writeMedium(disk, e.lba, ctx.cmd.dataOut.subarray(half), (ctx.cdb.readUInt8(1) & FUA) !== 0);
      });
    },
  };
}

function orWrite(disk: Disk): CommandEntry {
  return {
    opcode: 0x8b,
    name: 'ORWRITE(16)',
    usage: usageOf(0x8b, CDB16, DPO | FUA | FUA_NV),
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, CDB16, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      const n = receivedBlocks(disk, ctx, e.blocks);
      if (n > 0) {
        await disk.lock.run(e.lba, e.lba + n, async () => {
          // A copy: what a device reads may be shared with its other reads (a cache's buffers).
          const data = Buffer.from(await readMedium(disk, { lba: e.lba, blocks: n }));
          for (let i = 0; i < data.length; i++) data[i]! |= ctx.cmd.dataOut[i]!;
          await writeMedium(disk, e.lba, data, (ctx.cdb.readUInt8(1) & FUA) !== 0);
        });
      }
      return good(e.blocks * disk.device.blockSize);
    },
  };
}

export function atomicWriteCommands(disk: Disk): CommandEntry[] {
  return [compareAndWrite(disk), orWrite(disk)];
}
