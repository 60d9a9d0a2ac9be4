// Bytes each iSCSI logical unit moves, counted where the fabric hands a
// command to its target's SCSI core: Data-Out sent by the initiator, Data-In
// returned to it. Served as ReadBytes and WriteBytes (AWS Storage Gateway's
// names) by target and LUN, so the console can chart iSCSI traffic and show
// which drive is reading or writing.
import { Counter, type Registry } from 'prom-client';
import { decodeLun } from '../../scsi/target.ts';
import type { ScsiTargetPort } from '../../scsi/types.ts';
import type { BuiltTarget } from './targets.ts';

interface Meter {
  readonly labels: { readonly target: string; readonly lun: string };
  read: number;
  written: number;
}

export class IoMeters {
  private readonly meters: Meter[] = [];

  constructor(registry: Registry) {
    const meters = this.meters;
    // Commands add to plain numbers (nothing on the data path but an addition); the counters take them when scraped.
    const counter = (name: string, help: string, bytes: (meter: Meter) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['target', 'lun'],
        registers: [registry],
        collect(this: Counter<'target' | 'lun'>) {
          this.reset();
          for (const meter of meters) this.inc(meter.labels, bytes(meter));
        },
      });
    counter('ReadBytes', 'Bytes initiators read over iSCSI (Data-In), by target and LUN.', (meter) => meter.read);
    counter('WriteBytes', 'Bytes initiators wrote over iSCSI (Data-Out), by target and LUN.', (meter) => meter.written);
  }

  /** The same target, its commands counted for each LUN it serves. */
  meter(built: BuiltTarget): BuiltTarget {
    const byLun = new Map<number, Meter>();
    for (const { lun } of built.summary.luns) {
      const meter: Meter = { labels: { target: built.summary.name, lun: String(lun) }, read: 0, written: 0 };
      byLun.set(lun, meter);
      this.meters.push(meter);
    }
    return { ...built, definition: { ...built.definition, scsi: meteredPort(built.definition.scsi, byLun) } };
  }

  /** Stops counting for a target no longer served (a deleted volume's). */
  forget(target: string): void {
    for (let i = this.meters.length - 1; i >= 0; i--) if (this.meters[i]!.labels.target === target) this.meters.splice(i, 1);
  }
}

function meteredPort(port: ScsiTargetPort, byLun: ReadonlyMap<number, Meter>): ScsiTargetPort {
  const ignore = () => {};
  return {
    execute(cmd) {
      const response = port.execute(cmd);
      const lun = decodeLun(cmd.lun);
      const meter = lun === undefined ? undefined : byLun.get(lun);
      if (meter) {
        meter.written += cmd.dataOut.length;
        // Counted beside the caller's own wait, so the command's answer is not delayed by it.
        response.then((answer) => {
          if (answer.data) meter.read += Math.min(answer.data.length, cmd.dataInLength);
        }, ignore);
      }
      return response;
    },
    taskManagement: (fn, nexus, lun) => port.taskManagement(fn, nexus, lun),
    nexusAdded: (nexus) => port.nexusAdded(nexus),
    nexusRemoved: (nexus) => port.nexusRemoved(nexus),
  };
}
