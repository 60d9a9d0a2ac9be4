// LTO densities: what the drive writes and reads, and the medium type of the
// mode parameter header. An LTO-5 drive writes LTO-4 and LTO-5 media and reads LTO-3.
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
  {
    code: 0x44,
    bitsPerMm: 9638,
    mediaWidth: 127,
    tracks: 704,
    capacity: 400_000,
    lengthMetres: 680,
    name: 'U-316',
    description: 'Ultrium 3/16T',
    mediumType: 0x38,
  },
  {
    code: 0x46,
    bitsPerMm: 12725,
    mediaWidth: 127,
    tracks: 896,
    capacity: 800_000,
    lengthMetres: 820,
    name: 'U-416',
    description: 'Ultrium 4/16T',
    mediumType: 0x48,
  },
  {
    code: 0x58,
    bitsPerMm: 15142,
    mediaWidth: 127,
    tracks: 1280,
    capacity: 1_500_000,
    lengthMetres: 846,
    name: 'U-516',
    description: 'Ultrium 5/16T',
    mediumType: 0x58,
  },
  {
    code: 0x5a,
    bitsPerMm: 15142,
    mediaWidth: 127,
    tracks: 2176,
    capacity: 2_500_000,
    lengthMetres: 846,
    name: 'U-616',
    description: 'Ultrium 6/16T',
    mediumType: 0x68,
  },
];

export const ASSIGNING_ORGANIZATION = 'LTO-CVE';
const WORM_MEDIUM_TYPE = 0x04;

/** What the drive does with each density it knows: the last one is its own (the default). */
export const DRIVE_DENSITIES: readonly { readonly code: number; readonly writable: boolean }[] = [
  { code: 0x44, writable: false },
  { code: 0x46, writable: true },
  { code: 0x58, writable: true },
];
export const DEFAULT_DENSITY = 0x58;

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
