// MODE SENSE(6/10) and MODE SELECT(6/10) (SPC-4 6.11-6.14) over the unit's typed mode pages.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import type { ModePage, PageControl } from '../mode-pages.ts';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, parameterListLengthError, savingParametersNotSupported } from '../sense.ts';

const PAGE_CONTROLS: readonly PageControl[] = ['current', 'changeable', 'default'];
const ALL_PAGES = 0x3f;
const ALL_SUBPAGES = 0xff;

function selectPages(ctx: CommandContext, page: number, subpage: number): ModePage[] {
  const { pages } = ctx.lu.modePages;
  if (page === ALL_PAGES) {
    if (subpage === 0) return pages.filter((p) => !p.subpage);
    if (subpage === ALL_SUBPAGES) return [...pages];
    throw invalidFieldInCdb(3);
  }
  const samePage = pages.filter((p) => p.page === page);
  if (subpage === ALL_SUBPAGES) {
    if (samePage.length === 0) throw invalidFieldInCdb(2, 5);
    return samePage;
  }
  const found = samePage.find((p) => (p.subpage ?? 0) === subpage);
  if (found) return [found];
  // Page 00h is vendor specific: without a device page, it answers the header and block descriptors only.
  if (page === 0 && subpage === 0) return [];
  throw samePage.length > 0 ? invalidFieldInCdb(3) : invalidFieldInCdb(2, 5);
}

function modeSense(ctx: CommandContext, ten: boolean): Buffer {
  const { cdb, lu } = ctx;
  const dbd = (cdb.readUInt8(1) & 0x08) !== 0;
  const long = ten && (cdb.readUInt8(1) & 0x10) !== 0;
  const pcBits = cdb.readUInt8(2) >> 6;
  if (pcBits === 3) throw savingParametersNotSupported();
  const pc = PAGE_CONTROLS[pcBits]!;
  const pages = selectPages(ctx, cdb.readUInt8(2) & 0x3f, cdb.readUInt8(3)).map((p) => lu.modePages.encode(p, pc));
  const hooks = lu.modeParameters;
  const descriptors = dbd ? [] : (hooks.blockDescriptors?.(long) ?? []);
  const blockDescriptors = Buffer.concat(descriptors);
  const mediumType = hooks.mediumType?.() ?? 0;
  const deviceSpecific = hooks.deviceSpecificParameter?.() ?? 0;
  let header: Buffer;
  if (ten) {
    header = Buffer.alloc(8);
    header[2] = mediumType;
    header[3] = deviceSpecific;
    header[4] = long && descriptors.length > 0 ? 0x01 : 0;
    header.writeUInt16BE(blockDescriptors.length, 6);
  } else {
    header = Buffer.from([0, mediumType, deviceSpecific, blockDescriptors.length]);
  }
  const data = Buffer.concat([header, blockDescriptors, ...pages]);
  // MODE DATA LENGTH excludes itself.
  if (ten) data.writeUInt16BE(Math.min(data.length - 2, 0xffff), 0);
  else data[0] = Math.min(data.length - 1, 0xff);
  return truncate(data, ten ? cdb.readUInt16BE(7) : cdb.readUInt8(4));
}

interface AcceptedPage {
  readonly page: ModePage;
  readonly value: Buffer;
  readonly offset: number;
}

/** Parses and checks one mode page at `offset`; returns it and where the next starts. */
function parsePage(ctx: CommandContext, list: Buffer, offset: number): { accepted: AcceptedPage; next: number } {
  if (list.length - offset < 2) throw parameterListLengthError();
  const b0 = list[offset]!;
  if (b0 & 0x80) throw invalidFieldInParameterList(offset, 7); // PS is reserved in MODE SELECT
  const subpageFormat = (b0 & 0x40) !== 0;
  if (subpageFormat && list.length - offset < 4) throw parameterListLengthError();
  const subpage = subpageFormat ? list[offset + 1]! : 0;
  const length = subpageFormat ? list.readUInt16BE(offset + 2) : list[offset + 1]!;
  const headerLength = subpageFormat ? 4 : 2;
  const page = ctx.lu.modePages.find(b0 & 0x3f, subpage);
  if (!page)
    throw subpageFormat && ctx.lu.modePages.find(b0 & 0x3f)
      ? invalidFieldInParameterList(offset + 1)
      : invalidFieldInParameterList(offset, 5);
  if (Boolean(page.subpage) !== subpageFormat) throw invalidFieldInParameterList(offset, 6);
  if (length !== page.defaults.length) throw invalidFieldInParameterList(offset + (subpageFormat ? 2 : 1));
  const start = offset + headerLength;
  if (start + length > list.length) throw parameterListLengthError();
  const value = list.subarray(start, start + length);
  const current = ctx.lu.modePages.value(page, 'current');
  const changeable = ctx.lu.modePages.value(page, 'changeable');
  for (let i = 0; i < length; i++) {
    const bad = (value[i]! ^ current[i]!) & ~changeable[i]! & 0xff;
    if (bad) throw invalidFieldInParameterList(start + i, 31 - Math.clz32(bad));
  }
  return { accepted: { page, value, offset: start }, next: start + length };
}

