// The direct-access (SBC-3) command set over a BlockDevice. The usage bitmaps
// are what the disk supports: a bit outside them (RDPROTECT/WRPROTECT/VRPROTECT
// without protection information, ANCHOR without ANC_SUP, RARC, LOEJ...) is
// refused with INVALID FIELD IN CDB by the common CDB check before a handler runs.
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandContext, type CommandEntry, type CommandResult } from '../command-table.ts';
import type { LogFn } from '../logical-unit.ts';
import {
  Asc,
  invalidFieldInCdb,
  invalidFieldInParameterList,
  lbaOutOfRange,
  parameterListLengthError,
  ScsiError,
  scsiError,
  SenseKey,
  writeProtected,
} from '../sense.ts';
import { Status } from '../types.ts';
import type { BlockDevice } from './block-device.ts';
import type { RangeLock } from './range-lock.ts';
import type { DiskLimits } from './vpd.ts';

/** What the handlers work on: one per logical unit. */
export interface Disk {
  readonly device: BlockDevice;
  readonly limits: DiskLimits;
  readonly lock: RangeLock;
  /** WCE of the Caching mode page: when false every write is forced to the medium. */
  writeCacheEnabled(): boolean;
  /** A read-only volume, or SWP set in the Control page. */
  writeProtected(): boolean;
  readonly log: LogFn;
}

const GROUP = 0x1f;
const DPO = 0x10;
const FUA = 0x08;
const FUA_NV = 0x02;
const BYTCHK = 0x06;
const IMMED = 0x02;
const SYNC_NV = 0x04;
const UNMAP = 0x08;
const NDOB = 0x01;

const ff = (n: number): number[] => new Array<number>(n).fill(0xff);

/** Where a CDB keeps its LBA and length (bytes, big-endian). */
interface Layout {
  readonly lbaAt: number;
  readonly lbaBytes: 4 | 8;
  readonly lengthAt: number;
  readonly lengthBytes: 1 | 2 | 4;
}

const CDB10: Layout = { lbaAt: 2, lbaBytes: 4, lengthAt: 7, lengthBytes: 2 };
const CDB12: Layout = { lbaAt: 2, lbaBytes: 4, lengthAt: 6, lengthBytes: 4 };
const CDB16: Layout = { lbaAt: 2, lbaBytes: 8, lengthAt: 10, lengthBytes: 4 };
const COMPARE_AND_WRITE: Layout = { lbaAt: 2, lbaBytes: 8, lengthAt: 13, lengthBytes: 1 };

/** Usage bitmap of a 10-, 12- or 16-byte CDB with that layout and flags byte. */
function usageOf(opcode: number, layout: Layout, flags: number): number[] {
  const length = layout === CDB10 ? 10 : layout === CDB12 ? 12 : 16;
  const u = new Array<number>(length).fill(0);
  u[0] = opcode;
  u[1] = flags;
  u.splice(layout.lbaAt, layout.lbaBytes, ...ff(layout.lbaBytes));
  u.splice(layout.lengthAt, layout.lengthBytes, ...ff(layout.lengthBytes));
  u[layout === CDB10 ? 6 : length - 2] = GROUP;
  u[length - 1] = CONTROL;
  return u;
}

/**
 * A 64-bit LBA as a Number without a BigInt per command: exact below 2^53,
 * and anything above is far past the end of any medium, however it rounds.
 */
function uint64At(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);
}

function lbaOf(cdb: Buffer, layout: Layout): number {
  return layout.lbaBytes === 8 ? uint64At(cdb, layout.lbaAt) : cdb.readUInt32BE(layout.lbaAt);
}

function lengthOf(cdb: Buffer, layout: Layout): number {
  return layout.lengthBytes === 1 ? cdb[layout.lengthAt]! : layout.lengthBytes === 2 ? cdb.readUInt16BE(layout.lengthAt) : cdb.readUInt32BE(layout.lengthAt);
}

interface Extent {
  /** First block. */
  readonly lba: number;
  readonly blocks: number;
}

function blockCount(disk: Disk): number {
  return disk.device.size / disk.device.blockSize;
}

export function blocksPerPhysicalBlock(device: BlockDevice): number {
  return (device.physicalBlockSize ?? device.blockSize) / device.blockSize;
}

