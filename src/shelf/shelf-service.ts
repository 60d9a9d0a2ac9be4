// What an operator can do with the vault shelf (the management API serves it;
// the CLI calls the API). Archived cartridges have left the library; their
// data lives only in the pool's destination until retrieved.
import type { DeleteTapeOptions, TapeLocation } from '../tape/tape-service.ts';

/**
 * The shelf's part of a cartridge's life, as AWS's tape gateway names it:
 * exported → IN_TRANSIT_TO_VTS (waiting for its data to be uploaded) → ARCHIVING → ARCHIVED;
 * retrieve → RETRIEVING → RETRIEVED (read-only, in an import/export slot);
 * IRRECOVERABLE when the archive cannot be read back whole.
 */
export type ShelfStatus = 'IN_TRANSIT_TO_VTS' | 'ARCHIVING' | 'ARCHIVED' | 'RETRIEVING' | 'RETRIEVED' | 'IRRECOVERABLE';

export type RetrievalTier = 'Expedited' | 'Standard' | 'Bulk';

export interface ShelfTapeInfo {
  readonly barcode: string;
  readonly status: ShelfStatus;
  readonly pool: string;
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly worm: boolean;
  readonly createdAt: string;
  /** 0-100 while IN_TRANSIT_TO_VTS, ARCHIVING or RETRIEVING. */
  readonly progress?: number;
  readonly archivedAt?: string;
  /** Bytes of the archive in the pool's destination. */
  readonly archiveBytes?: number;
  readonly retrievedAt?: string;
  /** Where a RETRIEVED cartridge sits in the library. */
  readonly location?: TapeLocation;
  readonly retentionUntil?: string;
  /** Why the cartridge is IRRECOVERABLE, or why the last attempt of a step failed (it is retried). */
  readonly error?: string;
}

export interface RetrieveTapeRequest {
  readonly barcode: string;
  /** Default Standard. */
  readonly tier?: RetrievalTier;
}

export type ShelfErrorCode =
  | 'TAPE_NOT_FOUND'
  | 'NOT_ARCHIVED'
  | 'NOT_ARCHIVING'
  | 'NOT_RETRIEVING'
  | 'TAPE_IN_DRIVE'
  | 'NO_FREE_SLOT'
  | 'INVALID_TIER'
  | 'RETENTION_LOCKED';

/** A request the shelf refuses; `message` says what to do instead. */
export class ShelfServiceError extends Error {
  override readonly name = 'ShelfServiceError';
  constructor(
    readonly code: ShelfErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ShelfService {
  /** The CLI's eject: the cartridge goes to an import/export slot and is exported, as MOVE MEDIUM there would. */
  archiveTape(barcode: string): Promise<ShelfTapeInfo>;
  /** Stops an archival not yet ARCHIVED: the cartridge goes back to a storage slot, AVAILABLE, with its data. */
  cancelArchival(barcode: string): Promise<void>;
  retrieveTape(request: RetrieveTapeRequest): Promise<ShelfTapeInfo>;
  /** Stops a retrieval: the cartridge is ARCHIVED again. */
  cancelRetrieval(barcode: string): Promise<ShelfTapeInfo>;
  listShelf(): Promise<ShelfTapeInfo[]>;
  describeShelfTape(barcode: string): Promise<ShelfTapeInfo>;
  /** Deletes the archive for good; refused while the pool's retention lock holds. */
  deleteArchive(barcode: string, options?: DeleteTapeOptions): Promise<void>;
}
