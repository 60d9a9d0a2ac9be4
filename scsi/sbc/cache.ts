// The disk's write cache and read hints: SYNCHRONIZE CACHE (10) and (16),
// PRE-FETCH (10) and (16), and START STOP UNIT, whose stop flushes.
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { Asc } from '../sense.ts';
import { CDB10, CDB16, IMMED, lbaOf, lengthOf, SYNC_NV, usageOf, type Layout } from './cdb.ts';
import { boundedExtent, extent, io, type Disk } from './state.ts';

function preFetch(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, IMMED),
    access: Access.read,
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      if (!disk.device.prefetch || e.blocks === 0) return;
      const bs = disk.device.blockSize;
      const done = disk.device.prefetch(e.lba * bs, e.blocks * bs);
      // GOOD, not CONDITION MET: nothing guarantees the blocks stay cached.
      // With IMMED the command is over before the prefetch, which is only advice.
      if (ctx.cdb.readUInt8(1) & IMMED) done.catch(() => {});
      else await io(disk, Asc.UNRECOVERED_READ_ERROR, () => done);
    },
  };
}

function synchronizeCache(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, IMMED | SYNC_NV),
    async handler(ctx) {
      // NUMBER OF LOGICAL BLOCKS 0 means through the last LBA; the device
      // flushes everything, so the range is only checked.
      extent(disk, lbaOf(ctx.cdb, layout), lengthOf(ctx.cdb, layout));
      await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
    },
  };
}

/** START STOP UNIT on a fixed disk: stopping flushes the cache unless NO_FLUSH; the medium stays. */
function startStopUnit(disk: Disk): CommandEntry {
  const NO_FLUSH = 0x04;
  const START = 0x01;
  return {
    opcode: 0x1b,
    name: 'START STOP UNIT',
    usage: [0x1b, 0x01, 0, 0x0f, 0xf0 | NO_FLUSH | START, CONTROL],
    async handler(ctx) {
      const flags = ctx.cdb.readUInt8(4);
      if (!(flags & START) && !(flags & NO_FLUSH)) await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
    },
  };
}

export function cacheCommands(disk: Disk): CommandEntry[] {
  return [
    startStopUnit(disk),
    preFetch(disk, 0x34, 'PRE-FETCH(10)', CDB10),
    synchronizeCache(disk, 0x35, 'SYNCHRONIZE CACHE(10)', CDB10),
    preFetch(disk, 0x90, 'PRE-FETCH(16)', CDB16),
    synchronizeCache(disk, 0x91, 'SYNCHRONIZE CACHE(16)', CDB16),
  ];
}
