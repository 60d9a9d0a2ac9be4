// What the medium is: READ CAPACITY (10) and (16), and READ DEFECT DATA
// (10) and (12), which a disk over a file answers with an empty list.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { invalidFieldInCdb } from '../sense.ts';
import { ff, SERVICE_ACTION_IN_16 } from './cdb.ts';
import { blockCount, blocksPerPhysicalBlock, type Disk } from './state.ts';

function readCapacity10(disk: Disk): CommandEntry {
  return {
    opcode: 0x25,
    name: 'READ CAPACITY(10)',
    usage: [0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, CONTROL],
    // SBC-3: allowed whatever persistent reservation another nexus holds.
    access: Access.exceptClassic,
    handler(ctx) {
      const pmi = ctx.cdb.readUInt8(8) & 0x01;
      if (!pmi && ctx.cdb.readUInt32BE(2) !== 0) throw invalidFieldInCdb(2);
      const data = Buffer.alloc(8);
      // A capacity beyond 32 bits answers FFFFFFFFh: READ CAPACITY(16) tells the rest.
      data.writeUInt32BE(Math.min(blockCount(disk) - 1, 0xffffffff), 0);
      data.writeUInt32BE(disk.device.blockSize, 4);
      return data;
    },
  };
}

function readCapacity16(disk: Disk): CommandEntry {
  return {
    opcode: SERVICE_ACTION_IN_16,
    serviceAction: 0x10,
    name: 'READ CAPACITY(16)',
    usage: [SERVICE_ACTION_IN_16, 0x10, ...ff(8), ...ff(4), 0x01, CONTROL],
    access: Access.exceptClassic,
    handler(ctx) {
      const pmi = ctx.cdb.readUInt8(14) & 0x01;
      if (!pmi && ctx.cdb.readBigUInt64BE(2) !== 0n) throw invalidFieldInCdb(2);
      const data = Buffer.alloc(32);
      data.writeBigUInt64BE(BigInt(blockCount(disk) - 1), 0);
      data.writeUInt32BE(disk.device.blockSize, 8);
      // No protection information; LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT;
      // LBPME (thin provisioned) and LBPRZ (deallocated blocks read as zeros).
      data[13] = Math.log2(blocksPerPhysicalBlock(disk.device));
      data[14] = 0x80 | 0x40;
      return truncate(data, ctx.cdb.readUInt32BE(10));
    },
  };
}

/** READ DEFECT DATA: a logical unit over a file has no defect list; the header echoes the request. */
function readDefectData10(): CommandEntry {
  return {
    opcode: 0x37,
    name: 'READ DEFECT DATA(10)',
    usage: [0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
    access: Access.read,
    handler(ctx) {
      return truncate(Buffer.from([0, ctx.cdb.readUInt8(2) & 0x1f, 0, 0]), ctx.cdb.readUInt16BE(7));
    },
  };
}

function readDefectData12(): CommandEntry {
  return {
    opcode: 0xb7,
    name: 'READ DEFECT DATA(12)',
    usage: [0xb7, 0x1f, ...ff(4), ...ff(4), 0, CONTROL],
    access: Access.read,
    handler(ctx) {
      return truncate(Buffer.from([0, ctx.cdb.readUInt8(1) & 0x1f, 0, 0, 0, 0, 0, 0]), ctx.cdb.readUInt32BE(6));
    },
  };
}

export function capacityCommands(disk: Disk): CommandEntry[] {
  return [readCapacity10(disk), readCapacity16(disk), readDefectData10(), readDefectData12()];
}
