// Upload bandwidth limit in bits per second, with a weekly schedule of up to
// 20 intervals as AWS Storage Gateway has; outside every interval the default
// rate applies (undefined = unlimited). Bodies are paced in small
// chunks so that the limit holds within a request, not only on average.
import { setTimeout as sleep } from 'node:timers/promises';
import type { UploadShaper } from '../cloud/object-backend.ts';

export interface BandwidthInterval {
  /** 0 = Sunday … 6 = Saturday. */
  daysOfWeek: number[];
  /** Minutes after midnight, local time: start inclusive, end exclusive. */
  startMinute: number;
  endMinute: number;
  uploadBitsPerSecond: number;
}

export interface BandwidthSchedule {
  /** Outside every interval; undefined = unlimited. */
  defaultUploadBitsPerSecond?: number;
  intervals?: BandwidthInterval[];
}

export const MAX_INTERVALS = 20;
/** AWS's floor for an upload rate limit. */
export const MIN_RATE = 51_200;

export function validateSchedule(schedule: BandwidthSchedule): void {
  const intervals = schedule.intervals ?? [];
  if (intervals.length > MAX_INTERVALS) throw new RangeError(`a bandwidth schedule holds at most ${MAX_INTERVALS} intervals`);
  const rates = [schedule.defaultUploadBitsPerSecond, ...intervals.map((i) => i.uploadBitsPerSecond)];
  for (const rate of rates) {
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= MIN_RATE))
      throw new RangeError(`upload rate ${rate} is below ${MIN_RATE} bits/s`);
  }
  for (const i of intervals) {
    if (i.daysOfWeek.length === 0 || i.daysOfWeek.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
      throw new RangeError(`interval days ${JSON.stringify(i.daysOfWeek)} must be 0 (Sunday) to 6`);
    }
    if (!(
      Number.isInteger(i.startMinute) &&
      Number.isInteger(i.endMinute) &&
      0 <= i.startMinute &&
      i.startMinute < i.endMinute &&
      i.endMinute <= 1440
    )) {
      throw new RangeError(`interval ${i.startMinute}–${i.endMinute} must lie within one day, start before end`);
    }
  }
}

/** The upload rate in force at `when` (bits/s), undefined when unlimited. The first matching interval wins. */
export function rateAt(schedule: BandwidthSchedule, when: Date): number | undefined {
  const day = when.getDay();
  const minute = when.getHours() * 60 + when.getMinutes();
  const match = (schedule.intervals ?? []).find((i) => i.daysOfWeek.includes(day) && i.startMinute <= minute && minute < i.endMinute);
  return match ? match.uploadBitsPerSecond : schedule.defaultUploadBitsPerSecond;
}

const CHUNK = 64 * 1024;

/** A token bucket shared by all uploads in flight. */
export class BandwidthLimiter implements UploadShaper {
  private schedule: BandwidthSchedule = {};
  /** Time (ms, monotonic) at which the bytes granted so far will have been sent at the current rate. */
  private horizon = 0;

  constructor(schedule: BandwidthSchedule = {}) {
    this.set(schedule);
  }

  set(schedule: BandwidthSchedule): void {
    validateSchedule(schedule);
    this.schedule = schedule;
  }

  /** The whole piece at once when unlimited; else small chunks, each when the limit allows. */
  async *pace(length: number): AsyncIterable<number> {
    if (rateAt(this.schedule, new Date()) === undefined) {
      yield length;
      return;
    }
    for (let at = 0; at < length; at += CHUNK) {
      const chunk = Math.min(CHUNK, length - at);
      await this.take(chunk);
      yield chunk;
    }
  }

  private async take(bytes: number): Promise<void> {
    const rate = rateAt(this.schedule, new Date());
    if (rate === undefined) return;
    const now = performance.now();
    // Idle time does not bank credit beyond one chunk's worth.
    this.horizon = Math.max(this.horizon, now - (CHUNK * 8 * 1000) / rate) + (bytes * 8 * 1000) / rate;
    const wait = this.horizon - now;
    if (wait > 1) await sleep(wait);
  }
}
