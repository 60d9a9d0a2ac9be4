// Tape log pages (SSC-4 8.2): Sequential-Access Device (0Ch), Volume
// Statistics (17h), TapeAlert (2Eh) and IBM LTO's Tape Capacity (31h).
// Capacities are in MiB, as LTO drives report them.
import { asciiField } from '../buffers.ts';
import type { LogPage, LogPageControl, LogParameter } from '../log-pages.ts';
import type { TapeDrive } from './state.ts';
import type { TapeMedium } from './tape-medium.ts';

const MIB = 1024 * 1024;
/** FORMAT AND LINKING: bounded data counter, ASCII list, binary list. */
const COUNTER = 0x00;
const ASCII = 0x01;
const BINARY = 0x03;

function number(value: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(value))));
  else b.writeUIntBE(Math.min(Math.max(0, Math.floor(value)), 2 ** (8 * bytes) - 1), 0, bytes);
  return b;
}

const param = (code: number, value: Buffer, control = COUNTER): LogParameter => ({ code, control, value });

/** Current values for PC=01b; thresholds and defaults are zero (nothing is accumulated against them). */
function forControl(pc: LogPageControl, parameters: LogParameter[]): LogParameter[] {
  return pc === 1 ? parameters : parameters.map((p) => ({ ...p, value: Buffer.alloc(p.value.length) }));
}

function capacities(medium: TapeMedium | undefined): { total: number; used: number; earlyWarning: number } {
  if (!medium) return { total: 0, used: 0, earlyWarning: 0 };
  const c = medium.capacity();
  return { total: c.totalBytes / MIB, used: c.usedBytes / MIB, earlyWarning: c.earlyWarningBytes / MIB };
}

function sequentialAccess(drive: TapeDrive): LogPage {
  return {
    page: 0x0c,
    name: 'Sequential-Access Device',
    parameters(pc) {
      const c = capacities(drive.bay.medium);
      // No compression: bytes received are the bytes written, bytes read are the bytes sent.
      return forControl(pc, [
        param(0x0000, number(drive.counters.written, 8)),
        param(0x0001, number(drive.counters.written, 8)),
        param(0x0002, number(drive.counters.read, 8)),
        param(0x0003, number(drive.counters.read, 8)),
        param(0x0004, number(c.used, 4)),
        param(0x0005, number(c.total - c.earlyWarning, 4)),
        param(0x0006, number(c.earlyWarning, 4)),
      ]);
    },
    reset() {
      drive.counters.written = 0;
      drive.counters.read = 0;
    },
  };
}

/** A list of one partition record: length, reserved, partition number 0, value. */
function partitionList(value: number): Buffer {
  return Buffer.concat([Buffer.from([7, 0, 0, 0]), number(value, 4)]);
}

function volumeStatistics(drive: TapeDrive): LogPage {
  return {
    page: 0x17,
    name: 'Volume Statistics',
    parameters(pc) {
      const medium = drive.bay.medium;
      const c = capacities(medium);
      return forControl(pc, [
        param(0x0000, Buffer.from([medium ? 1 : 0]), BINARY), // PAGE VALID
        param(0x000e, number(drive.thisLoad.written / MIB, 4), BINARY),
        param(0x000f, number(drive.thisLoad.read / MIB, 4), BINARY),
        param(0x0016, number(c.total, 4), BINARY),
        param(0x0017, number(c.used, 4), BINARY),
        param(0x0042, asciiField(medium?.barcode ?? '', 32), ASCII),
        param(0x0080, Buffer.from([medium?.writeProtected ? 1 : 0]), BINARY),
        param(0x0081, Buffer.from([medium?.worm ? 1 : 0]), BINARY),
        param(0x0202, partitionList(c.total), BINARY),
        param(0x0203, partitionList(c.used), BINARY),
        param(0x0204, partitionList(c.total - c.used - c.earlyWarning), BINARY),
      ]);
    },
  };
}

/** TapeAlert (2Eh): 64 one-byte flags; reading the current values clears them (SSC-4 8.2.x). */
function tapeAlert(drive: TapeDrive): LogPage {
  return {
    page: 0x2e,
    name: 'TapeAlert',
    parameters(pc) {
      const flags = Array.from({ length: 64 }, (_, i) => param(i + 1, Buffer.from([pc === 1 && drive.tapeAlerts.has(i + 1) ? 1 : 0]), BINARY));
      if (pc === 1) drive.tapeAlerts.clear();
      return flags;
    },
    reset: () => drive.tapeAlerts.clear(),
  };
}

/** Tape Capacity (31h): main partition remaining and maximum; no alternate partition. */
function tapeCapacity(drive: TapeDrive): LogPage {
  return {
    page: 0x31,
    name: 'Tape Capacity',
    parameters(pc) {
      const c = capacities(drive.bay.medium);
      return forControl(pc, [
        param(0x0001, number(c.total - c.used, 4)),
        param(0x0002, number(0, 4)),
        param(0x0003, number(c.total, 4)),
        param(0x0004, number(0, 4)),
      ]);
    },
  };
}

export function tapeLogPages(drive: TapeDrive): LogPage[] {
  return [sequentialAccess(drive), volumeStatistics(drive), tapeAlert(drive), tapeCapacity(drive)];
}
