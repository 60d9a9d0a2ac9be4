// TEST UNIT READY (SPC-4 6.47) and REQUEST SENSE (SPC-4 6.39).
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import { Asc, buildSense, ScsiError, SenseKey, type SenseInfo } from '../sense.ts';

export const testUnitReady: CommandEntry = {
  opcode: 0x00,
  name: 'TEST UNIT READY',
  usage: [0x00, 0, 0, 0, 0, CONTROL],
  access: Access.exceptClassic,
  requiresReady: true,
  handler: () => undefined,
};

/** A pending unit attention (consumed), else why the unit is not ready, else NO SENSE. */
function currentSense(ctx: CommandContext): SenseInfo {
  const ua = ctx.lu.unitAttentions.take(ctx.nexus.key);
  if (ua !== undefined) return { key: SenseKey.UnitAttention, asc: ua };
  try {
    ctx.lu.checkReady();
  } catch (err) {
    if (err instanceof ScsiError) return err.sense;
    throw err;
  }
  return { key: SenseKey.NoSense, asc: Asc.NO_ADDITIONAL_SENSE };
}

export const requestSense: CommandEntry = {
  opcode: 0x03,
  name: 'REQUEST SENSE',
  usage: [0x03, 0x01, 0, 0, 0xff, CONTROL],
  access: Access.always,
  ignoresUnitAttention: true,
  handler(ctx) {
    const format = ctx.cdb.readUInt8(1) & 0x01 ? 'descriptor' : 'fixed';
    return truncate(buildSense(currentSense(ctx), format), ctx.cdb.readUInt8(4));
  },
};
