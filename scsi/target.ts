// A SCSI target device: the LUN map behind one target port. It routes commands
// to logical units, answers for LUNs that do not exist, and fans out task management.
import { validateCdb } from './command-table.ts';
import { ScsiLogicalUnit } from './logical-unit.ts';
import { PeripheralDeviceType } from './identity.ts';
import { buildSense, logicalUnitNotSupported, ScsiError, internalTargetFailure } from './sense.ts';
import { inquiry } from './spc/inquiry.ts';
import { reportLuns, reportLunsData } from './spc/report-luns.ts';
import { requestSense } from './spc/status-commands.ts';
import { truncate } from './buffers.ts';
import {
  Status,
  type LogicalUnit,
  type Nexus,
  type ScsiCommand,
  type ScsiResponse,
  type ScsiTargetPort,
  type TaskManagementFunction,
} from './types.ts';

export interface ScsiTargetOptions {
  readonly luns: ReadonlyArray<{ readonly lun: number; readonly unit: LogicalUnit }>;
}

const MAX_LUN = 0x3fff;

/**
 * The LUN number of an 8-byte LUN field (SAM-5 4.7): single-level peripheral
 * device addressing (bus 0) or flat space addressing; undefined for anything else.
 */
export function decodeLun(field: Buffer): number | undefined {
  if (field.length < 8 || field.readUInt16BE(2) !== 0 || field.readUInt32BE(4) !== 0) return undefined;
  const method = field[0]! >> 6;
  if (method === 0b00) return field[0] === 0 ? field[1]! : undefined;
  if (method === 0b01) return ((field[0]! & 0x3f) << 8) | field[1]!;
  return undefined;
}

/** Standard INQUIRY data for a LUN with no logical unit: peripheral qualifier 011b, type 1Fh. */
function noUnitInquiry(): Buffer {
  const b = Buffer.alloc(36);
  b[0] = (0b011 << 5) | PeripheralDeviceType.Unknown;
  b[2] = 0x06;
  b[3] = 0x12;
  b[4] = b.length - 5;
  return b;
}

export class ScsiTarget implements ScsiTargetPort {
  private readonly units = new Map<number, LogicalUnit>();
  private readonly lunNumbers: readonly number[];

  constructor(options: ScsiTargetOptions) {
    for (const { lun, unit } of options.luns) {
      if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) throw new RangeError(`LUN ${lun} out of range 0..${MAX_LUN}`);
      if (this.units.has(lun)) throw new Error(`LUN ${lun} defined twice`);
      this.units.set(lun, unit);
    }
    this.lunNumbers = [...this.units.keys()].sort((a, b) => a - b);
    for (const unit of this.units.values()) if (unit instanceof ScsiLogicalUnit) unit.reportedLuns = () => this.lunNumbers;
  }

  private unitAt(field: Buffer | undefined): LogicalUnit | undefined {
    const lun = field && decodeLun(field);
    return lun === undefined ? undefined : this.units.get(lun);
  }

  execute(cmd: ScsiCommand): Promise<ScsiResponse> {
    const unit = this.unitAt(cmd.lun);
    // Not async: an async wrapper around the unit's promise costs extra microtask turns per command.
    if (unit) return unit.execute(cmd);
    try {
      return Promise.resolve({ status: Status.Good, data: this.answerForMissingUnit(cmd) });
    } catch (err) {
      const sense = err instanceof ScsiError ? err : internalTargetFailure();
      return Promise.resolve({ status: Status.CheckCondition, sense: buildSense(sense.sense) });
    }
  }

  /** SPC-4 6.6.2 / 6.33 / 6.39: what a LUN without a logical unit still answers. */
  private answerForMissingUnit(cmd: ScsiCommand): Buffer {
    const cdb = cmd.cdb;
    switch (cdb[0]) {
      case inquiry.opcode:
        validateCdb(inquiry, cdb);
        if (cdb.readUInt8(1) & 0x01 || cdb[2] !== 0) throw logicalUnitNotSupported();
        return truncate(noUnitInquiry(), cdb.readUInt16BE(3));
      case reportLuns.opcode:
        validateCdb(reportLuns, cdb);
        return reportLunsData(cdb, this.lunNumbers);
      case requestSense.opcode:
        validateCdb(requestSense, cdb);
        return truncate(buildSense(logicalUnitNotSupported().sense, cdb.readUInt8(1) & 0x01 ? 'descriptor' : 'fixed'), cdb.readUInt8(4));
      default:
        throw logicalUnitNotSupported();
    }
  }

  taskManagement(fn: TaskManagementFunction, nexus: Nexus, lun?: Buffer): void {
    if (fn === 'target-reset' || fn === 'i-t-nexus-loss') {
      for (const unit of this.units.values()) unit.taskManagement(fn, nexus);
      return;
    }
    this.unitAt(lun)?.taskManagement(fn, nexus);
  }

  nexusAdded(nexus: Nexus): void {
    for (const unit of this.units.values()) unit.nexusAdded?.(nexus);
  }

  nexusRemoved(nexus: Nexus): void {
    for (const unit of this.units.values()) unit.taskManagement('i-t-nexus-loss', nexus);
  }
}