/** LBA OUT OF RANGE unless [lba, lba + blocks) lies within the medium. */
function extent(disk: Disk, lba: number, blocks: number): Extent {
  if (lba + blocks > blockCount(disk)) throw lbaOutOfRange();
  return { lba, blocks };
}

/** An extent whose length is bounded by `max` (INVALID FIELD IN CDB on the length field). */
function boundedExtent(disk: Disk, cdb: Buffer, layout: Layout, max: number): Extent {
  const blocks = lengthOf(cdb, layout);
  if (blocks > max) throw invalidFieldInCdb(layout.lengthAt);
  return extent(disk, lbaOf(cdb, layout), blocks);
}

function checkWritable(disk: Disk): void {
  if (disk.writeProtected()) throw writeProtected();
}

/** Device failures become MEDIUM ERROR for the initiator, and a log record for the operator. */
function io<T>(disk: Disk, asc: number, op: () => Promise<T>): Promise<T> {
  let running: Promise<T>;
  try {
    running = op();
  } catch (err) {
    return Promise.reject(mediumError(disk, asc, err));
  }
  return running.then(undefined, (err: unknown) => {
    throw mediumError(disk, asc, err);
  });
}

function mediumError(disk: Disk, asc: number, err: unknown): ScsiError {
  if (err instanceof ScsiError) return err;
  disk.log('block device I/O failed', { err, asc: asc.toString(16).padStart(4, '0') });
  return new ScsiError({ key: SenseKey.MediumError, asc }, `block device: ${(err as Error).message}`);
}

const readMedium = (disk: Disk, e: Extent): Promise<Buffer> =>
  io(disk, Asc.UNRECOVERED_READ_ERROR, () => disk.device.read(e.lba * disk.device.blockSize, e.blocks * disk.device.blockSize));

const writeMedium = (disk: Disk, lba: number, data: Buffer, fua: boolean): Promise<void> =>
  io(disk, Asc.WRITE_ERROR, () => disk.device.write(lba * disk.device.blockSize, data, { fua: fua || !disk.writeCacheEnabled() }));

/** MISCOMPARE DURING VERIFY OPERATION with the offset of the first differing byte in INFORMATION. */
function compare(expected: Buffer, actual: Buffer): void {
  if (expected.equals(actual)) return;
  let i = 0;
  while (expected[i] === actual[i]) i++;
  throw scsiError(SenseKey.Miscompare, Asc.MISCOMPARE_DURING_VERIFY, { information: i });
}

/**
 * The whole blocks of Data-Out that arrived, at most `blocks` of them. Writes
 * honour what the initiator sent when its expected transfer length disagrees
 * with the CDB; the transport reports the difference as a residual.
 */
function receivedBlocks(disk: Disk, ctx: CommandContext, blocks: number): number {
  return Math.min(blocks, Math.floor(ctx.cmd.dataOut.length / disk.device.blockSize));
}

function good(dataOutLength: number): CommandResult {
  return { status: Status.Good, dataOutLength };
}

function read(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | FUA | FUA_NV),
    access: Access.read,
    handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      if (e.blocks === 0) return;
      return readMedium(disk, e);
    },
  };
}

function write(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | FUA | FUA_NV),
    handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      const result = good(e.blocks * disk.device.blockSize);
      return writeBlocks(disk, ctx, e, (ctx.cdb[1]! & FUA) !== 0).then(() => result);
    },
  };
}

function writeBlocks(disk: Disk, ctx: CommandContext, e: Extent, fua: boolean): Promise<Buffer | undefined> {
  const n = receivedBlocks(disk, ctx, e.blocks);
  if (n === 0) return Promise.resolve(undefined);
  const data = ctx.cmd.dataOut.subarray(0, n * disk.device.blockSize);
  return disk.lock.run(e.lba, e.lba + n, () => writeMedium(disk, e.lba, data, fua)).then(() => data);
}

/** READ(6)/WRITE(6): 21-bit LBA, and a TRANSFER LENGTH of 0 means 256 blocks. */
function extent6(disk: Disk, cdb: Buffer): Extent {
  const lba = ((cdb[1]! & 0x1f) << 16) | cdb.readUInt16BE(2);
  return extent(disk, lba, cdb[4] || 256);
}

