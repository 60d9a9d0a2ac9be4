import assert from 'node:assert/strict';
import { BandwidthLimiter, rateAt, validateSchedule, type BandwidthSchedule } from '../../src/cache/bandwidth.ts';

// 2026-11-23 is a Monday (day 1).
const at = (day: number, hh: number, mm: number) => new Date(2026, 10, 22 + day, hh, mm);

describe('upload bandwidth schedule', () => {
  const schedule: BandwidthSchedule = {
    defaultUploadBitsPerSecond: 100_000_000,
    intervals: [
      { daysOfWeek: [1, 2, 3, 4, 5], startMinute: 8 * 60, endMinute: 18 * 60, uploadBitsPerSecond: 10_000_000 },
      { daysOfWeek: [0, 6], startMinute: 0, endMinute: 1440, uploadBitsPerSecond: 500_000_000 },
    ],
  };

  it('applies the interval in force for the day and minute, else the default', () => {
    assert.equal(rateAt(schedule, at(1, 8, 0)), 10_000_000);
    assert.equal(rateAt(schedule, at(5, 17, 59)), 10_000_000);
    assert.equal(rateAt(schedule, at(5, 18, 0)), 100_000_000);
    assert.equal(rateAt(schedule, at(1, 7, 59)), 100_000_000);
    assert.equal(rateAt(schedule, at(0, 12, 0)), 500_000_000);
    assert.equal(rateAt(schedule, at(6, 23, 59)), 500_000_000);
    assert.equal(rateAt({}, at(1, 9, 0)), undefined, 'no schedule: unlimited');
  });

  it('refuses more than 20 intervals, rates below 51200 bits/s and malformed intervals', () => {
    const one = { daysOfWeek: [1], startMinute: 0, endMinute: 60, uploadBitsPerSecond: 1_000_000 };
    validateSchedule({ intervals: Array(20).fill(one) });
    assert.throws(() => validateSchedule({ intervals: Array(21).fill(one) }), /at most 20/);
    assert.throws(() => validateSchedule({ defaultUploadBitsPerSecond: 1000 }), /below 51200/);
    assert.throws(() => validateSchedule({ intervals: [{ ...one, daysOfWeek: [7] }] }), /0 \(Sunday\) to 6/);
    assert.throws(() => validateSchedule({ intervals: [{ ...one, startMinute: 60, endMinute: 60 }] }), /start before end/);
  });

  it('lets a piece go whole when unlimited, and in paced chunks adding up to it when limited', async () => {
    const collect = async (paced: AsyncIterable<number>) => {
      const out: number[] = [];
      for await (const length of paced) out.push(length);
      return out;
    };
    assert.deepEqual(await collect(new BandwidthLimiter({}).pace(300_000)), [300_000]);
    const limited = await collect(new BandwidthLimiter({ defaultUploadBitsPerSecond: 1_000_000_000 }).pace(300_000));
    assert.equal(
      limited.reduce((a, b) => a + b, 0),
      300_000,
    );
    assert.ok(limited.length > 1);
  });
});
