// Sense data (SPC-4 4.5): keys, a named catalogue of ASC/ASCQ pairs, fixed (70h)
// and descriptor (72h) builders, and the error type command handlers throw.

export enum SenseKey {
  NoSense = 0x0,
  RecoveredError = 0x1,
  NotReady = 0x2,
  MediumError = 0x3,
  HardwareError = 0x4,
  IllegalRequest = 0x5,
  UnitAttention = 0x6,
  DataProtect = 0x7,
  BlankCheck = 0x8,
  VendorSpecific = 0x9,
  CopyAborted = 0xa,
  AbortedCommand = 0xb,
  VolumeOverflow = 0xd,
  Miscompare = 0xe,
  Completed = 0xf,
}

/** ASC in the high byte, ASCQ in the low byte. */
export type AdditionalSense = number;

export const Asc = {
  NO_ADDITIONAL_SENSE: 0x0000,
  FILEMARK_DETECTED: 0x0001,
  END_OF_PARTITION_MEDIUM_DETECTED: 0x0002,
  SETMARK_DETECTED: 0x0003,
  BEGINNING_OF_PARTITION_MEDIUM_DETECTED: 0x0004,
  END_OF_DATA_DETECTED: 0x0005,
  OPERATION_IN_PROGRESS: 0x0016,
  LU_NOT_READY_CAUSE_NOT_REPORTABLE: 0x0400,
  LU_BECOMING_READY: 0x0401,
  LU_NOT_READY_INITIALIZING_COMMAND_REQUIRED: 0x0402,
  LU_NOT_READY_MANUAL_INTERVENTION_REQUIRED: 0x0403,
  LU_NOT_READY_FORMAT_IN_PROGRESS: 0x0404,
  LU_NOT_READY_OPERATION_IN_PROGRESS: 0x0407,
  LU_COMMUNICATION_FAILURE: 0x0800,
  WRITE_ERROR: 0x0c00,
  AUXILIARY_MEMORY_WRITE_ERROR: 0x0c0b,
  UNRECOVERED_READ_ERROR: 0x1100,
  RECORDED_ENTITY_NOT_FOUND: 0x1400,
  LOCATE_OPERATION_FAILURE: 0x1407,
  MISCOMPARE_DURING_VERIFY: 0x1d00,
  PARAMETER_LIST_LENGTH_ERROR: 0x1a00,
  INVALID_COMMAND_OPERATION_CODE: 0x2000,
  ILLEGAL_COMMAND_WHEN_NOT_IN_APPEND_ONLY_MODE: 0x200c,
  LBA_OUT_OF_RANGE: 0x2100,
  INVALID_ELEMENT_ADDRESS: 0x2101,
  INVALID_FIELD_IN_CDB: 0x2400,
  LOGICAL_UNIT_NOT_SUPPORTED: 0x2500,
  INVALID_FIELD_IN_PARAMETER_LIST: 0x2600,
  PARAMETER_NOT_SUPPORTED: 0x2601,
  PARAMETER_VALUE_INVALID: 0x2602,
  INVALID_RELEASE_OF_PERSISTENT_RESERVATION: 0x2604,
  WRITE_PROTECTED: 0x2700,
  HARDWARE_WRITE_PROTECTED: 0x2701,
  NOT_READY_TO_READY_CHANGE: 0x2800,
  IMPORT_OR_EXPORT_ELEMENT_ACCESSED: 0x2801,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED: 0x2900,
  POWER_ON_OCCURRED: 0x2901,
  SCSI_BUS_RESET_OCCURRED: 0x2902,
  BUS_DEVICE_RESET_FUNCTION_OCCURRED: 0x2903,
  DEVICE_INTERNAL_RESET: 0x2904,
  I_T_NEXUS_LOSS_OCCURRED: 0x2907,
  PARAMETERS_CHANGED: 0x2a00,
  MODE_PARAMETERS_CHANGED: 0x2a01,
  LOG_PARAMETERS_CHANGED: 0x2a02,
  RESERVATIONS_PREEMPTED: 0x2a03,
  RESERVATIONS_RELEASED: 0x2a04,
  REGISTRATIONS_PREEMPTED: 0x2a05,
  CAPACITY_DATA_HAS_CHANGED: 0x2a09,
  COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: 0x2f00,
  INCOMPATIBLE_MEDIUM_INSTALLED: 0x3000,
  CANNOT_READ_MEDIUM_UNKNOWN_FORMAT: 0x3001,
  CLEANING_CARTRIDGE_INSTALLED: 0x3003,
  WORM_MEDIUM_OVERWRITE_ATTEMPTED: 0x300c,
  MEDIUM_FORMAT_CORRUPTED: 0x3100,
  SAVING_PARAMETERS_NOT_SUPPORTED: 0x3900,
  MEDIUM_NOT_PRESENT: 0x3a00,
  MEDIUM_NOT_PRESENT_TRAY_CLOSED: 0x3a01,
  MEDIUM_NOT_PRESENT_TRAY_OPEN: 0x3a02,
  SEQUENTIAL_POSITIONING_ERROR: 0x3b00,
  MEDIUM_DESTINATION_ELEMENT_FULL: 0x3b0d,
  MEDIUM_SOURCE_ELEMENT_EMPTY: 0x3b0e,
  END_OF_MEDIUM_REACHED: 0x3b0f,
  MEDIUM_MAGAZINE_NOT_ACCESSIBLE: 0x3b11,
  INQUIRY_DATA_HAS_CHANGED: 0x3f03,
  REPORTED_LUNS_DATA_HAS_CHANGED: 0x3f0e,
  INTERNAL_TARGET_FAILURE: 0x4400,
  OVERLAPPED_COMMANDS_ATTEMPTED: 0x4e00,
  ERASE_FAILURE: 0x5100,
  MEDIUM_LOAD_OR_EJECT_FAILED: 0x5300,
  MEDIUM_REMOVAL_PREVENTED: 0x5302,
  OPERATOR_SELECTED_WRITE_PROTECT: 0x5a02,
  UNABLE_TO_DECRYPT_DATA: 0x7401,
  UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING: 0x7402,
  INCORRECT_DATA_ENCRYPTION_KEY: 0x7403,
  INSUFFICIENT_RESOURCES: 0x5503,
  AUXILIARY_MEMORY_OUT_OF_SPACE: 0x5506,
} as const satisfies Record<string, AdditionalSense>;

