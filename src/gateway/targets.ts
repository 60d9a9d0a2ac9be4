// One iSCSI target per block volume, its disk at LUN 0 (the tape library's
// targets are built in tape-library.ts).
import { createHash } from 'node:crypto';
import { PeripheralDeviceType, type DeviceIdentity } from '../../scsi/identity.ts';
import { createDiskUnit } from '../../scsi/sbc/disk.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import type { IscsiConfig } from '../config/index.ts';
import type { IscsiTargetDefinition, TargetAuth } from '../iscsi/target-definition.ts';
import type { Logger } from '../log.ts';
import type { ServedVolume } from '../volume/volume-service.ts';

/** What the gateway tells people and tests about a target it serves. */
export interface TargetSummary {
  readonly name: string;
  readonly luns: readonly { readonly lun: number; readonly deviceType: 'disk' | 'tape' | 'changer'; readonly sizeBytes?: number }[];
}

export interface BuiltTarget {
  readonly definition: IscsiTargetDefinition;
  readonly summary: TargetSummary;
}

export function targetName(iscsi: IscsiConfig, gatewayName: string, unit: string): string {
  return `${iscsi.iqnPrefix}:${gatewayName}-${unit}`;
}

/** Stable for a gateway and device name, different across gateways. */
export function serialNumber(gatewayId: string, name: string, length = 16): string {
  return createHash('sha256').update(`${gatewayId}/${name}`).digest('hex').slice(0, length).toUpperCase();
}

export function authOrNone(auth: TargetAuth | undefined): TargetAuth | undefined {
  return auth?.chap ? auth : undefined;
}

/**
 * A volume's target, its disk at LUN 0. Its serial number and designators
 * come from `unitName`: the name for volumes of the configuration file (as
 * before volumes had ids), the id for the others, so that a volume made
 * again under a deleted one's name is not taken for it.
 */
export function volumeTarget(
  volume: ServedVolume,
  options: { gatewayId: string; gatewayName: string; iscsi: IscsiConfig; logger: Logger },
): BuiltTarget {
  const { device } = volume;
  const name = targetName(options.iscsi, options.gatewayName, volume.name);
  const identity: DeviceIdentity = {
    deviceType: PeripheralDeviceType.DirectAccess,
    vendor: 'TAPEGW',
    product: 'Volume',
    revision: '0100',
    serial: serialNumber(options.gatewayId, `volume/${volume.unitName}`),
    gatewayId: options.gatewayId,
    name: `volume/${volume.unitName}`,
  };
  const log = options.logger.child({ target: name, lun: 0 });
  const unit = createDiskUnit({ identity, device, log: (message, fields) => log.error(fields, message) });
  const auth = authOrNone(volume.auth ?? options.iscsi.auth);
  const allowedInitiators = volume.allowedInitiators ?? options.iscsi.allowedInitiators;
  return {
    definition: {
      name,
      alias: `${options.gatewayName} volume ${volume.name}`,
      scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }),
      ...(auth ? { auth } : {}),
      ...(allowedInitiators ? { allowedInitiators } : {}),
    },
    summary: { name, luns: [{ lun: 0, deviceType: 'disk', sizeBytes: device.size }] },
  };
}
