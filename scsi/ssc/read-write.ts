// READ(6), VERIFY(6), WRITE(6), WRITE FILEMARKS(6), ERASE(6) and READ BLOCK LIMITS
// (SSC-4 7.2, 6.x): fixed and variable blocks, incorrect-length, filemark,
// end-of-data, early-warning and end-of-partition reporting with residues.
import { Access, CONTROL, type CommandContext, type CommandEntry, type CommandResult } from '../command-table.ts';
import { Asc, invalidFieldInCdb, ScsiError, scsiError, SenseKey, type SenseInfo } from '../sense.ts';
import { Status } from '../types.ts';
import { checkConditionWithData, type TapeDrive } from './state.ts';
import { EndOfPartitionError, type TapeMedium, type TapeObject, type WriteOutcome } from './tape-medium.ts';

const FIXED = 0x01;
const SILI = 0x02;
const IMMED = 0x01;
const ERASE_IMMED = 0x02;
const LONG = 0x01;

const transferLength = (cdb: Buffer): number => cdb.readUIntBE(2, 3);

/** FIXED=1 needs a block length in the mode block descriptor. */
function checkFixedMode(drive: TapeDrive): void {
  if (drive.blockLength === 0) throw invalidFieldInCdb(1, 0);
}

/** ...and, when the blocks travel, a bounded transfer. */
function checkFixed(drive: TapeDrive, blocks: number): void {
  checkFixedMode(drive);
  if (blocks * drive.blockLength > drive.limits.maxTransferBytes) throw invalidFieldInCdb(2);
}

function endOfData(drive: TapeDrive, medium: TapeMedium, residue: number): SenseInfo {
  return { key: SenseKey.BlankCheck, asc: Asc.END_OF_DATA_DETECTED, eom: drive.pastEarlyWarning(medium), information: residue };
}

const filemark = (residue: number): SenseInfo => ({
  key: SenseKey.NoSense,
  asc: Asc.FILEMARK_DETECTED,
  filemark: true,
  information: residue,
});

/** Where what is read goes: to the initiator (READ) or nowhere, only checked (VERIFY). */
interface Delivery {
  /** `release`: the record's, called once nothing here or above uses `data` any more. */
  keep(data: Buffer, release?: () => void): void;
  /** The command ends: GOOD, or CHECK CONDITION with `sense` (and what was kept). */
  end(sense?: SenseInfo): CommandResult;
}

function toInitiator(drive: TapeDrive, ctx: CommandContext): Delivery {
  const parts: Buffer[] = [];
  const releases: (() => void)[] = [];
  return {
    keep(data, release) {
      parts.push(data);
      if (release) releases.push(release);
    },
    end(sense) {
      // A single record travels up as it is, and is released once the transport has sent it; joined ones were copied.
      const single = parts.length === 1 ? parts[0] : undefined;
      const data = single ?? Buffer.concat(parts);
      const release = single ? releases[0] : undefined;
      if (!single) releases.forEach((r) => r());
      drive.readBytes(data.length);
      const response = sense ? checkConditionWithData(ctx, data, sense) : { status: Status.Good, data };
      return release ? { ...response, release } : response;
    },
  };
}

const verifiedOnly: Delivery = {
  keep: (_data, release) => release?.(),
  end(sense) {
    if (sense) throw new ScsiError(sense);
  },
};

/** The next object, a record as this nexus reads it: decrypted, or refused with DATA PROTECT (see DataEncryption.reveal). */
async function readObject(drive: TapeDrive, medium: TapeMedium, nexusKey: string): Promise<TapeObject> {
  const object = await medium.read();
  return object.kind === 'record' ? drive.encryption.reveal(nexusKey, object) : object;
}

async function readVariable(
  drive: TapeDrive,
  medium: TapeMedium,
  nexusKey: string,
  length: number,
  sili: boolean,
  delivery: Delivery,
): Promise<CommandResult> {
  const object = await drive.io(Asc.UNRECOVERED_READ_ERROR, () => readObject(drive, medium, nexusKey), { information: length });
  if (object.kind === 'filemark') return delivery.end(filemark(length));
  if (object.kind === 'end-of-data') return delivery.end(endOfData(drive, medium, length));
  const record = object.data;
  delivery.keep(record.length > length ? record.subarray(0, length) : record, object.release);
  // SILI hides a short record, and a long one only in variable-block mode (SSC-4 READ(6)).
  if (record.length === length || (sili && (record.length < length || drive.blockLength === 0))) return delivery.end();
  return delivery.end({ key: SenseKey.NoSense, asc: Asc.NO_ADDITIONAL_SENSE, ili: true, information: length - record.length });
}

