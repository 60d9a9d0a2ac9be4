// LOG SENSE (SPC-4 6.8) over typed log pages a device type registers, and a
// minimal LOG SELECT (SPC-4 6.7): PCR resets, nothing else is settable.
import { truncate } from '../buffers.ts';
import { CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import { encodeLogPage, encodeLogParameter, type LogPageControl } from '../log-pages.ts';
import { invalidFieldInCdb } from '../sense.ts';

const SUPPORTED_PAGES = 0x00;
const ALL_SUBPAGES = 0xff;

function supportedPages(ctx: CommandContext, withSubpages: boolean): Buffer {
  const keys = [{ page: SUPPORTED_PAGES, subpage: 0 }, ...ctx.lu.logPages.map((p) => ({ page: p.page, subpage: p.subpage ?? 0 }))];
  if (withSubpages) keys.splice(1, 0, { page: SUPPORTED_PAGES, subpage: ALL_SUBPAGES });
  const listed = keys.filter((k) => withSubpages || k.subpage === 0).sort((a, b) => a.page - b.page || a.subpage - b.subpage);
  const body = Buffer.from(listed.flatMap((k) => (withSubpages ? [k.page, k.subpage] : [k.page])));
  return encodeLogPage(SUPPORTED_PAGES, withSubpages ? ALL_SUBPAGES : 0, body);
}

function logSense(ctx: CommandContext): Buffer {
  const { cdb } = ctx;
  if (cdb.readUInt8(1) & 0x02) throw invalidFieldInCdb(1, 1); // PPC: parameter change tracking not kept
  if (cdb.readUInt8(1) & 0x01) throw invalidFieldInCdb(1, 0); // SP: nothing is saved
  const pc = (cdb.readUInt8(2) >> 6) as LogPageControl;
  const pageCode = cdb.readUInt8(2) & 0x3f;
  const subpage = cdb.readUInt8(3);
  const pointer = cdb.readUInt16BE(5);
  const allocation = cdb.readUInt16BE(7);
  if (pageCode === SUPPORTED_PAGES && (subpage === 0 || subpage === ALL_SUBPAGES)) {
    if (pointer !== 0) throw invalidFieldInCdb(5);
    return truncate(supportedPages(ctx, subpage === ALL_SUBPAGES), allocation);
  }
  const page = ctx.lu.logPages.find((p) => p.page === pageCode && (p.subpage ?? 0) === subpage);
  if (!page) throw ctx.lu.logPages.some((p) => p.page === pageCode) ? invalidFieldInCdb(3) : invalidFieldInCdb(2, 5);
  const parameters = page.parameters(pc);
  if (parameters.length > 0 && pointer > parameters[parameters.length - 1]!.code) throw invalidFieldInCdb(5);
  const body = Buffer.concat(parameters.filter((p) => p.code >= pointer).map(encodeLogParameter));
  return truncate(encodeLogPage(page.page, subpage, body), allocation);
}

function logSelect(ctx: CommandContext): void {
  const { cdb } = ctx;
  if (cdb.readUInt8(1) & 0x01) throw invalidFieldInCdb(1, 0);
  if (cdb.readUInt16BE(7) !== 0) throw invalidFieldInCdb(7); // no log parameter is settable
  if (!(cdb.readUInt8(1) & 0x02)) return;
  const pageCode = cdb.readUInt8(2) & 0x3f;
  const subpage = cdb.readUInt8(3);
  // PCR with page 00h/00h resets every page (SPC-4 6.7.2); otherwise only the named one.
  const all = pageCode === 0 && subpage === 0;
  const pages = ctx.lu.logPages.filter((p) => all || (p.page === pageCode && (p.subpage ?? 0) === subpage));
  if (pages.length === 0) throw invalidFieldInCdb(2, 5);
  for (const p of pages) p.reset?.();
}

export const logSenseCommand: CommandEntry = {
  opcode: 0x4d,
  name: 'LOG SENSE',
  usage: [0x4d, 0x03, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, CONTROL],
  access: { classic: true, writeExclusive: true, exclusiveAccess: false },
  handler: logSense,
};

export const logSelectCommand: CommandEntry = {
  opcode: 0x4c,
  name: 'LOG SELECT',
  usage: [0x4c, 0x03, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, CONTROL],
  handler: logSelect,
};
