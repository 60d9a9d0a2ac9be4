// The iSCSI PDU codec (RFC 7143 section 11): decoding of the PDUs an initiator
// sends and encoding of the ones a target sends. Pure: buffers in, buffers out.

export const BHS_LENGTH = 48;
export const RESERVED_TAG = 0xffffffff;

export enum Opcode {
  NopOut = 0x00,
  ScsiCommand = 0x01,
  TaskManagementRequest = 0x02,
  LoginRequest = 0x03,
  TextRequest = 0x04,
  DataOut = 0x05,
  LogoutRequest = 0x06,
  Snack = 0x10,
  NopIn = 0x20,
  ScsiResponse = 0x21,
  TaskManagementResponse = 0x22,
  LoginResponse = 0x23,
  TextResponse = 0x24,
  DataIn = 0x25,
  LogoutResponse = 0x26,
  R2T = 0x31,
  AsyncMessage = 0x32,
  Reject = 0x3f,
}

export enum RejectReason {
  DataDigestError = 0x02,
  SnackReject = 0x03,
  ProtocolError = 0x04,
  CommandNotSupported = 0x05,
  ImmediateCommandReject = 0x06,
  TaskInProgress = 0x07,
  InvalidDataAck = 0x08,
  InvalidPduField = 0x09,
  LongOperationReject = 0x0a,
  WaitingForLogout = 0x0c,
}

/** A PDU as framed off the wire: header checked, data segment without padding. */
export interface RawPdu {
  readonly bhs: Buffer;
  readonly ahs: Buffer;
  readonly data: Buffer;
}

/** A PDU whose fields break the protocol; the connection answers with a Reject. */
export class PduError extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

export const opcodeOf = (bhs: Buffer): number => bhs.readUInt8(0) & 0x3f;
export const isImmediate = (bhs: Buffer): boolean => (bhs.readUInt8(0) & 0x40) !== 0;
export const isFinal = (bhs: Buffer): boolean => (bhs.readUInt8(1) & 0x80) !== 0;
export const dataSegmentLengthOf = (bhs: Buffer): number => bhs.readUIntBE(5, 3);
export const totalAhsLengthOf = (bhs: Buffer): number => bhs.readUInt8(4) * 4;
/** Initiator Task Tag: bytes 16-19 of every PDU an initiator sends. */
export const initiatorTaskTagOf = (bhs: Buffer): number => bhs.readUInt32BE(16);

// Fields the reader asks for before a PDU is decoded, to place its data segment.

/** SCSI Command: the W bit (Data-Out follows). */
export const isWriteCommand = (bhs: Buffer): boolean => (bhs.readUInt8(1) & 0x20) !== 0;
/** SCSI Command: Expected Data Transfer Length. */
export const expectedDataTransferLengthOf = (bhs: Buffer): number => bhs.readUInt32BE(20);
/** Data-Out: Target Transfer Tag (FFFFFFFFh for unsolicited data). */
export const targetTransferTagOf = (bhs: Buffer): number => bhs.readUInt32BE(20);
/** Data-Out: Buffer Offset of the data segment in the command's data. */
export const bufferOffsetOf = (bhs: Buffer): number => bhs.readUInt32BE(40);

// ---- initiator → target ----------------------------------------------------

export interface ScsiCommandPdu {
  readonly immediate: boolean;
  readonly final: boolean;
  readonly read: boolean;
  readonly write: boolean;
  readonly attribute: number;
  readonly lun: Buffer;
  readonly itt: number;
  readonly expectedDataTransferLength: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly cdb: Buffer;
  readonly bidirectionalReadLength?: number;
  readonly data: Buffer;
}

const AHS_EXTENDED_CDB = 1;
const AHS_BIDIRECTIONAL_READ_LENGTH = 2;

