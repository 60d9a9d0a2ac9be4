// The PDU reader's framing of a byte stream cut into arbitrary socket chunks,
// and its placement of data segments (Data-Out straight into its command's buffer).
import assert from 'node:assert/strict';
import { digestOf } from '../../src/iscsi/digest.ts';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import { BHS_LENGTH, Opcode } from '../../src/iscsi/pdu.ts';
import { PduReader } from '../../src/iscsi/pdu-reader.ts';
import { pattern } from '../helpers/fabric.ts';
import { flipBits } from '../helpers/bytes.ts';

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
    flipBits(wire, BHS_LENGTH + 100, 0x01);
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

  it('keeps no byte of a chunk once next() has returned undefined, so a socket can read every chunk into the same memory', () => {
    // A text request with a 4-byte AHS and both digests, then a Data-Out placed in its command's buffer.
    const bhs = Buffer.alloc(BHS_LENGTH);
    bhs[0] = Opcode.TextRequest;
    bhs[4] = 1;
    bhs.writeUIntBE(data.length, 5, 3);
    bhs.writeUInt32BE(0x1234, 16);
    const ahs = Buffer.from([1, 2, 3, 4]);
    const pad = Buffer.alloc((4 - (data.length & 3)) & 3);
    const headerDigest = Buffer.alloc(4);
    headerDigest.writeUInt32LE(crc32c(Buffer.concat([bhs, ahs])));
    const wire = Buffer.concat([
      bhs,
      ahs,
      headerDigest,
      data,
      pad,
      digestOf([data, pad]),
      withHeaderDigest(dataOut(data.subarray(0, 999), true)),
    ]);

    for (const size of [1, 7, 48, 1000, 4096]) {
      const reader = new PduReader({ maxDataSegmentLength: 65536, headerDigest: true, dataDigest: true });
      const placed = Buffer.alloc(999);
      reader.placement = (header) => (header[0] === Opcode.DataOut ? placed : undefined);
      const shared = Buffer.alloc(size);
      const framed = [];
      for (let at = 0; at < wire.length; at += size) {
        const n = wire.copy(shared, 0, at, at + size);
        reader.push(shared.subarray(0, n));
        for (let f = reader.next(); f; f = reader.next()) framed.push(f);
        shared.fill(0xee);
      }
      assert.equal(framed.length, 2, `chunks of ${size}`);
      const [text, out] = framed;
      assert.equal(text!.kind, 'pdu');
      assert.ok(text!.pdu.bhs.equals(bhs), `text header, chunks of ${size}`);
      assert.ok(text!.pdu.ahs.equals(ahs));
      assert.ok(text!.pdu.data.equals(data), `text data, chunks of ${size}`);
      assert.equal(out!.kind, 'pdu');
      assert.equal(out!.pdu.bhs.readUInt32BE(16), 7);
      assert.equal(out!.pdu.data, placed);
      assert.ok(placed.equals(data.subarray(0, 999)), `placed data, chunks of ${size}`);
    }
  });

  it('offers a large data segment, and the header after one, to be read straight to where they go, so that only the rest passes through the shared buffer', () => {
    const big = [pattern(100_001, 5), pattern(70_000, 6)];
    const small = data.subarray(0, 999);
    const wire = Buffer.concat([dataOut(big[0]!, true), dataOut(big[1]!, true), dataOut(small, true)]);
    const reader = new PduReader({ maxDataSegmentLength: 262144, headerDigest: false, dataDigest: true });
    const placed: Buffer[] = [];
    reader.placement = (_bhs, length) => placed[placed.push(Buffer.alloc(length)) - 1];
    const shared = Buffer.alloc(65536);
    const framed = [];
    const offered: number[] = [];
    let throughShared = 0;
    // A socket whose reads bring at most 40,000 bytes, into whatever memory the reader offers.
    for (let at = 0; at < wire.length;) {
      const direct = reader.directTarget();
      const target = direct ?? shared;
      const n = wire.copy(target, 0, at, at + Math.min(target.length, 40_000));
      at += n;
      if (direct) {
        offered.push(direct.length);
        reader.landed(n);
      } else {
        throughShared += n;
        reader.push(shared.subarray(0, n));
      }
      for (let f = reader.next(); f; f = reader.next()) framed.push(f);
      shared.fill(0xee);
    }
    assert.deepEqual(
      framed.map((f) => f.kind),
      ['pdu', 'pdu', 'pdu'],
      'the data digests hold',
    );
    framed.forEach((f, i) => assert.equal(f.pdu.data, placed[i]));
    assert.ok(placed[0]!.equals(big[0]!) && placed[1]!.equals(big[1]!) && placed[2]!.equals(small));
    // The first read brings the first header and 39,952 bytes of its data. The rest of that data comes straight in,
    // then its padding and digest, then the second header alone, its data, its digest, and the third header;
    // the small data segment after it is not worth reads of its own.
    assert.deepEqual(offered, [60_049, 20_049, 3 + 4, 48, 70_000, 30_000, 4, 48]);
    assert.equal(throughShared, 40_000 + 999 + 1 + 4);
  });
});

/** A PDU without AHS given its header digest. */
function withHeaderDigest(pdu: Buffer): Buffer {
  const digest = Buffer.alloc(4);
  digest.writeUInt32LE(crc32c(pdu.subarray(0, BHS_LENGTH)));
  return Buffer.concat([pdu.subarray(0, BHS_LENGTH), digest, pdu.subarray(BHS_LENGTH)]);
}
