// One typed table per device type: it drives dispatch, CDB checks and
// REPORT SUPPORTED OPERATION CODES, so it is the single truth of what a device does.
import type { DeviceIdentity } from './identity.ts';
import type { LogPage } from './log-pages.ts';
import type { ModePages, ModeParameterHooks } from './mode-pages.ts';
import type { ReservationAccess, Reservations } from './reservations.ts';
import { invalidFieldInCdb, invalidOpcode, type SenseFormat } from './sense.ts';
import type { Nexus, ScsiCommand, ScsiResponse } from './types.ts';
import type { UnitAttentions } from './unit-attention.ts';
import type { VpdPage } from './vpd-pages.ts';

/**
 * What a command handler may ask of its logical unit (ScsiLogicalUnit
 * provides it): its identity, table and pages, the state SPC commands keep
 * per unit, and its readiness and sense format. Nothing of dispatch.
 */
export interface UnitServices {
  readonly identity: DeviceIdentity;
  readonly table: CommandTable;
  readonly vpdPages: readonly VpdPage[];
  readonly modePages: ModePages;
  readonly modeParameters: ModeParameterHooks;
  readonly logPages: readonly LogPage[];
  readonly unitAttentions: UnitAttentions;
  readonly reservations: Reservations;
  /** LUNs of the target the unit belongs to (REPORT LUNS). */
  reportedLuns(): readonly number[];
  /** The format the Control mode page's D_SENSE bit selects. */
  senseFormat(): SenseFormat;
  /** Throws the ScsiError (e.g. NOT READY) a command needing the medium would earn now. */
  checkReady(): void;
}

export interface CommandContext {
  readonly cmd: ScsiCommand;
  /** The CDB, zero-padded to at least the entry's CDB length. */
  readonly cdb: Buffer;
  readonly nexus: Nexus;
  readonly lu: UnitServices;
}

/** A Buffer means GOOD with that Data-In; nothing means GOOD without data. */
export type CommandResult = ScsiResponse | Buffer | void;
export type CommandHandler = (ctx: CommandContext) => CommandResult | Promise<CommandResult>;

export const Access = {
  /** INQUIRY, REPORT LUNS, REQUEST SENSE, ... */
  always: { classic: true, writeExclusive: true, exclusiveAccess: true },
  /** Status and configuration reads (TEST UNIT READY, PERSISTENT RESERVE IN/OUT, ...): only RESERVE(6) conflicts. */
  exceptClassic: { classic: false, writeExclusive: true, exclusiveAccess: true },
  /** Reads medium or state: allowed under Write Exclusive only. */
  read: { classic: false, writeExclusive: true, exclusiveAccess: false },
  /** Changes medium or state: conflicts with every reservation. */
  write: { classic: false, writeExclusive: false, exclusiveAccess: false },
} as const satisfies Record<string, ReservationAccess>;

export interface CommandTimeouts {
  /** Seconds (REPORT SUPPORTED OPERATION CODES command timeouts descriptor). */
  readonly nominal: number;
  readonly recommended: number;
}

export interface CommandEntry {
  readonly opcode: number;
  readonly serviceAction?: number;
  readonly name: string;
  /**
   * CDB usage data as SPC-4 6.35.3 defines it: byte 0 is the opcode, the
   * service action field holds the service action, every other byte is a
   * bitmap of the bits the command uses. Its length is the CDB length.
   */
  readonly usage: readonly number[];
  readonly handler: CommandHandler;
  /** Default: Access.write (conflicts with any reservation held by another nexus). */
  readonly access?: ReservationAccess;
  /** Runs without reporting a pending unit attention (INQUIRY, REPORT LUNS, REQUEST SENSE). */
  readonly ignoresUnitAttention?: boolean;
  /** The LU's readiness hook is checked before the handler runs. */
  readonly requiresReady?: boolean;
  readonly timeouts?: CommandTimeouts;
}

/** Usage bits of the CONTROL byte: NACA is decoded (and refused, see validateCdb). */
export const CONTROL = 0x04;

const VARIABLE_LENGTH = 0x7f;

/** The service action field of a CDB whose opcode has service actions. */
export function serviceActionOf(cdb: Buffer): number {
  return cdb[0] === VARIABLE_LENGTH ? cdb.readUInt16BE(8) : cdb.readUInt8(1) & 0x1f;
}