export function decodeScsiCommand(pdu: RawPdu): ScsiCommandPdu {
  const { bhs } = pdu;
  let cdb = bhs.subarray(32, 48);
  let bidirectionalReadLength: number | undefined;
  for (let at = 0; at + 4 <= pdu.ahs.length;) {
    const length = pdu.ahs.readUInt16BE(at);
    const type = pdu.ahs[at + 2];
    const end = at + 3 + length;
    if (end > pdu.ahs.length) throw new PduError(RejectReason.InvalidPduField, 'AHS length runs past the header');
    if (type === AHS_EXTENDED_CDB) {
      cdb = Buffer.concat([cdb, pdu.ahs.subarray(at + 4, end)]);
    } else if (type === AHS_BIDIRECTIONAL_READ_LENGTH && length === 5) {
      bidirectionalReadLength = pdu.ahs.readUInt32BE(at + 4);
    } else {
      throw new PduError(RejectReason.InvalidPduField, `unsupported AHS type ${type}`);
    }
    at += 4 * Math.ceil((3 + length) / 4);
  }
  const flags = bhs.readUInt8(1);
  return {
    immediate: isImmediate(bhs),
    final: (flags & 0x80) !== 0,
    read: (flags & 0x40) !== 0,
    write: isWriteCommand(bhs),
    attribute: flags & 0x07,
    lun: bhs.subarray(8, 16),
    itt: initiatorTaskTagOf(bhs),
    expectedDataTransferLength: expectedDataTransferLengthOf(bhs),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    cdb,
    bidirectionalReadLength,
    data: pdu.data,
  };
}

export interface DataOutPdu {
  readonly final: boolean;
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly expStatSN: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly data: Buffer;
}

export function decodeDataOut(pdu: RawPdu): DataOutPdu {
  const { bhs } = pdu;
  return {
    final: isFinal(bhs),
    lun: bhs.subarray(8, 16),
    itt: initiatorTaskTagOf(bhs),
    ttt: targetTransferTagOf(bhs),
    expStatSN: bhs.readUInt32BE(28),
    dataSN: bhs.readUInt32BE(36),
    bufferOffset: bufferOffsetOf(bhs),
    data: pdu.data,
  };
}

export interface NopOutPdu {
  readonly immediate: boolean;
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly data: Buffer;
}

export function decodeNopOut(pdu: RawPdu): NopOutPdu {
  const { bhs } = pdu;
  return {
    immediate: isImmediate(bhs),
    lun: bhs.subarray(8, 16),
    itt: bhs.readUInt32BE(16),
    ttt: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    data: pdu.data,
  };
}

export enum TaskFunction {
  AbortTask = 1,
  AbortTaskSet = 2,
  ClearAca = 3,
  ClearTaskSet = 4,
  LogicalUnitReset = 5,
  TargetWarmReset = 6,
  TargetColdReset = 7,
  TaskReassign = 8,
}

export enum TaskResponse {
  FunctionComplete = 0,
  TaskDoesNotExist = 1,
  LunDoesNotExist = 2,
  TaskStillAllegiant = 3,
  ReassignmentNotSupported = 4,
  FunctionNotSupported = 5,
  AuthorizationFailed = 6,
  Rejected = 255,
}

export interface TaskManagementPdu {
  readonly immediate: boolean;
  readonly function: number;
  readonly lun: Buffer;
  readonly itt: number;
  readonly referencedTaskTag: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly refCmdSN: number;
}

export function decodeTaskManagement(pdu: RawPdu): TaskManagementPdu {
  const { bhs } = pdu;
  return {
    immediate: isImmediate(bhs),
    function: bhs.readUInt8(1) & 0x7f,
    lun: bhs.subarray(8, 16),
    itt: bhs.readUInt32BE(16),
    referencedTaskTag: bhs.readUInt32BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    refCmdSN: bhs.readUInt32BE(32),
  };
}

export enum LoginStage {
  Security = 0,
  Operational = 1,
  FullFeature = 3,
}

export interface LoginRequestPdu {
  readonly transit: boolean;
  readonly continue: boolean;
  readonly currentStage: number;
  readonly nextStage: number;
  readonly versionMax: number;
  readonly versionMin: number;
  readonly isid: Buffer;
  readonly tsih: number;
  readonly itt: number;
  readonly cid: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly data: Buffer;
}

export function decodeLoginRequest(pdu: RawPdu): LoginRequestPdu {
  const { bhs } = pdu;
  const flags = bhs.readUInt8(1);
  return {
    transit: (flags & 0x80) !== 0,
    continue: (flags & 0x40) !== 0,
    currentStage: (flags >> 2) & 0x03,
    nextStage: flags & 0x03,
    versionMax: bhs.readUInt8(2),
    versionMin: bhs.readUInt8(3),
    isid: bhs.subarray(8, 14),
    tsih: bhs.readUInt16BE(14),
    itt: bhs.readUInt32BE(16),
    cid: bhs.readUInt16BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
    data: pdu.data,
  };
}

