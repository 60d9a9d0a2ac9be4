// A direct-access (SBC-3) logical unit over a BlockDevice: what the gateway
// serves for a block volume.
import { VersionDescriptor, PeripheralDeviceType, type DeviceIdentity } from '../identity.ts';
import { ScsiLogicalUnit, type LogFn } from '../logical-unit.ts';
import type { ModePage, ModeParameterHooks } from '../mode-pages.ts';
import { invalidFieldInParameterList } from '../sense.ts';
import { flag, PageLayout } from '../page-layout.ts';
import { controlFields, controlModePage, informationalExceptionsModePage } from '../spc/common-mode-pages.ts';
import { spcCommands } from '../spc/commands.ts';
import { atomicWriteCommands } from './atomic-writes.ts';
import type { BlockDevice } from './block-device.ts';
import { cacheCommands } from './cache.ts';
import { capacityCommands } from './capacity.ts';
import { provisioningCommands } from './provisioning.ts';
import { RangeLock } from './range-lock.ts';
import { readWriteCommands } from './read-write.ts';
import { blocksPerPhysicalBlock, type Disk } from './state.ts';
import { verifyCommands } from './verify.ts';
import { defaultLimits, diskVpdPages, type DiskLimits } from './vpd.ts';

export type { BlockDevice, ProvisioningExtent } from './block-device.ts';
export type { DiskLimits } from './vpd.ts';

export interface DiskUnitOptions {
  /** Vendor, product, serial...; the device type and the SBC-3 version descriptor are set here. */
  readonly identity: DeviceIdentity;
  readonly device: BlockDevice;
  /** Overrides of the Block Limits the unit enforces and reports. */
  readonly limits?: Partial<DiskLimits>;
  readonly log?: LogFn;
}

/** Caching mode page (SBC-3 6.4.5), the fields the gateway sets or reads; offsets of the page body. */
const cachingFields = new PageLayout(18, {
  writeCacheEnable: flag(0, 2),
  readCacheDisable: flag(0, 0),
});

/** WCE on by default and changeable; the read cache is always on. */
const cachingModePage: ModePage = {
  page: 0x08,
  name: 'Caching',
  defaults: cachingFields.encode({ writeCacheEnable: true, readCacheDisable: false }),
  changeable: cachingFields.mask('writeCacheEnable'),
};

/** On a disk the Control page's SWP (software write protect) is changeable too. */
const diskControlPage: ModePage = {
  ...controlModePage,
  changeable: controlFields.mask('descriptorSense', 'softwareWriteProtect'),
};

const WP = 0x80;
const DPOFUA = 0x10;

function modeParameters(device: BlockDevice, writeProtected: () => boolean): ModeParameterHooks {
  const blocks = device.size / device.blockSize;
  return {
    deviceSpecificParameter: () => (writeProtected() ? WP : 0) | DPOFUA,
    blockDescriptors(long) {
      const d = Buffer.alloc(long ? 16 : 8);
      if (long) {
        d.writeBigUInt64BE(BigInt(blocks), 0);
        d.writeUInt32BE(device.blockSize, 12);
      } else {
        d.writeUInt32BE(Math.min(blocks, 0xffffffff), 0);
        d.writeUIntBE(device.blockSize, 5, 3);
      }
      return [d];
    },
    // The block size and capacity are the volume's: a descriptor may only restate them.
    select({ blockDescriptors, long }, offsets) {
      blockDescriptors.forEach((d, i) => {
        const at = offsets.blockDescriptors + i * d.length;
        const count = long ? d.readBigUInt64BE(0) : BigInt(d.readUInt32BE(0));
        if (count !== 0n && count !== BigInt(long ? blocks : Math.min(blocks, 0xffffffff))) throw invalidFieldInParameterList(at);
        if (!long && d[4] !== 0) throw invalidFieldInParameterList(at + 4);
        const length = long ? d.readUInt32BE(12) : d.readUIntBE(5, 3);
        if (length !== device.blockSize) throw invalidFieldInParameterList(at + (long ? 12 : 5));
      });
    },
  };
}

export function createDiskUnit(options: DiskUnitOptions): ScsiLogicalUnit {
  const { device } = options;
  const limits: DiskLimits = { ...defaultLimits(device.blockSize), ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    const max = name === 'maxCompareAndWriteBlocks' ? 0xff : 0xffffffff;
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new RangeError(`disk limit ${name}=${value} is not an integer in 1..${max}`);
  }
  const disk: Disk = {
    device,
    limits,
    lock: new RangeLock(),
    writeCacheEnabled: () => cachingFields.get(lu.modePages.value(cachingModePage, 'current'), 'writeCacheEnable') === 1,
    writeProtected: () =>
      device.readOnly || controlFields.get(lu.modePages.value(diskControlPage, 'current'), 'softwareWriteProtect') === 1,
    log: (message, fields) => options.log?.(message, { ...fields, device: options.identity.name }),
  };
  const identity: DeviceIdentity = {
    ...options.identity,
    deviceType: PeripheralDeviceType.DirectAccess,
    versionDescriptors: [
      VersionDescriptor.SBC3,
      ...(options.identity.versionDescriptors ?? []).filter((v) => v !== VersionDescriptor.SBC3),
    ],
  };
  const lu: ScsiLogicalUnit = new ScsiLogicalUnit({
    identity,
    commands: [
      ...spcCommands(),
      ...readWriteCommands(disk),
      ...verifyCommands(disk),
      ...atomicWriteCommands(disk),
      ...provisioningCommands(disk),
      ...capacityCommands(disk),
      ...cacheCommands(disk),
    ],
    vpdPages: diskVpdPages(limits, blocksPerPhysicalBlock(device)),
    modePages: [diskControlPage, informationalExceptionsModePage, cachingModePage],
    modeParameters: modeParameters(device, () => disk.writeProtected()),
    ...(options.log ? { log: options.log } : {}),
  });
  return lu;
}