/** Reads `count` blocks; a stop reports the blocks not read, and what was read is still delivered. */
async function readFixed(
  drive: TapeDrive,
  medium: TapeMedium,
  nexusKey: string,
  count: number,
  delivery: Delivery,
): Promise<CommandResult> {
  const blockLength = drive.blockLength;
  for (let done = 0; done < count; done++) {
    const stop = (sense: SenseInfo): CommandResult => delivery.end({ ...sense, information: count - done });
    let object;
    try {
      object = await readObject(drive, medium, nexusKey);
    } catch (err) {
      const sense = drive.senseFor(err, Asc.UNRECOVERED_READ_ERROR);
      if (sense instanceof ScsiError) return stop(sense.sense);
      throw sense;
    }
    if (object.kind === 'filemark') return stop(filemark(0));
    if (object.kind === 'end-of-data') return stop(endOfData(drive, medium, 0));
    delivery.keep(object.data.subarray(0, blockLength), object.release);
    if (object.data.length !== blockLength) return stop({ key: SenseKey.NoSense, asc: Asc.NO_ADDITIONAL_SENSE, ili: true });
  }
  return delivery.end();
}

function read6(drive: TapeDrive): CommandEntry {
  return {
    opcode: 0x08,
    name: 'READ(6)',
    usage: [0x08, SILI | FIXED, 0xff, 0xff, 0xff, CONTROL],
    access: Access.read,
    requiresReady: true,
    async handler(ctx) {
      const fixed = (ctx.cdb.readUInt8(1) & FIXED) !== 0;
      const sili = (ctx.cdb.readUInt8(1) & SILI) !== 0;
      if (fixed && sili) throw invalidFieldInCdb(1, 1);
      const length = transferLength(ctx.cdb);
      if (fixed) checkFixed(drive, length);
      const medium = drive.medium();
      if (length === 0) return;
      const delivery = toInitiator(drive, ctx);
      return fixed
        ? readFixed(drive, medium, ctx.nexus.key, length, delivery)
        : readVariable(drive, medium, ctx.nexus.key, length, sili, delivery);
    },
  };
}

/** VTE: verify to end-of-data; VBF: over `filemarks` filemarks, and end-of-data before them is BLANK CHECK. */
async function verifyThrough(drive: TapeDrive, medium: TapeMedium, nexusKey: string, filemarks?: number): Promise<void> {
  for (let traversed = 0; filemarks === undefined || traversed < filemarks;) {
    const object = await drive.io(Asc.UNRECOVERED_READ_ERROR, () => readObject(drive, medium, nexusKey));
    if (object.kind === 'record') object.release?.();
    if (object.kind === 'filemark') traversed++;
    if (object.kind !== 'end-of-data') continue;
    if (filemarks === undefined) return;
    throw new ScsiError(endOfData(drive, medium, filemarks - traversed));
  }
}

/** VERIFY(6): READ without the transfer; each record's checksum is checked by the cartridge. BYTCMP is not supported. */
function verify6(drive: TapeDrive): CommandEntry {
  const VTE = 0x20;
  const VBF = 0x08;
  const VERIFY_IMMED = 0x04;
  return {
    opcode: 0x13,
    name: 'VERIFY(6)',
    usage: [0x13, VTE | VBF | VERIFY_IMMED | FIXED, 0xff, 0xff, 0xff, CONTROL],
    access: Access.read,
    requiresReady: true,
    async handler(ctx) {
      const flags = ctx.cdb.readUInt8(1);
      if (flags & VTE && flags & VBF) throw invalidFieldInCdb(1, 5);
      const length = transferLength(ctx.cdb);
      const fixed = (flags & FIXED) !== 0 && !(flags & (VTE | VBF));
      if (fixed) checkFixedMode(drive);
      const medium = drive.medium();
      const nexusKey = ctx.nexus.key;
      if (flags & VTE) return verifyThrough(drive, medium, nexusKey);
      if (length === 0) return;
      if (flags & VBF) return verifyThrough(drive, medium, nexusKey, length);
      return fixed
        ? readFixed(drive, medium, nexusKey, length, verifiedOnly)
        : readVariable(drive, medium, nexusKey, length, false, verifiedOnly);
    },
  };
}

/**
 * Early warning (SSC-4 4.2.5): the write is done, and with SEW set in the
 * Device Configuration page buffered data is made durable before saying so.
 */
async function afterWrite(drive: TapeDrive, outcome: WriteOutcome, sync: boolean): Promise<void> {
  if (sync || outcome.earlyWarning) await drive.flush();
  if (outcome.earlyWarning) throw scsiError(SenseKey.NoSense, Asc.END_OF_PARTITION_MEDIUM_DETECTED, { eom: true, information: 0 });
}

