// The media interface a tape drive (SSC) works through: a loaded cartridge seen
// as a sequence of logical objects (records and filemarks) ending at
// end-of-data. The SSC device type owns the SCSI semantics (fixed/variable
// blocks, ILI, sense, buffered mode); the cartridge (src/tape) owns storage.
//
// Positions are logical object identifiers as SSC defines them: the number of
// records and filemarks before the position, 0 = beginning of partition (BOP).

export interface TapeCapacity {
  /** Native capacity of the cartridge in bytes. */
  readonly totalBytes: number;
  /** Bytes of records written up to end-of-data. */
  readonly usedBytes: number;
  /** Remaining bytes at which early warning begins (programmable early warning is the drive's business). */
  readonly earlyWarningBytes: number;
}

export interface TapeLocation {
  /** Logical object identifier: records and filemarks before this point. */
  readonly objectNumber: number;
  /** Filemarks before this point. */
  readonly fileNumber: number;
  /** Records since the last filemark before this point (or BOP). */
  readonly recordInFile: number;
  readonly atBeginning: boolean;
  readonly atEndOfData: boolean;
}

/** What reading one logical object found. Reading moves past it, except at end-of-data. */
export type TapeObject =
  /**
   * `release`, when given: the reader calls it once it no longer uses `data`, whose buffer the medium may then reuse (a reader that never calls it only loses the reuse).
   * `encrypted`: the record was written as the drive's encrypted form (the medium keeps the mark, the drive the format).
   */
  | { readonly kind: 'record'; readonly data: Buffer; readonly release?: () => void; readonly encrypted?: boolean }
  | { readonly kind: 'filemark' }
  | { readonly kind: 'end-of-data' };

/** How a space or locate ended. */
export interface SpaceOutcome {
  /** Objects of the requested kind actually moved over (always >= 0). */
  readonly moved: number;
  /** Why it stopped short, if it did: SSC reports these with sense. */
  readonly stoppedAt?: 'filemark' | 'end-of-data' | 'beginning-of-partition';
}

export interface WriteOutcome {
  /** True once the written data reaches the early-warning zone (EOM bit, 00/02). */
  readonly earlyWarning: boolean;
}

/** Writing past the end of the partition: the records before `written` were written, none after. */
export class EndOfPartitionError extends Error {
  constructor(readonly written = 0) {
    super('end of partition reached');
  }
}

/** The medium refuses writes (retrieved from the shelf, write-protect tab): DATA PROTECT 27/00. */
export class WriteProtectedError extends Error {}

/** A WORM medium refuses to overwrite or erase what it holds: DATA PROTECT 30/0C. */
export class WormOverwriteError extends WriteProtectedError {}

/** Stored data failed its checksum and no good copy exists: MEDIUM ERROR 11/00. */
export class MediumError extends Error {}

/**
 * An attribute of the medium auxiliary memory that an application wrote
 * (SPC-4 7.4: host type and host vendor specific attributes); the drive
 * decides which may be written, the medium only keeps them.
 */
export interface HostAttribute {
  readonly id: number;
  /** FORMAT field: 0 binary, 1 ASCII, 2 text. */
  readonly format: number;
  readonly value: Buffer;
}

export interface TapeMedium {
  readonly barcode: string;
  /** LTO density code of the medium (e.g. 0x58 for LTO-5), for REPORT DENSITY and MODE SENSE. */
  readonly densityCode: number;
  /** Medium type for READ ATTRIBUTE / MODE SENSE (0 = data, 1 = WORM per SSC medium type codes). */
  readonly worm: boolean;
  readonly writeProtected: boolean;
  capacity(): TapeCapacity;
  location(): TapeLocation;

  rewind(): Promise<void>;
  /** Reads the object at the position and moves past it (not past end-of-data). */
  read(): Promise<TapeObject>;
  /** Reads the object at the position without moving. */
  peek(): Promise<TapeObject>;
  /**
   * Moves over `count` records (negative: backwards). Stops at a filemark (the
   * position is then past it going forward, before it going back), at
   * end-of-data, or at BOP.
   */
  spaceRecords(count: number): Promise<SpaceOutcome>;
  /** Moves over `count` filemarks (negative: backwards, ending before the filemark). */
  spaceFilemarks(count: number): Promise<SpaceOutcome>;
  spaceToEndOfData(): Promise<void>;
  /** Positions at a logical object; past end-of-data it stops there and says so. */
  locate(objectNumber: number): Promise<SpaceOutcome>;

  /**
   * Writes records at the position; everything after the position is discarded
   * first (sequential medium). Throws EndOfPartitionError, WriteProtectedError
   * or WormOverwriteError. Reads throw MediumError on data that fails its check.
   * `hold`, when given, lets the medium keep the records' buffers past the call
   * instead of copying them (see ScsiCommand.holdDataOut). `encrypted` marks
   * them as the drive's encrypted form, which read() reports.
   */
  writeRecords(records: readonly Buffer[], hold?: () => () => void, options?: { readonly encrypted?: boolean }): Promise<WriteOutcome>;
  writeFilemarks(count: number): Promise<WriteOutcome>;
  /** Erases from the position to the end (EOD placed at the position). */
  erase(): Promise<void>;
  /** Sync point: everything written so far is durable before this resolves. */
  flush(): Promise<void>;

  /** The host attributes the medium holds, in ascending identifier order. */
  readonly hostAttributes: readonly HostAttribute[];
  /** Replaces them all; they are durable with the cartridge (a sync point) when this resolves. Throws WriteProtectedError. */
  writeHostAttributes(attributes: readonly HostAttribute[]): Promise<void>;
}

/**
 * The drive's side of the library: what cartridge sits in it. The changer puts
 * a cartridge in (MOVE MEDIUM), the drive threads it (LOAD) and gives it back
 * (UNLOAD) before the changer can take it out.
 */
export interface DriveBay {
  /** The cartridge in the drive, threaded and ready for I/O; undefined when empty or unloaded. */
  readonly medium: TapeMedium | undefined;
  /** A cartridge is in the drive, loaded or not. */
  readonly occupied: boolean;
  /** LOAD UNLOAD with LOAD=1: threads the cartridge in the bay (NOT READY 3A/00 when empty). */
  load(): Promise<void>;
  /** LOAD UNLOAD with LOAD=0: a sync point, then the cartridge is ready for the changer to take. */
  unload(): Promise<void>;
  /** PREVENT ALLOW MEDIUM REMOVAL from one I_T nexus; the changer refuses to move a prevented cartridge. */
  preventRemoval(nexusKey: string, prevent: boolean): void;
  /** Called when a cartridge arrives in or leaves the bay (`occupied` says which): an arrival gives every nexus 28/00. */
  onMediumChanged(listener: () => void): void;
}
