// A sequential-access (SSC) logical unit over a DriveBay: the tape drive the
// library presents, IBM ULT3580-TD5 by default.
import { PeripheralDeviceType, VersionDescriptor, type DeviceIdentity } from '../identity.ts';
import { ScsiLogicalUnit, type LogFn } from '../logical-unit.ts';
import { Asc } from '../sense.ts';
import { spcCommands, spcModePages } from '../spc/commands.ts';
import type { ScsiCommand, ScsiResponse } from '../types.ts';
import { allowOverwrite } from './allow-overwrite.ts';
import { readAttributeCommands } from './attributes.ts';
import { writeAttribute } from './host-attributes.ts';
import { loadCommands } from './load-unload.ts';
import { tapeLogPages } from './log-pages.ts';
import { modeParameters, tapeModePages } from './mode-pages.ts';
import { readPositionCommands } from './position.ts';
import { readWriteCommands } from './read-write.ts';
import { reportDensitySupport } from './report-density.ts';
import { securityProtocolCommands } from './security-protocol.ts';
import { positioningCommands } from './space-locate.ts';
import { TapeDrive, type DriveLimits } from './state.ts';
import type { DriveBay } from './tape-medium.ts';
import { timestampCommands } from './timestamp.ts';
import { tapeVpdPages } from './vpd.ts';

export interface TapeDriveUnitOptions {
  /** Serial, gateway id and name are the caller's; vendor, product and revision default to an IBM ULT3580-TD5. */
  readonly identity: Pick<DeviceIdentity, 'serial' | 'gatewayId' | 'name'> &
    Partial<Pick<DeviceIdentity, 'vendor' | 'product' | 'revision' | 'ieeeCompanyId'>>;
  readonly bay: DriveBay;
  readonly limits?: Partial<DriveLimits>;
  /** Milliseconds since the epoch, for REPORT TIMESTAMP. */
  readonly now?: () => number;
  readonly log?: LogFn;
}

export const defaultDriveLimits: DriveLimits = {
  // What IBM LTO drives report in READ BLOCK LIMITS (8 MiB); well under the fabric's 64 MiB per command.
  maxBlockLength: 8 * 1024 * 1024,
  maxTransferBytes: 32 * 1024 * 1024,
};

/** A tape drive does one thing at a time: commands run one after another in arrival order. */
class TapeDriveUnit extends ScsiLogicalUnit {
  private last: Promise<unknown> = Promise.resolve();

  override execute(cmd: ScsiCommand): Promise<ScsiResponse> {
    const run = this.last.then(() => super.execute(cmd));
    this.last = run.catch(() => undefined);
    return run;
  }
}

export function createTapeDriveUnit(options: TapeDriveUnitOptions): ScsiLogicalUnit {
  const limits = { ...defaultDriveLimits, ...options.limits };
  // READ BLOCK LIMITS and the READ/WRITE(6) transfer length have 24 bits.
  if (limits.maxBlockLength < 1 || limits.maxBlockLength > 0xffffff)
    throw new RangeError(`maximum block length ${limits.maxBlockLength} outside 1..16777215`);
  const drive = new TapeDrive(options.bay, limits);
  const identity: DeviceIdentity = {
    vendor: 'IBM',
    product: 'ULT3580-TD5',
    revision: 'D8D5',
    ...options.identity,
    deviceType: PeripheralDeviceType.SequentialAccess,
    removable: true,
    versionDescriptors: [VersionDescriptor.SSC3],
  };
  const lu = new TapeDriveUnit({
    identity,
    commands: [
      ...spcCommands(),
      ...readWriteCommands(drive),
      allowOverwrite(drive),
      ...positioningCommands(drive),
      ...readPositionCommands(drive),
      ...loadCommands(drive),
      reportDensitySupport(drive),
      ...readAttributeCommands(drive),
      writeAttribute(drive),
      ...timestampCommands(options.now ?? Date.now),
      ...securityProtocolCommands(drive),
    ],
    vpdPages: tapeVpdPages,
    modePages: [...spcModePages, ...tapeModePages(drive)],
    modeParameters: modeParameters(drive),
    logPages: tapeLogPages(drive),
    checkReady: () => void drive.medium(),
    taskManagement(fn, nexus) {
      if (fn === 'i-t-nexus-loss') {
        drive.allowRemoval(nexus.key);
        drive.encryption.nexusLost(nexus.key);
      }
      if (fn === 'lun-reset' || fn === 'target-reset') drive.reset();
    },
    ...(options.log ? { log: options.log } : {}),
  });
  options.bay.onMediumChanged(() => {
    drive.mediumChanged();
    if (!options.bay.occupied) drive.encryption.demounted();
    // Only a cartridge arriving makes the drive ready (28/00, SPC-4 5.14); one leaving makes it
    // not ready, which the next medium access learns as NOT READY 3A/00, as a real drive answers.
    if (options.bay.occupied) lu.unitAttentions.establishAll(Asc.NOT_READY_TO_READY_CHANGE);
  });
  return lu;
}
