// Block-device VPD pages (SBC-3 6.5): Block Limits (B0h), Block Device
// Characteristics (B1h), Logical Block Provisioning (B2h).
import type { VpdPage } from '../vpd-pages.ts';

/** The limits a disk LU enforces and reports in Block Limits; all in logical blocks. */
export interface DiskLimits {
  /** MAXIMUM TRANSFER LENGTH: longest READ, WRITE, VERIFY, ORWRITE and PRE-FETCH. */
  readonly maxTransferBlocks: number;
  /** OPTIMAL TRANSFER LENGTH. */
  readonly optimalTransferBlocks: number;
  /** MAXIMUM COMPARE AND WRITE LENGTH (1..255). */
  readonly maxCompareAndWriteBlocks: number;
  /** MAXIMUM WRITE SAME LENGTH (also bounds WRITE SAME with NUMBER OF LOGICAL BLOCKS 0). */
  readonly maxWriteSameBlocks: number;
  /** MAXIMUM UNMAP LBA COUNT (the sum over one UNMAP's descriptors). */
  readonly maxUnmapBlocks: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
  readonly maxUnmapDescriptors: number;
}

export function defaultLimits(blockSize: number): DiskLimits {
  const mib = (n: number): number => (n * 1024 * 1024) / blockSize;
  return {
    // The fabric holds a whole command's data in memory, so this bounds it;
    // 32 MiB covers the 65536-block transfers libiscsi's suite makes at 512 B.
    maxTransferBlocks: mib(32),
    optimalTransferBlocks: mib(1),
    maxCompareAndWriteBlocks: 255,
    // A WRITE SAME or UNMAP zeroes at most this much in one command, so none
    // runs long enough to meet an initiator's command timeout.
    maxWriteSameBlocks: mib(512),
    maxUnmapBlocks: mib(512),
    maxUnmapDescriptors: 256,
  };
}

/** Page bodies: `data` returns the bytes after the 4-byte header, so byte n of SBC-3's tables is body[n - 4]. */
export function diskVpdPages(limits: DiskLimits, blocksPerPhysicalBlock: number): VpdPage[] {
  return [
    { page: 0xb0, name: 'Block Limits', data: () => blockLimits(limits, blocksPerPhysicalBlock) },
    { page: 0xb1, name: 'Block Device Characteristics', data: blockDeviceCharacteristics },
    { page: 0xb2, name: 'Logical Block Provisioning', data: logicalBlockProvisioning },
  ];
}

function blockLimits(limits: DiskLimits, blocksPerPhysicalBlock: number): Buffer {
  const p = Buffer.alloc(0x3c);
  // WSNZ=0: WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 means "to the last LBA".
  p[1] = limits.maxCompareAndWriteBlocks;
  p.writeUInt16BE(blocksPerPhysicalBlock, 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
  p.writeUInt32BE(limits.maxTransferBlocks, 4);
  p.writeUInt32BE(limits.optimalTransferBlocks, 8);
  p.writeUInt32BE(limits.maxTransferBlocks, 12); // MAXIMUM PREFETCH LENGTH
  p.writeUInt32BE(limits.maxUnmapBlocks, 16);
  p.writeUInt32BE(limits.maxUnmapDescriptors, 20);
  p.writeUInt32BE(blocksPerPhysicalBlock, 24); // OPTIMAL UNMAP GRANULARITY; UGAVALID=0
  p.writeBigUInt64BE(BigInt(limits.maxWriteSameBlocks), 32);
  return p;
}

function blockDeviceCharacteristics(): Buffer {
  const p = Buffer.alloc(0x3c);
  p.writeUInt16BE(0x0001, 0); // MEDIUM ROTATION RATE: non-rotating medium
  p[4] = 0x02; // FUAB: FUA makes data durable as SYNCHRONIZE CACHE does
  return p;
}

function logicalBlockProvisioning(): Buffer {
  // LBPU, LBPWS, LBPWS10, LBPRZ; ANC_SUP=0, DP=0. PROVISIONING TYPE: thin.
  return Buffer.from([0x00, 0x80 | 0x40 | 0x20 | 0x04, 0x02, 0x00]);
}
