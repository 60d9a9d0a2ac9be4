// The one way the gateway talks to S3 (AWS, MinIO, Ceph RGW or the embedded
// s3rver alike: they differ only in configuration). Every object carries our
// own CRC32C per block in its metadata, so every read, ranged or whole, is
// checked before a byte is handed on; uploads also carry the checksum the
// endpoint verifies (upload-checks.ts), so that S3 itself refuses damaged bodies.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { crc32c } from '../crc32c/crc32c.ts';
import { blockCrcs, crcBase64, decodeCrcs, encodeCrcs, regroup, type BlockChecksums } from '../crc32c/block-checksums.ts';
import {
  DELETE_MANY_MAX,
  ObjectNotFoundError,
  StoreUnavailableError,
  UnverifiableObjectError,
  type BackendHooks,
  type GetOptions,
  type ObjectBackend,
  type GotObject,
  type ObjectInfo,
  type ObjectMetadata,
  type PutOptions,
  type PutSource,
  type UploadShaper,
} from './object-backend.ts';
import { ChecksumMismatchError, defaultRetryPolicy, retryCause, withRetry, type RetryPolicy } from './retry.ts';
import { collectBody, sdkClientConfig } from './sdk-client.ts';
import { withPayloadHash, type UploadCheck } from './upload-checks.ts';
import { sseFields, type ServerSideEncryption } from './sse.ts';

const MiB = 1024 * 1024;
/** Blocks of our metadata checksum: at least 1 MiB, at most 256 of them (S3 metadata holds 2 KiB). */
const MIN_BLOCK = MiB;
const MAX_BLOCKS = 256;
const META_BLOCK = 'gw-block';
const META_CRCS = 'gw-crc32c';
/** S3's limits on multipart uploads. */
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;
/** Request bodies are read from their source this much at a time, as the socket takes them. */
const PIECE = MiB;
/**
 * Buffers a request body's pieces cycle through. A body is piped into the
 * request: a piece of 1 MiB fills the socket's write queue past its high-water
 * mark, so the pipe waits for 'drain' (the queue written out) before the next
 * piece flows, and the body stream asks for a piece only once the one it holds
 * has flowed. So piece k + 2 is read only after piece k is out of the queue: two
 * pieces are alive while a third is read, and the third buffer is the oldest's.
 * Reusing them spares a fresh megabyte per piece: its page faults and the
 * collector's work were most of an upload's CPU.
 */
