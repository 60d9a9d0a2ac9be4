// ALLOW OVERWRITE (SSC-4 7.1): in append-only mode, lets the next write
// overwrite at the current position (an application rewriting its last
// label or index where it knows the data ends), as IBM's LTO drives offer it.
import { CONTROL, type CommandEntry } from '../command-table.ts';
import { Asc, invalidFieldInCdb, scsiError, SenseKey } from '../sense.ts';
import type { TapeDrive } from './state.ts';

const ALLOW_OVERWRITE = 0x82;
const Allow = { disabled: 0, currentPosition: 1, format: 2 } as const;

export function allowOverwrite(drive: TapeDrive): CommandEntry {
  return {
    opcode: ALLOW_OVERWRITE,
    name: 'ALLOW OVERWRITE',
    usage: [ALLOW_OVERWRITE, 0, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, CONTROL],
    requiresReady: true,
    handler(ctx) {
      if (!drive.appendOnly) throw scsiError(SenseKey.IllegalRequest, Asc.ILLEGAL_COMMAND_WHEN_NOT_IN_APPEND_ONLY_MODE);
      const allow = ctx.cdb.readUInt8(2) & 0x0f;
      drive.overwriteAllowedAt = undefined;
      if (allow === Allow.disabled) return;
      // FORMAT MEDIUM is not offered, so neither is leave to overwrite with it.
      if (allow !== Allow.currentPosition) throw invalidFieldInCdb(2, 3);
      if (ctx.cdb[3] !== 0) throw invalidFieldInCdb(3); // one partition
      const at = drive.medium().location().objectNumber;
      if (ctx.cdb.readBigUInt64BE(4) !== BigInt(at)) throw scsiError(SenseKey.IllegalRequest, Asc.SEQUENTIAL_POSITIONING_ERROR);
      drive.overwriteAllowedAt = at;
    },
  };
}
