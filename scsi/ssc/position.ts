// READ POSITION (SSC-4 7.x): short (00h, and 01h which Linux's st sends),
// long (06h) and extended (08h) forms. The object buffer holds what was
// written since the last sync point.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import type { TapeDrive } from './state.ts';

const READ_POSITION = 0x34;
const BOP = 0x80;
const EOP = 0x40;
const PERR = 0x02;
const BPEW = 0x01;

interface Position {
  readonly flags: number;
  readonly first: number;
  readonly last: number;
  readonly fileNumber: number;
  readonly bufferedObjects: number;
  readonly bufferedBytes: number;
}

function position(drive: TapeDrive): Position {
  const medium = drive.medium();
  const location = medium.location();
  // Without early warning programmed, BPEW follows EOP (SSC-4: beyond programmable early warning or early warning).
  const pastEarlyWarning = drive.pastEarlyWarning(medium) ? EOP | BPEW : 0;
  return {
    flags: (location.atBeginning ? BOP : 0) | pastEarlyWarning,
    first: location.objectNumber,
    last: location.objectNumber - drive.pending.objects,
    fileNumber: location.fileNumber,
    bufferedObjects: drive.pending.objects,
    bufferedBytes: drive.pending.bytes,
  };
}

function shortForm(p: Position): Buffer {
  const data = Buffer.alloc(20);
  const overflow = p.first > 0xffffffff;
  data[0] = p.flags | (overflow ? PERR : 0);
  if (!overflow) {
    data.writeUInt32BE(p.first, 4);
    data.writeUInt32BE(p.last, 8);
  }
  data.writeUIntBE(Math.min(p.bufferedObjects, 0xffffff), 13, 3);
  data.writeUInt32BE(Math.min(p.bufferedBytes, 0xffffffff), 16);
  return data;
}

function longForm(p: Position): Buffer {
  const data = Buffer.alloc(32);
  data[0] = p.flags;
  data.writeBigUInt64BE(BigInt(p.first), 8);
  data.writeBigUInt64BE(BigInt(p.fileNumber), 16);
  return data;
}

function extendedForm(p: Position): Buffer {
  const data = Buffer.alloc(32);
  data[0] = p.flags;
  data.writeUInt16BE(0x1c, 2);
  data.writeUIntBE(Math.min(p.bufferedObjects, 0xffffff), 5, 3);
  data.writeBigUInt64BE(BigInt(p.first), 8);
  data.writeBigUInt64BE(BigInt(p.last), 16);
  data.writeBigUInt64BE(BigInt(p.bufferedBytes), 24);
  return data;
}

function form(drive: TapeDrive, serviceAction: number, name: string, encode: (p: Position) => Buffer, allocated: boolean): CommandEntry {
  return {
    opcode: READ_POSITION,
    serviceAction,
    name,
    usage: [READ_POSITION, serviceAction, 0, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
    access: Access.read,
    requiresReady: true,
    // The short and long forms have a fixed length; initiators send an allocation length of 0.
    handler: (ctx) => (allocated ? truncate(encode(position(drive)), ctx.cdb.readUInt16BE(7)) : encode(position(drive))),
  };
}

export function readPositionCommands(drive: TapeDrive): CommandEntry[] {
  return [
    form(drive, 0x00, 'READ POSITION (short form, block id)', shortForm, false),
    form(drive, 0x01, 'READ POSITION (short form, vendor specific)', shortForm, false),
    form(drive, 0x06, 'READ POSITION (long form)', longForm, false),
    form(drive, 0x08, 'READ POSITION (extended form)', extendedForm, true),
  ];
}