export interface TextRequestPdu {
  readonly immediate: boolean;
  readonly final: boolean;
  readonly continue: boolean;
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly data: Buffer;
}

/** A Text Request lays out its header as a NOP-Out does, plus the F and C bits. */
export function decodeTextRequest(pdu: RawPdu): TextRequestPdu {
  return { ...decodeNopOut(pdu), final: isFinal(pdu.bhs), continue: (pdu.bhs.readUInt8(1) & 0x40) !== 0 };
}

export enum LogoutReason {
  CloseSession = 0,
  CloseConnection = 1,
  RemoveConnectionForRecovery = 2,
}

export interface LogoutRequestPdu {
  readonly immediate: boolean;
  readonly reason: number;
  readonly itt: number;
  readonly cid: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
}

export function decodeLogoutRequest(pdu: RawPdu): LogoutRequestPdu {
  const { bhs } = pdu;
  return {
    immediate: isImmediate(bhs),
    reason: bhs.readUInt8(1) & 0x7f,
    itt: bhs.readUInt32BE(16),
    cid: bhs.readUInt16BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
  };
}

// ---- target → initiator ----------------------------------------------------

/** The sequence numbers every target PDU carries. */
export interface Sequence {
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

function header(opcode: Opcode, flags: number, dataLength: number): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  bhs[0] = opcode;
  bhs[1] = flags;
  bhs.writeUIntBE(dataLength, 5, 3);
  return bhs;
}

function writeSequence(bhs: Buffer, seq: Sequence): void {
  bhs.writeUInt32BE(seq.statSN >>> 0, 24);
  bhs.writeUInt32BE(seq.expCmdSN >>> 0, 28);
  bhs.writeUInt32BE(seq.maxCmdSN >>> 0, 32);
}

export interface LoginResponseFields {
  readonly transit: boolean;
  readonly continue: boolean;
  readonly currentStage: number;
  readonly nextStage: number;
  readonly isid: Buffer;
  readonly tsih: number;
  readonly itt: number;
  readonly statusClass: number;
  readonly statusDetail: number;
  readonly dataLength: number;
}

export function encodeLoginResponse(f: LoginResponseFields, seq: Sequence): Buffer {
  const flags = (f.transit ? 0x80 : 0) | (f.continue ? 0x40 : 0) | (f.currentStage << 2) | (f.transit ? f.nextStage : 0);
  const bhs = header(Opcode.LoginResponse, flags, f.dataLength);
  bhs[2] = 0; // version-max
  bhs[3] = 0; // version-active
  f.isid.copy(bhs, 8, 0, 6);
  bhs.writeUInt16BE(f.tsih, 14);
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  writeSequence(bhs, seq);
  bhs[36] = f.statusClass;
  bhs[37] = f.statusDetail;
  return bhs;
}

export interface TextResponseFields {
  readonly final: boolean;
  readonly continue: boolean;
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly dataLength: number;
}

export function encodeTextResponse(f: TextResponseFields, seq: Sequence): Buffer {
  const bhs = header(Opcode.TextResponse, (f.final ? 0x80 : 0) | (f.continue ? 0x40 : 0), f.dataLength);
  f.lun.copy(bhs, 8, 0, 8);
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  bhs.writeUInt32BE(f.ttt >>> 0, 20);
  writeSequence(bhs, seq);
  return bhs;
}

export interface ScsiResponseFields {
  readonly itt: number;
  readonly status: number;
  /** 0 = command completed at target; 1 = target failure. */
  readonly response: number;
  readonly underflow: number;
  readonly overflow: number;
  readonly expDataSN: number;
  readonly dataLength: number;
}

export function encodeScsiResponse(f: ScsiResponseFields, seq: Sequence): Buffer {
  const flags = 0x80 | (f.overflow > 0 ? 0x04 : 0) | (f.underflow > 0 ? 0x02 : 0);
  const bhs = header(Opcode.ScsiResponse, flags, f.dataLength);
  bhs[2] = f.response;
  bhs[3] = f.status;
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  writeSequence(bhs, seq);
  bhs.writeUInt32BE(f.expDataSN >>> 0, 36);
  bhs.writeUInt32BE((f.overflow || f.underflow) >>> 0, 44);
  return bhs;
}

export interface DataInFields {
  readonly final: boolean;
  readonly itt: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly dataLength: number;
  /** Present on the last PDU when it carries the command's status (phase collapse). */
  readonly status?: { readonly status: number; readonly underflow: number; readonly overflow: number };
}

