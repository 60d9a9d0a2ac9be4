// Where the block commands' CDBs keep their fields: the LBA and length
// layouts of the 6-, 10-, 12- and 16-byte forms, the flag bits of byte 1, and
// the usage bitmaps built from them.
import { CONTROL } from '../command-table.ts';

export const GROUP = 0x1f;
export const DPO = 0x10;
export const FUA = 0x08;
export const FUA_NV = 0x02;
export const BYTCHK = 0x06;
export const IMMED = 0x02;
export const SYNC_NV = 0x04;
export const UNMAP = 0x08;
export const NDOB = 0x01;

/** SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS. */
export const SERVICE_ACTION_IN_16 = 0x9e;

export const ff = (n: number): number[] => new Array<number>(n).fill(0xff);

/** Where a CDB keeps its LBA and length (bytes, big-endian). */
export interface Layout {
  readonly cdbLength: 6 | 10 | 12 | 16;
  readonly lbaAt: number;
  readonly lbaBytes: 3 | 4 | 8;
  readonly lengthAt: number;
  readonly lengthBytes: 1 | 2 | 4;
}

/**
 * READ(6)/WRITE(6): byte 1 holds the top 5 bits of a 21-bit LBA, so there are
 * no flags, and a TRANSFER LENGTH of 0 means 256 blocks.
 */
export const CDB6: Layout = { cdbLength: 6, lbaAt: 1, lbaBytes: 3, lengthAt: 4, lengthBytes: 1 };
export const CDB10: Layout = { cdbLength: 10, lbaAt: 2, lbaBytes: 4, lengthAt: 7, lengthBytes: 2 };
export const CDB12: Layout = { cdbLength: 12, lbaAt: 2, lbaBytes: 4, lengthAt: 6, lengthBytes: 4 };
export const CDB16: Layout = { cdbLength: 16, lbaAt: 2, lbaBytes: 8, lengthAt: 10, lengthBytes: 4 };
export const COMPARE_AND_WRITE: Layout = { cdbLength: 16, lbaAt: 2, lbaBytes: 8, lengthAt: 13, lengthBytes: 1 };

const LBA6 = 0x1f_ffff;

/** Usage bitmap of a CDB with that layout and flags byte (a 6-byte CDB has none). */
export function usageOf(opcode: number, layout: Layout, flags: number): number[] {
  const length = layout.cdbLength;
  const u = new Array<number>(length).fill(0);
  u[0] = opcode;
  u[1] = flags;
  u.splice(layout.lbaAt, layout.lbaBytes, ...ff(layout.lbaBytes));
  u.splice(layout.lengthAt, layout.lengthBytes, ...ff(layout.lengthBytes));
  if (layout === CDB6) u[1] = LBA6 >> 16;
  else u[length === 10 ? 6 : length - 2] = GROUP;
  u[length - 1] = CONTROL;
  return u;
}

/** Byte 1's flags (DPO, FUA, BYTCHK...): none in a 6-byte CDB. */
export function flagsOf(cdb: Buffer, layout: Layout): number {
  return layout === CDB6 ? 0 : cdb.readUInt8(1);
}

/**
 * A 64-bit LBA as a Number without a BigInt per command: exact below 2^53,
 * and anything above is far past the end of any medium, however it rounds.
 */
export function uint64At(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);
}

export function lbaOf(cdb: Buffer, layout: Layout): number {
  if (layout.lbaBytes === 8) return uint64At(cdb, layout.lbaAt);
  return layout.lbaBytes === 4 ? cdb.readUInt32BE(layout.lbaAt) : cdb.readUIntBE(layout.lbaAt, 3) & LBA6;
}

export function lengthOf(cdb: Buffer, layout: Layout): number {
  return layout.lengthBytes === 1
    ? cdb[layout.lengthAt]!
    : layout.lengthBytes === 2
      ? cdb.readUInt16BE(layout.lengthAt)
      : cdb.readUInt32BE(layout.lengthAt);
}

/** The TRANSFER LENGTH of a READ- or WRITE-type CDB, in blocks (0 in a 6-byte CDB means 256). */
export function transferLength(cdb: Buffer, layout: Layout): number {
  return lengthOf(cdb, layout) || (layout === CDB6 ? 256 : 0);
}
