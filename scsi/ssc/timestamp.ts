// REPORT TIMESTAMP (MAINTENANCE IN) and SET TIMESTAMP (MAINTENANCE OUT),
// SPC-4 6.x: milliseconds since the epoch, from the host's clock until an
// initiator sets its own.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { parameterListLengthError } from '../sense.ts';

const enum Origin {
  SetTimestamp = 0b010,
  OutsideThisStandard = 0b011,
}

const MAX_TIMESTAMP = 2 ** 48 - 1;

export function timestampCommands(now: () => number): CommandEntry[] {
  let offset = 0;
  let origin = Origin.OutsideThisStandard;
  return [
    {
      opcode: 0xa3,
      serviceAction: 0x0f,
      name: 'REPORT TIMESTAMP',
      usage: [0xa3, 0x0f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
      access: Access.exceptClassic,
      handler(ctx) {
        const data = Buffer.alloc(12);
        data.writeUInt16BE(10, 0);
        data[2] = origin;
        data.writeUIntBE(Math.min(Math.max(0, now() + offset), MAX_TIMESTAMP), 4, 6);
        return truncate(data, ctx.cdb.readUInt32BE(6));
      },
    },
    {
      opcode: 0xa4,
      serviceAction: 0x0f,
      name: 'SET TIMESTAMP',
      usage: [0xa4, 0x0f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
      handler(ctx) {
        const length = ctx.cdb.readUInt32BE(6);
        if (length === 0) return;
        if (length < 12 || ctx.cmd.dataOut.length < 12) throw parameterListLengthError();
        offset = ctx.cmd.dataOut.readUIntBE(4, 6) - now();
        origin = Origin.SetTimestamp;
      },
    },
  ];
}
