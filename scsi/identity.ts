// Who a logical unit says it is (standard INQUIRY, VPD 80h/83h). A plain object
// per device: nothing here is global, and the same input always gives the same designators.

export enum PeripheralDeviceType {
  DirectAccess = 0x00,
  SequentialAccess = 0x01,
  MediumChanger = 0x08,
  Enclosure = 0x0d,
  WellKnownLu = 0x1e,
  Unknown = 0x1f,
}

/** Version descriptor codes (SPC-4 table 29, T10's list). */
export const VersionDescriptor = {
  SAM5: 0x00a0,
  SPC4: 0x0460,
  ISCSI: 0x0960,
  SBC3: 0x04c0,
  SSC3: 0x0400,
  SSC4: 0x0520,
  SMC3: 0x0480,
} as const;

export interface DeviceIdentity {
  readonly deviceType: PeripheralDeviceType;
  /** Up to 8 ASCII characters (T10 vendor identification). */
  readonly vendor: string;
  /** Up to 16 ASCII characters. */
  readonly product: string;
  /** Up to 4 ASCII characters. */
  readonly revision: string;
  /** Unit serial number (VPD 80h). */
  readonly serial: string;
  /** Stable per gateway (e.g. its UUID); with `name` it seeds the NAA designator. */
  readonly gatewayId: string;
  /** Unique within the gateway, stable across restarts (e.g. "drive-03"). */
  readonly name: string;
  /** RMB in standard INQUIRY: true for tape drives and changers. */
  readonly removable?: boolean;
  /** The device type's own standards, after SAM-5, SPC-4 and iSCSI (e.g. VersionDescriptor.SSC3). */
  readonly versionDescriptors?: readonly number[];
  /** IEEE company id (24 bits): NAA 6 (registered extended) designator instead of NAA 3 (locally assigned). */
  readonly ieeeCompanyId?: number;
}
