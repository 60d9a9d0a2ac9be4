// The one way the gateway talks to Glacier vaults (AWS or the embedded endpoint
// alike: they differ only in configuration). Archives go up with their SHA-256
// and tree hash computed while the source streams; job output comes down by
// tree-hash-aligned ranges, each checked against the hash Glacier sends and the
// whole against the archive's tree hash.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateVaultCommand,
  DeleteArchiveCommand,
  DescribeJobCommand,
  DescribeVaultCommand,
  GetJobOutputCommand,
  GlacierClient,
  InitiateJobCommand,
  InitiateMultipartUploadCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  type GlacierJobDescription,
} from '@aws-sdk/client-glacier';
import type { StoreObserver } from './object-backend.ts';
import { ChecksumMismatchError, defaultRetryPolicy, withRetry, type RetryPolicy } from './retry.ts';
import { collectBody, sdkClientConfig } from './sdk-client.ts';
import {
  TREE_HASH_LEAF,
  TreeFold,
  TreeHasher,
  alignedRanges,
  combineTreeHashes,
  isTreeHashAligned,
  isValidPartSize,
  partSizeAtLeast,
  treeHash,
} from './tree-hash.ts';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_INVENTORY = 256 * MiB;

export interface VaultSettings {
  /** Absent for AWS itself; an http(s) URL for anything else. */
  endpoint?: string;
  region: string;
  /** Absent: the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  vault: string;
  /** "-" (the credentials' account) unless given. */
  accountId?: string;
  /** Archives up to this size go up in one request; larger ones in parts of this size (a power of two, 1 MiB–4 GiB; default 64 MiB). */
  partSize?: number;
  /** Parts of one archive in flight at once (default 4); memory use is up to this many parts plus one being read. */
  partConcurrency?: number;
  /** Job output is fetched in ranges of this size (a power-of-two MiB; default 64 MiB). */
  downloadChunkSize?: number;
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

export type RetrievalTier = 'Expedited' | 'Standard' | 'Bulk';

export interface ArchiveUploaded {
  archiveId: string;
  treeHash: string;
  size: number;
}

export interface JobStatus {
  jobId: string;
  action: 'ArchiveRetrieval' | 'InventoryRetrieval' | 'Select';
  completed: boolean;
  statusCode: 'InProgress' | 'Succeeded' | 'Failed';
  statusMessage?: string;
  archiveId?: string;
  archiveSize?: number;
  archiveTreeHash?: string;
  /** The retrieved bytes, end exclusive (the whole archive unless a range was asked). */
  range?: { start: number; end: number };
  /** Tree hash of the retrieved range, when it is tree-hash aligned and the job has completed. */
  treeHash?: string;
  inventorySize?: number;
  tier?: string;
}

export interface InventoryArchive {
  archiveId: string;
  description: string;
  creationDate: string;
  size: number;
  treeHash: string;
}

export interface Inventory {
  vaultArn: string;
  inventoryDate: string;
  archives: InventoryArchive[];
}

/** Bytes that do not match the tree hash they should have; retried like any checksum failure, then thrown. */
export class TreeHashMismatchError extends ChecksumMismatchError {
  constructor(
    message: string,
    readonly expected: string | undefined,
    readonly actual: string,
  ) {
    super(message);
  }
}

/** A response body that broke off after `received` bytes (retried as a reset connection). */
class CutShortError extends Error {
  readonly code = 'ECONNRESET';
  constructor(
    readonly received: number,
    length: number,
    cause: unknown,
  ) {
    super(`response body cut short at ${received} of ${length} bytes: ${(cause as Error)?.message}`, { cause });
  }
}

export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  constructor(readonly status: JobStatus) {
    super(`Glacier job ${status.jobId} failed: ${status.statusMessage ?? 'no message'}`);
  }
}

/**
 * Hooks that make an upload resumable by its caller: the upload id is known
 * before any part goes up, and the size and tree hash before Complete is asked,
 * so a caller that persists both can, after a crash, complete the same upload
 * again (Glacier answers the same archive id) instead of leaving a duplicate.
 */
export interface UploadHooks {
  /** Always upload in parts, even an archive that would fit in one request (UploadArchive cannot be repeated safely). */
  multipart?: boolean;
  onInitiated?(uploadId: string): Promise<void>;
  onCompleting?(uploadId: string, size: number, treeHash: string): Promise<void>;
  /** Bytes acknowledged so far. */
  onProgress?(bytes: number): void;
}