function verify(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | BYTCHK),
    access: Access.read,
    async handler(ctx) {
      const bytchk = (ctx.cdb[1]! & BYTCHK) >> 1;
      if (bytchk === 0b10) throw invalidFieldInCdb(1, 2);
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      const bs = disk.device.blockSize;
      if (bytchk === 0b00) {
        if (e.blocks > 0) await readMedium(disk, e);
        return;
      }
      // BYTCHK 01b: Data-Out holds every block; 11b: one block to compare with each.
      const expectedOut = bytchk === 0b01 ? e.blocks * bs : e.blocks > 0 ? bs : 0;
      const n = bytchk === 0b01 ? receivedBlocks(disk, ctx, e.blocks) : ctx.cmd.dataOut.length >= bs ? e.blocks : 0;
      if (n > 0) {
        const medium = await readMedium(disk, { lba: e.lba, blocks: n });
        const expected = bytchk === 0b01 ? ctx.cmd.dataOut.subarray(0, n * bs) : repeat(ctx.cmd.dataOut.subarray(0, bs), n);
        compare(expected, medium);
      }
      return good(expectedOut);
    },
  };
}

function writeAndVerify(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, DPO | BYTCHK),
    async handler(ctx) {
      const bytchk = (ctx.cdb[1]! & BYTCHK) >> 1;
      if (bytchk > 0b01) throw invalidFieldInCdb(1, 2);
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      // Verification is of the medium, so the data goes there first.
      const written = await writeBlocks(disk, ctx, e, true);
      if (written && bytchk === 0b01) compare(written, await readMedium(disk, { lba: e.lba, blocks: written.length / disk.device.blockSize }));
      return good(e.blocks * disk.device.blockSize);
    },
  };
}

function repeat(block: Buffer, times: number): Buffer {
  const out = Buffer.allocUnsafe(block.length * times);
  for (let i = 0; i < times; i++) block.copy(out, i * block.length);
  return out;
}

/** Bytes of a repeated WRITE SAME pattern written per device call. */
const WRITE_SAME_CHUNK_BYTES = 1024 * 1024;

function writeSame(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  const ndob = layout === CDB16 ? NDOB : 0;
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, UNMAP | ndob),
    async handler(ctx) {
      const lba = lbaOf(ctx.cdb, layout);
      const total = blockCount(disk);
      if (lba > total) throw lbaOutOfRange();
      // WSNZ=0: a NUMBER OF LOGICAL BLOCKS of 0 runs to the last LBA.
      const blocks = lengthOf(ctx.cdb, layout) || total - lba;
      if (blocks > disk.limits.maxWriteSameBlocks) throw invalidFieldInCdb(layout.lengthAt);
      const e = extent(disk, lba, blocks);
      checkWritable(disk);
      const bs = disk.device.blockSize;
      const noData = (ctx.cdb[1]! & ndob) !== 0;
      // The pattern must arrive whole: there is no sensible partial WRITE SAME.
      if (!noData && ctx.cmd.dataOut.length !== bs) throw scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_CDB);
      const pattern = noData ? Buffer.alloc(bs) : ctx.cmd.dataOut;
      // With LBPRZ=1 a deallocated block reads as zeros: UNMAP=1 with a zero
      // pattern may deallocate instead of writing (SBC-3 WRITE SAME, UNMAP bit).
      const deallocate = (ctx.cdb[1]! & UNMAP) !== 0 && pattern.every((b) => b === 0);
      if (e.blocks > 0) {
        await disk.lock.run(e.lba, e.lba + e.blocks, async () => {
          if (deallocate) {
            await discard(disk, e);
            return;
          }
          const chunkBlocks = Math.max(1, WRITE_SAME_CHUNK_BYTES / bs);
          const chunk = repeat(pattern, Math.min(e.blocks, chunkBlocks));
          for (let done = 0; done < e.blocks; done += chunkBlocks) {
            const n = Math.min(chunkBlocks, e.blocks - done);
            await writeMedium(disk, e.lba + done, chunk.subarray(0, n * bs), false);
          }
        });
      }
      return good(noData ? 0 : bs);
    },
  };
}

async function discard(disk: Disk, e: Extent): Promise<void> {
  const bs = disk.device.blockSize;
  await io(disk, Asc.WRITE_ERROR, () => disk.device.discard(e.lba * bs, e.blocks * bs));
  if (!disk.writeCacheEnabled()) await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
}

