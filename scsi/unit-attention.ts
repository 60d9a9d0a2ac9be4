// Unit attention conditions, queued per I_T nexus (SAM-5 5.14). A nexus is
// "known" from its first command or login; its first condition is the power-on one.
import { Asc, type AdditionalSense } from './sense.ts';

const isReset = (asc: AdditionalSense): boolean => asc >> 8 === 0x29;

export class UnitAttentions {
  private readonly queues = new Map<string, AdditionalSense[]>();

  /** Starts tracking a nexus seen for the first time, with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED. */
  observe(nexusKey: string): void {
    if (!this.queues.has(nexusKey)) this.queues.set(nexusKey, [Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED]);
  }

  forget(nexusKey: string): void {
    this.queues.delete(nexusKey);
  }

  /** A reset condition supersedes whatever was pending; duplicates are kept once. */
  establish(nexusKey: string, asc: AdditionalSense): void {
    const queue = this.queues.get(nexusKey);
    if (!queue) return;
    if (isReset(asc)) queue.length = 0;
    else if (queue.some(isReset)) return;
    if (!queue.includes(asc)) queue.push(asc);
  }

  establishAll(asc: AdditionalSense, exceptNexusKey?: string): void {
    for (const key of this.queues.keys()) if (key !== exceptNexusKey) this.establish(key, asc);
  }

  /** Removes and returns the oldest pending condition of a nexus. */
  take(nexusKey: string): AdditionalSense | undefined {
    return this.queues.get(nexusKey)?.shift();
  }

  /** Removes one specific condition (e.g. REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED). */
  clear(nexusKey: string, asc: AdditionalSense): void {
    const queue = this.queues.get(nexusKey);
    const i = queue?.indexOf(asc) ?? -1;
    if (i >= 0) queue!.splice(i, 1);
  }
}
