// PERSISTENT RESERVE IN and OUT (SPC-4 6.15, 6.16, 5.12). Registrations are per
// I_T nexus; APTPL, SPEC_I_PT, ALL_TG_PT and REGISTER AND MOVE are not supported.
// PREEMPT AND ABORT preempts like PREEMPT: the core keeps no task set, so aborting
// the preempted nexuses' commands in flight is left to the transport.
import { nameString, truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry } from '../command-table.ts';
import { isPrType, type Registration, type PrType } from '../reservations.ts';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, parameterListLengthError, scsiError, SenseKey } from '../sense.ts';
import { Status, type ScsiResponse } from '../types.ts';

const PR_IN = 0x5e;
const PR_OUT = 0x5f;
const PARAMETER_LIST_LENGTH = 24;
const conflict: ScsiResponse = { status: Status.ReservationConflict };

// ---- PERSISTENT RESERVE IN ----

function withGeneration(ctx: CommandContext, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(ctx.lu.reservations.generation, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function key(k: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(k);
  return b;
}

function readKeys(ctx: CommandContext): Buffer {
  return withGeneration(ctx, Buffer.concat([...ctx.lu.reservations.registrations.values()].map((r) => key(r.key))));
}

function readReservation(ctx: CommandContext): Buffer {
  const r = ctx.lu.reservations;
  if (!r.reservation) return withGeneration(ctx, Buffer.alloc(0));
  const body = Buffer.alloc(16);
  key(r.reservationKey()).copy(body, 0);
  body[13] = r.reservation.type; // SCOPE 0h: LU_SCOPE
  return withGeneration(ctx, body);
}

function reportCapabilities(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(8, 0);
  b[2] = 0x10; // CRH: RESERVE(6)/RELEASE(6) follow SPC-4 5.12.3
  b[3] = 0x80; // TMV: the type mask below is valid
  b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
  b[5] = 0x01; // EX_AC_AR
  return b;
}

/** iSCSI TransportID (SPC-4 7.6.4.6): format 01b (initiator port name with ISID) when available. */
function transportId(r: Registration): Buffer {
  const withIsid = r.nexus.initiatorPort.includes(',i,0x');
  const name = nameString(withIsid ? r.nexus.initiatorPort : r.nexus.initiatorName);
  const header = Buffer.from([(withIsid ? 0x40 : 0x00) | 0x05, 0, 0, 0]);
  header.writeUInt16BE(name.length, 2);
  return Buffer.concat([header, name]);
}

function readFullStatus(ctx: CommandContext): Buffer {
  const r = ctx.lu.reservations;
  const descriptors = [...r.registrations.entries()].map(([nexusKey, reg]) => {
    const d = Buffer.alloc(24);
    key(reg.key).copy(d, 0);
    if (r.isHolder(nexusKey)) {
      d[12] = 0x01; // R_HOLDER
      d[13] = r.reservation!.type;
    }
    d.writeUInt16BE(reg.nexus.relativeTargetPort & 0xffff, 18);
    const tid = transportId(reg);
    d.writeUInt32BE(tid.length, 20);
    return Buffer.concat([d, tid]);
  });
  return withGeneration(ctx, Buffer.concat(descriptors));
}

function prIn(serviceAction: number, name: string, read: (ctx: CommandContext) => Buffer): CommandEntry {
  return {
    opcode: PR_IN,
    serviceAction,
    name: `PERSISTENT RESERVE IN ${name}`,
    usage: [PR_IN, serviceAction, 0, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
    access: Access.exceptClassic,
    handler: (ctx) => truncate(read(ctx), ctx.cdb.readUInt16BE(7)),
  };
}

// ---- PERSISTENT RESERVE OUT ----

interface OutParameters {
  readonly key: bigint;
  readonly serviceActionKey: bigint;
  readonly type: number;
}

function parseOut(ctx: CommandContext): OutParameters {
  const { cdb } = ctx;
  const length = cdb.readUInt32BE(5);
  if (length !== PARAMETER_LIST_LENGTH || ctx.cmd.dataOut.length < length) throw parameterListLengthError();
  const list = ctx.cmd.dataOut;
  if (list.readUInt8(20) & 0x08) throw invalidFieldInParameterList(20, 3); // SPEC_I_PT
  if (list.readUInt8(20) & 0x04) throw invalidFieldInParameterList(20, 2); // ALL_TG_PT
  if (list.readUInt8(20) & 0x01) throw invalidFieldInParameterList(20, 0); // APTPL (PTPL_C=0)
  return { key: list.readBigUInt64BE(0), serviceActionKey: list.readBigUInt64BE(8), type: cdb.readUInt8(2) & 0x0f };
}

/** SCOPE must be LU_SCOPE and TYPE one we know, for the actions that use them. */
function checkScopeAndType(ctx: CommandContext, type: number): asserts type is PrType {
  if (ctx.cdb.readUInt8(2) >> 4 !== 0) throw invalidFieldInCdb(2, 7);
  if (!isPrType(type)) throw invalidFieldInCdb(2, 3);
}

/** The caller's registration when its key matches; otherwise the command conflicts. */
function registered(ctx: CommandContext, p: OutParameters): Registration | undefined {
  const reg = ctx.lu.reservations.registrations.get(ctx.nexus.key);
  return reg && reg.key === p.key ? reg : undefined;
}

function register(ctx: CommandContext, ignoreExisting: boolean): ScsiResponse | void {
  const p = parseOut(ctx);
  const r = ctx.lu.reservations;
  const reg = r.registrations.get(ctx.nexus.key);
  if (!ignoreExisting && (reg ? reg.key !== p.key : p.key !== 0n)) return conflict;
  if (p.serviceActionKey === 0n) {
    if (!reg) return;
    // SPC-4 5.12.11.2.2: a registrants-only holder unregistering releases the reservation.
    const notify = r.isHolder(ctx.nexus.key) && r.notifiesRegistrantsOnRelease() && !r.isAllRegistrants();
    r.unregister(ctx.nexus.key);
    if (notify) for (const other of r.registrations.keys()) ctx.lu.unitAttentions.establish(other, Asc.RESERVATIONS_RELEASED);
  } else if (reg) reg.key = p.serviceActionKey;
  else r.registrations.set(ctx.nexus.key, { nexus: ctx.nexus, key: p.serviceActionKey });
  r.bumpGeneration();
}

function reserve(ctx: CommandContext): ScsiResponse | void {
  const p = parseOut(ctx);
  checkScopeAndType(ctx, p.type);
  if (!registered(ctx, p)) return conflict;
  const r = ctx.lu.reservations;
  if (!r.reservation) {
    r.reservation = { holder: ctx.nexus, type: p.type };
    return;
  }
  if (!r.isHolder(ctx.nexus.key) || r.reservation.type !== p.type) return conflict;
}

function release(ctx: CommandContext): ScsiResponse | void {
  const p = parseOut(ctx);
  if (!registered(ctx, p)) return conflict;
  const r = ctx.lu.reservations;
  if (!r.reservation || !r.isHolder(ctx.nexus.key)) return;
  checkScopeAndType(ctx, p.type);
  if (r.reservation.type !== p.type) throw scsiError(SenseKey.IllegalRequest, Asc.INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
  const notify = r.notifiesRegistrantsOnRelease();
  r.reservation = undefined;
  if (notify)
    for (const other of r.registrations.keys())
      if (other !== ctx.nexus.key) ctx.lu.unitAttentions.establish(other, Asc.RESERVATIONS_RELEASED);
}

function clear(ctx: CommandContext): ScsiResponse | void {
  const p = parseOut(ctx);
  if (!registered(ctx, p)) return conflict;
  const r = ctx.lu.reservations;
  for (const other of r.registrations.keys())
    if (other !== ctx.nexus.key) ctx.lu.unitAttentions.establish(other, Asc.RESERVATIONS_PREEMPTED);
  r.registrations.clear();
  r.reservation = undefined;
  r.bumpGeneration();
}

/** SPC-4 5.12.11.2.4/5: removes the registrations holding the service action key, maybe taking the reservation. */
function preempt(ctx: CommandContext): ScsiResponse | void {
  const p = parseOut(ctx);
  checkScopeAndType(ctx, p.type);
  if (!registered(ctx, p)) return conflict;
  const r = ctx.lu.reservations;
  const self = ctx.nexus.key;
  const removeWhere = (match: (reg: Registration) => boolean): number => {
    let removed = 0;
    for (const [nexusKey, reg] of [...r.registrations]) {
      if (nexusKey === self || !match(reg)) continue;
      r.registrations.delete(nexusKey);
      ctx.lu.unitAttentions.establish(nexusKey, Asc.REGISTRATIONS_PREEMPTED);
      removed++;
    }
    return removed;
  };
  if (r.reservation && r.isAllRegistrants()) {
    if (p.serviceActionKey === 0n) {
      removeWhere(() => true);
      r.reservation = { holder: ctx.nexus, type: p.type };
    } else removeWhere((reg) => reg.key === p.serviceActionKey);
  } else if (r.reservation && p.serviceActionKey === r.reservationKey()) {
    removeWhere((reg) => reg.key === p.serviceActionKey);
    r.reservation = { holder: ctx.nexus, type: p.type };
  } else {
    if (p.serviceActionKey === 0n) throw invalidFieldInParameterList(8);
    if (removeWhere((reg) => reg.key === p.serviceActionKey) === 0) return conflict;
  }
  r.bumpGeneration();
}

function prOut(serviceAction: number, name: string, run: (ctx: CommandContext) => ScsiResponse | void): CommandEntry {
  return {
    opcode: PR_OUT,
    serviceAction,
    name: `PERSISTENT RESERVE OUT ${name}`,
    usage: [PR_OUT, serviceAction, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, CONTROL],
    access: Access.exceptClassic,
    handler: run,
  };
}

export const persistentReserveCommands: readonly CommandEntry[] = [
  prIn(0x00, 'READ KEYS', readKeys),
  prIn(0x01, 'READ RESERVATION', readReservation),
  prIn(0x02, 'REPORT CAPABILITIES', reportCapabilities),
  prIn(0x03, 'READ FULL STATUS', readFullStatus),
  prOut(0x00, 'REGISTER', (ctx) => register(ctx, false)),
  prOut(0x01, 'RESERVE', reserve),
  prOut(0x02, 'RELEASE', release),
  prOut(0x03, 'CLEAR', clear),
  prOut(0x04, 'PREEMPT', preempt),
  prOut(0x05, 'PREEMPT AND ABORT', preempt),
  prOut(0x06, 'REGISTER AND IGNORE EXISTING KEY', (ctx) => register(ctx, true)),
];
