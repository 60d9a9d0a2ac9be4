// What the SSC handlers of one tape drive share: the bay, the block length and
// buffered mode of the mode parameter header, the writes waiting for a sync
// point, TapeAlert flags, prevent-removal per I_T nexus, and counters for the
// log pages.
import type { CommandContext } from '../command-table.ts';
import { Asc, buildSense, mediumNotPresent, notReady, ScsiError, scsiError, SenseKey, writeProtected, type SenseInfo } from '../sense.ts';
import { Status, type ScsiResponse } from '../types.ts';
import { DataEncryption } from './data-encryption.ts';
import { writableDensity } from './density.ts';
import { MediumError, WormOverwriteError, WriteProtectedError, type DriveBay, type TapeMedium } from './tape-medium.ts';

/** 30/05, not in the core's catalogue: a medium of a density this drive only reads. */
const CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT = 0x3005;

export interface DriveLimits {
  /** READ BLOCK LIMITS maximum block length, and the largest variable-length WRITE. */
  readonly maxBlockLength: number;
  /** Largest transfer of one READ(6) or WRITE(6) in fixed-block mode, in bytes. */
  readonly maxTransferBytes: number;
}

/** TapeAlert flags (SSC-4 Annex A) the drive raises. */
export const TapeAlertFlag = {
  HARD_ERROR: 0x03,
  READ_FAILURE: 0x05,
  WRITE_FAILURE: 0x06,
  WRITE_PROTECT: 0x09,
  NO_REMOVAL: 0x0a,
} as const;

export const SUPPORTED_TAPE_ALERTS: readonly number[] = Object.values(TapeAlertFlag);

/** Counters of the Sequential-Access Device log page since the last LOG SELECT reset. */
export interface ByteCounters {
  written: number;
  read: number;
}

const VARIABLE_BLOCKS = 0;
const BUFFERED = 1;

export class TapeDrive {
  /** Block length of the mode block descriptor: 0 = variable-block mode. */
  blockLength = VARIABLE_BLOCKS;
  /** BUFFERED MODE of the mode parameter header: 1 = writes complete in the drive's buffer. */
  bufferedMode = BUFFERED;
  /** Logical objects and bytes written since the last sync point (READ POSITION). */
  pending = { objects: 0, bytes: 0 };
  readonly counters: ByteCounters = { written: 0, read: 0 };
  /** Per load, for the Volume Statistics log page. */
  readonly thisLoad: ByteCounters = { written: 0, read: 0 };
  readonly tapeAlerts = new Set<number>();
  /** The data encryption parameters of each I_T nexus (SECURITY PROTOCOL OUT). */
  readonly encryption = new DataEncryption();
  /** WRITE MODE 1h of page 10h/01h: writes only at end-of-data, or where ALLOW OVERWRITE let them. */
  appendOnly = false;
  /** The logical object ALLOW OVERWRITE (current position) named, until a write uses it or the cartridge changes. */
  overwriteAllowedAt: number | undefined;
  private readonly preventing = new Set<string>();

  constructor(
    readonly bay: DriveBay,
    readonly limits: DriveLimits,
  ) {}

  /** The loaded cartridge, or the NOT READY a command without one earns. */
  medium(): TapeMedium {
    const medium = this.bay.medium;
    if (medium) return medium;
    // A cartridge sitting in an unthreaded drive waits for LOAD (IBM LTO: 04/02).
    throw this.bay.occupied ? notReady(Asc.LU_NOT_READY_INITIALIZING_COMMAND_REQUIRED) : mediumNotPresent();
  }

  /** Sync point: what was written becomes durable before the command completes. */
  async flush(force = false): Promise<void> {
    const medium = this.bay.medium;
    if (!medium || (!force && this.pending.objects === 0)) return;
    await this.io(Asc.WRITE_ERROR, () => medium.flush());
    this.pending = { objects: 0, bytes: 0 };
  }

  wrote(objects: number, bytes: number): void {
    this.pending = { objects: this.pending.objects + objects, bytes: this.pending.bytes + bytes };
    this.counters.written += bytes;
    this.thisLoad.written += bytes;
  }

  readBytes(bytes: number): void {
    this.counters.read += bytes;
    this.thisLoad.read += bytes;
  }

