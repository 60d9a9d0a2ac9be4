// WRITE ATTRIBUTE (SPC-4 6.40): the host attributes of the medium auxiliary
// memory that applications set (SPC-4 7.4.2.4: application vendor, name and
// version, user medium text label, barcode, volume coherency information as
// LTFS writes it, and the host vendor specific range), kept with the cartridge.
// Device and medium attributes are the drive's and the cartridge's: read only.
import { CONTROL, type CommandEntry } from '../command-table.ts';
import { bitsOf, bytesOf, flag, PageLayout } from '../page-layout.ts';
import { Asc, invalidFieldInCdb, invalidFieldInParameterList, parameterListLengthError, scsiError, SenseKey } from '../sense.ts';
import type { TapeDrive } from './state.ts';
import type { HostAttribute } from './tape-medium.ts';

const WRITE_ATTRIBUTE = 0x8d;
const WTC = 0x01;

/** One attribute of a READ or WRITE ATTRIBUTE parameter list: this header, then ATTRIBUTE LENGTH bytes of value. */
export const attributeHeader = new PageLayout(5, {
  identifier: bytesOf(0, 2),
  readOnly: flag(2, 7),
  format: bitsOf(2, 1, 0),
  length: bytesOf(3, 2),
});

export const AttributeFormat = { binary: 0, ascii: 1, text: 2 } as const;

interface HostAttributeDefinition {
  readonly format: number;
  /** The one length the attribute has, or at most this many bytes when `variable`. */
  readonly length: number;
  readonly variable?: boolean;
}

const { binary, ascii, text } = AttributeFormat;

/** SPC-4 table "Host type attributes". */
const HOST_ATTRIBUTES = new Map<number, HostAttributeDefinition>([
  [0x0800, { format: ascii, length: 8 }], // APPLICATION VENDOR
  [0x0801, { format: ascii, length: 32 }], // APPLICATION NAME
  [0x0802, { format: ascii, length: 8 }], // APPLICATION VERSION
  [0x0803, { format: text, length: 160 }], // USER MEDIUM TEXT LABEL
  [0x0804, { format: ascii, length: 12 }], // DATE AND TIME LAST WRITTEN
  [0x0805, { format: binary, length: 1 }], // TEXT LOCALIZATION IDENTIFIER
  [0x0806, { format: ascii, length: 32 }], // BARCODE
  [0x0807, { format: text, length: 80 }], // OWNING HOST TEXTUAL NAME
  [0x0808, { format: text, length: 160 }], // MEDIA POOL
  [0x0809, { format: ascii, length: 16 }], // PARTITION USER TEXT LABEL
  [0x080a, { format: binary, length: 1 }], // LOAD/UNLOAD AT PARTITION
  [0x080b, { format: ascii, length: 16 }], // APPLICATION FORMAT VERSION
  [0x080c, { format: binary, length: 256, variable: true }], // VOLUME COHERENCY INFORMATION
  [0x0820, { format: binary, length: 36 }], // MEDIUM GLOBALLY UNIQUE IDENTIFIER
  [0x0821, { format: binary, length: 36 }], // MEDIA POOL GLOBALLY UNIQUE IDENTIFIER
]);

/** SPC-4: host vendor specific attributes, read/write, of any format. */
const HOST_VENDOR_FIRST = 0x1400;
const HOST_VENDOR_LAST = 0x17ff;
const HOST_VENDOR_MAX_LENGTH = 256;

/**
 * Room for host attributes (headers and values) in the cartridge's memory. An
 * LTO-5 cartridge memory holds 8 KiB, most of it the drive's own pages.
 */
export const HOST_ATTRIBUTE_SPACE = 2048;

/** The host attribute identifiers this drive knows, for SUPPORTED ATTRIBUTES (the vendor range is open, not listed). */
export const definedHostAttributes: readonly number[] = [...HOST_ATTRIBUTES.keys()];

const isHostVendor = (id: number): boolean => id >= HOST_VENDOR_FIRST && id <= HOST_VENDOR_LAST;

const spaceTaken = (attributes: readonly HostAttribute[]): number =>
  attributes.reduce((n, a) => n + attributeHeader.length + a.value.length, 0);

