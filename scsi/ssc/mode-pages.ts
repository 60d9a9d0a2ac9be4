// The tape drive's mode parameters (SSC-4 8.3): the header's WP, BUFFERED MODE
// and medium type, the block descriptor (density, block length: 0 = variable),
// and pages 0Fh, 10h, 10h/01h, 11h and IBM's vendor page 25h. Control (0Ah)
// and Informational Exceptions (1Ch) come from SPC.
import type { ModePage, ModeParameterHooks } from '../mode-pages.ts';
import { invalidFieldInParameterList } from '../sense.ts';
import { knownDensity, mediumType, writableDensity } from './density.ts';
import type { TapeDrive } from './state.ts';

const WP = 0x80;
const NO_DENSITY_CHANGE = 0x7f;

function deviceSpecificParameter(drive: TapeDrive): number {
  const medium = drive.bay.medium;
  const wp = medium && (medium.writeProtected || !writableDensity(medium.densityCode)) ? WP : 0;
  return wp | (drive.bufferedMode << 4);
}

export function modeParameters(drive: TapeDrive): ModeParameterHooks {
  return {
    deviceSpecificParameter: () => deviceSpecificParameter(drive),
    mediumType: () => mediumType(drive.bay.medium),
    // A long LBA descriptor has no density code: tape has only the short one.
    blockDescriptors(long) {
      if (long) return [];
      const d = Buffer.alloc(8);
      d[0] = drive.bay.medium?.densityCode ?? 0;
      d.writeUIntBE(drive.blockLength, 5, 3);
      return [d];
    },
    select({ deviceSpecificParameter: dsp, blockDescriptors, long }, at) {
      const buffered = (dsp >> 4) & 0x07;
      if (buffered > 1) throw invalidFieldInParameterList(at.deviceSpecificParameter, 6);
      if (dsp & 0x0f) throw invalidFieldInParameterList(at.deviceSpecificParameter, 3); // SPEED: default only
      let blockLength = drive.blockLength;
      blockDescriptors.forEach((d, i) => {
        const offset = at.blockDescriptors + i * d.length;
        if (long) throw invalidFieldInParameterList(offset);
        if (d[0] !== 0 && d[0] !== NO_DENSITY_CHANGE && !knownDensity(d[0]!)) throw invalidFieldInParameterList(offset);
        if (d.readUIntBE(1, 3) !== 0) throw invalidFieldInParameterList(offset + 1);
        const length = d.readUIntBE(5, 3);
        if (length > drive.limits.maxBlockLength) throw invalidFieldInParameterList(offset + 5);
        blockLength = length;
      });
      const changed = buffered !== drive.bufferedMode || blockLength !== drive.blockLength;
      drive.bufferedMode = buffered;
      drive.blockLength = blockLength;
      return changed;
    },
  };
}

const DCE = 0x80;

/** Data Compression (0Fh): DCC=1, DCE changeable; the algorithm is the drive's default. */
const dataCompression: ModePage = {
  page: 0x0f,
  name: 'Data Compression',
  defaults: [DCE | 0x40, 0x80, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0],
  changeable: [DCE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};

/** Body offset of SELECT DATA COMPRESSION ALGORITHM (byte 14 of the page). */
const SDCA = 12;

/**
 * Device Configuration (10h): LOIS (logical object identifiers), EEG and SEW
 * (end-of-data generated, sync at early warning), write delay 0 (buffered data
 * waits for a sync point), REWIND ON RESET 10b (a reset keeps the position).
 */
const deviceConfiguration: ModePage = {
  page: 0x10,
  name: 'Device Configuration',
  defaults: [0, 0, 0, 0, 0, 0, 0x40, 0, 0x18, 0, 0, 0, 0x01, 0x10],
  changeable: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0],
  select(value, offset) {
    if (value[SDCA]! > 1) throw invalidFieldInParameterList(offset + SDCA);
  },
};

/** Device Configuration Extension (10h/01h): overwrite allowed, short erase writes EOD, no PEWS. */
const deviceConfigurationExtension: ModePage = {
  page: 0x10,
  subpage: 0x01,
  name: 'Device Configuration Extension',
  defaults: [0, 0x02, ...new Array<number>(26).fill(0)],
};

const PSUM_UNITS = 0x18;

/** Medium Partition (11h): one partition, its size in 10^PARTITION UNITS bytes. */
function mediumPartition(drive: TapeDrive): ModePage {
  return {
    page: 0x11,
    name: 'Medium Partition',
    defaults: [0, 0, PSUM_UNITS, 0x03, 0, 0, 0, 0],
    current(stored) {
      const medium = drive.bay.medium;
      if (!medium) return stored;
      const total = medium.capacity().totalBytes;
      let units = 0;
      while (Math.floor(total / 10 ** units) > 0xfffe) units++;
      stored[4] = units;
      stored.writeUInt16BE(Math.floor(total / 10 ** units), 6);
      return stored;
    },
  };
}

/** IBM LTO vendor page 25h, which IBM's Windows driver reads: LEOP and early warning reporting on. */
const ibmVendor25h: ModePage = {
  page: 0x25,
  name: 'IBM Vendor Specific (25h)',
  defaults: [0, 0, 0, 0x01, 0x01, ...new Array<number>(25).fill(0)],
};

export function tapeModePages(drive: TapeDrive): ModePage[] {
  return [dataCompression, deviceConfiguration, deviceConfigurationExtension, mediumPartition(drive), ibmVendor25h];
}
