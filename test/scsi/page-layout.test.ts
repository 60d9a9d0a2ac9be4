// Page bodies declared by named fields (scsi/page-layout.ts): bits and bytes
// land where the layout says, and nothing that does not fit is written.
import assert from 'node:assert/strict';
import { bitsOf, bytesOf, flag, PageLayout } from '../../scsi/page-layout.ts';

const layout = new PageLayout(6, { enable: flag(0, 7), mode: bitsOf(0, 3, 1), count: bytesOf(1), size: bytesOf(2, 3) });

describe('scsi/page-layout', () => {
  it('encodes named values at their bits and bytes, zeros elsewhere', () => {
    assert.deepEqual([...layout.encode({ enable: true, mode: 0b101, count: 0x42, size: 0x010203 })], [0x8a, 0x42, 0x01, 0x02, 0x03, 0]);
    assert.deepEqual([...layout.encode({})], [0, 0, 0, 0, 0, 0]);
  });

  it('masks every bit of the named fields', () => {
    assert.deepEqual([...layout.mask('mode', 'size')], [0x0e, 0, 0xff, 0xff, 0xff, 0]);
  });

  it('reads and writes one field without touching its neighbours', () => {
    const body = Buffer.from([0xff, 0x11, 0x22, 0x33, 0x44, 0x55]);
    layout.set(body, 'mode', 0b010);
    assert.deepEqual([...body], [0xf5, 0x11, 0x22, 0x33, 0x44, 0x55]);
    assert.equal(layout.get(body, 'mode'), 0b010);
    assert.equal(layout.get(body, 'enable'), 1);
    assert.equal(layout.get(body, 'size'), 0x223344);
  });

  it('refuses a value the field cannot hold, and a field outside the body', () => {
    assert.throws(() => layout.encode({ mode: 8 }), RangeError);
    assert.throws(() => layout.encode({ count: -1 }), RangeError);
    assert.throws(() => layout.encode({ size: 1.5 }), RangeError);
    assert.throws(() => new PageLayout(2, { size: bytesOf(1, 2) }), /does not fit/);
    assert.throws(() => new PageLayout(2, { odd: { byte: 0, lsb: 4, bits: 12 } }), /does not fit/);
  });
});
