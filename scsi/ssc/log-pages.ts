// Tape log pages (SSC-4 8.2): Sequential-Access Device (0Ch), Volume
// Statistics (17h), TapeAlert (2Eh) and IBM LTO's Tape Capacity (31h).
// Capacities are in MiB, as LTO drives report them.
import { countBytes, logParameter, type LogPage, type LogPageControl, type LogParameter, type LogParameterField } from '../log-pages.ts';
import { bytesOf, PageLayout } from '../page-layout.ts';
import type { TapeDrive } from './state.ts';
import type { TapeMedium } from './tape-medium.ts';

const MIB = 1024 * 1024;

/** Sequential-Access Device (0Ch): bytes through the drive since the last reset, and capacities. */
const SEQUENTIAL_ACCESS = {
  dataBytesReceived: { code: 0x0000, bytes: 8, format: 'counter' },
  dataBytesWritten: { code: 0x0001, bytes: 8, format: 'counter' },
  dataBytesRead: { code: 0x0002, bytes: 8, format: 'counter' },
  dataBytesSent: { code: 0x0003, bytes: 8, format: 'counter' },
  capacityToEndOfData: { code: 0x0004, bytes: 4, format: 'counter' },
  capacityToEarlyWarning: { code: 0x0005, bytes: 4, format: 'counter' },
  capacityFromEarlyWarningToEnd: { code: 0x0006, bytes: 4, format: 'counter' },
} as const satisfies Record<string, LogParameterField>;

/** Volume Statistics (17h): the mounted volume. */
const VOLUME_STATISTICS = {
  pageValid: { code: 0x0000, bytes: 1, format: 'binary' },
  lastMountMegabytesWritten: { code: 0x000e, bytes: 4, format: 'binary' },
  lastMountMegabytesRead: { code: 0x000f, bytes: 4, format: 'binary' },
  totalNativeCapacity: { code: 0x0016, bytes: 4, format: 'binary' },
  totalUsedNativeCapacity: { code: 0x0017, bytes: 4, format: 'binary' },
  volumeBarcode: { code: 0x0042, bytes: 32, format: 'ascii' },
  writeProtect: { code: 0x0080, bytes: 1, format: 'binary' },
  worm: { code: 0x0081, bytes: 1, format: 'binary' },
  partitionsNativeCapacity: { code: 0x0202, bytes: 8, format: 'binary' },
  partitionsUsedNativeCapacity: { code: 0x0203, bytes: 8, format: 'binary' },
  partitionsRemainingToEarlyWarning: { code: 0x0204, bytes: 8, format: 'binary' },
} as const satisfies Record<string, LogParameterField>;

/** Tape Capacity (31h, IBM LTO): remaining and maximum capacity of each partition. */
const TAPE_CAPACITY = {
  mainPartitionRemaining: { code: 0x0001, bytes: 4, format: 'counter' },
  alternatePartitionRemaining: { code: 0x0002, bytes: 4, format: 'counter' },
  mainPartitionMaximum: { code: 0x0003, bytes: 4, format: 'counter' },
  alternatePartitionMaximum: { code: 0x0004, bytes: 4, format: 'counter' },
} as const satisfies Record<string, LogParameterField>;

/** A TapeAlert flag (2Eh): one byte, 1 when set; its code is the flag's number. */
const tapeAlertFlag = (flag: number): LogParameterField => ({ code: flag, bytes: 1, format: 'binary' });
const TAPE_ALERT_FLAGS = 64;

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
  const p = SEQUENTIAL_ACCESS;
  return {
    page: 0x0c,
    name: 'Sequential-Access Device',
    parameters(pc) {
      const c = capacities(drive.bay.medium);
      // No compression: bytes received are the bytes written, bytes read are the bytes sent.
      return forControl(pc, [
        logParameter(p.dataBytesReceived, drive.counters.written),
        logParameter(p.dataBytesWritten, drive.counters.written),
        logParameter(p.dataBytesRead, drive.counters.read),
        logParameter(p.dataBytesSent, drive.counters.read),
        logParameter(p.capacityToEndOfData, c.used),
        logParameter(p.capacityToEarlyWarning, c.total - c.earlyWarning),
        logParameter(p.capacityFromEarlyWarningToEnd, c.earlyWarning),
      ]);
    },
    reset() {
      drive.counters.written = 0;
      drive.counters.read = 0;
    },
  };
}

/** A partition record of a Volume Statistics list (SSC-4): its length, partition 0, a 4-byte value. */
const partitionRecordFields = new PageLayout(4, { recordLength: bytesOf(0), partitionNumber: bytesOf(2, 2) });

/** The list of the one partition's record. */
function partitionList(value: number): Buffer {
  return Buffer.concat([partitionRecordFields.encode({ recordLength: 7, partitionNumber: 0 }), countBytes(value, 4)]);
}

function volumeStatistics(drive: TapeDrive): LogPage {
  const p = VOLUME_STATISTICS;
  return {
    page: 0x17,
    name: 'Volume Statistics',
    parameters(pc) {
      const medium = drive.bay.medium;
      const c = capacities(medium);
      return forControl(pc, [
        logParameter(p.pageValid, medium ? 1 : 0),
        logParameter(p.lastMountMegabytesWritten, drive.thisLoad.written / MIB),
        logParameter(p.lastMountMegabytesRead, drive.thisLoad.read / MIB),
        logParameter(p.totalNativeCapacity, c.total),
        logParameter(p.totalUsedNativeCapacity, c.used),
        logParameter(p.volumeBarcode, medium?.barcode ?? ''),
        logParameter(p.writeProtect, medium?.writeProtected ? 1 : 0),
        logParameter(p.worm, medium?.worm ? 1 : 0),
        logParameter(p.partitionsNativeCapacity, partitionList(c.total)),
        logParameter(p.partitionsUsedNativeCapacity, partitionList(c.used)),
        logParameter(p.partitionsRemainingToEarlyWarning, partitionList(c.total - c.used - c.earlyWarning)),
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
      const flags = Array.from({ length: TAPE_ALERT_FLAGS }, (_, i) =>
        logParameter(tapeAlertFlag(i + 1), pc === 1 && drive.tapeAlerts.has(i + 1) ? 1 : 0),
      );
      if (pc === 1) drive.tapeAlerts.clear();
      return flags;
    },
    reset: () => drive.tapeAlerts.clear(),
  };
}

/** Tape Capacity (31h): main partition remaining and maximum; no alternate partition. */
function tapeCapacity(drive: TapeDrive): LogPage {
  const p = TAPE_CAPACITY;
  return {
    page: 0x31,
    name: 'Tape Capacity',
    parameters(pc) {
      const c = capacities(drive.bay.medium);
      return forControl(pc, [
        logParameter(p.mainPartitionRemaining, c.total - c.used),
        logParameter(p.alternatePartitionRemaining, 0),
        logParameter(p.mainPartitionMaximum, c.total),
        logParameter(p.alternatePartitionMaximum, 0),
      ]);
    },
  };
}

export function tapeLogPages(drive: TapeDrive): LogPage[] {
  return [sequentialAccess(drive), volumeStatistics(drive), tapeAlert(drive), tapeCapacity(drive)];
}
