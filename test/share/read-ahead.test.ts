// The share's read-ahead of sequential READs: which ranges are read ahead, when one is used, and that
// every range read and not used is given back (its buffer goes back to the engine's pool).
import assert from 'node:assert/strict';
import { ReadAhead, type HeldRead } from '../../src/share/fs/read-ahead.ts';

/** Reads that say which ranges were asked for and which were released. */
function reads() {
  const asked: string[] = [];
  const released: string[] = [];
  const read = (offset: number, length: number): Promise<HeldRead> => {
    const range = `${offset}+${length}`;
    asked.push(range);
    return Promise.resolve({ data: Buffer.alloc(length), release: () => released.push(range) });
  };
  return { asked, released, read };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('share read-ahead', () => {
  it('keeps up to its depth of ranges ahead of a sequential reader, each read once, and stops at the end of the file', async () => {
    const ahead = new ReadAhead(8, 3);
    const r = reads();
    assert.deepEqual(ahead.take(1, 0, 10, 0), { sequential: true });
    ahead.extend(1, 10, 45, 0, r.read);
    assert.deepEqual(r.asked, ['10+10', '20+10', '30+10']);
    for (const offset of [10, 20]) {
      const taken = ahead.take(1, offset, 10, 0);
      assert.ok(taken.read, `the READ at ${offset} finds its range read`);
      assert.equal((await taken.read).data.length, 10);
      ahead.extend(1, 10, 45, 0, r.read);
    }
    assert.deepEqual(r.asked, ['10+10', '20+10', '30+10', '40+5'], 'the last range is cut at the end of the file');
    assert.deepEqual(r.released, []);
  });

  it('gives back every range ahead when the reader jumps elsewhere or the file changes', async () => {
    const ahead = new ReadAhead(8, 3);
    const r = reads();
    ahead.take(1, 0, 10, 0);
    ahead.extend(1, 10, 100, 0, r.read);
    assert.deepEqual(ahead.take(1, 50, 10, 0), { sequential: false });
    await settled();
    assert.deepEqual(r.released.sort(), ['10+10', '20+10', '30+10']);
    ahead.take(2, 0, 10, 0);
    ahead.extend(2, 10, 100, 0, r.read);
    assert.equal(ahead.take(2, 10, 10, 1).read, undefined, 'the file changed since: its ranges are not used');
    await settled();
    assert.equal(r.released.length, 6);
  });

  it('gives back the ranges of the file read least recently once it follows more files than its limit', async () => {
    const ahead = new ReadAhead(2, 2);
    const r = reads();
    for (const id of [1, 2, 3]) {
      ahead.take(id, 0, 10, 0);
      ahead.extend(id, 10, 100, 0, r.read);
    }
    await settled();
    assert.deepEqual(r.released, ['10+10', '20+10'], "file 1's two ranges");
  });
});
