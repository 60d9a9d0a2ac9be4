// REPORT LUNS (SPC-4 6.33). The target owns the LUN map; it hands each of its
// logical units the list so the command runs through the unit's own table.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import { Asc, invalidFieldInCdb } from '../sense.ts';

const MIN_ALLOCATION = 16;

/** SAM-5 4.7: peripheral device addressing below 256, flat space addressing up to 16383. */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun < 256) b[1] = lun;
  else {
    b[0] = 0x40 | ((lun >> 8) & 0x3f);
    b[1] = lun & 0xff;
  }
  return b;
}

/** The REPORT LUNS parameter data for a CDB (already checked against the usage data). */
export function reportLunsData(cdb: Buffer, luns: readonly number[]): Buffer {
  const select = cdb.readUInt8(2);
  const allocation = cdb.readUInt32BE(6);
  if (allocation < MIN_ALLOCATION) throw invalidFieldInCdb(6);
  // 00h and 02h: the logical units; 01h: well-known ones, of which there are none.
  if (select !== 0x00 && select !== 0x01 && select !== 0x02) throw invalidFieldInCdb(2);
  const listed = select === 0x01 ? [] : [...luns].sort((a, b) => a - b);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(listed.length * 8, 0);
  return truncate(Buffer.concat([header, ...listed.map(encodeLun)]), allocation);
}

export const reportLuns: CommandEntry = {
  opcode: 0xa0,
  name: 'REPORT LUNS',
  usage: [0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
  access: Access.always,
  ignoresUnitAttention: true,
  handler(ctx) {
    ctx.lu.unitAttentions.clear(ctx.nexus.key, Asc.REPORTED_LUNS_DATA_HAS_CHANGED);
    return reportLunsData(ctx.cdb, ctx.lu.reportedLuns());
  },
};
