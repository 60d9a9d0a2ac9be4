// READ ELEMENT STATUS data (SMC-3 6.12): the report header, one element status
// page per run of same-type elements in address order, and the descriptors.
import { asciiField } from '../buffers.ts';
import { ElementType, type DriveIdentity, type ElementStatus } from './media-library.ts';

export interface ElementStatusRequest {
  /** 0 = all types, else an ElementType. */
  readonly type: number;
  readonly start: number;
  readonly count: number;
  readonly volumeTags: boolean;
  readonly deviceIds: boolean;
  /** Further selection (REQUEST VOLUME ELEMENT ADDRESS: the volume tag template). */
  readonly match?: (e: ElementStatus) => boolean;
}

export interface ElementStatusReport {
  readonly data: Buffer;
  /** Offsets where a whole header or descriptor ends: the data may only be cut there (SMC-3 6.12.1). */
  readonly boundaries: readonly number[];
}

const HEADER = 8;
const PAGE_HEADER = 8;
const BASE_DESCRIPTOR = 12;
const VOLUME_TAG = 36;
const IDENTIFIER_HEADER = 4;
/** Code set 2 (ASCII), identifier type 1 (T10 vendor identification): what LTO libraries report. */
const CODE_SET_ASCII = 2;
const IDENTIFIER_T10_VENDOR = 1;
/** IBM LTO drives' serials are 10 characters: the width libraries pad the serial to. */
const MIN_SERIAL_WIDTH = 10;
const DATA_MEDIUM = 1;

const enum Flag {
  Full = 0x01,
  ImpExp = 0x02,
  Except = 0x04,
  Access = 0x08,
  ExEnab = 0x10,
  InEnab = 0x20,
}
const SVALID = 0x80;

/** Vendor (8), product (16) and unit serial, space-padded: the T10 vendor ID designator of the drive. */
function deviceIdentifier(drive: DriveIdentity, serialWidth: number): Buffer {
  return Buffer.concat([asciiField(drive.vendor, 8), asciiField(drive.product, 16), asciiField(drive.serial, serialWidth)]);
}

function flags(e: ElementStatus): number {
  let f = e.full ? Flag.Full : 0;
  if (e.exception !== undefined) f |= Flag.Except;
  // The transport element has no ACCESS bit.
  if (e.type !== ElementType.MediumTransport && e.accessible) f |= Flag.Access;
  if (e.type === ElementType.ImportExport) {
    f |= Flag.InEnab | Flag.ExEnab;
    if (e.full && e.importedByOperator) f |= Flag.ImpExp;
  }
  return f;
}

function descriptor(e: ElementStatus, req: ElementStatusRequest, length: number, serialWidth: number): Buffer {
  const d = Buffer.alloc(length);
  d.writeUInt16BE(e.address, 0);
  d[2] = flags(e);
  if (e.exception !== undefined) d.writeUInt16BE(e.exception, 4);
  if (e.full) d[9] = DATA_MEDIUM;
  if (e.full && e.sourceAddress !== undefined) {
    d[9]! |= SVALID;
    d.writeUInt16BE(e.sourceAddress, 10);
  }
  let at = BASE_DESCRIPTOR;
  if (req.volumeTags) {
    // Volume identifier (32 bytes, left-justified, space-padded), 2 reserved, volume sequence number 0.
    if (e.full && e.barcode !== undefined) asciiField(e.barcode, 32).copy(d, at);
    at += VOLUME_TAG;
  }
  if (req.deviceIds && e.drive) {
    const id = deviceIdentifier(e.drive, serialWidth);
    d[at] = CODE_SET_ASCII;
    d[at + 1] = IDENTIFIER_T10_VENDOR;
    d[at + 3] = id.length;
    id.copy(d, at + IDENTIFIER_HEADER);
  }
  return d;
}

/** Descriptor length of a page: uniform within it, so data transfer pages carry the longest identifier. */
function descriptorLength(type: ElementType, req: ElementStatusRequest, serialWidth: number): number {
  const id = req.deviceIds && type === ElementType.DataTransfer ? 24 + serialWidth : 0;
  return BASE_DESCRIPTOR + (req.volumeTags ? VOLUME_TAG : 0) + IDENTIFIER_HEADER + id;
}

/** The elements a request selects: of its type, at or after its start, in address order, at most `count`. */
function selected(elements: readonly ElementStatus[], req: ElementStatusRequest): ElementStatus[] {
  const out: ElementStatus[] = [];
  for (const e of elements) {
    if (out.length >= req.count) break;
    if (e.address >= req.start && (req.type === 0 || e.type === req.type) && (req.match?.(e) ?? true)) out.push(e);
  }
  return out;
}

/**
 * The whole report; the header's counts describe all of it even when the
 * allocation length later cuts it (they are never adjusted, SMC-3 6.12.2).
 * Byte counts are 24-bit, enough for the 65536 addresses a 16-bit element space holds.
 */
export function elementStatusReport(elements: readonly ElementStatus[], req: ElementStatusRequest): ElementStatusReport {
  const chosen = selected(elements, req);
  const serialWidth = Math.max(MIN_SERIAL_WIDTH, ...elements.map((e) => e.drive?.serial.length ?? 0));
  const parts: Buffer[] = [];
  const boundaries: number[] = [HEADER];
  let offset = HEADER;
  for (let i = 0; i < chosen.length;) {
    const type = chosen[i]!.type;
    let j = i;
    while (j < chosen.length && chosen[j]!.type === type) j++;
    const length = descriptorLength(type, req, serialWidth);
    const page = Buffer.alloc(PAGE_HEADER);
    page[0] = type;
    page[1] = req.volumeTags ? 0x80 : 0; // PVOLTAG; no alternate volume tags
    page.writeUInt16BE(length, 2);
    page.writeUIntBE(length * (j - i), 5, 3);
    parts.push(page);
    boundaries.push((offset += PAGE_HEADER));
    for (let k = i; k < j; k++) {
      parts.push(descriptor(chosen[k]!, req, length, serialWidth));
      boundaries.push((offset += length));
    }
    i = j;
  }
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(chosen[0]?.address ?? 0, 0);
  header.writeUInt16BE(chosen.length, 2);
  header.writeUIntBE(offset - HEADER, 5, 3);
  return { data: Buffer.concat([header, ...parts]), boundaries };
}

/**
 * Cuts the report to the allocation length at a whole descriptor: a changer
 * transfers only descriptors that fit completely, and that is not an error.
 */
export function cutToAllocation(report: ElementStatusReport, allocationLength: number): Buffer {
  if (report.data.length <= allocationLength) return report.data;
  if (allocationLength < HEADER) return report.data.subarray(0, allocationLength);
  let cut = HEADER;
  for (const b of report.boundaries) if (b <= allocationLength) cut = b;
  return report.data.subarray(0, cut);
}
