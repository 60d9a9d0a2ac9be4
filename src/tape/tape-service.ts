// What an operator can do with the tape library (the management API serves
// it; the CLI calls the API). The running gateway implements it over the
// library inventory and the cartridges.

/** RETRIEVED: brought back from the vault shelf, read-only (write-protected) wherever it sits. */
export type TapeStatus = 'AVAILABLE' | 'IN_DRIVE' | 'IN_IMPORT_EXPORT' | 'RETRIEVED';

export type ElementKind = 'slot' | 'drive' | 'import-export';

/** Where a cartridge is: element kind, 1-based index among elements of that kind, SCSI element address. */
export interface TapeLocation {
  readonly kind: ElementKind;
  readonly index: number;
  readonly address: number;
}

export interface TapeInfo {
  readonly barcode: string;
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly status: TapeStatus;
  readonly location: TapeLocation;
  readonly worm: boolean;
  readonly pool: string;
  readonly createdAt: string;
  /** When deletion stops being refused by the pool's retention lock (absent: no lock). */
  readonly retentionUntil?: string;
}

export interface DriveStatus {
  readonly index: number;
  readonly address: number;
  readonly serial: string;
  /** iSCSI target (and LUN) that serves the drive. */
  readonly target: string;
  readonly lun: number;
  readonly barcode?: string;
  /** The cartridge is threaded (LOAD done) rather than just sitting in the drive. */
  readonly loaded: boolean;
}

export interface LibraryStatus {
  readonly changer: { readonly target: string; readonly lun: number; readonly serial: string };
  readonly drives: readonly DriveStatus[];
  readonly slots: { readonly total: number; readonly full: number };
  readonly importExport: { readonly total: number; readonly full: number };
  readonly tapes: number;
}

export interface CreateTapesRequest {
  readonly count: number;
  /** 1-4 letters A-Z; the rest of each barcode is a number and, with `mediaSuffix`, an LTO media ID. */
  readonly barcodePrefix: string;
  readonly sizeBytes: number;
  readonly pool?: string;
  readonly worm?: boolean;
}

export interface CreateTapeRequest {
  readonly barcode: string;
  readonly sizeBytes: number;
  readonly pool?: string;
  readonly worm?: boolean;
}

export type RetentionMode = 'NONE' | 'GOVERNANCE' | 'COMPLIANCE';

/** Where a pool's cartridges go when archived: a Glacier vault, or S3 objects in an archive storage class. */
export type PoolDestination =
  | { readonly kind: 'vault'; readonly vault: string }
  | { readonly kind: 'storage-class'; readonly storageClass: 'GLACIER' | 'DEEP_ARCHIVE' };

export interface PoolRetention {
  readonly mode: RetentionMode;
  /** 0 to 36500; counted from the cartridge's creation. */
  readonly days: number;
}

export interface PoolInfo {
  readonly name: string;
  readonly destination: PoolDestination;
  readonly retention: PoolRetention;
  /** GLACIER and DEEP_ARCHIVE always exist and cannot be deleted. */
  readonly builtIn: boolean;
  readonly createdAt: string;
}

export interface CreatePoolRequest {
  /** 1-100 characters: letters, digits, "-", "_" and ".". */
  readonly name: string;
  readonly destination: PoolDestination;
  /** Default NONE. Pools are immutable once created. */
  readonly retention?: PoolRetention;
}

export interface DeleteTapeOptions {
  /** Deletes despite a GOVERNANCE retention lock; never overrides COMPLIANCE. */
  readonly bypassGovernanceRetention?: boolean;
}

export interface MoveTapeRequest {
  readonly barcode: string;
  readonly to: { readonly kind: ElementKind; readonly index: number };
}

export type TapeErrorCode =
  | 'INVALID_BARCODE'
  | 'DUPLICATE_BARCODE'
  | 'INVALID_SIZE'
  | 'INVALID_COUNT'
  | 'TAPE_NOT_FOUND'
  | 'TAPE_IN_DRIVE'
  | 'NO_FREE_SLOT'
  | 'ELEMENT_NOT_FOUND'
  | 'ELEMENT_FULL'
  | 'MOVE_REFUSED'
  | 'INVALID_POOL'
  | 'POOL_NOT_FOUND'
  | 'DUPLICATE_POOL'
  | 'POOL_IN_USE'
  | 'RETENTION_LOCKED'
  | 'TAPE_ON_SHELF';

/** A request the library refuses; `message` says what to do instead. */
export class TapeServiceError extends Error {
  override readonly name = 'TapeServiceError';
  constructor(
    readonly code: TapeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TapeService {
  /** New blank cartridges, placed in free storage slots. */
  createTapes(request: CreateTapesRequest): Promise<TapeInfo[]>;
  createTape(request: CreateTapeRequest): Promise<TapeInfo>;
  listTapes(): Promise<TapeInfo[]>;
  describeTape(barcode: string): Promise<TapeInfo>;
  /** Deletes a cartridge and its data; refused while it is in a drive or its pool's retention lock holds. */
  deleteTape(barcode: string, options?: DeleteTapeOptions): Promise<void>;
  moveTape(request: MoveTapeRequest): Promise<TapeInfo>;
  /** Takes into the library a cartridge the bucket holds (written by another gateway, or before a rebuild). */
  importTape(barcode: string): Promise<TapeInfo>;
  libraryStatus(): Promise<LibraryStatus>;
  /** A custom pool; pools never change once made. */
  createPool(request: CreatePoolRequest): Promise<PoolInfo>;
  /** Built-in pools first, then custom ones by name. */
  listPools(): Promise<PoolInfo[]>;
  describePool(name: string): Promise<PoolInfo>;
  /** Refused for built-in pools and while any cartridge, in the library or on the shelf, is in the pool. */
  deletePool(name: string): Promise<void>;
}
