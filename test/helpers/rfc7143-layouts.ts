// The Basic Header Segment of each iSCSI PDU as RFC 7143 section 11 draws it,
// transcribed field by field for the codec's golden tests: read from the RFC,
// not from src/iscsi/pdu.ts, so that the two check each other. Bits a layout
// does not name are reserved and must be zero; fixed bits carry their value.
import { BHS_LENGTH, Opcode } from '../../src/iscsi/pdu.ts';

/** A field: `bytes` whole bytes at `at`, or the bits of one byte under `mask`. Whole fields of 8 bytes or more are Buffers. */
type Field =
  | { readonly at: number; readonly bytes: number; readonly fixed?: number }
  | { readonly at: number; readonly mask: number; readonly fixed?: number };

export type FieldValues = Record<string, number | boolean | Buffer>;

const bit = (at: number, mask: number): Field => ({ at, mask });
const uint = (at: number, bytes: number): Field => ({ at, bytes });
const fixedBits = (at: number, mask: number, value: number): Field => ({ at, mask, fixed: value });

// Byte 0: the immediate bit and the opcode; bytes 4-7: TotalAHSLength and DataSegmentLength (11.2.1).
const common = (opcode: Opcode, immediate: 'allowed' | 'always' | 'never'): Record<string, Field> => ({
  opcode: fixedBits(0, 0x3f, opcode),
  ...(immediate === 'allowed' ? { immediate: bit(0, 0x40) } : immediate === 'always' ? { immediateBit: fixedBits(0, 0x40, 1) } : {}),
  totalAhsLength: uint(4, 1),
  dataSegmentLength: uint(5, 3),
});

/** Sequence numbers every target PDU carries (StatSN, ExpCmdSN, MaxCmdSN at 24, 28, 32). */
const targetSequence = { statSN: uint(24, 4), expCmdSN: uint(28, 4), maxCmdSN: uint(32, 4) };

