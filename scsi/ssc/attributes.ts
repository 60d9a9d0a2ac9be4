// READ ATTRIBUTE (SPC-4 6.17): the medium auxiliary memory of the loaded
// cartridge: what the drive computes from it (capacities, medium identity, the
// library's barcode) and the host attributes applications wrote to it.
import { asciiField, truncate } from '../buffers.ts';
import { Access, CONTROL, type CommandEntry, type CommandHandler } from '../command-table.ts';
import { invalidFieldInCdb } from '../sense.ts';
import { ASSIGNING_ORGANIZATION, densityOf } from './density.ts';
import { AttributeFormat, attributeHeader, definedHostAttributes } from './host-attributes.ts';
import type { TapeDrive } from './state.ts';
import type { TapeMedium } from './tape-medium.ts';

const READ_ATTRIBUTE = 0x8c;
const MIB = 1024 * 1024;
/** Virtual cartridges are made by the gateway. */
const MEDIUM_MANUFACTURER = 'TAPEGW';
const LTO_WIDTH_TENTHS_MM = 127;

interface Attribute {
  readonly id: number;
  readonly readOnly: boolean;
  readonly format: number;
  readonly value: Buffer;
}

function binary(id: number, value: number, bytes: number): Attribute {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(value))));
  return { id, readOnly: true, format: AttributeFormat.binary, value: b.subarray(8 - bytes) };
}

const ascii = (id: number, text: string, bytes: number, readOnly = true): Attribute => ({
  id,
  readOnly,
  format: AttributeFormat.ascii,
  value: asciiField(text, bytes),
});

/** The cartridge's attributes in identifier order: the drive's, then what applications wrote in their place or beside them. */
function attributes(medium: TapeMedium): Attribute[] {
  const byId = new Map(computed(medium).map((a) => [a.id, a]));
  for (const host of medium.hostAttributes) byId.set(host.id, { ...host, readOnly: false });
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** What the drive knows of the cartridge (SPC-4 table "MAM attribute identifiers"). */
function computed(medium: TapeMedium): Attribute[] {
  const c = medium.capacity();
  const density = densityOf(medium.densityCode);
  return [
    binary(0x0000, (c.totalBytes - c.usedBytes) / MIB, 8), // REMAINING CAPACITY IN PARTITION
    binary(0x0001, c.totalBytes / MIB, 8), // MAXIMUM CAPACITY IN PARTITION
    ascii(0x0005, ASSIGNING_ORGANIZATION, 8),
    binary(0x0006, medium.densityCode, 1), // FORMATTED DENSITY CODE
    ascii(0x0400, MEDIUM_MANUFACTURER, 8),
    ascii(0x0401, medium.barcode, 32), // MEDIUM SERIAL NUMBER
    binary(0x0402, density?.lengthMetres ?? 0, 4),
    binary(0x0403, LTO_WIDTH_TENTHS_MM, 4),
    ascii(0x0404, ASSIGNING_ORGANIZATION, 8),
    binary(0x0405, medium.densityCode, 1),
    binary(0x0408, medium.worm ? 0x80 : 0x00, 1), // MEDIUM TYPE: data or WORM
    binary(0x0409, 0, 2), // MEDIUM TYPE INFORMATION: cleaning cycles, data media have none
    ascii(0x0806, medium.barcode, 32, false), // BARCODE (a host attribute, filled in by the library until an application writes it)
  ];
}

function encode(a: Attribute): Buffer {
  const header = attributeHeader.encode({ identifier: a.id, readOnly: a.readOnly, format: a.format, length: a.value.length });
  return Buffer.concat([header, a.value]);
}

function withLength(body: Buffer, lengthBytes: 2 | 4): Buffer {
  const header = Buffer.alloc(lengthBytes);
  header.writeUIntBE(body.length, 0, lengthBytes);
  return Buffer.concat([header, body]);
}

function serviceAction(
  drive: TapeDrive,
  sa: number,
  name: string,
  body: (medium: TapeMedium, firstAttribute: number) => Buffer,
): CommandEntry {
  const handler: CommandHandler = (ctx) => {
    if (ctx.cdb[5] !== 0) throw invalidFieldInCdb(5); // one logical volume
    if (ctx.cdb[7] !== 0) throw invalidFieldInCdb(7); // one partition
    const data = body(drive.medium(), ctx.cdb.readUInt16BE(8));
    return truncate(data, ctx.cdb.readUInt32BE(10));
  };
  return {
    opcode: READ_ATTRIBUTE,
    serviceAction: sa,
    name,
    usage: [READ_ATTRIBUTE, sa, 0, 0, 0, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, CONTROL],
    access: Access.read,
    requiresReady: true,
    handler,
  };
}

const idList = (ids: readonly number[]): Buffer => Buffer.from(ids.flatMap((id) => [id >> 8, id & 0xff]));
const ids = (medium: TapeMedium): Buffer => idList(attributes(medium).map((a) => a.id));
/** What the drive computes, the host attributes it knows, and the vendor specific ones the cartridge holds. */
const supported = (medium: TapeMedium): Buffer =>
  idList(
    [...new Set([...computed(medium).map((a) => a.id), ...definedHostAttributes, ...medium.hostAttributes.map((a) => a.id)])].sort(
      (a, b) => a - b,
    ),
  );

/** One volume or partition: first number 0, one available. */
const single = (): Buffer => withLength(Buffer.from([0, 1]), 2);

export function readAttributeCommands(drive: TapeDrive): CommandEntry[] {
  return [
    // Values from FIRST ATTRIBUTE IDENTIFIER on; AVAILABLE DATA counts them all, the allocation length cuts.
    serviceAction(drive, 0x00, 'READ ATTRIBUTE (attribute values)', (medium, first) =>
      withLength(
        Buffer.concat(
          attributes(medium)
            .filter((a) => a.id >= first)
            .map(encode),
        ),
        4,
      ),
    ),
    serviceAction(drive, 0x01, 'READ ATTRIBUTE (attribute list)', (medium) => withLength(ids(medium), 4)),
    serviceAction(drive, 0x02, 'READ ATTRIBUTE (logical volume list)', single),
    serviceAction(drive, 0x03, 'READ ATTRIBUTE (partition list)', single),
    serviceAction(drive, 0x05, 'READ ATTRIBUTE (supported attributes)', (medium) => withLength(supported(medium), 4)),
  ];
}