function compareAndWrite(disk: Disk): CommandEntry {
  return {
    opcode: 0x89,
    name: 'COMPARE AND WRITE',
    usage: usageOf(0x89, CDB16, DPO | FUA | FUA_NV).map((b, i) => (i >= 10 && i <= 12 ? 0 : b)),
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, COMPARE_AND_WRITE, disk.limits.maxCompareAndWriteBlocks);
      checkWritable(disk);
      const half = e.blocks * disk.device.blockSize;
      // The NUMBER OF LOGICAL BLOCKS splits the Data-Out into compare and write
      // halves; if the two disagree, neither half can be trusted.
      if (ctx.cmd.dataOut.length !== 2 * half) throw invalidFieldInCdb(COMPARE_AND_WRITE.lengthAt);
      if (e.blocks === 0) return;
      await disk.lock.run(e.lba, e.lba + e.blocks, async () => {
        compare(ctx.cmd.dataOut.subarray(0, half), await readMedium(disk, e));
        await writeMedium(disk, e.lba, ctx.cmd.dataOut.subarray(half), (ctx.cdb[1]! & FUA) !== 0);
      });
    },
  };
}

function orWrite(disk: Disk): CommandEntry {
  return {
    opcode: 0x8b,
    name: 'ORWRITE(16)',
    usage: usageOf(0x8b, CDB16, DPO | FUA | FUA_NV),
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, CDB16, disk.limits.maxTransferBlocks);
      checkWritable(disk);
      const n = receivedBlocks(disk, ctx, e.blocks);
      if (n > 0) {
        await disk.lock.run(e.lba, e.lba + n, async () => {
          // A copy: what a device reads may be shared with its other reads (a cache's buffers).
          const data = Buffer.from(await readMedium(disk, { lba: e.lba, blocks: n }));
          for (let i = 0; i < data.length; i++) data[i]! |= ctx.cmd.dataOut[i]!;
          await writeMedium(disk, e.lba, data, (ctx.cdb[1]! & FUA) !== 0);
        });
      }
      return good(e.blocks * disk.device.blockSize);
    },
  };
}

const UNMAP_HEADER = 8;
const UNMAP_DESCRIPTOR = 16;

function unmap(disk: Disk): CommandEntry {
  return {
    opcode: 0x42,
    name: 'UNMAP',
    usage: [0x42, 0, 0, 0, 0, 0, GROUP, 0xff, 0xff, CONTROL],
    async handler(ctx) {
      checkWritable(disk);
      const listLength = ctx.cdb.readUInt16BE(7);
      if (listLength === 0) return;
      const list = ctx.cmd.dataOut.subarray(0, listLength);
      if (list.length < UNMAP_HEADER) throw parameterListLengthError();
      // A BLOCK DESCRIPTOR DATA LENGTH beyond the list, or a trailing partial
      // descriptor, is cut to the whole descriptors that arrived.
      const descriptorBytes = Math.min(list.readUInt16BE(2), list.length - UNMAP_HEADER);
      const count = Math.floor(descriptorBytes / UNMAP_DESCRIPTOR);
      if (count > disk.limits.maxUnmapDescriptors) throw invalidFieldInParameterList(2);
      const extents: Extent[] = [];
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const at = UNMAP_HEADER + i * UNMAP_DESCRIPTOR;
        const blocks = list.readUInt32BE(at + 8);
        sum += blocks;
        if (sum > disk.limits.maxUnmapBlocks) throw invalidFieldInParameterList(at + 8);
        extents.push(extent(disk, uint64At(list, at), blocks));
      }
      for (const e of extents) {
        if (e.blocks > 0) await disk.lock.run(e.lba, e.lba + e.blocks, () => discard(disk, e));
      }
      return good(listLength);
    },
  };
}

function preFetch(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, IMMED),
    access: Access.read,
    async handler(ctx) {
      const e = boundedExtent(disk, ctx.cdb, layout, disk.limits.maxTransferBlocks);
      if (!disk.device.prefetch || e.blocks === 0) return;
      const bs = disk.device.blockSize;
      const done = disk.device.prefetch(e.lba * bs, e.blocks * bs);
      // GOOD, not CONDITION MET: nothing guarantees the blocks stay cached.
      // With IMMED the command is over before the prefetch, which is only advice.
      if (ctx.cdb[1]! & IMMED) done.catch(() => {});
      else await io(disk, Asc.UNRECOVERED_READ_ERROR, () => done);
    },
  };
}