const BODY_RING = 3;
export interface S3Settings {
  /** Absent for AWS itself; an http(s) URL for anything else. */
  endpoint?: string;
  region: string;
  /** Absent: the SDK's default provider chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  bucket: string;
  /** Prepended to every key; '' or e.g. 'gateway-1/'. */
  prefix?: string;
  /** Required by s3rver and most MinIO set-ups. */
  forcePathStyle?: boolean;
  /** The checksum sent with each upload for the endpoint to verify (default 'crc32c'): one probeUploadChecks() found it verifies. */
  uploadCheck?: UploadCheck;
  /** Objects above this go up in parts (default 64 MiB). */
  multipartThreshold?: number;
  /** Smallest part of a multipart upload (default 16 MiB); larger when the object needs it. */
  minPartSize?: number;
  /** Parts of one object in flight at once (default 4). */
  partConcurrency?: number;
  /** A socket silent this long fails the attempt (default 30 s). */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxSockets?: number;
  retry?: Partial<RetryPolicy>;
  /** Asked of S3 for every object written (sse.ts); absent: the bucket's default encryption. */
  serverSideEncryption?: ServerSideEncryption;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Where the objects live, for messages an operator reads. */
export function storeLocation(settings: Pick<S3Settings, 'endpoint' | 'region' | 'bucket'>): string {
  return `${settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`}, bucket ${settings.bucket}`;
}

export function idleTimeoutOf(settings: Pick<S3Settings, 'idleTimeoutMs'>): number {
  return settings.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
}

export function metadataBlockSize(size: number): number {
  return Math.max(MIN_BLOCK, Math.ceil(size / MAX_BLOCKS / MiB) * MiB);
}

export function partSizeFor(size: number, minPartSize: number): number {
  return Math.ceil(Math.max(minPartSize, MIN_PART, size / MAX_PARTS) / MiB) * MiB;
}

export class ObjectStore implements ObjectBackend {
  readonly bucket: string;
  readonly location: string;
  readonly idleTimeoutMs: number;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly retry: RetryPolicy;
  private readonly uploadCheck: UploadCheck;
  readonly multipartThreshold: number;
  private readonly minPartSize: number;
  private readonly partConcurrency: number;
  private readonly observer: NonNullable<BackendHooks['observer']>;
  private readonly shaper: BackendHooks['shaper'];
  private readonly sse: ReturnType<typeof sseFields>;

  /** `bodyBuffers`: where GET and PUT bodies' buffers come from and go back to (the worker of worker-backend.ts shares its own). */
  constructor(
    settings: S3Settings,
    hooks: BackendHooks = {},
    private readonly bodyBuffers = new BufferPool(),
  ) {
    this.observer = hooks.observer ?? {};
    this.shaper = hooks.shaper;
    this.bucket = settings.bucket;
    this.location = storeLocation(settings);
    this.prefix = settings.prefix ?? '';
    this.retry = { ...defaultRetryPolicy, ...settings.retry };
    this.uploadCheck = settings.uploadCheck ?? 'crc32c';
    this.multipartThreshold = settings.multipartThreshold ?? 64 * MiB;
    this.minPartSize = settings.minPartSize ?? 16 * MiB;
    this.partConcurrency = settings.partConcurrency ?? 4;
    this.idleTimeoutMs = idleTimeoutOf(settings);
    this.sse = sseFields(settings.serverSideEncryption);
    this.client = new S3Client({
      ...sdkClientConfig({ ...settings, idleTimeoutMs: this.idleTimeoutMs }),
      forcePathStyle: settings.forcePathStyle,
      // We compute CRC32C natively and verify reads ourselves; the SDK's JS CRC would cost ~20 ms/MiB.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    if (this.uploadCheck === 'crc32c') {
      // A body whose CRC32C S3 verifies needs no SHA-256 of it in the signature as well
      // (UNSIGNED-PAYLOAD): that hash would cost a pass over every byte on the event loop.
      this.client.middlewareStack.add(
        (next) => async (args) => {
          const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
          if (headers?.['x-amz-checksum-crc32c'] !== undefined) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'unsignedVerifiedPayload' },
      );
    }
  }

  close(): void {
    this.client.destroy();
  }

  /**
   * Uploads an object whole: one PUT up to the multipart threshold, parts above
   * it. The body streams from its source piece by piece, so an upload holds
   * a few MiB of it at most, whatever its size.
   */
  async put(key: string, body: Buffer | PutSource, options: PutOptions = {}): Promise<void> {
    const source = Buffer.isBuffer(body) ? bufferSource(body) : body;
    if (MiB % source.checksums.blockSize !== 0 || source.checksums.crcs.length !== Math.ceil(source.size / source.checksums.blockSize)) {
      throw new RangeError(`checksums of ${key} do not cover its ${source.size} bytes in blocks dividing 1 MiB`);
    }
    const blockSize = metadataBlockSize(source.size);
    const metadata = {
      ...userMetadata(options.metadata),
      [META_BLOCK]: String(blockSize),
      [META_CRCS]: encodeCrcs(regroup(source.checksums, source.size, blockSize)!),
    };
    if (source.size <= this.multipartThreshold) return this.putSingle(key, source, metadata);
    return this.putMultipart(key, source, metadata);
  }

  private async putSingle(key: string, source: PutSource, metadata: Record<string, string>): Promise<void> {
    const check = await this.bodyCheck(source, 0, source.size);
    await this.attempt('put', () =>
      this.sendBody(source, 0, source.size, (Body, abortSignal) =>
        this.client.send(
          withPayloadHash(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: this.prefix + key,
              Body,
              ContentLength: source.size,
              ...check.input,
              Metadata: metadata,
              ...this.sse,
            }),
            check.sha256,
          ),
          { abortSignal },
        ),
      ),
    );
    this.observer.uploaded?.(source.size);
  }

  private async putMultipart(key: string, source: PutSource, metadata: Record<string, string>): Promise<void> {
    const Key = this.prefix + key;
    const created = await this.attempt('create-multipart', () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          Metadata: metadata,
          ChecksumAlgorithm: this.uploadCheck === 'crc32c' ? 'CRC32C' : undefined,
          ...this.sse,
        }),
      ),
    );
    const UploadId = created.UploadId;
    if (!UploadId) throw new Error(`no UploadId for ${key}`);
    const partSize = partSizeFor(source.size, this.minPartSize);
    const count = Math.ceil(source.size / partSize);
    const parts = new Array<CompletedPart>(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const offset = index * partSize;
        const length = Math.min(partSize, source.size - offset);
        const check = await this.bodyCheck(source, offset, length);
        const done = await this.attempt('upload-part', () =>
          this.sendBody(source, offset, length, (Body, abortSignal) =>
            this.client.send(
              withPayloadHash(
                new UploadPartCommand({
                  Bucket: this.bucket,
                  Key,
                  UploadId,
                  PartNumber: index + 1,
                  Body,
                  ContentLength: length,
                  ...check.input,
                }),
                check.sha256,
              ),
              { abortSignal },
            ),
          ),
        );
        // Only UploadPart's ETag is used: CompleteMultipartUpload's (empty from RGW) never is.
        parts[index] = { PartNumber: index + 1, ETag: done.ETag, ChecksumCRC32C: check.input.ChecksumCRC32C };
        this.observer.uploaded?.(length);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      await this.attempt('complete-multipart', () =>
        this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })),
      );
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  /**
   * What goes with the body's bytes [offset, offset + length) for the endpoint to
   * check: the CRC32C from the source's block checksums, else a digest that
   * takes a pass over the bytes before the request.
   */
  private async bodyCheck(
    source: PutSource,
    offset: number,
    length: number,
  ): Promise<{ input: { ChecksumCRC32C?: string; ContentMD5?: string }; sha256?: string }> {
    switch (this.uploadCheck) {
      case 'crc32c':
        return { input: { ChecksumCRC32C: crc32cOf(source.checksums, offset, length) } };
      case 'sha256':
        return { input: {}, sha256: (await this.digest('sha256', source, offset, length)).toString('hex') };
      case 'content-md5':
        return { input: { ContentMD5: (await this.digest('md5', source, offset, length)).toString('base64') } };
      case 'none':
        return { input: {} };
    }
  }

  private async digest(algorithm: 'sha256' | 'md5', source: PutSource, offset: number, length: number): Promise<Buffer> {
    const hash = createHash(algorithm);
    const buffer = this.bodyBuffers.take(PIECE);
    try {
      for await (const piece of pieces(source, offset, length, () => buffer)) hash.update(piece);
    } finally {
      this.bodyBuffers.give(buffer);
    }
    return hash.digest();
  }

  /**
   * One request whose body is [offset, offset + length) of the source, read as the
   * socket takes it. A failed read aborts the request and is what it throws.
   */
  private async sendBody<T>(
    source: PutSource,
    offset: number,
    length: number,
    send: (body: Readable, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const ring: Buffer[] = [];
    const read = pieces(source, offset, length, (i) => (ring[i % BODY_RING] ??= this.bodyBuffers.take(PIECE)));
    const body = Readable.from(this.shaper ? paced(read, this.shaper) : read, { objectMode: false });
    body.once('error', (error) => controller.abort(error));
    try {
      return await send(body, controller.signal);
    } catch (error) {
      throw controller.signal.aborted ? (controller.signal.reason as unknown) : error;
    } finally {
      body.destroy();
      // The request is over: nothing of it is written to a socket any more.
      for (const buffer of ring) this.bodyBuffers.give(buffer);
    }
  }

  /**
   * Reads `length` bytes at `offset` (the whole object when no range is given),
   * verified block by block against the object's checksum metadata (or, with
   * `allowUnverified`, served as the transport delivered it when it has none).
   * `sizeHint`, when the caller knows the object's size, saves a second request.
   */
  async get(key: string, range?: { offset: number; length: number }, options: GetOptions = {}): Promise<GotObject> {
    const allowUnverified = options.allowUnverified ?? false;
    return this.attempt('get', async () => {
      if (!range) {
        const whole = await this.fetch(key, undefined, allowUnverified);
        return whole.body ? { data: whole.body, size: whole.size, release: whole.release } : { data: Buffer.alloc(0), size: whole.size };
      }
      if (range.length === 0) return { data: Buffer.alloc(0), size: (await this.headOrThrow(key)).size };
      let block = metadataBlockSize(options.sizeHint ?? 0);
      for (;;) {
        const start = Math.floor(range.offset / block) * block;
        const end = Math.ceil((range.offset + range.length) / block) * block;
        const got = await this.fetch(key, { start, end }, allowUnverified);
        if (!got.body) {
          if (got.blockSize === block) throw new Error(`object ${key}: cannot align a read to its ${block}-byte blocks`);
          block = got.blockSize;
          continue;
        }
        if (range.offset + range.length > got.size) {
          got.release();
          throw new RangeError(`read of ${key} at ${range.offset}+${range.length} passes its end (${got.size})`);
        }
        return { data: got.body.subarray(range.offset - start, range.offset - start + range.length), size: got.size, release: got.release };
      }
    });
  }

  /** One GET, its body collected to its announced length and checked against our metadata. */
  private async fetch(key: string, range: { start: number; end: number } | undefined, allowUnverified: boolean) {
    const res = await this.client
      .send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined,
        }),
      )
      .catch((error: unknown) => {
        throw notFound(error, key);
      });
    const blockSize = Number(res.Metadata?.[META_BLOCK]);
    const crcText = res.Metadata?.[META_CRCS];
    const length = res.ContentLength ?? -1;
    const size = range ? totalFromContentRange(res.ContentRange) : length;
    if (crcText === undefined || !Number.isSafeInteger(blockSize) || blockSize <= 0) {
      if (allowUnverified && Number.isSafeInteger(size) && length >= 0) {
        return { ...(await this.collectPooled(res.Body as Readable, length, () => undefined)), size, blockSize: undefined };
      }
      (res.Body as Readable | undefined)?.destroy();
      throw new UnverifiableObjectError(key);
    }
    const crcs = decodeCrcs(crcText);
    const start = range?.start ?? 0;
    if (
      !Number.isSafeInteger(size) ||
      crcs.length !== Math.ceil(size / blockSize) ||
      length !== Math.min(range?.end ?? size, size) - start
    ) {
      (res.Body as Readable | undefined)?.destroy();
      throw new ChecksumMismatchError(`object ${key}: size ${size}, length ${length} and ${crcs.length} checksums disagree`);
    }
    const end = start + length;
    if (start % blockSize !== 0 || (end % blockSize !== 0 && end !== size)) {
      // Our guess of the block size was wrong: the caller asks again, aligned.
      (res.Body as Readable | undefined)?.destroy();
      return { body: undefined, size, blockSize };
    }
    const first = start / blockSize;
    const { body, release } = await this.collectPooled(res.Body as Readable, length, (data) => {
      for (let at = 0, i = first; at < data.length; at += blockSize, i++) {
        if (crc32c(data.subarray(at, at + blockSize)) !== crcs[i]) {
          throw new ChecksumMismatchError(`object ${key}: block ${i} (bytes ${start + at}…) fails its CRC32C`);
        }
      }
    });
    return { body, size, blockSize, release };
  }

  /** A response body read into a buffer of the store's own, checked by `check` (which throws to refuse it); `release` gives the buffer back. */
  private async collectPooled(
    body: Readable,
    length: number,
    check: (data: Buffer) => void,
  ): Promise<{ body: Buffer; release: () => void }> {
    const buffer = this.bodyBuffers.take(length);
    const release = () => this.bodyBuffers.give(buffer);
    try {
      const data = await collectBody(body, length, this.idleTimeoutMs, (chunk) => this.observer.downloaded?.(chunk.length), buffer);
      check(data);
      return { body: data, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.headOrThrow(key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async headOrThrow(key: string): Promise<ObjectInfo> {
    const res = await this.attempt('head', () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })).catch((error: unknown) => {
        throw notFound(error, key);
      }),
    );
    return {
      key,
      size: res.ContentLength ?? 0,
      ...(res.ETag ? { etag: res.ETag } : {}),
      metadata: userMetadata(res.Metadata),
      ...(res.LastModified ? { lastModified: res.LastModified } : {}),
    };
  }

  /**
   * Objects under `prefix` (relative to the configured key prefix), in key order;
   * with a delimiter, the keys that share what comes before it come once, as a prefix.
   */
  async *list(prefix = '', options: { delimiter?: string; startAfter?: string } = {}): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.attempt('list', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
            ...(options.startAfter !== undefined && !token ? { StartAfter: this.prefix + options.startAfter } : {}),
          }),
        ),
      );
      const entries: ObjectInfo[] = [];
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined)
          entries.push({
            key: o.Key.slice(this.prefix.length),
            size: o.Size ?? 0,
            ...(o.ETag ? { etag: o.ETag } : {}),
            ...(o.LastModified ? { lastModified: o.LastModified } : {}),
          });
      }
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix !== undefined) entries.push({ key: p.Prefix.slice(this.prefix.length), size: 0, commonPrefix: true });
      entries.sort((a, b) => compareKeys(a.key, b.key));
      yield* entries;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deleting an absent object succeeds, as in S3. */
  async delete(key: string): Promise<void> {
    await this.attempt('delete', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })));
  }

  /**
   * Deletes `keys` with one DeleteObjects request per DELETE_MANY_MAX of them.
   * Resolves to the keys S3 could not delete, each with its error; throws if a
   * request fails as a whole. Absent keys count as deleted, as in S3.
   */
  async deleteMany(keys: readonly string[]): Promise<Map<string, Error>> {
    const failed = new Map<string, Error>();
    for (let from = 0; from < keys.length; from += DELETE_MANY_MAX) {
      const objects = keys.slice(from, from + DELETE_MANY_MAX).map((key) => ({ Key: this.prefix + key }));
      const res = await this.attempt('delete', () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } })),
      );
      for (const { Key, Code, Message } of res.Errors ?? []) {
        if (Key?.startsWith(this.prefix))
          failed.set(Key.slice(this.prefix.length), new Error(`${Code ?? 'error'}: ${Message ?? 'not deleted'}`));
      }
    }
    return failed;
  }

  /**
   * Server-side copy (up to S3's 5 GiB single-copy limit); the checksum metadata
   * travels with it. `metadata` replaces the user metadata, ours kept.
   */
  async copy(fromKey: string, toKey: string, options: { metadata?: ObjectMetadata } = {}): Promise<void> {
    let replaced: Record<string, string> | undefined;
    if (options.metadata) {
      const res = await this.attempt('head', () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + fromKey })).catch((error: unknown) => {
          throw notFound(error, fromKey);
        }),
      );
      replaced = { ...userMetadata(options.metadata), ...ownMetadata(res.Metadata) };
    }
    await this.attempt('copy', () =>
      this.client
        .send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + toKey,
            CopySource: `${this.bucket}/${encodeURIComponent(this.prefix + fromKey).replace(/%2F/g, '/')}`,
            ...(replaced ? { MetadataDirective: 'REPLACE', Metadata: replaced } : {}),
            ...this.sse,
          }),
        )
        .catch((error: unknown) => {
          throw notFound(error, fromKey);
        }),
    );
  }

  /** Runs a request with retries; a store that stays unreachable or failing through them all is reported as unavailable. */
  private async attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(run, this.retry, (cause) => this.observer.retried?.(cause, operation));
    } catch (error) {
      const cause = retryCause(error);
      if (cause !== undefined && cause !== 'checksum') throw new StoreUnavailableError(this.location, operation, { cause: error });
      throw error;
    }
  }
}

/** The metadata a caller set: our own checksum entries left out. */
function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) if (name !== META_BLOCK && name !== META_CRCS) out[name] = value;
  return out;
}

/** Our own checksum entries of an object's metadata. */
function ownMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [META_BLOCK, META_CRCS]) if (metadata?.[name] !== undefined) out[name] = metadata[name];
  return out;
}

/** S3 lists keys in the order of their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function notFound(error: unknown, key: string): unknown {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404) return new ObjectNotFoundError(key);
  return error;
}

function totalFromContentRange(header: string | undefined): number {
  const match = /^bytes \d+-\d+\/(\d+)$/.exec(header ?? '');
  return match ? Number(match[1]) : NaN;
}

/** x-amz-checksum-crc32c of the bytes [offset, offset + length), from their block checksums. */
function crc32cOf({ blockSize, crcs }: BlockChecksums, offset: number, length: number): string {
  const range = crcs.slice(offset / blockSize, Math.ceil((offset + length) / blockSize));
  return crcBase64(range.length === 0 ? 0 : regroup({ blockSize, crcs: range }, length, blockSize * range.length)![0]!);
}

/** The body's pieces, the i-th read into `buffer(i)`. */
async function* pieces(source: PutSource, offset: number, length: number, buffer: (i: number) => Buffer): AsyncGenerator<Buffer> {
  for (let at = offset, i = 0; at < offset + length; at += PIECE, i++) {
    const want = Math.min(PIECE, offset + length - at);
    const data = await source.read(at, want, buffer(i));
    if (data.length !== want) throw new Error(`upload source gave ${data.length} bytes at ${at}, expected ${want}`);
    yield data;
  }
}

/** The pieces cut as the shaper paces them. */
async function* paced(pieces: AsyncIterable<Buffer>, shaper: UploadShaper): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    let at = 0;
    for await (const length of shaper.pace(piece.length)) yield piece.subarray(at, (at += length));
  }
}

/** A body already in memory, checksummed here. */
function bufferSource(data: Buffer): PutSource {
  return {
    size: data.length,
    checksums: { blockSize: PIECE, crcs: blockCrcs(data, PIECE) },
    read: async (offset, length) => data.subarray(offset, offset + length),
  };
}
