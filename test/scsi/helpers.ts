// A throwaway device type and byte-level helpers for the SCSI core tests.
import { Access, CONTROL, type CommandEntry } from '../../scsi/command-table.ts';
import { PeripheralDeviceType, VersionDescriptor, type DeviceIdentity } from '../../scsi/identity.ts';
import { ScsiLogicalUnit, type LogicalUnitOptions } from '../../scsi/logical-unit.ts';
import { mediumNotPresent } from '../../scsi/sense.ts';
import { spcCommands, spcModePages } from '../../scsi/spc/commands.ts';
import type { Nexus, ScsiCommand, ScsiResponse } from '../../scsi/types.ts';
import { senseCodes } from '../helpers/sense.ts';

export function nexus(n: number): Nexus {
  return {
    key: `iqn.1994-05.com.redhat:host${n},i,0x23d00000000${n}|iqn.2026-11.io.tapegateway:gw1-dev,t,0x1`,
    initiatorPort: `iqn.1994-05.com.redhat:host${n},i,0x23d00000000${n}`,
    initiatorName: `iqn.1994-05.com.redhat:host${n}`,
    relativeTargetPort: 1,
    targetPort: 'iqn.2026-11.io.tapegateway:gw1-dev,t,0x1',
  };
}

export const A = nexus(1);
export const B = nexus(2);

export function command(cdb: number[], options: { nexus?: Nexus; lun?: number[]; dataOut?: Buffer | number[] } = {}): ScsiCommand {
  const padded = Buffer.alloc(Math.max(16, cdb.length));
  Buffer.from(cdb).copy(padded);
  return {
    nexus: options.nexus ?? A,
    lun: Buffer.from(options.lun ?? [0, 0, 0, 0, 0, 0, 0, 0]),
    cdb: padded,
    dataOut: Buffer.from(options.dataOut ?? []),
    dataInLength: 65536,
    attribute: 'simple',
    tag: 1,
  };
}

/** Sense key, ASC, ASCQ (and the sense-key specific bytes) of a response that must carry sense data. */
export function senseOf(r: ScsiResponse): ReturnType<typeof senseCodes> {
  if (!r.sense) throw new Error(`expected sense, got status ${r.status}`);
  return senseCodes(r.sense);
}

export const identity: DeviceIdentity = {
  deviceType: PeripheralDeviceType.SequentialAccess,
  vendor: 'IBM',
  product: 'ULT3580-TD5',
  revision: '0105',
  serial: '1013000001',
  gatewayId: 'sgw-12345678',
  name: 'drive-01',
  removable: true,
  versionDescriptors: [VersionDescriptor.SSC3],
};

/** State of the test device: a "medium" that can be loaded. */
export interface TestDevice {
  loaded: boolean;
  reads: number;
}

/** A toy device type: a READ(6)-like command needing medium, a vendor VPD page, a mode page, a log page. */
export function testUnit(overrides: Partial<LogicalUnitOptions> = {}): { unit: ScsiLogicalUnit; device: TestDevice; logged: unknown[] } {
  const device: TestDevice = { loaded: true, reads: 0 };
  const logged: unknown[] = [];
  const own: CommandEntry[] = [
    {
      opcode: 0x08,
      name: 'READ(6)',
      usage: [0x08, 0x03, 0xff, 0xff, 0xff, CONTROL],
      access: Access.read,
      requiresReady: true,
      timeouts: { nominal: 60, recommended: 600 },
      handler: (ctx) => {
        device.reads++;
        return Buffer.alloc(ctx.cdb[4]!, 0xab);
      },
    },
    {
      opcode: 0x0a,
      name: 'WRITE(6)',
      usage: [0x0a, 0x01, 0xff, 0xff, 0xff, CONTROL],
      handler: () => undefined,
    },
    {
      opcode: 0x01,
      name: 'BROKEN',
      usage: [0x01, 0, 0, 0, 0, CONTROL],
      access: Access.always,
      handler: () => {
        throw new TypeError('bug in a handler');
      },
    },
  ];
  const unit = new ScsiLogicalUnit({
    identity,
    commands: [...spcCommands(), ...own],
    modePages: [
      ...spcModePages,
      {
        page: 0x10,
        name: 'Device Configuration',
        defaults: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        changeable: [0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0],
      },
      {
        page: 0x10,
        subpage: 0x01,
        name: 'Device Configuration Extension',
        defaults: new Array<number>(28).fill(0),
        changeable: [0, 0x0f, ...new Array<number>(26).fill(0)],
      },
    ],
    modeParameters: {
      deviceSpecificParameter: () => 0x10,
      blockDescriptors: () => [Buffer.from([0x58, 0, 0, 0, 0, 0, 0, 0])],
    },
    vpdPages: [{ page: 0xb0, name: 'Sequential-Access Device Capabilities', data: () => Buffer.from([0, 1]) }],
    logPages: [
      {
        page: 0x2e,
        name: 'TapeAlert',
        parameters: () => [1, 2, 3].map((code) => ({ code, control: 0x03, value: Buffer.from([0]) })),
      },
    ],
    checkReady: () => {
      if (!device.loaded) throw mediumNotPresent();
    },
    log: (message, fields) => logged.push({ message, ...fields }),
    ...overrides,
  });
  return { unit, device, logged };
}

/** Runs a command once per nexus so the power-on unit attentions are out of the way. */
export async function clearPowerOn(unit: { execute(c: ScsiCommand): Promise<ScsiResponse> }, ...nexuses: Nexus[]): Promise<void> {
  for (const n of nexuses) await unit.execute(command([0x00, 0, 0, 0, 0, 0], { nexus: n }));
}
