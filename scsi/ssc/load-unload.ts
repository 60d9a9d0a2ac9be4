// LOAD UNLOAD (SSC-4 7.x) and PREVENT ALLOW MEDIUM REMOVAL (SPC-4 6.x) through
// the drive bay: threading the cartridge, giving it back to the changer.
import { Access, CONTROL, type CommandEntry, type UnitServices } from '../command-table.ts';
import { Asc, invalidFieldInCdb, mediumNotPresent, scsiError, SenseKey } from '../sense.ts';
import { TapeAlertFlag, type TapeDrive } from './state.ts';

const IMMED = 0x01;
const LOAD = 0x01;
const RETEN = 0x02;
const EOT = 0x04;

async function load(drive: TapeDrive, lu: UnitServices, nexusKey: string): Promise<void> {
  const loaded = drive.bay.medium;
  if (loaded) {
    // Already threaded: LOAD (and retension) position at the beginning.
    await drive.flush();
    await drive.io(Asc.UNRECOVERED_READ_ERROR, () => loaded.rewind());
    return;
  }
  if (!drive.bay.occupied) throw mediumNotPresent();
  await drive.bay.load();
  drive.mediumChanged();
  lu.unitAttentions.establishAll(Asc.NOT_READY_TO_READY_CHANGE, nexusKey);
}

async function unload(drive: TapeDrive): Promise<void> {
  if (!drive.bay.occupied) throw mediumNotPresent();
  if (drive.removalPrevented) {
    drive.tapeAlerts.add(TapeAlertFlag.NO_REMOVAL);
    throw scsiError(SenseKey.IllegalRequest, Asc.MEDIUM_REMOVAL_PREVENTED);
  }
  if (!drive.bay.medium) return;
  // The bay's unload is a sync point: buffered data is durable before the cartridge leaves.
  await drive.io(Asc.WRITE_ERROR, () => drive.bay.unload());
  drive.mediumChanged();
  drive.encryption.demounted();
}

export function loadCommands(drive: TapeDrive): CommandEntry[] {
  return [
    {
      opcode: 0x1b,
      name: 'LOAD UNLOAD',
      // HOLD is not supported: the common CDB check refuses it.
      usage: [0x1b, IMMED, 0, 0, EOT | RETEN | LOAD, CONTROL],
      async handler(ctx) {
        const flags = ctx.cdb.readUInt8(4);
        if (flags & LOAD && flags & EOT) throw invalidFieldInCdb(4, 2);
        if (flags & LOAD) await load(drive, ctx.lu, ctx.nexus.key);
        else await unload(drive);
      },
    },
    {
      opcode: 0x1e,
      name: 'PREVENT ALLOW MEDIUM REMOVAL',
      usage: [0x1e, 0, 0, 0, 0x03, CONTROL],
      access: Access.exceptClassic,
      handler(ctx) {
        const prevent = ctx.cdb.readUInt8(4) & 0x03;
        if (prevent > 1) throw invalidFieldInCdb(4, 1);
        drive.prevent(ctx.nexus.key, prevent === 1);
      },
    },
  ];
}
