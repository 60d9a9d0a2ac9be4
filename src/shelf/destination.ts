// Where a pool's archives go, behind one small interface so that the shelf's
// steps are the same for both: a Glacier vault (one archive per cartridge,
// retrieved by a job) or an S3 storage class (one object per cartridge in the
// gateway's bucket, restored by RestoreObject). An entry names its destination
// in `vault`: a vault's name, or `s3:GLACIER` / `s3:DEEP_ARCHIVE` (vault names
// cannot hold ':').
import type { ArchiveBucket, PendingObject } from '../cloud/archive-bucket.ts';
import { UploadGoneError } from '../cloud/archive-bucket.ts';
import type { RetrievalTier, Vault } from '../cloud/vault.ts';
import type { PoolDestination } from '../tape/tape-service.ts';

const S3_PREFIX = 's3:';

/** What Complete is asked, recorded before it is: the size, the tree hash and, for S3, each part's ETag. */
export interface Completing {
  readonly size: number;
  readonly treeHash: string;
  readonly etags?: readonly string[];
}

export interface UploadCallbacks {
  readonly onInitiated: (uploadId: string) => Promise<void>;
  readonly onCompleting: (uploadId: string, completing: Completing) => Promise<void>;
  readonly onProgress: (bytes: number) => void;
}

/** Where a retrieval stands. */
export type RetrievalState =
  | { readonly state: 'readable' }
  | { readonly state: 'waiting'; readonly pollMs: number }
  /** The request is forgotten (a Glacier job expired, an S3 restore lapsed): ask again. */
  | { readonly state: 'request-again' }
  | { readonly state: 'failed'; readonly reason: string };

export interface ArchiveDestination {
  /** As recorded in the entry (`vault`, `archive.vault`). */
  readonly name: string;
  prepare(): Promise<void>;
  /** The archive's id: the Glacier archive id, or the object's key. */
  upload(
    barcode: string,
    source: AsyncIterable<Buffer>,
    sizeHint: number,
    callbacks: UploadCallbacks,
  ): Promise<{ archiveId: string; size: number; treeHash: string }>;
  /** Completes a recorded upload again; an upload that cannot be completed any more throws UploadGoneError (send it again). */
  complete(barcode: string, uploadId: string, completing: Completing): Promise<{ archiveId: string }>;
  abort(barcode: string, uploadId: string): Promise<void>;
  /** Starts a retrieval; the answer is recorded as the retrieval's `jobId`. */
  requestRetrieval(archiveId: string, tier: RetrievalTier, barcode: string): Promise<string>;
  retrievalState(archiveId: string, jobId: string, tier: RetrievalTier): Promise<RetrievalState>;
  /** The archive's bytes, in order; integrity is the caller's to check (with the recorded tree hash). */
  read(archiveId: string, jobId: string): AsyncIterable<Buffer>;
  /** An archive already gone counts as deleted. */
  delete(archiveId: string): Promise<void>;
}

export { UploadGoneError };

/** The destination name an export of a pool records. */
export function destinationName(destination: PoolDestination): string {
  return destination.kind === 'vault' ? destination.vault : `${S3_PREFIX}${destination.storageClass}`;
}

export function isStorageClassDestination(name: string): boolean {
  return name.startsWith(S3_PREFIX);
}

const POLL_MIN_MS = 1_000;
const POLL_MAX_MS = 60_000;
/** Jobs and restores are polled often at first for Expedited, less otherwise (AWS takes hours). */
function pollMs(tier: RetrievalTier | undefined): number {
  return tier === 'Expedited' ? POLL_MIN_MS : Math.min(POLL_MAX_MS, POLL_MIN_MS * 5);
}

/** Vaults created by this process (CreateVault is idempotent, but once is enough). */
const created = new WeakSet<Vault>();