function synchronizeCache(disk: Disk, opcode: number, name: string, layout: Layout): CommandEntry {
  return {
    opcode,
    name,
    usage: usageOf(opcode, layout, IMMED | SYNC_NV),
    async handler(ctx) {
      // NUMBER OF LOGICAL BLOCKS 0 means through the last LBA; the device
      // flushes everything, so the range is only checked.
      extent(disk, lbaOf(ctx.cdb, layout), lengthOf(ctx.cdb, layout));
      await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
    },
  };
}

function readCapacity10(disk: Disk): CommandEntry {
  return {
    opcode: 0x25,
    name: 'READ CAPACITY(10)',
    usage: [0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, CONTROL],
    // SBC-3: allowed whatever persistent reservation another nexus holds.
    access: Access.exceptClassic,
    handler(ctx) {
      const pmi = ctx.cdb[8]! & 0x01;
      if (!pmi && ctx.cdb.readUInt32BE(2) !== 0) throw invalidFieldInCdb(2);
      const data = Buffer.alloc(8);
      // A capacity beyond 32 bits answers FFFFFFFFh: READ CAPACITY(16) tells the rest.
      data.writeUInt32BE(Math.min(blockCount(disk) - 1, 0xffffffff), 0);
      data.writeUInt32BE(disk.device.blockSize, 4);
      return data;
    },
  };
}

const SERVICE_ACTION_IN_16 = 0x9e;

function readCapacity16(disk: Disk): CommandEntry {
  return {
    opcode: SERVICE_ACTION_IN_16,
    serviceAction: 0x10,
    name: 'READ CAPACITY(16)',
    usage: [SERVICE_ACTION_IN_16, 0x10, ...ff(8), ...ff(4), 0x01, CONTROL],
    access: Access.exceptClassic,
    handler(ctx) {
      const pmi = ctx.cdb[14]! & 0x01;
      if (!pmi && ctx.cdb.readBigUInt64BE(2) !== 0n) throw invalidFieldInCdb(2);
      const data = Buffer.alloc(32);
      data.writeBigUInt64BE(BigInt(blockCount(disk) - 1), 0);
      data.writeUInt32BE(disk.device.blockSize, 8);
      // No protection information; LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT;
      // LBPME (thin provisioned) and LBPRZ (deallocated blocks read as zeros).
      data[13] = Math.log2(blocksPerPhysicalBlock(disk.device));
      data[14] = 0x80 | 0x40;
      return truncate(data, ctx.cdb.readUInt32BE(10));
    },
  };
}

/** Bytes GET LBA STATUS examines per command: the file device reads them to find zeros. */
const LBA_STATUS_SCAN_BYTES = 1024 * 1024;

const enum Provisioning {
  Mapped = 0,
  Deallocated = 1,
}

function getLbaStatus(disk: Disk): CommandEntry {
  return {
    opcode: SERVICE_ACTION_IN_16,
    serviceAction: 0x12,
    name: 'GET LBA STATUS',
    usage: [SERVICE_ACTION_IN_16, 0x12, ...ff(8), ...ff(4), 0, CONTROL],
    access: Access.read,
    async handler(ctx) {
      const lba = uint64At(ctx.cdb, 2);
      const total = blockCount(disk);
      if (lba >= total) throw lbaOutOfRange();
      const allocation = ctx.cdb.readUInt32BE(10);
      const bs = disk.device.blockSize;
      const start = lba * bs;
      const maxDescriptors = Math.max(1, Math.floor((allocation - 8) / 16));
      const extents = await io(disk, Asc.UNRECOVERED_READ_ERROR, () => disk.device.provisioning(start, Math.min(LBA_STATUS_SCAN_BYTES, disk.device.size - start)));
      const descriptors = extents.slice(0, maxDescriptors).map((x) => {
        const d = Buffer.alloc(16);
        d.writeBigUInt64BE(BigInt(x.offset / bs), 0);
        d.writeUInt32BE(x.length / bs, 8);
        d[12] = x.mapped ? Provisioning.Mapped : Provisioning.Deallocated;
        return d;
      });
      const header = Buffer.alloc(8);
      header.writeUInt32BE(4 + 16 * descriptors.length, 0);
      return truncate(Buffer.concat([header, ...descriptors]), allocation);
    },
  };
}

