// Client-side encryption as a layer over another ObjectBackend, so that the
// data in a bucket nobody trusts stays private: S3 (and whoever reads the
// bucket) sees only ciphertext. AES-256-GCM in chunks of 64 KiB, each object
// under a key of its own, HKDF-SHA256(master key, a random salt kept with the
// object). A stored object of N plaintext bytes is
//
//   the N bytes encrypted, chunk by chunk, at the same offsets as the plaintext
//   the 16-byte GCM tag of each chunk, in order (an empty object has one chunk)
//
// so a range of the plaintext is the same range of the stored object plus its
// chunks' tags: the engine's ranged reads, aligned to its blocks, stay aligned
// below, and the layer below still checks its own per-block CRC32C of every
// stored byte. Chunk i's nonce is i (unique: the key is the object's own), and
// its additional data names the scheme, N and i, so that chunks cannot be
// moved, dropped or added, nor N changed, without their tags failing. The
// object's metadata records the scheme, the master key's id, the salt and N.
// Bytes that fail their tag, an object under a key this gateway lacks, and an
// object stored without encryption are refused, never served as data.
// Left readable: object names, user metadata, sizes (to within the tags).
// Not detected: a whole object put back at another key of the same bucket by
// someone who may write there (server-side copies must keep working).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { crc32c } from '../crc32c/crc32c.ts';
import type { BlockChecksums } from '../crc32c/block-checksums.ts';
import { CHUNK, ChunkCipher, SALT_BYTES, TAG } from './chunk-cipher.ts';
import type { EncryptionKeys } from './encryption-keys.ts';
import {
  ObjectNotFoundError,
  UnverifiableObjectError,
  type GetOptions,
  type ObjectBackend,
  type ObjectInfo,
  type ObjectMetadata,
  type PutOptions,
  type PutSource,
} from './object-backend.ts';
import { ChecksumMismatchError } from './retry.ts';

const SCHEME = `aes-256-gcm/${CHUNK}`;
/** What an upload reads of its source at a time (the PutSource contract: at most 1 MiB, aligned). */
const PIECE = 1024 * 1024;
const META = { scheme: 'gw-enc', key: 'gw-enc-key', salt: 'gw-enc-salt', size: 'gw-enc-size' } as const;
const OWN: ReadonlySet<string> = new Set(Object.values(META));
/** Objects whose tags and salt are kept between reads. */
const REMEMBERED = 256;

function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK));
}

/** Bytes stored for `size` bytes of plaintext. */
export function storedSize(size: number): number {
  return size + TAG * chunkCount(size);
}

/** The plaintext size of a stored object of `stored` bytes (the inverse of storedSize). */
export function plaintextSize(stored: number): number {
  return Math.max(0, stored - TAG * Math.max(1, Math.ceil(stored / (CHUNK + TAG))));
}

/** The object is encrypted under a key this gateway does not have. */
export class EncryptionKeyMissingError extends UnverifiableObjectError {
  constructor(key: string, keyId: string) {
    super(key);
    this.message = `object ${key} is encrypted with the key ${keyId}, which this gateway does not have: add that key to its encryption keys (encryption.keyFile or GATEWAY_ENCRYPTION_KEYS), after the current one`;
  }
}

/** The object was not stored by this layer: with encryption on, its bytes are not served (unless the namespace takes foreign objects). */
export class NotEncryptedError extends UnverifiableObjectError {
  constructor(key: string) {
    super(key);
    this.message = `object ${key} is not encrypted, and this gateway encrypts its objects: refusing to serve bytes anyone who can write to the bucket could have put there`;
  }
}

/** One object's cipher: chunk i's additional data names the scheme, the plaintext size and i. */
class ObjectCipher {
  private constructor(
    private readonly chunks: ChunkCipher,
    readonly size: number,
  ) {}

  static of(master: Buffer, salt: Buffer, size: number): ObjectCipher {
    return new ObjectCipher(ChunkCipher.of(master, salt), size);
  }