/** A payload with the hashes Glacier wants, computed once while it was read. */
interface Hashed {
  data: Buffer;
  sha256: string;
  treeHash: string;
}

export class Vault {
  readonly name: string;
  private readonly client: GlacierClient;
  private readonly accountId: string;
  private readonly retry: RetryPolicy;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly chunkSize: number;
  private readonly idleTimeoutMs: number;
  /** Hashes of bodies about to be sent, so that the SDK does not hash them again. */
  private readonly hashes = new WeakMap<object, Hashed>();

  constructor(
    settings: VaultSettings,
    private readonly observer: StoreObserver = {},
  ) {
    this.name = settings.vault;
    this.accountId = settings.accountId ?? '-';
    this.retry = { ...defaultRetryPolicy, ...settings.retry };
    this.partSize = settings.partSize ?? 64 * MiB;
    this.partConcurrency = settings.partConcurrency ?? 4;
    this.chunkSize = settings.downloadChunkSize ?? 64 * MiB;
    this.idleTimeoutMs = settings.idleTimeoutMs ?? 30_000;
    if (!isValidPartSize(this.partSize)) throw new RangeError(`part size ${this.partSize} is not a power of two from 1 MiB to 4 GiB`);
    if (!isValidPartSize(this.chunkSize))
      throw new RangeError(`download chunk size ${this.chunkSize} is not a power of two from 1 MiB to 4 GiB`);
    this.client = new GlacierClient({
      ...sdkClientConfig({ ...settings, idleTimeoutMs: this.idleTimeoutMs }),
      bodyChecksumGenerator: async (request) => {
        const known = this.hashes.get(request.body as object);
        if (known) return [known.sha256, known.treeHash];
        const raw = request.body as string | Uint8Array;
        const body = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        return [createHash('sha256').update(body).digest('hex'), treeHash(body).toString('hex')];
      },
    });
  }

  /** The SDK client, for what this class does not cover. */
  get glacier(): GlacierClient {
    return this.client;
  }

  close(): void {
    this.client.destroy();
  }

  /** Creates the vault; creating one that exists succeeds, as in Glacier. */
  async create(): Promise<void> {
    await this.attempt('create-vault', () => this.client.send(new CreateVaultCommand(this.target())));
  }

  async describe(): Promise<{ arn: string; creationDate: string; archives: number; sizeInBytes: number; lastInventoryDate?: string }> {
    const out = await this.attempt('describe-vault', () => this.client.send(new DescribeVaultCommand(this.target())));
    return {
      arn: out.VaultARN ?? '',
      creationDate: out.CreationDate ?? '',
      archives: out.NumberOfArchives ?? 0,
      sizeInBytes: out.SizeInBytes ?? 0,
      lastInventoryDate: out.LastInventoryDate,
    };
  }

  /**
   * Uploads an archive from a buffer or a stream: in one request when it fits in
   * one part, else in parts with up to `partConcurrency` in flight. `sizeHint`
   * raises the part size when the archive would otherwise need more than 10,000 parts.
   */
  async upload(
    source: Buffer | Readable | AsyncIterable<Buffer>,
    options: { description?: string; sizeHint?: number } & UploadHooks = {},
  ): Promise<ArchiveUploaded> {
    const partSize = Math.max(this.partSize, partSizeAtLeast(Math.ceil((options.sizeHint ?? 0) / MAX_PARTS)) ?? Infinity);
    if (!Number.isFinite(partSize)) throw new RangeError(`an archive of ${options.sizeHint} bytes exceeds Glacier's 10,000 parts of 4 GiB`);
    const parts = readParts(Buffer.isBuffer(source) ? [source] : (source as AsyncIterable<Buffer>), partSize);
    const first = await parts.next();
    if (first.done) throw new RangeError('Glacier refuses an empty archive');
    // Only the last part is short: a short first part is the whole archive.
    if (first.value.data.length < partSize && !options.multipart) return this.uploadSingle(first.value, options.description);
    return this.uploadMultipart(first.value, parts, partSize, options);
  }

  private async uploadSingle(part: Hashed, description: string | undefined): Promise<ArchiveUploaded> {
    this.hashes.set(part.data, part);
    const out = await this.attempt('upload-archive', () =>
      this.client.send(
        new UploadArchiveCommand({ ...this.target(), body: part.data, checksum: part.treeHash, archiveDescription: description }),
      ),
    );
    this.observer.uploaded?.(part.data.length);
    return this.created(out.archiveId, out.checksum, part.treeHash, part.data.length);
  }