/** READ DEFECT DATA: a logical unit over a file has no defect list; the header echoes the request. */
function readDefectData10(): CommandEntry {
  return {
    opcode: 0x37,
    name: 'READ DEFECT DATA(10)',
    usage: [0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, CONTROL],
    access: Access.read,
    handler(ctx) {
      return truncate(Buffer.from([0, ctx.cdb[2]! & 0x1f, 0, 0]), ctx.cdb.readUInt16BE(7));
    },
  };
}

function readDefectData12(): CommandEntry {
  return {
    opcode: 0xb7,
    name: 'READ DEFECT DATA(12)',
    usage: [0xb7, 0x1f, ...ff(4), ...ff(4), 0, CONTROL],
    access: Access.read,
    handler(ctx) {
      return truncate(Buffer.from([0, ctx.cdb[1]! & 0x1f, 0, 0, 0, 0, 0, 0]), ctx.cdb.readUInt32BE(6));
    },
  };
}

/** START STOP UNIT on a fixed disk: stopping flushes the cache unless NO_FLUSH; the medium stays. */
function startStopUnit(disk: Disk): CommandEntry {
  const NO_FLUSH = 0x04;
  const START = 0x01;
  return {
    opcode: 0x1b,
    name: 'START STOP UNIT',
    usage: [0x1b, 0x01, 0, 0x0f, 0xf0 | NO_FLUSH | START, CONTROL],
    async handler(ctx) {
      const flags = ctx.cdb[4]!;
      if (!(flags & START) && !(flags & NO_FLUSH)) await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
    },
  };
}

/** The disk's own commands, to merge with the SPC ones. */
export function diskCommands(disk: Disk): CommandEntry[] {
  return [
    {
      opcode: 0x08,
      name: 'READ(6)',
      usage: [0x08, 0x1f, 0xff, 0xff, 0xff, CONTROL],
      access: Access.read,
      async handler(ctx) {
        return readMedium(disk, extent6(disk, ctx.cdb));
      },
    },
    {
      opcode: 0x0a,
      name: 'WRITE(6)',
      usage: [0x0a, 0x1f, 0xff, 0xff, 0xff, CONTROL],
      async handler(ctx) {
        const e = extent6(disk, ctx.cdb);
        checkWritable(disk);
        await writeBlocks(disk, ctx, e, false);
        return good(e.blocks * disk.device.blockSize);
      },
    },
    startStopUnit(disk),
    readCapacity10(disk),
    read(disk, 0x28, 'READ(10)', CDB10),
    write(disk, 0x2a, 'WRITE(10)', CDB10),
    writeAndVerify(disk, 0x2e, 'WRITE AND VERIFY(10)', CDB10),
    verify(disk, 0x2f, 'VERIFY(10)', CDB10),
    preFetch(disk, 0x34, 'PRE-FETCH(10)', CDB10),
    synchronizeCache(disk, 0x35, 'SYNCHRONIZE CACHE(10)', CDB10),
    readDefectData10(),
    writeSame(disk, 0x41, 'WRITE SAME(10)', CDB10),
    unmap(disk),
    read(disk, 0x88, 'READ(16)', CDB16),
    compareAndWrite(disk),
    write(disk, 0x8a, 'WRITE(16)', CDB16),
    orWrite(disk),
    writeAndVerify(disk, 0x8e, 'WRITE AND VERIFY(16)', CDB16),
    verify(disk, 0x8f, 'VERIFY(16)', CDB16),
    preFetch(disk, 0x90, 'PRE-FETCH(16)', CDB16),
    synchronizeCache(disk, 0x91, 'SYNCHRONIZE CACHE(16)', CDB16),
    writeSame(disk, 0x93, 'WRITE SAME(16)', CDB16),
    readCapacity16(disk),
    getLbaStatus(disk),
    read(disk, 0xa8, 'READ(12)', CDB12),
    write(disk, 0xaa, 'WRITE(12)', CDB12),
    writeAndVerify(disk, 0xae, 'WRITE AND VERIFY(12)', CDB12),
    verify(disk, 0xaf, 'VERIFY(12)', CDB12),
    readDefectData12(),
  ];
}