  /** A cartridge arrived in or left the bay: nothing of the previous one carries over. */
  mediumChanged(): void {
    this.pending = { objects: 0, bytes: 0 };
    this.overwriteAllowedAt = undefined;
    this.thisLoad.written = 0;
    this.thisLoad.read = 0;
  }

  /** The logical position is between early warning and the end of the partition. */
  pastEarlyWarning(medium: TapeMedium): boolean {
    if (!medium.location().atEndOfData) return false;
    const c = medium.capacity();
    return c.totalBytes - c.usedBytes <= c.earlyWarningBytes;
  }

  checkWritable(medium: TapeMedium): void {
    if (!writableDensity(medium.densityCode)) throw scsiError(SenseKey.DataProtect, CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT);
    if (medium.writeProtected) {
      this.tapeAlerts.add(TapeAlertFlag.WRITE_PROTECT);
      throw writeProtected();
    }
    this.checkAppend(medium);
  }

  /**
   * Append-only mode (SSC-4 4.2.x, IBM LTO-5 and later): a write anywhere but at
   * end-of-data, or the one position ALLOW OVERWRITE named, would overwrite
   * data: DATA PROTECT, OPERATOR SELECTED WRITE PROTECT, as IBM's drives answer
   * (LTFS reads 07/5A02 as "attempt to overwrite in append only mode").
   */
  private checkAppend(medium: TapeMedium): void {
    if (!this.appendOnly) return;
    const at = medium.location();
    const allowed = at.atEndOfData || at.objectNumber === this.overwriteAllowedAt;
    this.overwriteAllowedAt = undefined;
    if (!allowed) throw scsiError(SenseKey.DataProtect, Asc.OPERATOR_SELECTED_WRITE_PROTECT);
  }

  /** Runs a cartridge operation; its refusals become sense data, anything else stays a bug. */
  async io<T>(mediumErrorAsc: number, op: () => Promise<T>, extra: Omit<SenseInfo, 'key' | 'asc'> = {}): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw this.senseFor(err, mediumErrorAsc, extra);
    }
  }

  senseFor(err: unknown, mediumErrorAsc: number, extra: Omit<SenseInfo, 'key' | 'asc'> = {}): unknown {
    if (err instanceof ScsiError) return err;
    if (err instanceof WormOverwriteError) return scsiError(SenseKey.DataProtect, Asc.WORM_MEDIUM_OVERWRITE_ATTEMPTED, extra);
    if (err instanceof WriteProtectedError) {
      this.tapeAlerts.add(TapeAlertFlag.WRITE_PROTECT);
      return scsiError(SenseKey.DataProtect, Asc.WRITE_PROTECTED, extra);
    }
    if (err instanceof MediumError) {
      const write = mediumErrorAsc === Asc.WRITE_ERROR;
      this.tapeAlerts.add(TapeAlertFlag.HARD_ERROR).add(write ? TapeAlertFlag.WRITE_FAILURE : TapeAlertFlag.READ_FAILURE);
      return new ScsiError({ key: SenseKey.MediumError, asc: mediumErrorAsc, ...extra }, `tape medium: ${err.message}`);
    }
    return err;
  }

  prevent(nexusKey: string, prevent: boolean): void {
    if (prevent) this.preventing.add(nexusKey);
    else this.preventing.delete(nexusKey);
    this.bay.preventRemoval(nexusKey, prevent);
  }

  /** Prevent-removal of one nexus (nexus loss) or of all (reset) is cleared. */
  allowRemoval(nexusKey?: string): void {
    for (const key of [...this.preventing]) if (nexusKey === undefined || key === nexusKey) this.prevent(key, false);
  }

  /** A logical unit reset: every prevent is cleared and the mode parameters are back to their defaults (SPC-4). */
  reset(): void {
    this.allowRemoval();
    this.blockLength = VARIABLE_BLOCKS;
    this.bufferedMode = BUFFERED;
    this.appendOnly = false;
    this.overwriteAllowedAt = undefined;
    this.encryption.reset();
  }

  get removalPrevented(): boolean {
    return this.preventing.size > 0;
  }
}

/**
 * CHECK CONDITION that still returns Data-In: a short read, or a read that met a
 * filemark or end-of-data after some blocks, hands over what it read.
 */
export function checkConditionWithData(ctx: CommandContext, data: Buffer, sense: SenseInfo): ScsiResponse {
  return { status: Status.CheckCondition, data, sense: buildSense(sense, ctx.lu.senseFormat()) };
}