  private async uploadMultipart(
    first: Hashed,
    rest: AsyncGenerator<Hashed>,
    partSize: number,
    options: { description?: string } & UploadHooks,
  ): Promise<ArchiveUploaded> {
    const created = await this.attempt('initiate-multipart', () =>
      this.client.send(
        new InitiateMultipartUploadCommand({ ...this.target(), partSize: String(partSize), archiveDescription: options.description }),
      ),
    );
    const uploadId = created.uploadId;
    if (!uploadId) throw new Error('Glacier gave no multipart upload id');
    await options.onInitiated?.(uploadId);
    const hashes: Buffer[] = [];
    let acknowledged = 0;
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let size = 0;
    try {
      for (let part: Hashed | undefined = first, index = 0; part; index++) {
        if (index >= MAX_PARTS) throw new RangeError(`archive needs more than ${MAX_PARTS} parts of ${partSize} bytes; give a sizeHint`);
        hashes.push(Buffer.from(part.treeHash, 'hex'));
        const offset = size;
        size += part.data.length;
        const bytes = part.data.length;
        const sending: Promise<void> = this.uploadPart(uploadId, part, offset).then(
          () => {
            inFlight.delete(sending);
            options.onProgress?.((acknowledged += bytes));
          },
          (error: unknown) => {
            failure ??= { error };
            inFlight.delete(sending);
          },
        );
        inFlight.add(sending);
        if (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        if (failure) throw failure.error;
        const next = await rest.next();
        part = next.done ? undefined : next.value;
      }
      await Promise.all(inFlight);
      if (failure) throw failure.error;
    } catch (error) {
      await Promise.allSettled(inFlight);
      await this.abortUpload(uploadId).catch(() => undefined);
      throw error;
    }
    const checksum = combineTreeHashes(hashes).toString('hex');
    await options.onCompleting?.(uploadId, size, checksum);
    return this.completeUpload(uploadId, size, checksum);
  }

  /** Completes a multipart upload; repeating it (after a crash) answers the same archive. */
  async completeUpload(uploadId: string, size: number, checksum: string): Promise<ArchiveUploaded> {
    const out = await this.attempt('complete-multipart', () =>
      this.client.send(new CompleteMultipartUploadCommand({ ...this.target(), uploadId, archiveSize: String(size), checksum })),
    );
    return this.created(out.archiveId, out.checksum, checksum, size);
  }

  /** Drops an unfinished multipart upload and its parts. */
  async abortUpload(uploadId: string): Promise<void> {
    await this.attempt('abort-multipart', () => this.client.send(new AbortMultipartUploadCommand({ ...this.target(), uploadId })));
  }

  private async uploadPart(uploadId: string, part: Hashed, offset: number): Promise<void> {
    this.hashes.set(part.data, part);
    const out = await this.attempt('upload-part', () =>
      this.client.send(
        new UploadMultipartPartCommand({
          ...this.target(),
          uploadId,
          body: part.data,
          checksum: part.treeHash,
          range: `bytes ${offset}-${offset + part.data.length - 1}/*`,
        }),
      ),
    );
    if (out.checksum !== undefined && out.checksum !== part.treeHash) {
      throw new TreeHashMismatchError(`Glacier acknowledged part at ${offset} with tree hash ${out.checksum}`, part.treeHash, out.checksum);
    }
    this.observer.uploaded?.(part.data.length);
  }

  private created(archiveId: string | undefined, answered: string | undefined, sent: string, size: number): ArchiveUploaded {
    if (!archiveId) throw new Error('Glacier gave no archive id');
    if (answered !== undefined && answered !== sent)
      throw new TreeHashMismatchError(`Glacier stored archive ${archiveId} with tree hash ${answered}`, sent, answered);
    return { archiveId, treeHash: sent, size };
  }

  async deleteArchive(archiveId: string): Promise<void> {
    await this.attempt('delete-archive', () => this.client.send(new DeleteArchiveCommand({ ...this.target(), archiveId })));
  }

  /** Starts an archive retrieval; `range` (end exclusive) must be megabyte aligned. Returns the job id. */
  async retrieveArchive(
    archiveId: string,
    options: { tier?: RetrievalTier; range?: { start: number; end: number }; description?: string } = {},
  ): Promise<string> {
    const range = options.range ? `${options.range.start}-${options.range.end - 1}` : undefined;
    return this.initiateJob({
      Type: 'archive-retrieval',
      ArchiveId: archiveId,
      Tier: options.tier ?? 'Standard',
      RetrievalByteRange: range,
      Description: options.description,
    });
  }

  async retrieveInventory(options: { description?: string } = {}): Promise<string> {
    return this.initiateJob({ Type: 'inventory-retrieval', Format: 'JSON', Description: options.description });
  }

  private async initiateJob(jobParameters: Record<string, string | undefined>): Promise<string> {
    const out = await this.attempt('initiate-job', () => this.client.send(new InitiateJobCommand({ ...this.target(), jobParameters })));
    if (!out.jobId) throw new Error('Glacier gave no job id');
    return out.jobId;
  }

  async describeJob(jobId: string): Promise<JobStatus> {
    return jobStatus(await this.attempt('describe-job', () => this.client.send(new DescribeJobCommand({ ...this.target(), jobId }))));
  }

  /** Polls a job until it completes; a failed job throws JobFailedError. */
  async waitForJob(jobId: string, options: { intervalMs?: number; signal?: AbortSignal } = {}): Promise<JobStatus> {
    for (;;) {
      const status = await this.describeJob(jobId);
      if (status.statusCode === 'Failed') throw new JobFailedError(status);
      if (status.completed) return status;
      await sleep(options.intervalMs ?? 60_000, undefined, { signal: options.signal });
    }
  }

  /**
   * Reads [start, end) of a job's output. When Glacier sends the range's tree
   * hash, the bytes are checked against it (TreeHashMismatchError); `requireHash`
   * refuses a range that comes without one.
   */
  async getJobOutput(
    jobId: string,
    range: { start: number; end: number },
    requireHash = false,
  ): Promise<{ data: Buffer; treeHash?: string }> {
    let lastCut: number | undefined;
    return this.attempt('get-job-output', async () => {
      const out = await this.client.send(
        new GetJobOutputCommand({ ...this.target(), jobId, range: `bytes=${range.start}-${range.end - 1}` }),
      );
      const body = out.body as Readable | undefined;
      const length = range.end - range.start;
      const announced = /^bytes (\d+)-(\d+)\/\d+$/.exec(out.contentRange ?? '');
      if (!body || !announced || Number(announced[1]) !== range.start || Number(announced[2]) + 1 !== range.end) {
        body?.destroy();
        throw new ChecksumMismatchError(`job ${jobId}: asked bytes ${range.start}-${range.end - 1}, got Content-Range ${out.contentRange}`);
      }
      if (requireHash && out.checksum === undefined) {
        body.destroy();
        throw new TreeHashMismatchError(`job ${jobId}: no tree hash for aligned range ${range.start}-${range.end - 1}`, undefined, '');
      }
      let collected;
      try {
        collected = await this.collect(body, length);
      } catch (error) {
        if (!(error instanceof CutShortError)) throw error;
        // A body cut in the same leaf again is no accident of the network: the endpoint will not send damaged bytes.
        const leaf = Math.floor((range.start + error.received) / TREE_HASH_LEAF);
        if (leaf === lastCut)
          throw new ChecksumMismatchError(
            `job ${jobId}: output is cut short at byte ${range.start + error.received} on every attempt; the stored archive is damaged there`,
          );
        lastCut = leaf;
        throw error;
      }
      const { data, hash } = collected;
      if (out.checksum !== undefined && out.checksum !== hash) {
        throw new TreeHashMismatchError(
          `job ${jobId}: bytes ${range.start}-${range.end - 1} have tree hash ${hash}, Glacier says ${out.checksum}`,
          out.checksum,
          hash,
        );
      }
      return { data, treeHash: out.checksum };
    });
  }

  /**
   * The output of a completed archive retrieval in tree-hash-aligned chunks, in
   * order. Each chunk is checked as it arrives and the whole against the job's
   * tree hash before the iteration ends; a retrieval of an unaligned range,
   * which Glacier gives no hashes for, is refused.
   */
  async *readArchiveOutput(jobId: string): AsyncGenerator<{ offset: number; data: Buffer }> {
    const job = await this.describeJob(jobId);
    if (!job.completed || job.action !== 'ArchiveRetrieval' || !job.range || job.archiveSize === undefined) {
      throw new Error(`job ${jobId} is not a completed archive retrieval`);
    }
    const { start, end } = job.range;
    const expected = job.treeHash;
    if (!expected || !isTreeHashAligned(start, end, job.archiveSize)) {
      throw new Error(`job ${jobId} retrieved bytes ${start}-${end - 1}, a range Glacier gives no tree hash for`);
    }
    const whole = new TreeFold();
    for (const chunk of alignedRanges(end - start, this.chunkSize)) {
      const { data, treeHash: hash } = await this.getJobOutput(jobId, chunk, true);
      whole.add(Buffer.from(hash!, 'hex'));
      yield { offset: chunk.start, data };
    }
    const actual = whole.root().toString('hex');
    if (actual !== expected)
      throw new TreeHashMismatchError(`job ${jobId}: output has tree hash ${actual}, the archive ${expected}`, expected, actual);
  }

  /** The archives listed by a completed inventory job. */
  async getInventory(jobId: string): Promise<Inventory> {
    const job = await this.describeJob(jobId);
    const size = job.inventorySize;
    if (!job.completed || job.action !== 'InventoryRetrieval' || size === undefined || size > MAX_INVENTORY) {
      throw new Error(`job ${jobId} is not a completed inventory retrieval of at most ${MAX_INVENTORY} bytes`);
    }
    const { data } = await this.getJobOutput(jobId, { start: 0, end: size });
    const parsed = JSON.parse(data.toString('utf8')) as { VaultARN?: unknown; InventoryDate?: unknown; ArchiveList?: unknown };
    if (typeof parsed.VaultARN !== 'string' || typeof parsed.InventoryDate !== 'string' || !Array.isArray(parsed.ArchiveList)) {
      throw new Error(`job ${jobId}: inventory is not in Glacier's JSON format`);
    }
    return {
      vaultArn: parsed.VaultARN,
      inventoryDate: parsed.InventoryDate,
      archives: (parsed.ArchiveList as Record<string, unknown>[]).map((a) => ({
        archiveId: String(a.ArchiveId),
        description: typeof a.ArchiveDescription === 'string' ? a.ArchiveDescription : '',
        creationDate: String(a.CreationDate),
        size: Number(a.Size),
        treeHash: String(a.SHA256TreeHash),
      })),
    };
  }

  private target(): { accountId: string; vaultName: string } {
    return { accountId: this.accountId, vaultName: this.name };
  }

  /** Reads a body of exactly `length` bytes, tree-hashing it as it comes; more, less or a stall is an error. */
  private async collect(body: Readable, length: number): Promise<{ data: Buffer; hash: string }> {
    const hasher = new TreeHasher();
    let at = 0;
    try {
      const data = await collectBody(body, length, this.idleTimeoutMs, (chunk) => {
        hasher.update(chunk);
        at += chunk.length;
        this.observer.downloaded?.(chunk.length);
      });
      return { data, hash: hasher.digest().toString('hex') };
    } catch (error) {
      if (at === 0 || error instanceof ChecksumMismatchError || (error as Error).name === 'TimeoutError') throw error;
      throw new CutShortError(at, length, error);
    }
  }

  private attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return withRetry(run, this.retry, (cause) => this.observer.retried?.(cause, operation));
  }
}

