// The tape library as the gateway serves it: the inventory and cartridges on
// the cache engine, a changer and drives as SCSI units, and their iSCSI
// targets, either one per device (as AWS's tape gateway) or one for all.
import { availableParallelism } from 'node:os';
import type { DeviceIdentity } from '../../scsi/identity.ts';
import type { LogicalUnit } from '../../scsi/types.ts';
import type { DriveIdentity } from '../../scsi/smc/media-library.ts';
import { createChangerUnit } from '../../scsi/smc/changer.ts';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { IscsiConfig, LibraryConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { CartridgeLifecycle } from '../tape/cartridge-lifecycle.ts';
import { Library } from '../tape/library.ts';
import type { LoadedMedium } from '../tape/library-bay.ts';
import { DriveThreadCartridges } from '../tape/drive-thread-bay.ts';
import { serveCartridgeStore } from '../tape/remote-store.ts';
import type { CartridgeStore } from '../tape/cartridge.ts';
import { DriveThread, drivesInThreads } from './drive-thread.ts';
import type { PoolCatalog } from '../tape/pools.ts';
import { LibraryService, type DeviceAddress } from '../tape/library-service.ts';
import { TapeCatalog } from '../tape/tape-catalog.ts';
import { authOrNone, serialNumber, targetName, type BuiltTarget } from './targets.ts';
import { must } from '../must.ts';

const DRIVE_MODEL = { vendor: 'IBM', product: 'ULT3580-TD5' } as const;
/** IBM LTO drives report a 10-character serial; DVCID in the changer carries the same. */
const SERIAL_LENGTH = 10;

export interface TapeLibraryParts {
  readonly library: Library<LoadedMedium>;
  readonly service: LibraryService;
  readonly tapes: TapeCatalog;
  readonly cartridges: CartridgeLifecycle;
  readonly targets: readonly BuiltTarget[];
  /** Flushes and closes every loaded cartridge (unload without moving). */
  close(): Promise<void>;
}

export async function openTapeLibrary(options: {
  config: LibraryConfig;
  iscsi: IscsiConfig;
  gatewayId: string;
  gatewayName: string;
  catalog: Catalog;
  /** The engine's tapes namespace. */
  tapeStore: CartridgeStore;
  pools: PoolCatalog;
  logger: Logger;
}): Promise<TapeLibraryParts> {
  const { config, iscsi, gatewayId, gatewayName, logger } = options;
  const log = logger.child({ component: 'tape-library' });
  const logFn = (message: string, fields: Record<string, unknown>) => log.error(fields, message);
  const tapes = new TapeCatalog(options.catalog);
  const cartridges = new CartridgeLifecycle(options.tapeStore, tapes, config.segmentSize);

  const driveNames = Array.from({ length: config.drives }, (_, i) => `tapedrive-${String(i + 1).padStart(2, '0')}`);
  const driveIdentities: DriveIdentity[] = driveNames.map((name) => ({
    ...DRIVE_MODEL,
    serial: serialNumber(gatewayId, name, SERIAL_LENGTH),
  }));
  const libraryOptions = {
    catalog: options.catalog,
    drives: driveIdentities,
    storageSlots: config.storageSlots,
    importExportSlots: config.importExportSlots,
    log: (message: string, fields: Record<string, unknown>) => log.warn(fields, message),
  };
  const identity = (name: string, serial: string): Pick<DeviceIdentity, 'serial' | 'gatewayId' | 'name'> => ({ serial, gatewayId, name });
  const driveIdentity = (i: number) => {
    const name = must(driveNames[i], `drive ${i + 1}'s name`);
    const { serial } = must(driveIdentities[i], `drive ${i + 1}'s identity`);
    return { name, serial, identity: { ...identity(name, serial), ...DRIVE_MODEL } };
  };

  // A thread per drive (drive-thread.ts says why) needs a target per drive: a connection to one target for all carries every LUN.
  const threads = drivesInThreads(config)
    ? driveNames.map((_, i) => {
        const { name, identity } = driveIdentity(i);
        const setup = {
          targetName: targetName(iscsi, gatewayName, name),
          alias: `${gatewayName} ${name}`,
          identity,
          logLevel: logger.level,
        };
        return new DriveThread(setup, log);
      })
    : undefined;
  log.info(
    { driveThreads: config.driveThreads, cores: availableParallelism() },
    threads ? 'each tape drive served by a thread of its own' : 'tape drives served on the main thread',
  );
  let library: Library<LoadedMedium>;
  /** Each drive's unit, or the thread it is in. */
  let drives: ({ name: string; serial: string } & ({ unit: LogicalUnit; host?: undefined } | { host: DriveThread; unit?: undefined }))[];
  if (threads) {
    // Each thread starts when a login or a cartridge first needs it (DriveThread).
    for (const thread of threads) serveCartridgeStore(thread.rpc, options.tapeStore);
    const threadCartridges = new DriveThreadCartridges(new Map(threads.map((thread, i) => [i + 1, thread])), cartridges);
    const threaded = await Library.open({ ...libraryOptions, cartridges: threadCartridges });
    threaded.bays.forEach((bay, i) => threadCartridges.serveBay(i + 1, bay));
    library = threaded;
    drives = threads.map((host, i) => ({ ...driveIdentity(i), host }));
  } else {
    const here = await Library.open({ ...libraryOptions, cartridges });
    library = here;
    // The library made one bay per identity, in order.
    drives = here.bays.map((bay, i) => {
      const { name, serial, identity } = driveIdentity(i);
      return { name, serial, unit: createTapeDriveUnit({ identity, bay, log: logFn }) };
    });
  }

  const changerSerial = serialNumber(gatewayId, 'mediachanger', SERIAL_LENGTH);
  const changer = createChangerUnit({ identity: identity('mediachanger', changerSerial), library, log: logFn });

  const auth = authOrNone(iscsi.auth);
  const target = (unitName: string, luns: { lun: number; unit: LogicalUnit }[], host?: DriveThread) => ({
    name: targetName(iscsi, gatewayName, unitName),
    alias: `${gatewayName} ${unitName}`,
    scsi: new ScsiTarget({ luns }),
    ...(auth ? { auth } : {}),
    ...(iscsi.allowedInitiators ? { allowedInitiators: iscsi.allowedInitiators } : {}),
    ...(host ? { host } : {}),
  });
  let built: BuiltTarget[];
  let changerAddress: DeviceAddress;
  let driveAddresses: DeviceAddress[];
  if (config.targets === 'per-device') {
    built = [
      {
        definition: target('mediachanger', [{ lun: 0, unit: changer }]),
        summary: { name: targetName(iscsi, gatewayName, 'mediachanger'), luns: [{ lun: 0, deviceType: 'changer' }] },
      },
      // A drive's target here only logs in when its thread serves it: no LUN of it is reached on this thread.
      ...drives.map(({ name, unit, host }) => ({
        definition: target(name, unit ? [{ lun: 0, unit }] : [], host),
        summary: { name: targetName(iscsi, gatewayName, name), luns: [{ lun: 0, deviceType: 'tape' as const }] },
      })),
    ];
    changerAddress = { target: targetName(iscsi, gatewayName, 'mediachanger'), lun: 0, serial: changerSerial };
    driveAddresses = drives.map(({ name, serial }) => ({ target: targetName(iscsi, gatewayName, name), lun: 0, serial }));
  } else {
    const name = targetName(iscsi, gatewayName, 'vtl');
    const luns = [
      { lun: 0, unit: changer as LogicalUnit },
      ...drives.map(({ unit }, i) => ({ lun: i + 1, unit: must(unit, `drive ${i + 1}'s unit on this thread`) })),
    ];
    built = [
      {
        definition: target('vtl', luns),
        summary: { name, luns: luns.map((l) => ({ lun: l.lun, deviceType: l.lun === 0 ? ('changer' as const) : ('tape' as const) })) },
      },
    ];
    changerAddress = { target: name, lun: 0, serial: changerSerial };
    driveAddresses = drives.map(({ serial }, i) => ({ target: name, lun: i + 1, serial }));
  }

  const service = new LibraryService({
    library,
    cartridges,
    tapes,
    pools: options.pools,
    minTapeBytes: config.minTapeSize,
    maxTapeBytes: config.maxTapeSize,
    mediaSuffix: config.mediaSuffix,
    changer: changerAddress,
    drives: driveAddresses,
  });
  return {
    library,
    service,
    tapes,
    cartridges,
    targets: built,
    close: async () => {
      for (const bay of library.bays) await library.exclusive(() => bay.release());
      for (const thread of threads ?? []) await thread.close();
    },
  };
}
