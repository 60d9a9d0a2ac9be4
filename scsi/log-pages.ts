// Typed log pages (SPC-4 7.3) and their encoding: a device type registers
// pages of named parameters, whose values are encoded here, and LOG SENSE
// (spc/log.ts) encodes the pages.
import { asciiField } from './buffers.ts';

/** PC field: 0 threshold, 1 cumulative, 2 default threshold, 3 default cumulative. */
export type LogPageControl = 0 | 1 | 2 | 3;

export interface LogParameter {
  readonly code: number;
  /** Control byte (DU, TSD, ETC, TMC, FORMAT AND LINKING); default 0 (bounded data counter). */
  readonly control?: number;
  readonly value: Buffer;
}

export interface LogPage {
  readonly page: number;
  /** 0 (the default) for a page without subpage format. */
  readonly subpage?: number;
  readonly name: string;
  /** Parameters in ascending code order. */
  readonly parameters: (pc: LogPageControl) => LogParameter[];
  /** LOG SELECT with PCR=1: back to initial values. */
  readonly reset?: () => void;
}

/** A log page: the 4-byte header (SPF set for a subpage), then its body. */
export function encodeLogPage(page: number, subpage: number, body: Buffer): Buffer {
  const header = Buffer.from([(page & 0x3f) | (subpage ? 0x40 : 0), subpage, 0, 0]);
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

/** A log parameter: code, control byte, length, value. */
export function encodeLogParameter(p: LogParameter): Buffer {
  const header = Buffer.from([0, 0, p.control ?? 0, p.value.length]);
  header.writeUInt16BE(p.code, 0);
  return Buffer.concat([header, p.value]);
}

/** FORMAT AND LINKING of a parameter's control byte (SPC-4 7.3.2.2.2). */
export type LogFormat = 'counter' | 'ascii' | 'binary';
const FORMAT_AND_LINKING: Readonly<Record<LogFormat, number>> = { counter: 0b00, ascii: 0b01, binary: 0b11 };

/** A parameter as a page declares it: its code, the length of its value, and its format. */
export interface LogParameterField {
  readonly code: number;
  readonly bytes: number;
  readonly format: LogFormat;
}

/** A count as a parameter holds it: whole, never below 0, at most what `bytes` hold (8 bytes are not capped). */
export function countBytes(value: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(value))));
  else b.writeUIntBE(Math.min(Math.max(0, Math.floor(value)), 2 ** (8 * bytes) - 1), 0, bytes);
  return b;
}

/** The parameter with this value: a count (countBytes), ASCII text space-padded to the field, or the field's bytes themselves. */
export function logParameter(field: LogParameterField, value: number | string | Buffer): LogParameter {
  let bytes: Buffer;
  if (typeof value === 'number') bytes = countBytes(value, field.bytes);
  else if (typeof value === 'string') bytes = asciiField(value, field.bytes);
  else if (value.length === field.bytes) bytes = value;
  else throw new RangeError(`log parameter ${field.code.toString(16)}: ${value.length} bytes for a ${field.bytes}-byte value`);
  return { code: field.code, control: FORMAT_AND_LINKING[field.format], value: bytes };
}
