// LTO densities: REPORT DENSITY SUPPORT (SSC-4 6.x) and the medium type of the
// mode parameter header. An LTO-5 drive writes LTO-4 and LTO-5 media and reads LTO-3.
import { asciiField, truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import type { TapeDrive } from './state.ts';
import type { TapeMedium } from './tape-medium.ts';

interface Density {
  readonly code: number;
  readonly bitsPerMm: number;
  /** Tenths of a millimetre. */
  readonly mediaWidth: number;
  readonly tracks: number;
  /** Native capacity in megabytes (10^6 bytes). */
  readonly capacity: number;
  /** Tape length in metres (MAM 0402h). */
  readonly lengthMetres: number;
  readonly name: string;
  readonly description: string;
  /** MODE SENSE medium type of a data cartridge (IBM LTO: the generation in the high nibble, 8h). */
  readonly mediumType: number;
}

const LTO: readonly Density[] = [
  { code: 0x44, bitsPerMm: 9638, mediaWidth: 127, tracks: 704, capacity: 400_000, lengthMetres: 680, name: 'U-316', description: 'Ultrium 3/16T', mediumType: 0x38 },
  { code: 0x46, bitsPerMm: 12725, mediaWidth: 127, tracks: 896, capacity: 800_000, lengthMetres: 820, name: 'U-416', description: 'Ultrium 4/16T', mediumType: 0x48 },
  { code: 0x58, bitsPerMm: 15142, mediaWidth: 127, tracks: 1280, capacity: 1_500_000, lengthMetres: 846, name: 'U-516', description: 'Ultrium 5/16T', mediumType: 0x58 },
  { code: 0x5a, bitsPerMm: 15142, mediaWidth: 127, tracks: 2176, capacity: 2_500_000, lengthMetres: 846, name: 'U-616', description: 'Ultrium 6/16T', mediumType: 0x68 },
];

export const ASSIGNING_ORGANIZATION = 'LTO-CVE';
const WORM_MEDIUM_TYPE = 0x04;

/** What the drive does with each density it knows: the last one is its own (the default). */
const DRIVE_DENSITIES: readonly { readonly code: number; readonly writable: boolean }[] = [
  { code: 0x44, writable: false },
  { code: 0x46, writable: true },
  { code: 0x58, writable: true },
];
const DEFAULT_DENSITY = 0x58;

export const densityOf = (code: number): Density | undefined => LTO.find((d) => d.code === code);

export function writableDensity(code: number): boolean {
  return DRIVE_DENSITIES.some((d) => d.code === code && d.writable);
}

export function knownDensity(code: number): boolean {
  return DRIVE_DENSITIES.some((d) => d.code === code);
}

/** Medium type of the mode parameter header: 0 without a medium or for an unknown one. */
export function mediumType(medium: TapeMedium | undefined): number {
  const density = medium && densityOf(medium.densityCode);
  if (!medium || !density) return 0;
  return density.mediumType | (medium.worm ? WORM_MEDIUM_TYPE : 0);
}

const WRTOK = 0x80;
const DEFLT = 0x20;
const DLV = 0x01;
const DESCRIPTOR_LENGTH = 52;

function descriptor(code: number, flags: number): Buffer {
  const d = Buffer.alloc(DESCRIPTOR_LENGTH);
  d[0] = code;
  d[1] = code;
  d[2] = flags | DLV;
  d.writeUInt16BE(DESCRIPTOR_LENGTH - 5, 3);
  const known = densityOf(code);
  if (known) {
    d.writeUIntBE(known.bitsPerMm, 5, 3);
    d.writeUInt16BE(known.mediaWidth, 8);
    d.writeUInt16BE(known.tracks, 10);
    d.writeUInt32BE(known.capacity, 12);
  }
  asciiField(ASSIGNING_ORGANIZATION, 8).copy(d, 16);
  asciiField(known?.name ?? '', 8).copy(d, 24);
  asciiField(known?.description ?? '', 20).copy(d, 32);
  return d;
}

export function reportDensitySupport(drive: TapeDrive): CommandEntry {
  const MEDIA = 0x01;
  return {
    opcode: 0x44,
    name: 'REPORT DENSITY SUPPORT',
    // MEDIUM TYPE=1 (medium type descriptors) is not supported.
    usage: [0x44, MEDIA, 0, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
    access: Access.read,
    handler(ctx) {
      let descriptors: Buffer[];
      if (ctx.cdb[1]! & MEDIA) {
        const medium = drive.medium();
        const writable = writableDensity(medium.densityCode) && !medium.writeProtected;
        descriptors = [descriptor(medium.densityCode, (writable ? WRTOK : 0) | DEFLT)];
      } else {
        // DEFLT marks the density of the mounted medium, else the drive's own.
        const deflt = drive.bay.medium?.densityCode ?? DEFAULT_DENSITY;
        descriptors = DRIVE_DENSITIES.map((d) => descriptor(d.code, (d.writable ? WRTOK : 0) | (d.code === deflt ? DEFLT : 0)));
      }
      const header = Buffer.alloc(4);
      header.writeUInt16BE(2 + DESCRIPTOR_LENGTH * descriptors.length, 0);
      return truncate(Buffer.concat([header, ...descriptors]), ctx.cdb.readUInt16BE(7));
    },
  };
}
