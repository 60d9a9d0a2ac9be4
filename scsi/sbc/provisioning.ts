// Logical block provisioning (SBC-3 4.7): WRITE SAME (10) and (16), UNMAP and
// GET LBA STATUS. Deallocated blocks read as zeros (LBPRZ=1).
import { truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry } from '../command-table.ts';
import {
  Asc,
  invalidFieldInCdb,
  invalidFieldInParameterList,
  lbaOutOfRange,
  parameterListLengthError,
  scsiError,
  SenseKey,
} from '../sense.ts';
import { CDB10, CDB16, ff, GROUP, lbaOf, lengthOf, NDOB, SERVICE_ACTION_IN_16, uint64At, UNMAP, usageOf, type Layout } from './cdb.ts';
import { blockCount, checkWritable, discard, extent, good, io, repeat, writeMedium, type Disk, type Extent } from './state.ts';

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
      const noData = (ctx.cdb.readUInt8(1) & ndob) !== 0;
      // The pattern must arrive whole: there is no sensible partial WRITE SAME.
      if (!noData && ctx.cmd.dataOut.length !== bs) throw scsiError(SenseKey.IllegalRequest, Asc.INVALID_FIELD_IN_CDB);
      const pattern = noData ? Buffer.alloc(bs) : ctx.cmd.dataOut;
      // With LBPRZ=1 a deallocated block reads as zeros: UNMAP=1 with a zero
      // pattern may deallocate instead of writing (SBC-3 WRITE SAME, UNMAP bit).
      const deallocate = (ctx.cdb.readUInt8(1) & UNMAP) !== 0 && pattern.every((b) => b === 0);
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
      const extents = await io(disk, Asc.UNRECOVERED_READ_ERROR, () =>
        disk.device.provisioning(start, Math.min(LBA_STATUS_SCAN_BYTES, disk.device.size - start)),
      );
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

export function provisioningCommands(disk: Disk): CommandEntry[] {
  return [writeSame(disk, 0x41, 'WRITE SAME(10)', CDB10), unmap(disk), writeSame(disk, 0x93, 'WRITE SAME(16)', CDB16), getLbaStatus(disk)];
}
