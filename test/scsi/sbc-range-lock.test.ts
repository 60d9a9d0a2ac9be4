import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RangeLock } from '../../scsi/sbc/range-lock.ts';

describe('SBC RangeLock', () => {
  it('runs overlapping holders one after the other and disjoint ones together', async () => {
    const lock = new RangeLock();
    const events: string[] = [];
    const job = (name: string, start: number, end: number, ms: number) =>
      lock.run(start, end, async () => {
        events.push(`${name}+`);
        await sleep(ms);
        events.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([job('a', 0, 10, 30), job('b', 9, 12, 5), job('c', 10, 20, 5)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    // c does not overlap a ([0,10) and [10,20)), so it starts at once; b waits for a.
    assert.deepEqual(events.slice(0, 2), ['a+', 'c+']);
    assert.ok(events.indexOf('b+') > events.indexOf('a-'));
  });

  it('releases the range when the holder throws', async () => {
    const lock = new RangeLock();
    await assert.rejects(
      lock.run(0, 1, () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await lock.run(0, 1, async () => 'free'), 'free');
  });
});
