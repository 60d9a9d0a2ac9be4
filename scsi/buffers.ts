// Small byte helpers shared by the SPC and device-type handlers.

/** Data-In cut to the ALLOCATION LENGTH of the CDB (SPC-4 4.2.5.6). */
export function truncate(data: Buffer, allocationLength: number): Buffer {
  return data.length > allocationLength ? data.subarray(0, allocationLength) : data;
}

/** ASCII, left-aligned and space-padded (or cut) to `length` bytes, as INQUIRY fields are. */
export function asciiField(text: string, length: number): Buffer {
  const b = Buffer.alloc(length, 0x20);
  b.write(text.slice(0, length), 'ascii');
  return b;
}

/** Null-terminated UTF-8, zero-padded to a multiple of 4 bytes (SCSI name strings, iSCSI TransportIDs). */
export function nameString(text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  return Buffer.concat([raw, Buffer.alloc(4 - (raw.length % 4))]);
}
