// Typed log pages (SPC-4 7.3) and their encoding: a device type registers
// pages whose parameters LOG SENSE (spc/log.ts) encodes here.

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