/** Where in the CDB or parameter list the offending field is (sense-key specific, SPC-4 4.5.2.4.2). */
export interface FieldPointer {
  readonly in: 'cdb' | 'parameter-list';
  readonly byte: number;
  /** Bit within that byte (the most significant bit of the field); absent = whole byte(s). */
  readonly bit?: number;
}

export interface SenseInfo {
  readonly key: SenseKey;
  readonly asc: AdditionalSense;
  /** INFORMATION field (e.g. residue on tape, failing LBA). */
  readonly information?: number | bigint;
  readonly commandSpecific?: number | bigint;
  readonly fieldPointer?: FieldPointer;
  /** Progress indication, 0..65535 of 65536 (sense-key specific). */
  readonly progress?: number;
  /** Stream commands bits (SSC). */
  readonly filemark?: boolean;
  readonly eom?: boolean;
  readonly ili?: boolean;
}

export type SenseFormat = 'fixed' | 'descriptor';

const FIXED_LENGTH = 18;

function senseKeySpecific(info: SenseInfo): Buffer | undefined {
  const sks = Buffer.alloc(3);
  if (info.fieldPointer) {
    const fp = info.fieldPointer;
    sks[0] = 0x80 | (fp.in === 'cdb' ? 0x40 : 0) | (fp.bit !== undefined ? 0x08 | (fp.bit & 0x07) : 0);
    sks.writeUInt16BE(fp.byte & 0xffff, 1);
    return sks;
  }
  if (info.progress !== undefined) {
    sks[0] = 0x80;
    sks.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(info.progress))), 1);
    return sks;
  }
  return undefined;
}

/** INFORMATION fits the fixed format's 4 bytes: unsigned, or a negative tape residue in two's complement. */
function fits32(v: number | bigint): boolean {
  return BigInt(v) >= -0x80000000n && BigInt(v) <= 0xffffffffn;
}

function buildFixed(info: SenseInfo): Buffer {
  const b = Buffer.alloc(FIXED_LENGTH);
  // VALID only when INFORMATION is set and fits the 4-byte field.
  const infoValid = info.information !== undefined && fits32(info.information);
  b[0] = 0x70 | (infoValid ? 0x80 : 0);
  b[2] = (info.filemark ? 0x80 : 0) | (info.eom ? 0x40 : 0) | (info.ili ? 0x20 : 0) | (info.key & 0x0f);
  if (infoValid) b.writeUInt32BE(Number(BigInt.asUintN(32, BigInt(info.information))), 3);
  b[7] = FIXED_LENGTH - 8;
  if (info.commandSpecific !== undefined) b.writeUInt32BE(Number(BigInt.asUintN(32, BigInt(info.commandSpecific))), 8);
  b[12] = info.asc >> 8;
  b[13] = info.asc & 0xff;
  senseKeySpecific(info)?.copy(b, 15);
  return b;
}

