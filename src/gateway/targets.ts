// One iSCSI target per block volume, its disk at LUN 0 (the tape library's
// targets are built in tape-library.ts).
import { createHash } from 'node:crypto';
import { PeripheralDeviceType, type DeviceIdentity } from '../../scsi/identity.ts';
import { createDiskUnit } from '../../scsi/sbc/disk.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import type { IscsiConfig } from '../config/index.ts';
import type { IscsiTargetDefinition, TargetAuth } from '../iscsi/target-definition.ts';
import type { Logger } from '../log.ts';
import type { OpenVolume } from './volumes.ts';

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

export function volumeTarget(
  volume: OpenVolume,
  options: { gatewayId: string; gatewayName: string; iscsi: IscsiConfig; logger: Logger },
): BuiltTarget {
  const { config, device } = volume;
  const name = targetName(options.iscsi, options.gatewayName, config.name);
  const identity: DeviceIdentity = {
    deviceType: PeripheralDeviceType.DirectAccess,
    vendor: 'TAPEGW',
    product: 'Volume',
    revision: '0100',
    serial: serialNumber(options.gatewayId, `volume/${config.name}`),
    gatewayId: options.gatewayId,
    name: `volume/${config.name}`,
  };
  const log = options.logger.child({ target: name, lun: 0 });
  const unit = createDiskUnit({ identity, device, log: (message, fields) => log.error(fields, message) });
  const auth = authOrNone(config.auth ?? options.iscsi.auth);
  const allowedInitiators = config.allowedInitiators ?? options.iscsi.allowedInitiators;
  return {
    definition: {
      name,
      alias: `${options.gatewayName} volume ${config.name}`,
      scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }),
      ...(auth ? { auth } : {}),
      ...(allowedInitiators ? { allowedInitiators } : {}),
    },
    summary: { name, luns: [{ lun: 0, deviceType: 'disk', sizeBytes: device.size }] },
  };
}
