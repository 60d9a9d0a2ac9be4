// The media interface a medium changer (SMC) works through: the library's
// elements and the moves between them. The SMC device type owns the SCSI side
// (element status pages, volume tags, sense); the library (src/tape) owns the
// inventory, its persistence, and what loading a drive means.

export enum ElementType {
  MediumTransport = 1,
  Storage = 2,
  ImportExport = 3,
  DataTransfer = 4,
}

export interface ElementRange {
  readonly first: number;
  readonly count: number;
}

/** Element address assignment (SMC-3 mode page 1Dh). */
export interface ElementLayout {
  readonly transport: ElementRange;
  readonly storage: ElementRange;
  readonly importExport: ElementRange;
  readonly dataTransfer: ElementRange;
}

export interface DriveIdentity {
  /** The drive's T10 vendor, product and unit serial (VPD 80h): DVCID must equal what the drive reports. */
  readonly vendor: string;
  readonly product: string;
  readonly serial: string;
}

export interface ElementStatus {
  readonly address: number;
  readonly type: ElementType;
  readonly full: boolean;
  /** Primary volume tag: the cartridge's barcode, when full. */
  readonly barcode?: string;
  /** Element the medium was last moved from (SVALID + source storage element address). */
  readonly sourceAddress?: number;
  /** ACCESS: the transport can reach the element now. */
  readonly accessible: boolean;
  /** Import/export elements: the operator put the cartridge there (IMPEXP=1) rather than the changer. */
  readonly importedByOperator?: boolean;
  /** Data transfer elements only. */
  readonly drive?: DriveIdentity;
  /** EXCEPT with this ASC/ASCQ (high/low byte): the element is in an abnormal state (e.g. its cartridge failed to load). */
  readonly exception?: number;
}

/**
 * Why a move was refused. A drive holding a loaded cartridge is unloaded by the
 * library itself (as most libraries do), so there is no "drive not unloaded".
 */
export type MoveFailure =
  | 'invalid-element'
  | 'source-empty'
  | 'destination-full'
  | 'removal-prevented'
  /** The drive could not load the cartridge (its data is missing or unreadable); nothing moved. */
  | 'load-failed';

/** A move the library refused; the SMC device type turns `reason` into sense data. */
export class MoveMediumError extends Error {
  constructor(
    readonly reason: MoveFailure,
    /** Which of the addresses is at fault, for the sense-key-specific field pointer. */
    readonly element: 'source' | 'destination' | 'transport',
    message: string,
  ) {
    super(message);
  }
}

export interface MediaLibrary {
  layout(): ElementLayout;
  /** Every element, in address order. */
  elements(): readonly ElementStatus[];
  moveMedium(source: number, destination: number): Promise<void>;
  /** Re-reads the inventory (INITIALIZE ELEMENT STATUS, optionally WITH RANGE). */
  initializeElementStatus(range?: { first: number; count: number }): Promise<void>;
  /** Called when the inventory changes outside any initiator's MOVE MEDIUM (CLI, shelf): a unit attention is due. */
  onInventoryChanged(listener: (change: InventoryChange) => void): void;
}

export interface InventoryChange {
  /** Only import/export elements changed (28/01 IMPORT OR EXPORT ELEMENT ACCESSED rather than 28/00). */
  readonly importExportOnly: boolean;
}
