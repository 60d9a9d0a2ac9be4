// Archives as single S3 objects in an archive storage class (GLACIER,
// DEEP_ARCHIVE): the shelf's destination for pools without a Glacier vault.
// Uploads are always multipart (the upload id, then the size, tree hash and
// each part's ETag are handed to the caller to persist, so a crash can
// complete the same upload again); a repeated Complete that S3 no longer knows
// counts as done when the object is there with the recorded size.
// Kept apart from object-store.ts: these objects are not the cache's blocks.
import {
  S3Client,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  RestoreObjectCommand,
  type StorageClass,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { S3Settings } from './object-store.ts';
import { sseFields } from './sse.ts';
import { TreeHasher } from './tree-hash.ts';
import type { RetrievalTier } from './vault.ts';

const MiB = 1024 * 1024;
const MIN_PART = 16 * MiB;
const MAX_PARTS = 10_000;
const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** What CompleteMultipartUpload needs, persisted before it is asked. */
export interface PendingObject {
  readonly size: number;
  readonly treeHash: string;
  readonly etags: readonly string[];
}

/** The upload is gone and the object is not the one it would have made: send it again. */
export class UploadGoneError extends Error {
  override readonly name = 'UploadGoneError';
}

export type RestoreState = { readonly state: 'readable' } | { readonly state: 'restoring' } | { readonly state: 'not-requested' };

export class ArchiveBucket {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly sse: ReturnType<typeof sseFields>;

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket;
    this.sse = sseFields(settings.serverSideEncryption);
    this.prefix = settings.prefix ?? '';
    this.client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      forcePathStyle: settings.forcePathStyle ?? false,
      maxAttempts: 5,
    });
  }

  /** Where a cartridge's archive goes: `<prefix>shelf/<barcode>.tape`, beside (not under) its `tapes/<barcode>/` objects. */
  keyOf(barcode: string): string {
    return `${this.prefix}shelf/${barcode}.tape`;
  }

  /**
   * Streams `source` into one object of `storageClass`, in parts of at least 16 MiB
   * (larger when `sizeHint` needs it to stay within 10,000 parts), one part in memory
   * and one in flight at a time.
   */
  async upload(
    key: string,
    storageClass: StorageClass,
    source: AsyncIterable<Buffer>,
    options: {
      sizeHint: number;
      onInitiated(uploadId: string): Promise<void>;
      onCompleting(uploadId: string, pending: PendingObject): Promise<void>;
      onProgress?(bytes: number): void;
    },
  ): Promise<{ size: number; treeHash: string }> {
    const partSize = Math.max(MIN_PART, Math.ceil(options.sizeHint / MAX_PARTS / MiB) * MiB);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        StorageClass: storageClass,
        ContentType: 'application/octet-stream',
        ...this.sse,
      }),
    );
    const uploadId = created.UploadId!;
    await options.onInitiated(uploadId);
    const hasher = new TreeHasher();
    const etags: string[] = [];
    let size = 0;
    let sent = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let inFlight: Promise<void> = Promise.resolve();
    const send = async (body: Buffer): Promise<void> => {
      await inFlight;
      const partNumber = etags.length + 1;
      etags.push('');
      inFlight = this.client
        .send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
          }),
        )
        .then((answer) => {
          etags[partNumber - 1] = answer.ETag!;
          sent += body.length;
          options.onProgress?.(sent);
        });
      inFlight.catch(() => undefined);
    };
    for await (const chunk of source) {
      hasher.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= partSize) {
        const all = Buffer.concat(pending);
        await send(all.subarray(0, partSize));
        pending = [all.subarray(partSize)];
        pendingBytes = all.length - partSize;
      }
    }
    if (pendingBytes > 0 || etags.length === 0) await send(Buffer.concat(pending));
    await inFlight;
    const treeHash = hasher.digest().toString('hex');
    const record = { size, treeHash, etags };
    await options.onCompleting(uploadId, record);
    await this.complete(key, uploadId, record);
    return { size, treeHash };
  }

  /**
   * Completes the upload (again, after a restart). An upload S3 no longer knows was completed
   * already if the object has the recorded size; otherwise UploadGoneError.
   */
  async complete(key: string, uploadId: string, pending: PendingObject): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: pending.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    } catch (error) {
      // AWS answers NoSuchUpload for a completed upload; s3rver an InternalError.
      const head = await this.head(key);
      if (head?.size === pending.size) return;
      if ((error as Error).name === 'NoSuchUpload' || head === undefined)
        throw new UploadGoneError(`upload ${uploadId} of ${key} is gone: ${(error as Error).message}`);
      throw error;
    }
  }

  async abort(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
  }

  async head(key: string): Promise<{ size: number; storageClass: string; restore?: string } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      // S3 leaves StorageClass out for STANDARD.
      return {
        size: head.ContentLength ?? 0,
        storageClass: head.StorageClass ?? 'STANDARD',
        ...(head.Restore ? { restore: head.Restore } : {}),
      };
    } catch (error) {
      if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Asks S3 to restore the object for `days`. 'readable' when there is nothing to restore:
   * AWS answers 403 InvalidObjectState for an object not in an archive class, and an endpoint
   * without archive classes (s3rver) 501 NotImplemented.
   */
  async requestRestore(key: string, tier: RetrievalTier, days = 1): Promise<'requested' | 'readable'> {
    try {
      await this.client.send(
        new RestoreObjectCommand({ Bucket: this.bucket, Key: key, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } } }),
      );
      return 'requested';
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'InvalidObjectState' || name === 'NotImplemented') return 'readable';
      // AWS: a restore of this object is under way already.
      if (name === 'RestoreAlreadyInProgress') return 'requested';
      throw error;
    }
  }

  /** Whether a GET would answer the bytes now. */
  async restoreState(key: string): Promise<RestoreState | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    if (head.restore) return /ongoing-request\s*=\s*"false"/.test(head.restore) ? { state: 'readable' } : { state: 'restoring' };
    return ARCHIVE_CLASSES.has(head.storageClass) ? { state: 'not-requested' } : { state: 'readable' };
  }

  async *read(key: string): AsyncGenerator<Buffer> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    for await (const chunk of answer.Body as Readable) yield chunk as Buffer;
  }

  /** Deleting an object already gone succeeds, as S3's DELETE does. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  close(): void {
    this.client.destroy();
  }
}
