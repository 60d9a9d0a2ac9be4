// The PDU reader's framing of a byte stream cut into arbitrary socket chunks,
// and its placement of data segments (Data-Out straight into its command's buffer).
import assert from 'node:assert/strict';
import { digestOf } from '../../src/iscsi/digest.ts';
import { BHS_LENGTH, Opcode } from '../../src/iscsi/pdu.ts';
import { PduReader } from '../../src/iscsi/pdu-reader.ts';
import { pattern } from '../helpers/fabric.ts';

function dataOut(data: Buffer, dataDigest: boolean): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  bhs[0] = Opcode.DataOut;
  bhs[1] = 0x80;
  bhs.writeUIntBE(data.length, 5, 3);
  bhs.writeUInt32BE(7, 16);
  const pad = Buffer.alloc((4 - (data.length & 3)) & 3);
  return Buffer.concat([bhs, data, pad, ...(dataDigest ? [digestOf([data, pad])] : [])]);
}

/** The wire bytes in chunks of `size`, as a socket might deliver them. */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(Buffer.from(bytes.subarray(at, at + size)));
  return chunks;
}

describe('iSCSI PDU reader', () => {
  const data = pattern(10_001, 3);

  it('copies a data segment that spans chunks into the buffer its placement names, checking the data digest', () => {
    const target = Buffer.alloc(20_000);
    const reader = new PduReader({ maxDataSegmentLength: 65536, headerDigest: false, dataDigest: true });
    const asked: number[] = [];
    reader.placement = (bhs, length) => {
      asked.push(bhs.readUInt32BE(16), length);
      return target.subarray(5000, 5000 + length);
    };
    for (const chunk of chunked(dataOut(data, true), 4096)) reader.push(chunk);
    const framed = reader.next();
    assert.equal(framed?.kind, 'pdu');
    assert.deepEqual(asked, [7, data.length]);
    assert.ok(target.subarray(5000, 5000 + data.length).equals(data));
    assert.equal(framed.pdu.data.buffer, target.buffer);
    assert.equal(framed.pdu.data.byteOffset, target.byteOffset + 5000);
    assert.equal(reader.next(), undefined);
  });

  it('reports a data digest error for placed data too', () => {
    const wire = dataOut(data, true);
    wire[BHS_LENGTH + 100] ^= 0x01;
    const reader = new PduReader({ maxDataSegmentLength: 65536, headerDigest: false, dataDigest: true });
    reader.placement = (_bhs, length) => Buffer.alloc(length);
    for (const chunk of chunked(wire, 3000)) reader.push(chunk);
    assert.equal(reader.next()?.kind, 'data-digest-error');
  });

  it('without a placement, hands on the data whole, and the next PDU after it', () => {
    const reader = new PduReader({ maxDataSegmentLength: 65536, headerDigest: false, dataDigest: false });
    reader.placement = () => undefined;
    for (const chunk of chunked(Buffer.concat([dataOut(data, false), dataOut(data.subarray(0, 5), false)]), 777)) reader.push(chunk);
    assert.ok(reader.next()?.pdu.data.equals(data));
    assert.ok(reader.next()?.pdu.data.equals(data.subarray(0, 5)));
    assert.equal(reader.next(), undefined);
  });
});