export function vaultDestination(vault: Vault): ArchiveDestination {
  return {
    name: vault.name,
    async prepare() {
      if (created.has(vault)) return;
      await vault.create();
      created.add(vault);
    },
    async upload(barcode, source, sizeHint, callbacks) {
      return vault.upload(source, {
        multipart: true,
        sizeHint,
        description: `tapegw cartridge ${barcode}`,
        onInitiated: callbacks.onInitiated,
        onCompleting: (uploadId, size, treeHash) => callbacks.onCompleting(uploadId, { size, treeHash }),
        onProgress: callbacks.onProgress,
      });
    },
    // Glacier answers the same archive id for a repeated Complete.
    complete: (_barcode, uploadId, { size, treeHash }) => vault.completeUpload(uploadId, size, treeHash),
    abort: (_barcode, uploadId) => vault.abortUpload(uploadId),
    requestRetrieval: (archiveId, tier, barcode) =>
      vault.retrieveArchive(archiveId, { tier, description: `tapegw retrieval of ${barcode}` }),
    async retrievalState(archiveId, jobId) {
      let job;
      try {
        job = await vault.describeJob(jobId);
      } catch (error) {
        // Glacier forgets jobs (AWS: a day after they complete): start another.
        if ((error as Error).name === 'ResourceNotFoundException') return { state: 'request-again' };
        throw error;
      }
      if (job.statusCode === 'Failed')
        return { state: 'failed', reason: `Glacier could not retrieve archive ${archiveId}: ${job.statusMessage ?? 'the job failed'}` };
      return job.completed ? { state: 'readable' } : { state: 'waiting', pollMs: pollMs(job.tier as RetrievalTier | undefined) };
    },
    async *read(_archiveId, jobId) {
      for await (const { data } of vault.readArchiveOutput(jobId)) yield data;
    },
    async delete(archiveId) {
      try {
        await vault.deleteArchive(archiveId);
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
      }
    },
  };
}

/** The `jobId` of an S3 retrieval: a restore was asked for, or there was nothing to restore. */
const RESTORE_REQUESTED = 'restore-requested';
const READABLE_NOW = 'readable-now';

export function storageClassDestination(bucket: ArchiveBucket, storageClass: 'GLACIER' | 'DEEP_ARCHIVE'): ArchiveDestination {
  return {
    name: `${S3_PREFIX}${storageClass}`,
    prepare: async () => undefined,
    async upload(barcode, source, sizeHint, callbacks) {
      const key = bucket.keyOf(barcode);
      const done = await bucket.upload(key, storageClass, source, {
        sizeHint,
        onInitiated: callbacks.onInitiated,
        onCompleting: (uploadId, pending) => callbacks.onCompleting(uploadId, pending),
        onProgress: callbacks.onProgress,
      });
      return { archiveId: key, ...done };
    },
    async complete(barcode, uploadId, completing) {
      const key = bucket.keyOf(barcode);
      const pending: PendingObject = { size: completing.size, treeHash: completing.treeHash, etags: completing.etags ?? [] };
      await bucket.complete(key, uploadId, pending);
      return { archiveId: key };
    },
    // Also deletes what a Complete may have made before a restart cut short its recording (a cancel
    // would otherwise leave it orphaned): no recorded archive is ever at the key of an upload under way.
    async abort(barcode, uploadId) {
      const key = bucket.keyOf(barcode);
      await bucket.abort(key, uploadId).catch(() => undefined);
      await bucket.delete(key);
    },
    async requestRetrieval(archiveId, tier) {
      return (await bucket.requestRestore(archiveId, tier)) === 'requested' ? RESTORE_REQUESTED : READABLE_NOW;
    },
    async retrievalState(archiveId, jobId, tier) {
      if (jobId === READABLE_NOW) return { state: 'readable' };
      const state = await bucket.restoreState(archiveId);
      if (!state) return { state: 'failed', reason: `the archive object ${archiveId} is not in bucket ${bucket.bucket}` };
      if (state.state === 'readable') return { state: 'readable' };
      // A restored copy lapsed (or the request was lost): ask again.
      if (state.state === 'not-requested') return { state: 'request-again' };
      return { state: 'waiting', pollMs: pollMs(tier) };
    },
    read: (archiveId) => bucket.read(archiveId),
    delete: (archiveId) => bucket.delete(archiveId),
  };
}
