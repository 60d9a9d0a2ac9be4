// What the SBC handlers of one disk share: the device, its limits, the range
// lock and write-cache state, and the medium I/O that turns device failures
// into sense data.
import type { CommandContext, CommandResult } from '../command-table.ts';
import type { LogFn } from '../logical-unit.ts';
import { Asc, invalidFieldInCdb, lbaOutOfRange, ScsiError, scsiError, SenseKey, writeProtected } from '../sense.ts';
import { Status, type ScsiResponse } from '../types.ts';
import type { BlockDevice } from './block-device.ts';
import { lbaOf, transferLength, type Layout } from './cdb.ts';
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

export interface Extent {
  /** First block. */
  readonly lba: number;
  readonly blocks: number;
}

export function blockCount(disk: Disk): number {
  return disk.device.size / disk.device.blockSize;
}

export function blocksPerPhysicalBlock(device: BlockDevice): number {
  return (device.physicalBlockSize ?? device.blockSize) / device.blockSize;
}

/** LBA OUT OF RANGE unless [lba, lba + blocks) lies within the medium. */
export function extent(disk: Disk, lba: number, blocks: number): Extent {
  if (lba + blocks > blockCount(disk)) throw lbaOutOfRange();
  return { lba, blocks };
}

/** An extent whose length is bounded by `max` (INVALID FIELD IN CDB on the length field). */
export function boundedExtent(disk: Disk, cdb: Buffer, layout: Layout, max: number): Extent {
  const blocks = transferLength(cdb, layout);
  if (blocks > max) throw invalidFieldInCdb(layout.lengthAt);
  return extent(disk, lbaOf(cdb, layout), blocks);
}

export function checkWritable(disk: Disk): void {
  if (disk.writeProtected()) throw writeProtected();
}

/** Device failures become MEDIUM ERROR for the initiator, and a log record for the operator. */
export function io<T>(disk: Disk, asc: number, op: () => Promise<T>): Promise<T> {
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

export const readMedium = (disk: Disk, e: Extent): Promise<Buffer> =>
  io(disk, Asc.UNRECOVERED_READ_ERROR, () => disk.device.read(e.lba * disk.device.blockSize, e.blocks * disk.device.blockSize));

/** The extent as READ's Data-In: in a buffer the medium lends when it can, given back by the transport once sent (ScsiResponse.release). */
export function readForInitiator(disk: Disk, e: Extent): Promise<ScsiResponse> {
  const { device } = disk;
  const offset = e.lba * device.blockSize;
  const length = e.blocks * device.blockSize;
  if (!device.readLent) return readMedium(disk, e).then((data) => ({ status: Status.Good, data }));
  const readLent = device.readLent.bind(device);
  return io(disk, Asc.UNRECOVERED_READ_ERROR, () => readLent(offset, length)).then(({ data, release }) => ({
    status: Status.Good,
    data,
    release,
  }));
}

export const writeMedium = (disk: Disk, lba: number, data: Buffer, fua: boolean): Promise<void> =>
  io(disk, Asc.WRITE_ERROR, () => disk.device.write(lba * disk.device.blockSize, data, { fua: fua || !disk.writeCacheEnabled() }));

/** Releases the extent; without the write cache the release is made durable at once. */
export async function discard(disk: Disk, e: Extent): Promise<void> {
  const bs = disk.device.blockSize;
  await io(disk, Asc.WRITE_ERROR, () => disk.device.discard(e.lba * bs, e.blocks * bs));
  if (!disk.writeCacheEnabled()) await io(disk, Asc.WRITE_ERROR, () => disk.device.flush());
}

/** MISCOMPARE DURING VERIFY OPERATION with the offset of the first differing byte in INFORMATION. */
export function compare(expected: Buffer, actual: Buffer): void {
  if (expected.equals(actual)) return;
  let i = 0;
  while (expected[i] === actual[i]) i++;
  throw scsiError(SenseKey.Miscompare, Asc.MISCOMPARE_DURING_VERIFY, { information: i });
}

export function repeat(block: Buffer, times: number): Buffer {
  const out = Buffer.allocUnsafe(block.length * times);
  for (let i = 0; i < times; i++) block.copy(out, i * block.length);
  return out;
}

/**
 * The whole blocks of Data-Out that arrived, at most `blocks` of them. Writes
 * honour what the initiator sent when its expected transfer length disagrees
 * with the CDB; the transport reports the difference as a residual.
 */
export function receivedBlocks(disk: Disk, ctx: CommandContext, blocks: number): number {
  return Math.min(blocks, Math.floor(ctx.cmd.dataOut.length / disk.device.blockSize));
}

/** GOOD, with the Data-Out length the CDB called for (the transport reports any difference as a residual). */
export function good(dataOutLength: number): CommandResult {
  return { status: Status.Good, dataOutLength };
}

/** Writes the whole blocks that arrived under the range lock; resolves with the bytes written, if any. */
export function writeBlocks(disk: Disk, ctx: CommandContext, e: Extent, fua: boolean): Promise<Buffer | undefined> {
  const n = receivedBlocks(disk, ctx, e.blocks);
  if (n === 0) return Promise.resolve(undefined);
  const data = ctx.cmd.dataOut.subarray(0, n * disk.device.blockSize);
  return disk.lock.run(e.lba, e.lba + n, () => writeMedium(disk, e.lba, data, fua)).then(() => data);
}
