// READ ELEMENT STATUS data parsed the way initiators read it, for the changer tests.
import assert from 'node:assert/strict';

export interface Descriptor {
  address: number;
  flags: number;
  asc: number;
  ascq: number;
  svalid: boolean;
  mediumType: number;
  source: number;
  voltag?: string;
  sequence?: number;
  identifier?: { codeSet: number; type: number; text: string };
  raw: Buffer;
}

export interface Page {
  type: number;
  pvoltag: boolean;
  avoltag: boolean;
  descriptorLength: number;
  byteCount: number;
  descriptors: Descriptor[];
}

export interface Report {
  first: number;
  available: number;
  byteCount: number;
  pages: Page[];
}

/** Parses element status data the way mtx and the ch driver read it (byte 4: 0, or the send action code). */
export function parseReport(data: Buffer, byte4 = 0): Report {
  const report: Report = { first: data.readUInt16BE(0), available: data.readUInt16BE(2), byteCount: data.readUIntBE(5, 3), pages: [] };
  assert.equal(data[4], byte4);
  let o = 8;
  while (o + 8 <= data.length) {
    const page: Page = {
      type: data[o]!,
      pvoltag: (data[o + 1]! & 0x80) !== 0,
      avoltag: (data[o + 1]! & 0x40) !== 0,
      descriptorLength: data.readUInt16BE(o + 2),
      byteCount: data.readUIntBE(o + 5, 3),
      descriptors: [],
    };
    o += 8;
    const end = Math.min(data.length, o + page.byteCount);
    for (; o + page.descriptorLength <= end; o += page.descriptorLength) {
      const d = data.subarray(o, o + page.descriptorLength);
      const desc: Descriptor = {
        address: d.readUInt16BE(0),
        flags: d[2]!,
        asc: d[4]!,
        ascq: d[5]!,
        svalid: (d[9]! & 0x80) !== 0,
        mediumType: d[9]! & 0x07,
        source: d.readUInt16BE(10),
        raw: d,
      };
      let at = 12;
      if (page.pvoltag) {
        desc.voltag = d.subarray(at, at + 32).toString('latin1');
        desc.sequence = d.readUInt16BE(at + 34);
        at += 36;
      }
      const length = d[at + 3]!;
      if (length)
        desc.identifier = { codeSet: d[at]! & 0x0f, type: d[at + 1]! & 0x0f, text: d.subarray(at + 4, at + 4 + length).toString('latin1') };
      page.descriptors.push(desc);
    }
    report.pages.push(page);
  }
  return report;
}
