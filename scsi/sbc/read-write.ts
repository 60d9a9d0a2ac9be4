// READ and WRITE (6), (10), (12) and (16) (SBC-3 5.x): the data path of a
// block volume. A write takes the whole blocks that arrived, under the range lock.
import { Access, type CommandEntry } from '../command-table.ts';
import { CDB10, CDB12, CDB16, CDB6, DPO, flagsOf, FUA, FUA_NV, usageOf, type Layout } from './cdb.ts';
import { boundedExtent, checkWritable, good, readForInitiator, writeBlocks, type Disk } from './state.ts';

function read(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | FUA | FUA_NV),
    access: Access.read,
    handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      if (e.blocks === 0) return;
      return readForInitiator(disk, e);
    },
  };
}

function write(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | FUA | FUA_NV),
    handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      const result = good(e.blocks * disk.device.blockSize);
      return writeBlocks(disk, ctx, e, (flagsOf(ctx.cdb, layout) & FUA) !== 0).then(() => result);
    },
  };
}

export function readWriteCommands(disk: Disk): CommandEntry[] {
  return [
    read(disk, 0x08, 'READ(6)', CDB6),
    write(disk, 0x0a, 'WRITE(6)', CDB6),
    read(disk, 0x28, 'READ(10)', CDB10),
    write(disk, 0x2a, 'WRITE(10)', CDB10),
    read(disk, 0x88, 'READ(16)', CDB16),
    write(disk, 0x8a, 'WRITE(16)', CDB16),
    read(disk, 0xa8, 'READ(12)', CDB12),
    write(disk, 0xaa, 'WRITE(12)', CDB12),
  ];
}
