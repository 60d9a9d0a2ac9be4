// RESERVE(6) and RELEASE(6) (SPC-2 7.21/7.16), with the SPC-4 5.12.3 rules for
// when persistent reservations exist (CRH=1 in REPORT CAPABILITIES).
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';

export const reserve6: CommandEntry = {
  opcode: 0x16,
  name: 'RESERVE(6)',
  usage: [0x16, 0, 0, 0, 0, CONTROL],
  access: Access.write,
  handler(ctx) {
    // A persistent reservation holder gets here only as holder: GOOD, nothing changes.
    const r = ctx.lu.reservations;
    if (!r.reservation) r.classicHolder = ctx.nexus.key;
  },
};

export const release6: CommandEntry = {
  opcode: 0x17,
  name: 'RELEASE(6)',
  usage: [0x17, 0, 0, 0, 0, CONTROL],
  access: { classic: true, writeExclusive: false, exclusiveAccess: false },
  handler(ctx) {
    const r = ctx.lu.reservations;
    if (r.classicHolder === ctx.nexus.key) r.classicHolder = undefined;
  },
};
