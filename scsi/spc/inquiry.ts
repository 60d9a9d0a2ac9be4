// INQUIRY (SPC-4 6.6): standard data and VPD pages.
import { asciiField, truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import { VersionDescriptor, type DeviceIdentity } from '../identity.ts';
import { invalidFieldInCdb } from '../sense.ts';
import type { VpdPage } from '../vpd-pages.ts';
import { spcVpdPages } from './vpd.ts';

const STANDARD_LENGTH = 96;
const MAX_VERSION_DESCRIPTORS = 8;

export function standardInquiry(identity: DeviceIdentity): Buffer {
  const b = Buffer.alloc(STANDARD_LENGTH);
  b[0] = identity.deviceType & 0x1f;
  b[1] = identity.removable ? 0x80 : 0;
  b[2] = 0x06; // SPC-4
  b[3] = 0x10 | 0x02; // HISUP, RESPONSE DATA FORMAT 2; NORMACA=0 (no ACA)
  b[4] = STANDARD_LENGTH - 5;
  b[7] = 0x02; // CMDQUE
  asciiField(identity.vendor, 8).copy(b, 8);
  asciiField(identity.product, 16).copy(b, 16);
  asciiField(identity.revision, 4).copy(b, 32);
  const versions = [VersionDescriptor.SAM5, VersionDescriptor.SPC4, VersionDescriptor.ISCSI, ...(identity.versionDescriptors ?? [])];
  versions.slice(0, MAX_VERSION_DESCRIPTORS).forEach((v, i) => b.writeUInt16BE(v, 58 + 2 * i));
  return b;
}

/** SPC pages, then the device type's (a device page with the same code replaces the SPC one). */
function vpdPages(ctx: CommandContext): Map<number, VpdPage> {
  const pages = new Map<number, VpdPage>();
  for (const p of [...spcVpdPages, ...ctx.lu.vpdPages]) pages.set(p.page, p);
  return pages;
}

function vpdPage(ctx: CommandContext, code: number): Buffer {
  const pages = vpdPages(ctx);
  let body: Buffer;
  if (code === 0x00) body = Buffer.from([0x00, ...[...pages.keys()].sort((a, b) => a - b)]);
  else {
    const page = pages.get(code);
    if (!page) throw invalidFieldInCdb(2);
    body = page.data(ctx.lu.identity, ctx.nexus);
  }
  const header = Buffer.from([ctx.lu.identity.deviceType & 0x1f, code, 0, 0]);
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

export const inquiry: CommandEntry = {
  opcode: 0x12,
  name: 'INQUIRY',
  usage: [0x12, 0x01, 0xff, 0xff, 0xff, CONTROL],
  access: Access.always,
  ignoresUnitAttention: true,
  handler(ctx) {
    const evpd = ctx.cdb.readUInt8(1) & 0x01;
    const pageCode = ctx.cdb.readUInt8(2);
    const allocation = ctx.cdb.readUInt16BE(3);
    if (!evpd && pageCode !== 0) throw invalidFieldInCdb(2);
    return truncate(evpd ? vpdPage(ctx, pageCode) : standardInquiry(ctx.lu.identity), allocation);
  },
};