function descriptor(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, body.length]), body]);
}

function buildDescriptor(info: SenseInfo): Buffer {
  const descriptors: Buffer[] = [];
  if (info.information !== undefined) {
    const body = Buffer.alloc(10);
    body[0] = 0x80;
    body.writeBigUInt64BE(BigInt.asUintN(64, BigInt(info.information)), 2);
    descriptors.push(descriptor(0x00, body));
  }
  if (info.commandSpecific !== undefined) {
    const body = Buffer.alloc(10);
    body.writeBigUInt64BE(BigInt.asUintN(64, BigInt(info.commandSpecific)), 2);
    descriptors.push(descriptor(0x01, body));
  }
  const sks = senseKeySpecific(info);
  if (sks) descriptors.push(descriptor(0x02, Buffer.concat([Buffer.alloc(2), sks, Buffer.alloc(1)])));
  if (info.filemark || info.eom || info.ili) {
    descriptors.push(descriptor(0x04, Buffer.from([0, (info.filemark ? 0x80 : 0) | (info.eom ? 0x40 : 0) | (info.ili ? 0x20 : 0)])));
  }
  const header = Buffer.alloc(8);
  header[0] = 0x72;
  header[1] = info.key & 0x0f;
  header[2] = info.asc >> 8;
  header[3] = info.asc & 0xff;
  const body = Buffer.concat(descriptors);
  header[7] = body.length;
  return Buffer.concat([header, body]);
}

export function buildSense(info: SenseInfo, format: SenseFormat = 'fixed'): Buffer {
  return format === 'fixed' ? buildFixed(info) : buildDescriptor(info);
}

/** What handlers throw to end a command with CHECK CONDITION. */
export class ScsiError extends Error {
  readonly sense: SenseInfo;
  constructor(sense: SenseInfo, message?: string) {
    super(message ?? `sense ${SenseKey[sense.key]} ${sense.asc.toString(16).padStart(4, '0')}`);
    this.name = 'ScsiError';
    this.sense = sense;
  }
}

export function scsiError(key: SenseKey, asc: AdditionalSense, extra: Omit<SenseInfo, 'key' | 'asc'> = {}): ScsiError {
  return new ScsiError({ key, asc, ...extra });
}

export const invalidOpcode = (): ScsiError => scsiError(SenseKey.IllegalRequest, Asc.INVALID_COMMAND_OPERATION_CODE);

export const invalidFieldInCdb = (byte: number, bit?: number): ScsiError =>
  scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_CDB, { fieldPointer: { in: 'cdb', byte, bit } });

export const invalidFieldInParameterList = (byte: number, bit?: number): ScsiError =>
  scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_PARAMETER_LIST, { fieldPointer: { in: 'parameter-list', byte, bit } });

export const parameterListLengthError = (): ScsiError => scsiError(SenseKey.IllegalRequest, Asc.PARAMETER_LIST_LENGTH_ERROR);

export const lbaOutOfRange = (lba?: number | bigint): ScsiError =>
  scsiError(SenseKey.IllegalRequest, Asc.LBA_OUT_OF_RANGE, lba === undefined ? {} : { information: lba });

export const logicalUnitNotSupported = (): ScsiError => scsiError(SenseKey.IllegalRequest, Asc.LOGICAL_UNIT_NOT_SUPPORTED);

export const savingParametersNotSupported = (): ScsiError => scsiError(SenseKey.IllegalRequest, Asc.SAVING_PARAMETERS_NOT_SUPPORTED);

export const mediumNotPresent = (): ScsiError => scsiError(SenseKey.NotReady, Asc.MEDIUM_NOT_PRESENT);

export const notReady = (asc: AdditionalSense = Asc.LU_NOT_READY_CAUSE_NOT_REPORTABLE): ScsiError => scsiError(SenseKey.NotReady, asc);

export const writeProtected = (): ScsiError => scsiError(SenseKey.DataProtect, Asc.WRITE_PROTECTED);

export const internalTargetFailure = (): ScsiError => scsiError(SenseKey.HardwareError, Asc.INTERNAL_TARGET_FAILURE);

export const unitAttention = (asc: AdditionalSense): ScsiError => scsiError(SenseKey.UnitAttention, asc);