export const LAYOUTS: Readonly<Record<number, { readonly section: string; readonly fields: Readonly<Record<string, Field>> }>> = {
  [Opcode.NopOut]: {
    section: '11.18 NOP-Out',
    fields: {
      ...common(Opcode.NopOut, 'allowed'),
      one: fixedBits(1, 0x80, 1),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
    },
  },
  [Opcode.ScsiCommand]: {
    section: '11.3 SCSI Command',
    fields: {
      ...common(Opcode.ScsiCommand, 'allowed'),
      final: bit(1, 0x80),
      read: bit(1, 0x40),
      write: bit(1, 0x20),
      attribute: bit(1, 0x07),
      lun: uint(8, 8),
      itt: uint(16, 4),
      expectedDataTransferLength: uint(20, 4),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
      cdb: uint(32, 16),
    },
  },
  [Opcode.TaskManagementRequest]: {
    section: '11.5 Task Management Function Request',
    fields: {
      ...common(Opcode.TaskManagementRequest, 'allowed'),
      one: fixedBits(1, 0x80, 1),
      function: bit(1, 0x7f),
      lun: uint(8, 8),
      itt: uint(16, 4),
      referencedTaskTag: uint(20, 4),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
      refCmdSN: uint(32, 4),
      expDataSN: uint(36, 4),
    },
  },
  [Opcode.LoginRequest]: {
    section: '11.12 Login Request',
    fields: {
      ...common(Opcode.LoginRequest, 'always'),
      transit: bit(1, 0x80),
      continue: bit(1, 0x40),
      currentStage: bit(1, 0x0c),
      nextStage: bit(1, 0x03),
      versionMax: uint(2, 1),
      versionMin: uint(3, 1),
      isid: uint(8, 6),
      tsih: uint(14, 2),
      itt: uint(16, 4),
      cid: uint(20, 2),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
    },
  },
  [Opcode.TextRequest]: {
    section: '11.10 Text Request',
    fields: {
      ...common(Opcode.TextRequest, 'allowed'),
      final: bit(1, 0x80),
      continue: bit(1, 0x40),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
    },
  },
  [Opcode.DataOut]: {
    section: '11.7 SCSI Data-Out',
    fields: {
      ...common(Opcode.DataOut, 'never'),
      final: bit(1, 0x80),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      expStatSN: uint(28, 4),
      dataSN: uint(36, 4),
      bufferOffset: uint(40, 4),
    },
  },
  [Opcode.LogoutRequest]: {
    section: '11.14 Logout Request',
    fields: {
      ...common(Opcode.LogoutRequest, 'allowed'),
      one: fixedBits(1, 0x80, 1),
      reason: bit(1, 0x7f),
      itt: uint(16, 4),
      cid: uint(20, 2),
      cmdSN: uint(24, 4),
      expStatSN: uint(28, 4),
    },
  },
  [Opcode.NopIn]: {
    section: '11.19 NOP-In',
    fields: {
      ...common(Opcode.NopIn, 'never'),
      one: fixedBits(1, 0x80, 1),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      ...targetSequence,
    },
  },
  [Opcode.ScsiResponse]: {
    section: '11.4 SCSI Response',
    fields: {
      ...common(Opcode.ScsiResponse, 'never'),
      one: fixedBits(1, 0x80, 1),
      bidirectionalOverflow: bit(1, 0x10),
      bidirectionalUnderflow: bit(1, 0x08),
      overflowBit: bit(1, 0x04),
      underflowBit: bit(1, 0x02),
      response: uint(2, 1),
      status: uint(3, 1),
      itt: uint(16, 4),
      snackTag: uint(20, 4),
      ...targetSequence,
      expDataSN: uint(36, 4),
      bidirectionalReadResidualCount: uint(40, 4),
      residualCount: uint(44, 4),
    },
  },
  [Opcode.TaskManagementResponse]: {
    section: '11.6 Task Management Function Response',
    fields: {
      ...common(Opcode.TaskManagementResponse, 'never'),
      one: fixedBits(1, 0x80, 1),
      response: uint(2, 1),
      itt: uint(16, 4),
      ...targetSequence,
    },
  },
  [Opcode.LoginResponse]: {
    section: '11.13 Login Response',
    fields: {
      ...common(Opcode.LoginResponse, 'never'),
      transit: bit(1, 0x80),
      continue: bit(1, 0x40),
      currentStage: bit(1, 0x0c),
      nextStage: bit(1, 0x03),
      versionMax: uint(2, 1),
      versionActive: uint(3, 1),
      isid: uint(8, 6),
      tsih: uint(14, 2),
      itt: uint(16, 4),
      ...targetSequence,
      statusClass: uint(36, 1),
      statusDetail: uint(37, 1),
    },
  },
  [Opcode.TextResponse]: {
    section: '11.11 Text Response',
    fields: {
      ...common(Opcode.TextResponse, 'never'),
      final: bit(1, 0x80),
      continue: bit(1, 0x40),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      ...targetSequence,
    },
  },
  [Opcode.DataIn]: {
    section: '11.7 SCSI Data-In',
    fields: {
      ...common(Opcode.DataIn, 'never'),
      final: bit(1, 0x80),
      acknowledge: bit(1, 0x40),
      overflowBit: bit(1, 0x04),
      underflowBit: bit(1, 0x02),
      statusBit: bit(1, 0x01),
      status: uint(3, 1),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      ...targetSequence,
      dataSN: uint(36, 4),
      bufferOffset: uint(40, 4),
      residualCount: uint(44, 4),
    },
  },
  [Opcode.LogoutResponse]: {
    section: '11.15 Logout Response',
    fields: {
      ...common(Opcode.LogoutResponse, 'never'),
      one: fixedBits(1, 0x80, 1),
      response: uint(2, 1),
      itt: uint(16, 4),
      ...targetSequence,
      time2Wait: uint(40, 2),
      time2Retain: uint(42, 2),
    },
  },
  [Opcode.R2T]: {
    section: '11.8 Ready To Transfer',
    fields: {
      ...common(Opcode.R2T, 'never'),
      one: fixedBits(1, 0x80, 1),
      lun: uint(8, 8),
      itt: uint(16, 4),
      ttt: uint(20, 4),
      ...targetSequence,
      r2tSN: uint(36, 4),
      bufferOffset: uint(40, 4),
      desiredLength: uint(44, 4),
    },
  },
  [Opcode.AsyncMessage]: {
    section: '11.9 Asynchronous Message',
    fields: {
      ...common(Opcode.AsyncMessage, 'never'),
      one: fixedBits(1, 0x80, 1),
      lun: uint(8, 8),
      reservedTag: { at: 16, bytes: 4, fixed: 0xffffffff },
      ...targetSequence,
      asyncEvent: uint(36, 1),
      asyncVCode: uint(37, 1),
      parameter1: uint(38, 2),
      parameter2: uint(40, 2),
      parameter3: uint(42, 2),
    },
  },
  [Opcode.Reject]: {
    section: '11.17 Reject',
    fields: {
      ...common(Opcode.Reject, 'never'),
      one: fixedBits(1, 0x80, 1),
      reason: uint(2, 1),
      reservedTag: { at: 16, bytes: 4, fixed: 0xffffffff },
      ...targetSequence,
      dataSN: uint(36, 4),
    },
  },
};

const shift = (mask: number): number => 31 - Math.clz32(mask & -mask);

function layoutOf(opcode: number): (typeof LAYOUTS)[number] {
  const layout = LAYOUTS[opcode];
  if (!layout) throw new Error(`no RFC 7143 layout for opcode 0x${opcode.toString(16)}`);
  return layout;
}

/** Every field of the header, by the RFC's layout for its opcode. */
export function readFields(bhs: Buffer): FieldValues {
  const out: FieldValues = {};
  for (const [name, f] of Object.entries(layoutOf(bhs[0]! & 0x3f).fields)) {
    if ('mask' in f) {
      const v = (bhs[f.at]! & f.mask) >> shift(f.mask);
      out[name] = f.mask === (f.mask & -f.mask) ? v === 1 : v;
    } else {
      out[name] = f.bytes >= 6 ? Buffer.from(bhs.subarray(f.at, f.at + f.bytes)) : bhs.readUIntBE(f.at, f.bytes);
    }
  }
  return out;
}

/** The header from its fields (fixed ones need not be given); every bit no field names is zero. */
export function writeFields(opcode: number, values: FieldValues): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  for (const [name, f] of Object.entries(layoutOf(opcode).fields)) {
    const value = f.fixed ?? values[name];
    if (value === undefined) throw new Error(`${layoutOf(opcode).section}: no value for ${name}`);
    if ('mask' in f) bhs[f.at]! |= (Number(value) << shift(f.mask)) & f.mask;
    else if (Buffer.isBuffer(value)) value.copy(bhs, f.at, 0, f.bytes);
    else bhs.writeUIntBE(Number(value), f.at, f.bytes);
  }
  return bhs;
}
