// REPORT DENSITY SUPPORT (SSC-4 6.x): the densities the drive knows, or the
// mounted medium's, as 52-byte density support descriptors.
import { asciiField, truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { ASSIGNING_ORGANIZATION, DEFAULT_DENSITY, densityOf, DRIVE_DENSITIES, writableDensity } from './density.ts';
import type { TapeDrive } from './state.ts';

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
      if (ctx.cdb.readUInt8(1) & MEDIA) {
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
