// The native CRC32C every checksum of the gateway goes through.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32c, crc32cEach, withCrcsOffThread } from '../../src/crc32c/crc32c.ts';

/** Bit by bit, straight from the definition: the reference the native code is held to. */
function reference(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('CRC32C', () => {
  it('matches the check value and the RFC 3720 (B.4) vectors', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });

  it('agrees with the definition at every length and alignment, across the three-stream stride', () => {
    const data = randomBytes(64 * 1024 + 64);
    for (const length of [1, 7, 8, 9, 4095, 12_287, 12_288, 12_289, 24_583, 65_536]) {
      for (const offset of [0, 1, 3, 8]) {
        const slice = data.subarray(offset, offset + length);
        assert.equal(crc32c(slice), reference(slice), `length ${length} at offset ${offset}`);
      }
    }
  });

  it('continues a previous CRC: the CRC of a then b is crc32c(b, crc32c(a))', () => {
    const data = randomBytes(100_000);
    for (const split of [0, 1, 4096, 12_288, 99_999]) {
      assert.equal(crc32c(data.subarray(split), crc32c(data.subarray(0, split))), crc32c(data), `split at ${split}`);
    }
  });

  it('reads Uint8Arrays over shared memory as well as Buffers, and refuses anything else with a TypeError', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(5000)).fill(0x5a);
    assert.equal(crc32c(shared), crc32c(Buffer.alloc(5000, 0x5a)));
    assert.throws(() => crc32c('123456789' as unknown as Uint8Array), TypeError);
    assert.throws(() => crc32c(new Uint16Array(4) as unknown as Uint8Array), TypeError);
  });

  it("crc32cEach takes each slice's CRC off the event loop's thread, agreeing with crc32c", async () => {
    const data = randomBytes(600_000);
    const slices = [
      data.subarray(0, 0),
      data.subarray(3, 4),
      data.subarray(7, 4102),
      data.subarray(1, 4099),
      data.subarray(11, 11 + 262_144),
      data,
    ];
    assert.deepEqual(
      await crc32cEach(slices),
      slices.map((s) => crc32c(s)),
    );
    assert.deepEqual(await crc32cEach([]), []);
    assert.throws(() => crc32cEach('x' as unknown as Uint8Array[]), TypeError);
    assert.throws(() => crc32cEach([Buffer.alloc(1), 'x' as unknown as Uint8Array]), TypeError);
  });

  it('crc32cEach agrees with crc32c over many slices of assorted lengths and alignments, and over shared memory', async () => {
    const data = randomBytes(2 * 262_144 + 64);
    const lengths = [0, 1, 2, 3, 7, 8, 9, 63, 4095, 4096, 4096 + 3, 12_287, 12_288, 12_289, 65_536, 262_143, 262_144, 262_144 + 5];
    const slices: Uint8Array[] = lengths.flatMap((length) => [0, 1, 3, 5, 8].map((offset) => data.subarray(offset, offset + length)));
    const shared = new Uint8Array(new SharedArrayBuffer(70_001));
    shared.set(data.subarray(0, shared.length));
    slices.push(shared, shared.subarray(13, 60_013), new Uint8Array(data.buffer, data.byteOffset + 9, 4099));
    const expected = slices.map((s) => crc32c(s));
    // Several at once, on different threads of the pool.
    const results = await Promise.all([slices, [...slices].reverse(), slices.slice(40)].map((batch) => crc32cEach(batch)));
    assert.deepEqual(results, [expected, [...expected].reverse(), expected.slice(40)]);
    assert.ok(
      results[0]!.every((crc) => Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff),
      'unsigned 32-bit, as crc32c gives',
    );
  });

  it('crc32cEach refuses anything but an array of Uint8Arrays with a TypeError, as crc32c does', () => {
    for (const bad of [undefined, null, 'x', 42, {}, { length: 1, 0: Buffer.alloc(1) }, Buffer.alloc(4)]) {
      assert.throws(() => crc32cEach(bad as unknown as Uint8Array[]), TypeError, inspect(bad));
    }
    for (const element of [undefined, null, 'x', new Uint16Array(4), new DataView(new ArrayBuffer(4)), new ArrayBuffer(4), [1, 2]]) {
      assert.throws(() => crc32cEach([Buffer.alloc(1), element as unknown as Uint8Array]), TypeError, inspect(element));
    }
    assert.throws(() => (crc32cEach as unknown as () => unknown)(), TypeError);
  });

  it('crc32cEach holds on to the slices itself: the caller may empty its array, and the slices be collected, before it resolves', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Large enough that freeing it gives its pages back to the system at once; read many times over, so that it is freed while the pool still reads it.
    const size = 40 * 1024 * 1024;
    for (let round = 0; round < 2; round++) {
      let data: Buffer | undefined = Buffer.alloc(size, 0x11 + round);
      const slices: Uint8Array[] = Array.from({ length: 16 }, (_, i) => data!.subarray(i));
      const expected = slices.map((s) => crc32c(s));
      const pending = crc32cEach(slices);
      slices.length = 0;
      data = undefined;
      gc();
      gc();
      const other = Buffer.alloc(size, 0xee); // would take the freed memory over
      assert.deepEqual(await pending, expected);
      assert.equal(other[0], 0xee);
    }
  });

  it('withCrcsOffThread gives a computation over slice CRCs the same result as taking them here', async () => {
    const data = randomBytes(300_000);
    const walk = (crcOf: (slice: Uint8Array) => number) =>
      [0, 1000, 70_000, 250_000].map((at, i, cuts) => crcOf(data.subarray(at, cuts[i + 1] ?? data.length)));
    assert.deepEqual(await withCrcsOffThread(walk), walk(crc32c));
  });
});