/** Data-In; `seq.statSN` is only meaningful (and only advanced by the caller) when status is carried. */
export function encodeDataIn(f: DataInFields, seq: Sequence): Buffer {
  let flags = f.final ? 0x80 : 0;
  if (f.status) flags |= 0x01 | (f.status.overflow > 0 ? 0x04 : 0) | (f.status.underflow > 0 ? 0x02 : 0);
  const bhs = header(Opcode.DataIn, flags, f.dataLength);
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  bhs.writeUInt32BE(RESERVED_TAG, 20);
  writeSequence(bhs, seq);
  if (f.status) {
    bhs[3] = f.status.status;
    bhs.writeUInt32BE((f.status.overflow || f.status.underflow) >>> 0, 44);
  } else {
    bhs.writeUInt32BE(0, 24);
  }
  bhs.writeUInt32BE(f.dataSN >>> 0, 36);
  bhs.writeUInt32BE(f.bufferOffset >>> 0, 40);
  return bhs;
}

export interface R2TFields {
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly r2tSN: number;
  readonly bufferOffset: number;
  readonly desiredLength: number;
}

export function encodeR2T(f: R2TFields, seq: Sequence): Buffer {
  const bhs = header(Opcode.R2T, 0x80, 0);
  f.lun.copy(bhs, 8, 0, 8);
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  bhs.writeUInt32BE(f.ttt >>> 0, 20);
  writeSequence(bhs, seq);
  bhs.writeUInt32BE(f.r2tSN >>> 0, 36);
  bhs.writeUInt32BE(f.bufferOffset >>> 0, 40);
  bhs.writeUInt32BE(f.desiredLength >>> 0, 44);
  return bhs;
}

export interface NopInFields {
  readonly lun: Buffer;
  readonly itt: number;
  readonly ttt: number;
  readonly dataLength: number;
}

export function encodeNopIn(f: NopInFields, seq: Sequence): Buffer {
  const bhs = header(Opcode.NopIn, 0x80, f.dataLength);
  f.lun.copy(bhs, 8, 0, 8);
  bhs.writeUInt32BE(f.itt >>> 0, 16);
  bhs.writeUInt32BE(f.ttt >>> 0, 20);
  writeSequence(bhs, seq);
  return bhs;
}

export function encodeTaskManagementResponse(itt: number, response: TaskResponse, seq: Sequence): Buffer {
  const bhs = header(Opcode.TaskManagementResponse, 0x80, 0);
  bhs[2] = response;
  bhs.writeUInt32BE(itt >>> 0, 16);
  writeSequence(bhs, seq);
  return bhs;
}

export function encodeLogoutResponse(itt: number, response: number, seq: Sequence, time2Wait: number, time2Retain: number): Buffer {
  const bhs = header(Opcode.LogoutResponse, 0x80, 0);
  bhs[2] = response;
  bhs.writeUInt32BE(itt >>> 0, 16);
  writeSequence(bhs, seq);
  bhs.writeUInt16BE(time2Wait, 40);
  bhs.writeUInt16BE(time2Retain, 42);
  return bhs;
}

/** Reject: the data segment is the header of the rejected PDU. */
export function encodeReject(reason: RejectReason, seq: Sequence): Buffer {
  const bhs = header(Opcode.Reject, 0x80, BHS_LENGTH);
  bhs[2] = reason;
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  writeSequence(bhs, seq);
  return bhs;
}

export enum AsyncEvent {
  ScsiAsyncEvent = 0,
  RequestLogout = 1,
  DropConnection = 2,
  DropAllConnections = 3,
  RequestNegotiation = 4,
}

export function encodeAsyncMessage(event: AsyncEvent, seq: Sequence, parameters: [number, number, number]): Buffer {
  const bhs = header(Opcode.AsyncMessage, 0x80, 0);
  bhs.writeUInt32BE(RESERVED_TAG, 16);
  writeSequence(bhs, seq);
  bhs[36] = event;
  bhs.writeUInt16BE(parameters[0], 38);
  bhs.writeUInt16BE(parameters[1], 40);
  bhs.writeUInt16BE(parameters[2], 42);
  return bhs;
}

/** Serial number arithmetic (RFC 1982, 32 bits) for CmdSN/StatSN comparisons. */
export function serialLess(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}

export function serialAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