/** Cuts a stream into parts of `partSize` bytes (the last shorter), hashing each as its bytes arrive. */
async function* readParts(source: AsyncIterable<Buffer> | Iterable<Buffer>, partSize: number): AsyncGenerator<Hashed> {
  let part = Buffer.allocUnsafe(partSize);
  let filled = 0;
  let sha = createHash('sha256');
  let tree = new TreeHasher();
  const done = (): Hashed => ({
    data: filled === partSize ? part : part.subarray(0, filled),
    sha256: sha.digest('hex'),
    treeHash: tree.digest().toString('hex'),
  });
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(partSize - filled, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      piece.copy(part, filled);
      sha.update(piece);
      tree.update(piece);
      filled += take;
      at += take;
      if (filled === partSize) {
        yield done();
        part = Buffer.allocUnsafe(partSize);
        filled = 0;
        sha = createHash('sha256');
        tree = new TreeHasher();
      }
    }
  }
  if (filled > 0) yield done();
}

function jobStatus(d: GlacierJobDescription): JobStatus {
  const range = /^(\d+)-(\d+)$/.exec(d.RetrievalByteRange ?? '');
  return {
    jobId: d.JobId ?? '',
    action: d.Action ?? 'ArchiveRetrieval',
    completed: d.Completed === true,
    statusCode: d.StatusCode ?? 'InProgress',
    statusMessage: d.StatusMessage,
    archiveId: d.ArchiveId,
    archiveSize: d.ArchiveSizeInBytes,
    archiveTreeHash: d.ArchiveSHA256TreeHash,
    range: range ? { start: Number(range[1]), end: Number(range[2]) + 1 } : undefined,
    treeHash: d.SHA256TreeHash,
    inventorySize: d.InventorySizeInBytes,
    tier: d.Tier,
  };
}
