// VERIFY and WRITE AND VERIFY (10), (12) and (16) (SBC-3 5.x): the medium
// read back, and with BYTCHK compared with the Data-Out.
import { Access, type CommandEntry } from '../command-table.ts';
import { invalidFieldInCdb } from '../sense.ts';
import { BYTCHK, CDB10, CDB12, CDB16, DPO, usageOf, type Layout } from './cdb.ts';
import { boundedExtent, checkWritable, compare, good, readMedium, receivedBlocks, repeat, writeBlocks, type Disk } from './state.ts';

function verify(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | BYTCHK),
    access: Access.read,
    async handler(ctx) {
      const bytchk = (ctx.cdb.readUInt8(1) & BYTCHK) >> 1;
      if (bytchk === 0b10) throw invalidFieldInCdb(1, 2);
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      const bs = disk.device.blockSize;
      if (bytchk === 0b00) {
        if (e.blocks > 0) await readMedium(disk, e);
        return;
      }
      // BYTCHK 01b: Data-Out holds every block; 11b: one block to compare with each.
      const expectedOut = bytchk === 0b01 ? e.blocks * bs : e.blocks > 0 ? bs : 0;
      const n = bytchk === 0b01 ? receivedBlocks(disk, ctx, e.blocks) : ctx.cmd.dataOut.length >= bs ? e.blocks : 0;
      if (n > 0) {
        const medium = await readMedium(disk, { lba: e.lba, blocks: n });
        const expected = bytchk === 0b01 ? ctx.cmd.dataOut.subarray(0, n * bs) : repeat(ctx.cmd.dataOut.subarray(0, bs), n);
        compare(expected, medium);
      }
      return good(expectedOut);
    },
  };
}

function writeAndVerify(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | BYTCHK),
    async handler(ctx) {
      const bytchk = (ctx.cdb.readUInt8(1) & BYTCHK) >> 1;
      if (bytchk > 0b01) throw invalidFieldInCdb(1, 2);
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      // Verification is of the medium, so the data goes there first.
      const written = await writeBlocks(disk, ctx, e, true);
      if (written && bytchk === 0b01)
        compare(written, await readMedium(disk, { lba: e.lba, blocks: written.length / disk.device.blockSize }));
      return good(e.blocks * disk.device.blockSize);
    },
  };
}

export function verifyCommands(disk: Disk): CommandEntry[] {
  return [
    writeAndVerify(disk, 0x2e, 'WRITE AND VERIFY(10)', CDB10),
    verify(disk, 0x2f, 'VERIFY(10)', CDB10),
    writeAndVerify(disk, 0x8e, 'WRITE AND VERIFY(16)', CDB16),
    verify(disk, 0x8f, 'VERIFY(16)', CDB16),
    writeAndVerify(disk, 0xae, 'WRITE AND VERIFY(12)', CDB12),
    verify(disk, 0xaf, 'VERIFY(12)', CDB12),
  ];
}
