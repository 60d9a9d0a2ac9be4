// REWIND, SPACE(6)/(16) and LOCATE(10)/(16) (SSC-4 7.x, 6.x). Every move is
// a sync point first: what sits in the buffer reaches the medium before the
// position changes.
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { Asc, invalidFieldInCdb, scsiError, SenseKey } from '../sense.ts';
import type { TapeDrive } from './state.ts';
import type { SpaceOutcome, TapeMedium } from './tape-medium.ts';

const IMMED = 0x01;
const CP = 0x02;
const BT = 0x04;
const DEST_TYPE = 0x38;

const enum SpaceCode {
  Blocks = 0,
  Filemarks = 1,
  SequentialFilemarks = 2,
  EndOfData = 3,
}

const enum Destination {
  LogicalObject = 0,
  LogicalFile = 1,
  EndOfData = 3,
}

/** The sense of a move that stopped short; INFORMATION is the part of the count not done. */
function stoppedShort(drive: TapeDrive, medium: TapeMedium, outcome: SpaceOutcome, count: number): void {
  if (!outcome.stoppedAt) return;
  const information = Math.abs(count) - outcome.moved;
  switch (outcome.stoppedAt) {
    case 'filemark':
      throw scsiError(SenseKey.NoSense, Asc.FILEMARK_DETECTED, { filemark: true, information });
    case 'end-of-data':
      throw scsiError(SenseKey.BlankCheck, Asc.END_OF_DATA_DETECTED, { eom: drive.pastEarlyWarning(medium), information });
    case 'beginning-of-partition':
      throw scsiError(SenseKey.NoSense, Asc.BEGINNING_OF_PARTITION_MEDIUM_DETECTED, { eom: true, information });
  }
}

async function space(drive: TapeDrive, code: number, count: number): Promise<void> {
  if (code === SpaceCode.SequentialFilemarks || code > SpaceCode.EndOfData) throw invalidFieldInCdb(1, 3);
  const medium = drive.medium();
  if (count === 0 && code !== SpaceCode.EndOfData) return;
  await drive.flush();
  switch (code) {
    case SpaceCode.Blocks:
      stoppedShort(drive, medium, await drive.io(Asc.UNRECOVERED_READ_ERROR, () => medium.spaceRecords(count)), count);
      break;
    case SpaceCode.Filemarks:
      stoppedShort(drive, medium, await drive.io(Asc.UNRECOVERED_READ_ERROR, () => medium.spaceFilemarks(count)), count);
      break;
    case SpaceCode.EndOfData:
      await drive.io(Asc.UNRECOVERED_READ_ERROR, () => medium.spaceToEndOfData());
      break;
  }
}

/** LOCATE beyond end-of-data ends there, with BLANK CHECK (SSC-4 LOCATE(16)). */
function locateEnded(outcome: SpaceOutcome): void {
  if (outcome.stoppedAt === 'end-of-data') throw scsiError(SenseKey.BlankCheck, Asc.END_OF_DATA_DETECTED);
}

/** One partition: CP=1 may only name partition 0. */
function checkPartition(cdb: Buffer, at: number): void {
  if (cdb.readUInt8(1) & CP && cdb[at] !== 0) throw invalidFieldInCdb(at);
}

export function positioningCommands(drive: TapeDrive): CommandEntry[] {
  return [
    {
      opcode: 0x01,
      name: 'REWIND',
      usage: [0x01, IMMED, 0, 0, 0, CONTROL],
      access: Access.read,
      requiresReady: true,
      async handler() {
        const medium = drive.medium();
        await drive.flush();
        await drive.io(Asc.UNRECOVERED_READ_ERROR, () => medium.rewind());
      },
    },
    {
      opcode: 0x11,
      name: 'SPACE(6)',
      usage: [0x11, 0x0f, 0xff, 0xff, 0xff, CONTROL],
      access: Access.read,
      requiresReady: true,
      handler: (ctx) => space(drive, ctx.cdb.readUInt8(1) & 0x0f, ctx.cdb.readIntBE(2, 3)),
    },
    {
      opcode: 0x2b,
      name: 'LOCATE(10)',
      // BT is accepted: block addresses and logical object identifiers are the same here.
      usage: [0x2b, BT | CP | IMMED, 0, 0xff, 0xff, 0xff, 0xff, 0, 0xff, CONTROL],
      access: Access.read,
      requiresReady: true,
      async handler(ctx) {
        checkPartition(ctx.cdb, 8);
        const medium = drive.medium();
        await drive.flush();
        locateEnded(await drive.io(Asc.LOCATE_OPERATION_FAILURE, () => medium.locate(ctx.cdb.readUInt32BE(3))));
      },
    },
    {
      opcode: 0x91,
      name: 'SPACE(16)',
      usage: [0x91, 0x0f, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, CONTROL],
      access: Access.read,
      requiresReady: true,
      handler: (ctx) => space(drive, ctx.cdb.readUInt8(1) & 0x0f, Number(ctx.cdb.readBigInt64BE(4))),
    },
    {
      opcode: 0x92,
      name: 'LOCATE(16)',
      usage: [0x92, DEST_TYPE | CP | IMMED, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, CONTROL],
      access: Access.read,
      requiresReady: true,
      async handler(ctx) {
        const destination = (ctx.cdb.readUInt8(1) & DEST_TYPE) >> 3;
        if (destination !== Destination.LogicalObject && destination !== Destination.LogicalFile && destination !== Destination.EndOfData) {
          throw invalidFieldInCdb(1, 5);
        }
        checkPartition(ctx.cdb, 3);
        const medium = drive.medium();
        const identifier = Number(ctx.cdb.readBigUInt64BE(4));
        await drive.flush();
        await drive.io(Asc.LOCATE_OPERATION_FAILURE, async () => {
          switch (destination) {
            case Destination.LogicalObject:
              locateEnded(await medium.locate(identifier));
              break;
            case Destination.LogicalFile:
              // File n starts just past the n-th filemark.
              await medium.rewind();
              if (identifier > 0) locateEnded(await medium.spaceFilemarks(identifier));
              break;
            case Destination.EndOfData:
              await medium.spaceToEndOfData();
              break;
          }
        });
      },
    },
  ];
}