  seal(index: number, plain: Uint8Array): { data: Buffer; tag: Buffer } {
    return this.chunks.seal(index, plain, this.aad(index));
  }

  open(index: number, sealed: Uint8Array, tag: Uint8Array): Buffer | undefined {
    return this.chunks.open(index, sealed, tag, this.aad(index));
  }

  private aad(index: number): Buffer {
    return Buffer.from(`${SCHEME}|${this.size}|${index}`);
  }
}

/** CRC32C of a byte stream in blocks of `blockSize`, fed in pieces of any length. */
class StreamCrcs {
  private readonly crcs: number[] = [];
  private current = 0;
  private filled = 0;

  constructor(private readonly blockSize: number) {}

  push(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      const take = Math.min(this.blockSize - this.filled, bytes.length - at);
      this.current = crc32c(bytes.subarray(at, at + take), this.current);
      this.filled += take;
      at += take;
      if (this.filled === this.blockSize) this.flush();
    }
  }

  finish(): BlockChecksums {
    if (this.filled > 0) this.flush();
    return { blockSize: this.blockSize, crcs: this.crcs };
  }

  private flush(): void {
    this.crcs.push(this.current >>> 0);
    this.current = 0;
    this.filled = 0;
  }
}

/**
 * The stored bytes of a plaintext source, as the layer below reads them to
 * upload. Their checksums are needed before the first byte is sent, so the
 * source is encrypted once to take them (keeping only the tags), then again,
 * identically, as the pieces are read.
 */
class SealedSource implements PutSource {
  private constructor(
    private readonly plain: PutSource,
    private readonly cipher: ObjectCipher,
    private readonly tags: Buffer,
    readonly checksums: BlockChecksums,
  ) {}

  get size(): number {
    return this.plain.size + this.tags.length;
  }

  static async of(plain: PutSource, cipher: ObjectCipher, pool: BufferPool): Promise<SealedSource> {
    const tags = Buffer.alloc(TAG * chunkCount(plain.size));
    const crcs = new StreamCrcs(CHUNK);
    const scratch = pool.take(PIECE);
    try {
      for (let at = 0; at < plain.size; at += PIECE) {
        const bytes = await plain.read(at, Math.min(PIECE, plain.size - at), scratch);
        for (let offset = 0; offset < bytes.length; offset += CHUNK) {
          const sealed = cipher.seal((at + offset) / CHUNK, bytes.subarray(offset, offset + CHUNK));
          sealed.tag.copy(tags, ((at + offset) / CHUNK) * TAG);
          crcs.push(sealed.data);
        }
      }
      if (plain.size === 0) cipher.seal(0, Buffer.alloc(0)).tag.copy(tags, 0);
      crcs.push(tags);
    } finally {
      pool.give(scratch);
    }
    return new SealedSource(plain, cipher, tags, crcs.finish());
  }

  async read(offset: number, length: number, into: Buffer): Promise<Buffer> {
    const plainSize = this.plain.size;
    const dataEnd = Math.min(offset + length, plainSize);
    if (offset < dataEnd) {
      // Pieces start on 1 MiB boundaries, so on chunk boundaries. Each chunk is read whole before its ciphertext
      // is copied over it, so the plaintext may sit in `into` itself.
      const bytes = await this.plain.read(offset, dataEnd - offset, into);
      for (let at = 0; at < bytes.length; at += CHUNK) {
        const index = (offset + at) / CHUNK;
        const sealed = this.cipher.seal(index, bytes.subarray(at, at + CHUNK));
        if (!timingSafeEqual(sealed.tag, this.tags.subarray(index * TAG, index * TAG + TAG))) {
          throw new Error(`the bytes at ${offset + at} of the upload changed between its two passes`);
        }
        sealed.data.copy(into, at);
      }
    }
    if (offset + length > plainSize) {
      const from = Math.max(0, offset - plainSize);
      this.tags.copy(into, Math.max(0, plainSize - offset), from, from + (offset + length - Math.max(offset, plainSize)));
    }
    return into.subarray(0, length);
  }
}

