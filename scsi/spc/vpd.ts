// Vital product data pages every device type has (SPC-4 7.8): supported pages,
// unit serial number, device identification, extended INQUIRY data.
import { createHash } from 'node:crypto';
import { asciiField, nameString } from '../buffers.ts';
import type { DeviceIdentity } from '../identity.ts';
import type { Nexus } from '../types.ts';
import type { VpdPage } from '../vpd-pages.ts';

const PROTOCOL_ISCSI = 0x5;
const enum CodeSet {
  Binary = 1,
  Ascii = 2,
  Utf8 = 3,
}
const enum Association {
  LogicalUnit = 0,
  TargetPort = 1,
  TargetDevice = 2,
}
const enum DesignatorType {
  T10Vendor = 1,
  Naa = 3,
  RelativeTargetPort = 4,
  ScsiNameString = 8,
}

function designator(codeSet: CodeSet, association: Association, type: DesignatorType, body: Buffer, viaPort = false): Buffer {
  // PIV: the protocol identifier is meaningful for target-port and target-device designators.
  const header = Buffer.from([
    (viaPort ? PROTOCOL_ISCSI << 4 : 0) | codeSet,
    (viaPort ? 0x80 : 0) | (association << 4) | type,
    0,
    body.length,
  ]);
  return Buffer.concat([header, body]);
}

/**
 * The NAA designator of a device: NAA 3 (locally assigned, 8 bytes) from a hash
 * of gateway id and device name, or NAA 6 (IEEE registered extended, 16 bytes)
 * when the identity carries an IEEE company id. Same input, same designator.
 */
export function naaDesignator(identity: DeviceIdentity): Buffer {
  const hash = createHash('sha256').update(identity.gatewayId).update('\0').update(identity.name).digest();
  if (identity.ieeeCompanyId === undefined) {
    const b = hash.subarray(0, 8);
    b[0] = 0x30 | (b[0]! & 0x0f);
    return Buffer.from(b);
  }
  const b = Buffer.from(hash.subarray(0, 16));
  const oui = identity.ieeeCompanyId & 0xffffff;
  // NAA(4) | IEEE company id(24) | vendor specific identifier(36) | extension(64)
  b[0] = 0x60 | (oui >> 20);
  b[1] = (oui >> 12) & 0xff;
  b[2] = (oui >> 4) & 0xff;
  b[3] = ((oui & 0x0f) << 4) | (b[3]! & 0x0f);
  return b;
}

function deviceIdentification(identity: DeviceIdentity, nexus: Nexus): Buffer {
  const naa = naaDesignator(identity);
  const rtp = Buffer.alloc(4);
  rtp.writeUInt16BE(nexus.relativeTargetPort & 0xffff, 2);
  const targetName = nexus.targetPort.split(',t,')[0]!;
  return Buffer.concat([
    designator(CodeSet.Binary, Association.LogicalUnit, DesignatorType.Naa, naa),
    designator(
      CodeSet.Ascii,
      Association.LogicalUnit,
      DesignatorType.T10Vendor,
      Buffer.concat([asciiField(identity.vendor, 8), Buffer.from(identity.serial, 'ascii')]),
    ),
    designator(
      CodeSet.Utf8,
      Association.LogicalUnit,
      DesignatorType.ScsiNameString,
      nameString(`naa.${naa.toString('hex').toUpperCase()}`),
    ),
    designator(CodeSet.Binary, Association.TargetPort, DesignatorType.RelativeTargetPort, rtp, true),
    designator(CodeSet.Utf8, Association.TargetPort, DesignatorType.ScsiNameString, nameString(nexus.targetPort), true),
    designator(CodeSet.Utf8, Association.TargetDevice, DesignatorType.ScsiNameString, nameString(targetName), true),
  ]);
}

function extendedInquiry(): Buffer {
  const b = Buffer.alloc(0x3c);
  b[1] = 0x07; // HEADSUP, ORDSUP, SIMPSUP: the transport takes every task attribute
  return b;
}

/** SPC pages; the supported-pages page is built from the final list by the INQUIRY handler. */
export const spcVpdPages: readonly VpdPage[] = [
  { page: 0x80, name: 'Unit Serial Number', data: (identity) => Buffer.from(identity.serial, 'ascii') },
  { page: 0x83, name: 'Device Identification', data: deviceIdentification },
  { page: 0x86, name: 'Extended INQUIRY Data', data: extendedInquiry },
];
