// Words and numbers as the console shows them; sizes and rates as tapegw
// prints them (the same functions).
import type { ShelfStatus } from '../../src/shelf/shelf-service.ts';
import type { TapeLocation, TapeStatus } from '../../src/tape/tape-service.ts';
import type { SnapshotStatus, VolumeStatus } from '../../src/volume/volume-catalog.ts';

export { humanBitRate, humanInterval, humanRate, humanSize, humanWeeklyInterval } from '../../src/cli/format.ts';

export const TAPE_STATUS: Record<TapeStatus, string> = {
  AVAILABLE: 'Available',
  IN_DRIVE: 'In a drive',
  IN_IMPORT_EXPORT: 'In an import/export slot',
  RETRIEVED: 'Retrieved, read-only',
};

export const SHELF_STATUS: Record<ShelfStatus, string> = {
  IN_TRANSIT_TO_VTS: 'In transit to VTS',
  ARCHIVING: 'Archiving',
  ARCHIVED: 'Archived',
  RETRIEVING: 'Retrieving',
  RETRIEVED: 'Retrieved',
  IRRECOVERABLE: 'Irrecoverable',
};

/** AWS's words for a volume's status. */
export const VOLUME_STATUS: Record<VolumeStatus, string> = {
  CREATING: 'Creating',
  AVAILABLE: 'Available',
  BOOTSTRAPPING: 'Bootstrapping',
  'PASS THROUGH': 'Pass through',
  RESTORING: 'Restoring',
  IRRECOVERABLE: 'Irrecoverable',
  DELETING: 'Deleting',
};

export const SNAPSHOT_STATUS: Record<SnapshotStatus, string> = {
  PENDING: 'Pending',
  COMPLETED: 'Completed',
  ERROR: 'Error',
};

const KIND: Record<TapeLocation['kind'], string> = { slot: 'Slot', drive: 'Drive', 'import-export': 'Import/export slot' };

/** "Slot 12", "Drive 3", "Import/export slot 1". */
export function place(location: Pick<TapeLocation, 'kind' | 'index'>): string {
  return `${KIND[location.kind]} ${location.index}`;
}

/** "2026-12-06 14:05" in the browser's time zone; "-" for none. */
export function dateTime(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "1 cartridge", "1,600 cartridges" */
export function counted(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** "1,600" */
export function count(n: number): string {
  return n.toLocaleString('en');
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? (100 * part) / whole : 0;
}