/** VOLUME OVERFLOW with the residue: blocks (or filemarks) not written, or the whole variable record. */
async function endOfPartition(drive: TapeDrive, residue: number): Promise<never> {
  await drive.flush();
  throw scsiError(SenseKey.VolumeOverflow, Asc.END_OF_PARTITION_MEDIUM_DETECTED, { eom: true, information: residue });
}

function write6(drive: TapeDrive): CommandEntry {
  return {
    opcode: 0x0a,
    name: 'WRITE(6)',
    usage: [0x0a, FIXED, 0xff, 0xff, 0xff, CONTROL],
    requiresReady: true,
    async handler(ctx) {
      const fixed = (ctx.cdb.readUInt8(1) & FIXED) !== 0;
      const length = transferLength(ctx.cdb);
      if (fixed) checkFixed(drive, length);
      else if (length > drive.limits.maxBlockLength) throw invalidFieldInCdb(2);
      const medium = drive.medium();
      if (length === 0) return;
      const bytes = fixed ? length * drive.blockLength : length;
      // A record is written whole or not at all: its length is the CDB's, not what happened to arrive.
      if (ctx.cmd.dataOut.length < bytes) throw invalidFieldInCdb(2);
      drive.checkWritable(medium);
      const data = ctx.cmd.dataOut.subarray(0, bytes);
      const plain = fixed ? Array.from({ length }, (_, i) => data.subarray(i * drive.blockLength, (i + 1) * drive.blockLength)) : [data];
      // Sealed records are buffers of their own: the transport's need not be held.
      const { records, encrypted } = drive.encryption.seal(ctx.nexus.key, plain);
      let outcome: WriteOutcome;
      try {
        outcome = encrypted
          ? await medium.writeRecords(records, undefined, { encrypted })
          : await medium.writeRecords(records, ctx.cmd.holdDataOut);
      } catch (err) {
        if (!(err instanceof EndOfPartitionError)) throw drive.senseFor(err, Asc.WRITE_ERROR);
        drive.wrote(err.written, fixed ? err.written * drive.blockLength : 0);
        return endOfPartition(drive, fixed ? length - err.written : length);
      }
      drive.wrote(records.length, bytes);
      await afterWrite(drive, outcome, drive.bufferedMode === 0);
      return { status: Status.Good, dataOutLength: bytes };
    },
  };
}

function writeFilemarks6(drive: TapeDrive): CommandEntry {
  return {
    opcode: 0x10,
    name: 'WRITE FILEMARKS(6)',
    // WSMK (setmarks) is not supported: the common CDB check refuses it.
    usage: [0x10, IMMED, 0xff, 0xff, 0xff, CONTROL],
    requiresReady: true,
    async handler(ctx) {
      const count = transferLength(ctx.cdb);
      const medium = drive.medium();
      let outcome: WriteOutcome = { earlyWarning: false };
      if (count > 0) {
        drive.checkWritable(medium);
        try {
          outcome = await medium.writeFilemarks(count);
        } catch (err) {
          if (!(err instanceof EndOfPartitionError)) throw drive.senseFor(err, Asc.WRITE_ERROR);
          drive.wrote(err.written, 0);
          return endOfPartition(drive, count - err.written);
        }
        drive.wrote(count, 0);
      }
      // IMMED=0 (and a count of 0 is just that) makes everything written so far durable.
      await afterWrite(drive, outcome, (ctx.cdb.readUInt8(1) & IMMED) === 0);
    },
  };
}

function erase6(drive: TapeDrive): CommandEntry {
  return {
    opcode: 0x19,
    name: 'ERASE(6)',
    usage: [0x19, ERASE_IMMED | LONG, 0, 0, 0, CONTROL],
    requiresReady: true,
    async handler() {
      const medium = drive.medium();
      drive.checkWritable(medium);
      if (medium.worm) throw scsiError(SenseKey.DataProtect, Asc.WORM_MEDIUM_OVERWRITE_ATTEMPTED);
      // Short and long erase alike leave end-of-data at the position (SEM=2 in page 10h/01h).
      await drive.io(Asc.WRITE_ERROR, () => medium.erase());
      await drive.flush(true);
    },
  };
}

function readBlockLimits(drive: TapeDrive): CommandEntry {
  return {
    opcode: 0x05,
    name: 'READ BLOCK LIMITS',
    usage: [0x05, 0, 0, 0, 0, CONTROL],
    access: Access.read,
    handler() {
      const data = Buffer.alloc(6);
      data.writeUIntBE(drive.limits.maxBlockLength, 1, 3); // GRANULARITY 0: any length
      data.writeUInt16BE(1, 4);
      return data;
    },
  };
}

export function readWriteCommands(drive: TapeDrive): CommandEntry[] {
  return [readBlockLimits(drive), read6(drive), write6(drive), writeFilemarks6(drive), verify6(drive), erase6(drive)];
}
