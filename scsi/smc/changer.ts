// A medium changer (SMC-3) logical unit over a MediaLibrary: what backup
// software sees as the tape library's robot.
import { PeripheralDeviceType, VersionDescriptor, type DeviceIdentity } from '../identity.ts';
import { ScsiLogicalUnit, type LogFn } from '../logical-unit.ts';
import { Asc } from '../sense.ts';
import { spcCommands, spcModePages } from '../spc/commands.ts';
import { changerCommands } from './commands.ts';
import { deviceCapabilitiesPage, elementAddressAssignmentPage, transportGeometryPage } from './changer-mode-pages.ts';
import type { MediaLibrary } from './media-library.ts';
import type { Changer } from './state.ts';

/** The changer AWS's tape gateway presents as "STK-L700": backup software lists it as supported. */
export const STK_L700 = { vendor: 'STK', product: 'L700', revision: '0105' } as const;

type Model = Pick<DeviceIdentity, 'vendor' | 'product' | 'revision'>;

export interface ChangerUnitOptions {
  /** Serial, gateway id and name; vendor, product and revision default to STK_L700. Type, RMB and SMC-3 are set here. */
  readonly identity: Omit<DeviceIdentity, 'deviceType' | keyof Model> & Partial<Model>;
  readonly library: MediaLibrary;
  readonly log?: LogFn;
}

export function createChangerUnit(options: ChangerUnitOptions): ScsiLogicalUnit {
  const { library } = options;
  const changer: Changer = { library, preventing: new Set(), searches: new Map() };
  const identity: DeviceIdentity = {
    ...STK_L700,
    ...options.identity,
    deviceType: PeripheralDeviceType.MediumChanger,
    removable: true,
    versionDescriptors: [
      VersionDescriptor.SMC3,
      ...(options.identity.versionDescriptors ?? []).filter((v) => v !== VersionDescriptor.SMC3),
    ],
  };
  const lu = new ScsiLogicalUnit({
    identity,
    commands: [...spcCommands(), ...changerCommands(changer)],
    modePages: [...spcModePages, elementAddressAssignmentPage(library.layout()), transportGeometryPage, deviceCapabilitiesPage],
    // SPC-4 6.15: a prevention ends with a reset or the loss of the nexus that asked for it.
    taskManagement(fn, nexus) {
      if (fn === 'lun-reset' || fn === 'target-reset') changer.preventing.clear();
      else if (fn === 'i-t-nexus-loss') {
        changer.preventing.delete(nexus.key);
        changer.searches.delete(nexus.key);
      }
    },
    ...(options.log ? { log: options.log } : {}),
  });
  library.onInventoryChanged((change) =>
    lu.unitAttentions.establishAll(change.importExportOnly ? Asc.IMPORT_OR_EXPORT_ELEMENT_ACCESSED : Asc.NOT_READY_TO_READY_CHANGE),
  );
  return lu;
}