function serviceActionField(opcode: number): { byte: number; bit: number } {
  return opcode === VARIABLE_LENGTH ? { byte: 8, bit: 7 } : { byte: 1, bit: 4 };
}

function controlByteIndex(entry: CommandEntry): number {
  return entry.opcode === VARIABLE_LENGTH ? 1 : entry.usage.length - 1;
}

/** Bits of CDB byte i that belong to the service action field (already matched at lookup). */
function serviceActionBits(entry: CommandEntry, i: number): number {
  if (entry.serviceAction === undefined) return 0;
  if (entry.opcode === VARIABLE_LENGTH) return i === 8 || i === 9 ? 0xff : 0;
  return i === 1 ? 0x1f : 0;
}

/**
 * The bit pointer for an offending bit: the most significant bit of the run of
 * unused bits it sits in, since a multi-bit field is reported by its top bit
 * (SPC-4 4.5.2.4.2) and the usage data only tells used from unused.
 */
function fieldTopBit(used: number, bit: number): number {
  while (bit < 7 && !(used & (1 << (bit + 1)))) bit++;
  return bit;
}

/**
 * Refuses bits the command does not use (INVALID FIELD IN CDB with the field
 * pointer) and NACA=1, since ACA is not supported (NORMACA=0 in INQUIRY; SAM-5 5.9).
 */
export function validateCdb(entry: CommandEntry, cdb: Buffer): void {
  const control = controlByteIndex(entry);
  if (cdb[control]! & 0x04) throw invalidFieldInCdb(control, 2);
  for (let i = 1; i < entry.usage.length; i++) {
    const used = entry.usage[i]! | serviceActionBits(entry, i);
    const bad = cdb[i]! & ~used & 0xff;
    if (bad) throw invalidFieldInCdb(i, fieldTopBit(used, 31 - Math.clz32(bad)));
  }
}

function entryKey(opcode: number, serviceAction?: number): string {
  return serviceAction === undefined ? `${opcode}` : `${opcode}/${serviceAction}`;
}

export class CommandTable {
  /** Sorted by opcode then service action. */
  readonly entries: readonly CommandEntry[];
  private readonly byKey = new Map<string, CommandEntry>();
  private readonly withServiceActions = new Set<number>();

  constructor(entries: readonly CommandEntry[]) {
    for (const e of entries) {
      if (e.usage[0] !== e.opcode) throw new Error(`${e.name}: usage[0] must be the opcode`);
      const key = entryKey(e.opcode, e.serviceAction);
      if (this.byKey.has(key)) throw new Error(`${e.name}: duplicate entry for ${key}`);
      if (e.serviceAction !== undefined && e.opcode !== VARIABLE_LENGTH && (e.usage[1]! & 0x1f) !== e.serviceAction) {
        throw new Error(`${e.name}: usage[1] must carry the service action`);
      }
      this.byKey.set(key, e);
      if (e.serviceAction !== undefined) this.withServiceActions.add(e.opcode);
    }
    for (const e of entries) {
      if (e.serviceAction === undefined && this.withServiceActions.has(e.opcode)) {
        throw new Error(`${e.name}: opcode ${e.opcode.toString(16)} mixes entries with and without service actions`);
      }
    }
    this.entries = [...entries].sort((a, b) => a.opcode - b.opcode || (a.serviceAction ?? 0) - (b.serviceAction ?? 0));
  }

  hasServiceActions(opcode: number): boolean {
    return this.withServiceActions.has(opcode);
  }

  find(opcode: number, serviceAction?: number): CommandEntry | undefined {
    return this.byKey.get(entryKey(opcode, this.hasServiceActions(opcode) ? serviceAction : undefined));
  }

  /** The entry for a CDB, or the ScsiError an unknown opcode or service action earns. */
  resolve(cdb: Buffer): CommandEntry | Error {
    const opcode = cdb.readUInt8(0);
    if (!this.hasServiceActions(opcode)) return this.byKey.get(entryKey(opcode)) ?? invalidOpcode();
    const entry = this.byKey.get(entryKey(opcode, serviceActionOf(cdb)));
    if (entry) return entry;
    const field = serviceActionField(opcode);
    return invalidFieldInCdb(field.byte, field.bit);
  }
}