function modeSelect(ctx: CommandContext, ten: boolean): void {
  const { cdb, lu } = ctx;
  if (cdb.readUInt8(1) & 0x01) throw invalidFieldInCdb(1, 0); // SP: no saved pages
  const pageFormat = (cdb.readUInt8(1) & 0x10) !== 0;
  const listLength = ten ? cdb.readUInt16BE(7) : cdb.readUInt8(4);
  if (listLength === 0) return;
  if (ctx.cmd.dataOut.length < listLength) throw parameterListLengthError();
  const list = ctx.cmd.dataOut.subarray(0, listLength);
  const headerLength = ten ? 8 : 4;
  if (listLength < headerLength) throw parameterListLengthError();
  const long = ten && (list.readUInt8(4) & 0x01) !== 0;
  const descriptorLength = long ? 16 : 8;
  const blockDescriptorLength = ten ? list.readUInt16BE(6) : list.readUInt8(3);
  if (blockDescriptorLength % descriptorLength !== 0) throw invalidFieldInParameterList(ten ? 6 : 3);
  const pagesStart = headerLength + blockDescriptorLength;
  if (pagesStart > listLength) throw parameterListLengthError();
  if (pagesStart < listLength && !pageFormat) throw invalidFieldInCdb(1, 4);
  const blockDescriptors: Buffer[] = [];
  for (let o = headerLength; o < pagesStart; o += descriptorLength) blockDescriptors.push(list.subarray(o, o + descriptorLength));

  const accepted: AcceptedPage[] = [];
  for (let offset = pagesStart; offset < listLength;) {
    const { accepted: page, next } = parsePage(ctx, list, offset);
    accepted.push(page);
    offset = next;
  }
  const deviceSpecificAt = ten ? 3 : 2;
  const headerChanged = lu.modeParameters.select?.(
    { mediumType: list[ten ? 2 : 1]!, deviceSpecificParameter: list[deviceSpecificAt]!, blockDescriptors, long },
    { deviceSpecificParameter: deviceSpecificAt, blockDescriptors: headerLength },
  );
  if (headerChanged) lu.unitAttentions.establishAll(Asc.MODE_PARAMETERS_CHANGED, ctx.nexus.key);
  for (const a of accepted) a.page.select?.(a.value, a.offset);
  let changed = false;
  for (const a of accepted) {
    changed ||= !a.value.equals(lu.modePages.value(a.page, 'current'));
    lu.modePages.set(a.page, a.value);
  }
  if (changed) lu.unitAttentions.establishAll(Asc.MODE_PARAMETERS_CHANGED, ctx.nexus.key);
}

export const modeSense6: CommandEntry = {
  opcode: 0x1a,
  name: 'MODE SENSE(6)',
  usage: [0x1a, 0x08, 0xff, 0xff, 0xff, CONTROL],
  access: Access.read,
  handler: (ctx) => modeSense(ctx, false),
};

export const modeSense10: CommandEntry = {
  opcode: 0x5a,
  name: 'MODE SENSE(10)',
  usage: [0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, CONTROL],
  access: Access.read,
  handler: (ctx) => modeSense(ctx, true),
};

export const modeSelect6: CommandEntry = {
  opcode: 0x15,
  name: 'MODE SELECT(6)',
  usage: [0x15, 0x11, 0, 0, 0xff, CONTROL],
  handler: (ctx) => modeSelect(ctx, false),
};

export const modeSelect10: CommandEntry = {
  opcode: 0x55,
  name: 'MODE SELECT(10)',
  usage: [0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
  handler: (ctx) => modeSelect(ctx, true),
};