/** What reading an object needs to know of it, from its metadata and its tags. */
interface Sealed {
  readonly cipher: ObjectCipher;
  readonly stored: number;
  /** Its chunks' tags, once read. */
  tags?: Buffer;
}

export class EncryptingBackend implements ObjectBackend {
  private readonly sealed = new Map<string, Sealed>();
  private readonly pool = new BufferPool();

  constructor(
    private readonly inner: ObjectBackend,
    private readonly keys: EncryptionKeys,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  get idleTimeoutMs(): number {
    return this.inner.idleTimeoutMs;
  }

  async put(key: string, body: Buffer | PutSource, options: PutOptions = {}): Promise<void> {
    this.sealed.delete(key);
    const salt = randomBytes(SALT_BYTES);
    const { current } = this.keys;
    const cipher = ObjectCipher.of(current.secret, salt, Buffer.isBuffer(body) ? body.length : body.size);
    const metadata = {
      ...options.metadata,
      [META.scheme]: SCHEME,
      [META.key]: current.id,
      [META.salt]: salt.toString('base64url'),
      [META.size]: String(cipher.size),
    };
    await this.inner.put(key, Buffer.isBuffer(body) ? sealBuffer(body, cipher) : await SealedSource.of(body, cipher, this.pool), {
      metadata,
    });
  }

  async get(key: string, range?: { offset: number; length: number }, options: GetOptions = {}): Promise<{ data: Buffer; size: number }> {
    const remembered = this.sealed.get(key);
    try {
      return await this.read(key, range, options, remembered);
    } catch (error) {
      // What was remembered may be another writer's older object at this key: look again once.
      if (!remembered || !(error instanceof ChecksumMismatchError)) throw error;
      this.sealed.delete(key);
      return this.read(key, range, options, undefined);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.head(key);
    if (!info || info.metadata?.[META.scheme] === undefined) return info;
    return { ...info, size: Number(info.metadata[META.size]), metadata: userMetadata(info.metadata) };
  }

  async *list(prefix?: string, options?: { delimiter?: string; startAfter?: string }): AsyncIterable<ObjectInfo> {
    for await (const info of this.inner.list(prefix, options)) yield info.commonPrefix ? info : { ...info, size: plaintextSize(info.size) };
  }

  async delete(key: string): Promise<void> {
    this.sealed.delete(key);
    await this.inner.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<Map<string, Error>> {
    for (const key of keys) this.sealed.delete(key);
    return this.inner.deleteMany(keys);
  }

  /** Server-side: the ciphertext and its encryption metadata travel together, whatever user metadata replaces the old. */
  async copy(fromKey: string, toKey: string, options: { metadata?: ObjectMetadata } = {}): Promise<void> {
    this.sealed.delete(toKey);
    if (!options.metadata) return this.inner.copy(fromKey, toKey);
    const from = await this.inner.head(fromKey);
    const own = Object.fromEntries(Object.entries(from?.metadata ?? {}).filter(([name]) => OWN.has(name)));
    await this.inner.copy(fromKey, toKey, { metadata: { ...options.metadata, ...own } });
  }

  close(): void {
    this.inner.close();
  }

  private async read(
    key: string,
    range: { offset: number; length: number } | undefined,
    options: GetOptions,
    remembered: Sealed | undefined,
  ): Promise<{ data: Buffer; size: number }> {
    const sealed = remembered ?? (await this.learn(key, options));
    if (!sealed) return this.inner.get(key, range, { ...options, allowUnverified: true });
    const { cipher, stored } = sealed;
    const size = cipher.size;
    const { offset, length } = range ?? { offset: 0, length: size };
    if (offset < 0 || length < 0 || offset + length > size)
      throw new RangeError(`read of ${key} at ${offset}+${length} passes its end (${size})`);
    const first = Math.floor(offset / CHUNK);
    const end = length === 0 ? first : Math.ceil((offset + length) / CHUNK);
    const dataStart = first * CHUNK;
    const dataEnd = Math.min(size, end * CHUNK);
    let data: Buffer;
    if (!range) {
      const whole = (await this.inner.get(key, undefined, { sizeHint: stored })).data;
      if (whole.length !== stored) throw new ChecksumMismatchError(`object ${key}: ${whole.length} bytes stored, ${stored} expected`);
      data = whole.subarray(0, size);
      // A copy: the whole object's buffer is not kept for its tags.
      sealed.tags = Buffer.from(whole.subarray(size));
    } else {
      sealed.tags ??= (await this.inner.get(key, { offset: size, length: stored - size }, { sizeHint: stored })).data;
      data =
        dataEnd > dataStart
          ? (await this.inner.get(key, { offset: dataStart, length: dataEnd - dataStart }, { sizeHint: stored })).data
          : Buffer.alloc(0);
    }
    this.remember(key, sealed);
    const plain = Buffer.allocUnsafe(dataEnd - dataStart);
    for (let index = first; index < Math.max(end, first + (size === 0 ? 1 : 0)); index++) {
      const at = (index - first) * CHUNK;
      const opened = cipher.open(index, data.subarray(at, at + CHUNK), sealed.tags.subarray(index * TAG, index * TAG + TAG));
      if (!opened)
        throw new ChecksumMismatchError(
          `object ${key}: chunk ${index} (bytes ${index * CHUNK}…) fails its AES-GCM tag: its bytes or its encryption metadata were changed`,
        );
      opened.copy(plain, at);
    }
    return { data: plain.subarray(offset - dataStart, offset - dataStart + length), size };
  }

  /** The object's cipher from its metadata; undefined for an object stored without encryption that the caller takes (allowUnverified). */
  private async learn(key: string, options: GetOptions = {}): Promise<Sealed | undefined> {
    const info = await this.inner.head(key);
    if (!info) throw new ObjectNotFoundError(key);
    const metadata = info.metadata ?? {};
    if (metadata[META.scheme] === undefined) {
      if (options.allowUnverified) return undefined;
      throw new NotEncryptedError(key);
    }
    const size = Number(metadata[META.size]);
    const salt = Buffer.from(metadata[META.salt] ?? '', 'base64url');
    if (
      metadata[META.scheme] !== SCHEME ||
      !Number.isSafeInteger(size) ||
      size < 0 ||
      salt.length !== SALT_BYTES ||
      storedSize(size) !== info.size
    ) {
      throw new ChecksumMismatchError(
        `object ${key}: its encryption metadata (${metadata[META.scheme]}, size ${metadata[META.size]}, ${info.size} bytes stored) is not what this gateway writes`,
      );
    }
    const id = metadata[META.key] ?? '';
    const master = this.keys.byId.get(id);
    if (!master) throw new EncryptionKeyMissingError(key, id);
    return { cipher: ObjectCipher.of(master.secret, salt, size), stored: info.size };
  }

  private remember(key: string, sealed: Sealed): void {
    this.sealed.delete(key);
    this.sealed.set(key, sealed);
    if (this.sealed.size > REMEMBERED) this.sealed.delete(this.sealed.keys().next().value!);
  }
}

function sealBuffer(body: Buffer, cipher: ObjectCipher): Buffer {
  const out = Buffer.allocUnsafe(storedSize(body.length));
  const chunks = chunkCount(body.length);
  for (let index = 0; index < chunks; index++) {
    const sealed = cipher.seal(index, body.subarray(index * CHUNK, (index + 1) * CHUNK));
    sealed.data.copy(out, index * CHUNK);
    sealed.tag.copy(out, body.length + index * TAG);
  }
  return out;
}

function userMetadata(metadata: ObjectMetadata): ObjectMetadata {
  return Object.fromEntries(Object.entries(metadata).filter(([name]) => !OWN.has(name)));
}