/**
 * One attribute of the parameter list, checked against its definition. Field
 * pointers name the parameter list bytes (`at` is where the attribute starts).
 */
function checkAttribute(id: number, format: number, value: Buffer, at: number): void {
  const definition = HOST_ATTRIBUTES.get(id);
  if (!definition && !isHostVendor(id)) throw invalidFieldInParameterList(at); // read only, or unknown
  if (value.length === 0) return; // deletes the attribute
  if (definition) {
    if (format !== definition.format) throw invalidFieldInParameterList(at + 2, 1);
    const fits = definition.variable ? value.length <= definition.length : value.length === definition.length;
    if (!fits) throw invalidFieldInParameterList(at + 3);
  } else {
    if (format > text) throw invalidFieldInParameterList(at + 2, 1);
    if (value.length > HOST_VENDOR_MAX_LENGTH) throw invalidFieldInParameterList(at + 3);
  }
  // ASCII attributes hold printable characters only (SPC-4 7.4.2.5), space-padded.
  if (format === ascii) {
    const bad = value.findIndex((c) => c < 0x20 || c > 0x7e);
    if (bad >= 0) throw invalidFieldInParameterList(at + attributeHeader.length + bad);
  }
}

/** The attributes of a parameter list in order; all or nothing is taken (SPC-4 6.40). */
function parseParameterList(list: Buffer): { id: number; format: number; value: Buffer }[] {
  if (list.length === 0) return [];
  if (list.length < 4) throw parameterListLengthError();
  const end = 4 + list.readUInt32BE(0);
  if (end > list.length) throw parameterListLengthError();
  const parsed: { id: number; format: number; value: Buffer }[] = [];
  for (let at = 4; at < end;) {
    if (at + attributeHeader.length > end) throw parameterListLengthError();
    const header = list.subarray(at, at + attributeHeader.length);
    const id = attributeHeader.get(header, 'identifier');
    const format = attributeHeader.get(header, 'format');
    const length = attributeHeader.get(header, 'length');
    const valueAt = at + attributeHeader.length;
    if (valueAt + length > end) throw parameterListLengthError();
    // Attributes come in ascending identifier order, each once.
    if (parsed.length > 0 && id <= parsed.at(-1)!.id) throw invalidFieldInParameterList(at);
    const value = list.subarray(valueAt, valueAt + length);
    checkAttribute(id, format, value, at);
    parsed.push({ id, format, value });
    at = valueAt + length;
  }
  return parsed;
}

/** The medium's host attributes with the written ones set (or, with a length of 0, deleted). */
function merge(current: readonly HostAttribute[], written: readonly HostAttribute[]): HostAttribute[] {
  const byId = new Map(current.map((a) => [a.id, a]));
  for (const a of written) {
    if (a.value.length === 0) byId.delete(a.id);
    else byId.set(a.id, { id: a.id, format: a.format, value: Buffer.from(a.value) });
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export function writeAttribute(drive: TapeDrive): CommandEntry {
  return {
    opcode: WRITE_ATTRIBUTE,
    name: 'WRITE ATTRIBUTE',
    usage: [WRITE_ATTRIBUTE, WTC, 0, 0, 0, 0xff, 0, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, CONTROL],
    requiresReady: true,
    async handler(ctx) {
      if (ctx.cdb[5] !== 0) throw invalidFieldInCdb(5); // one logical volume
      if (ctx.cdb[7] !== 0) throw invalidFieldInCdb(7); // one partition
      const length = ctx.cdb.readUInt32BE(10);
      if (ctx.cmd.dataOut.length < length) throw parameterListLengthError();
      const written = parseParameterList(ctx.cmd.dataOut.subarray(0, length));
      if (written.length === 0) return;
      const medium = drive.medium();
      const attributes = merge(medium.hostAttributes, written);
      if (spaceTaken(attributes) > HOST_ATTRIBUTE_SPACE) throw scsiError(SenseKey.IllegalRequest, Asc.AUXILIARY_MEMORY_OUT_OF_SPACE);
      // WTC or not, the attributes are durable with the cartridge before GOOD: the memory is written through.
      await drive.io(Asc.AUXILIARY_MEMORY_WRITE_ERROR, () => medium.writeHostAttributes(attributes));
    },
  };
}
