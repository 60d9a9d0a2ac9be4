// The shelf's records: one per cartridge on the shelf, in the catalog's 'shelf'
// section keyed by barcode. A record says where the cartridge is in its
// workflow closely enough to resume from it alone: each change is written
// before the step it allows (write-ahead).
import type { Catalog, Section } from '../catalog/catalog.ts';
import type { RetrievalTier, ShelfStatus } from './shelf-service.ts';

/** One object of a cartridge as archived: its key in the bucket (after the gateway's prefix), size and CRC32C. */
export interface TocEntry {
  readonly key: string;
  readonly size: number;
  readonly crc32c: number;
}

/** The cartridge's archive: one Glacier archive, or one S3 object, holding the container of archive-format.ts. */
export interface ArchiveRef {
  /** The destination: a vault's name, or `s3:<storage class>` (destination.ts). */
  readonly vault: string;
  /** The Glacier archive id, or the S3 object's key (with the gateway's prefix). */
  readonly archiveId: string;
  /** SHA-256 tree hash of the whole archive (Glacier's, or computed by the shelf as it uploaded the S3 object). */
  readonly treeHash: string;
  readonly size: number;
  readonly toc: readonly TocEntry[];
  readonly archivedAt: string;
}

export interface ShelfEntry {
  readonly barcode: string;
  readonly status: ShelfStatus;
  readonly pool: string;
  /** Where the archive goes, fixed when the cartridge was exported: a vault's name, or `s3:GLACIER` / `s3:DEEP_ARCHIVE`. */
  readonly vault: string;
  /** 0-100 within the current step's status. */
  readonly progress?: number;
  /** Why the cartridge is IRRECOVERABLE, or why the last attempt of a step failed (it is retried). */
  readonly error?: string;
  /** The multipart upload under way; `completing` once every part is up, with what Complete is asked (for S3, each part's ETag too). */
  readonly upload?: {
    readonly uploadId: string;
    readonly completing?: {
      readonly size: number;
      readonly treeHash: string;
      readonly etags?: readonly string[];
      readonly toc: readonly TocEntry[];
    };
  };
  /** Set once the archive is stored: from then on the cartridge's objects may be deleted. */
  readonly archive?: ArchiveRef;
  /** RETRIEVING: the tier, the Glacier job once started (for S3: 'restore-requested' or 'readable-now'), and whether the objects are back in the bucket. */
  readonly retrieval?: { readonly tier: RetrievalTier; readonly jobId?: string; readonly restored?: boolean };
  readonly retrievedAt?: string;
  /** An operator's cancel, carried out by the job (so that it, too, survives a restart). */
  readonly cancel?: 'archival' | 'retrieval';
}

export class ShelfCatalog {
  private readonly section: Section<ShelfEntry>;

  constructor(catalog: Catalog) {
    this.section = catalog.section<ShelfEntry>('shelf');
  }

  async get(barcode: string): Promise<ShelfEntry | undefined> {
    return this.section.get(barcode);
  }

  async put(entry: ShelfEntry): Promise<void> {
    await this.section.put(entry.barcode, entry);
  }

  async delete(barcode: string): Promise<void> {
    await this.section.del(barcode);
  }

  async all(): Promise<ShelfEntry[]> {
    return this.section.values().all();
  }
}
