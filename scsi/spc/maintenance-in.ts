// MAINTENANCE IN service actions: REPORT SUPPORTED OPERATION CODES (SPC-4 6.35)
// and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36), both read from the table.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry, type CommandTable } from '../command-table.ts';
import { invalidFieldInCdb } from '../sense.ts';

const MAINTENANCE_IN = 0xa3;
const SUPPORT_NOT_SUPPORTED = 0x1;
const SUPPORT_STANDARD = 0x3;

function timeoutsDescriptor(entry: CommandEntry): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x0a, 0);
  b.writeUInt32BE(entry.timeouts?.nominal ?? 0, 4);
  b.writeUInt32BE(entry.timeouts?.recommended ?? 0, 8);
  return b;
}

function allCommands(table: CommandTable, rctd: boolean): Buffer {
  const descriptors = table.entries.map((e) => {
    const d = Buffer.alloc(8);
    d[0] = e.opcode;
    d.writeUInt16BE(e.serviceAction ?? 0, 2);
    d[5] = (rctd ? 0x02 : 0) | (e.serviceAction !== undefined ? 0x01 : 0);
    d.writeUInt16BE(e.usage.length, 6);
    return rctd ? Buffer.concat([d, timeoutsDescriptor(e)]) : d;
  });
  const body = Buffer.concat(descriptors);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function oneCommand(entry: CommandEntry | undefined, rctd: boolean): Buffer {
  if (!entry) return Buffer.from([0, SUPPORT_NOT_SUPPORTED, 0, 0]);
  const header = Buffer.from([0, (rctd ? 0x80 : 0) | SUPPORT_STANDARD, 0, 0]);
  header.writeUInt16BE(entry.usage.length, 2);
  return Buffer.concat([header, Buffer.from(entry.usage), ...(rctd ? [timeoutsDescriptor(entry)] : [])]);
}

export const reportSupportedOperationCodes: CommandEntry = {
  opcode: MAINTENANCE_IN,
  serviceAction: 0x0c,
  name: 'REPORT SUPPORTED OPERATION CODES',
  usage: [MAINTENANCE_IN, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
  access: Access.exceptClassic,
  handler(ctx) {
    const { table } = ctx.lu;
    const rctd = (ctx.cdb.readUInt8(2) & 0x80) !== 0;
    const options = ctx.cdb.readUInt8(2) & 0x07;
    const opcode = ctx.cdb.readUInt8(3);
    const serviceAction = ctx.cdb.readUInt16BE(4);
    const allocation = ctx.cdb.readUInt32BE(6);
    let data: Buffer;
    switch (options) {
      case 0:
        data = allCommands(table, rctd);
        break;
      case 1:
        if (table.hasServiceActions(opcode)) throw invalidFieldInCdb(2, 2);
        data = oneCommand(table.find(opcode), rctd);
        break;
      case 2: {
        const entry = table.find(opcode, serviceAction);
        if (!table.hasServiceActions(opcode) && table.find(opcode)) throw invalidFieldInCdb(2, 2);
        data = oneCommand(entry, rctd);
        break;
      }
      case 3:
        // SPC-5: the requested service action is ignored for opcodes without service actions.
        data = oneCommand(table.find(opcode, serviceAction), rctd);
        break;
      default:
        throw invalidFieldInCdb(2, 2);
    }
    return truncate(data, allocation);
  },
};

// ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET RESET:
// what the TaskManagementFunction contract carries (clear-aca is refused: no ACA).
const TMF_SUPPORTED = 0x80 | 0x40 | 0x10 | 0x08 | 0x02;

export const reportSupportedTaskManagementFunctions: CommandEntry = {
  opcode: MAINTENANCE_IN,
  serviceAction: 0x0d,
  name: 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS',
  usage: [MAINTENANCE_IN, 0x0d, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
  access: Access.exceptClassic,
  handler(ctx) {
    const repd = (ctx.cdb.readUInt8(2) & 0x80) !== 0;
    const data = Buffer.alloc(repd ? 16 : 4);
    data[0] = TMF_SUPPORTED;
    if (repd) data[3] = 0x0c;
    return truncate(data, ctx.cdb.readUInt32BE(6));
  },
};
