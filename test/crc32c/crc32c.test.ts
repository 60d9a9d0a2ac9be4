// The native CRC32C every checksum of the gateway goes through.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32c, crc32cImplementation, withCrcsOffThread } from '../../src/crc32c/crc32c.ts';

/** Each byte's remainder, bit by bit from the definition (reflected polynomial 0x82f63b78). */
const table = Uint32Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  return crc;
});

/** A byte at a time through the table: the reference the native code is held to. */
function reference(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Whether this CPU has what the folding implementation needs (Linux's names for the flags). */
function cpuFolds(): boolean {
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return false;
  }
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/));
  return ['sse4_2', 'avx512f', 'vpclmulqdq'].every((flag) => flags.has(flag));
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

  it('agrees with the reference at every length and alignment, across the three-stream stride', () => {
    const data = randomBytes(64 * 1024 + 64);
    for (const length of [1, 7, 8, 9, 4095, 12_287, 12_288, 12_289, 24_583, 65_536]) {
      for (const offset of [0, 1, 3, 8]) {
        const slice = data.subarray(offset, offset + length);
        assert.equal(crc32c(slice), reference(slice), `length ${length} at offset ${offset}`);
      }
    }
  });

  it('runs the carry-less multiply folding where the CPU has AVX-512 and VPCLMULQDQ, else the crc32 instruction', function () {
    if (process.arch !== 'x64') this.skip();
    assert.equal(crc32cImplementation(), cpuFolds() ? 'vpclmulqdq-avx512' : 'sse4.2');
  });

  it('agrees with the table at every length up to 4200 bytes, at random alignments and from random previous CRCs', () => {
    const data = randomBytes(4200 + 64);
    for (let length = 0; length <= 4200; length++) {
      const offset = randomInt(64);
      const previous = randomInt(2 ** 32);
      const slice = data.subarray(offset, offset + length);
      assert.equal(crc32c(slice, previous), reference(slice, previous), `length ${length} at offset ${offset} from ${previous}`);
    }
  });

  it('agrees with the table on random lengths up to 2 MiB at random alignments, continued across a random split', () => {
    const data = randomBytes(2 * 1024 * 1024 + 64);
    for (let round = 0; round < 16; round++) {
      const offset = randomInt(64);
      const whole = data.subarray(offset, offset + randomInt(2 * 1024 * 1024 + 1));
      const split = randomInt(whole.length + 1);
      const expected = reference(whole);
      assert.equal(crc32c(whole), expected, `${whole.length} bytes at offset ${offset}`);
      assert.equal(crc32c(whole.subarray(split), crc32c(whole.subarray(0, split))), expected, `${whole.length} bytes split at ${split}`);
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

  it('withCrcsOffThread gives a computation over slice CRCs the same result as taking them here', async () => {
    const data = randomBytes(300_000);
    const walk = (crcOf: (slice: Uint8Array) => number) =>
      [0, 1000, 70_000, 250_000].map((at, i, cuts) => crcOf(data.subarray(at, cuts[i + 1] ?? data.length)));
    const take = async (slices: readonly Uint8Array[]) => {
      await new Promise((resolve) => setImmediate(resolve));
      return slices.map((slice) => crc32c(slice));
    };
    assert.deepEqual(await withCrcsOffThread(walk, take), walk(crc32c));
  });
});
