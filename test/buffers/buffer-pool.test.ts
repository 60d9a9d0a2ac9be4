// The pool that write commands' data buffers and the cache's read buffers are lent from and given back to.
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/buffers/buffer-pool.ts';

const KiB = 1024;

describe('buffer pool', () => {
  it('lends the memory of a buffer given back to the next request of its size class', () => {
    const pool = new BufferPool();
    const first = pool.take(256 * KiB);
    assert.equal(first.length, 256 * KiB);
    pool.give(first);
    const second = pool.take(200 * KiB);
    assert.equal(second.length, 200 * KiB);
    assert.equal(second.buffer, first.buffer, 'same memory, rounded up to 256 KiB');
    const third = pool.take(256 * KiB);
    assert.notEqual(third.buffer, second.buffer, 'memory lent out is never lent twice');
  });

  it('rounds sizes above 1 MiB up to whole MiB, so a 4.5 MiB read does not hold 8 MiB', () => {
    const pool = new BufferPool();
    const read = pool.take(4608 * KiB);
    assert.equal(read.buffer.byteLength, 5 * 1024 * KiB);
    pool.give(read);
    assert.equal(pool.take(4097 * KiB).buffer, read.buffer, 'same 5 MiB class');
    assert.equal(pool.take(1024 * KiB).buffer.byteLength, 1024 * KiB);
  });

  it('ignores a second give() of one buffer, so a buffer is never lent to two commands', () => {
    const pool = new BufferPool();
    const buffer = pool.take(64 * KiB);
    pool.give(buffer);
    pool.give(buffer);
    const a = pool.take(64 * KiB);
    const b = pool.take(64 * KiB);
    assert.notEqual(a.buffer, b.buffer);
  });

  it('keeps sizes from the smallest it was told, so 4 KiB write commands reuse their data buffers', () => {
    const pool = new BufferPool({ smallest: 4 * KiB });
    assert.equal(pool.pools(2 * KiB), false);
    const small = pool.take(4 * KiB);
    pool.give(small);
    assert.ok(pool.take(4 * KiB).buffer === small.buffer, 'the same memory again');
    assert.ok(pool.take(4 * KiB).buffer !== small.buffer, 'not lent twice');
  });

  it('does not keep small or huge buffers, nor ones it did not lend', () => {
    const pool = new BufferPool();
    const small = pool.take(4 * KiB);
    pool.give(small);
    assert.notEqual(pool.take(4 * KiB).buffer, small.buffer);
    const huge = pool.take(64 * 1024 * KiB);
    pool.give(huge);
    assert.notEqual(pool.take(64 * 1024 * KiB).buffer, huge.buffer);
    const foreign = Buffer.allocUnsafeSlow(64 * KiB);
    pool.give(foreign);
    assert.notEqual(pool.take(64 * KiB).buffer, foreign.buffer);
  });
});
