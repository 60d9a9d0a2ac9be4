// Client-side encryption of a byte stream read once, front to back: the
// shelf's archives (a Glacier archive, or an S3 object of an archive storage
// class), which are written and read whole and in order. AES-256-GCM in
// chunks of 64 KiB (chunk-cipher.ts), each followed by its tag:
//
//   "TGWSEAL1"            8 bytes: magic and version
//   key id                16 bytes, ASCII hex: the master key's id
//   salt                  32 bytes: the stream's key is HKDF(master key, salt)
//   chunks                64 KiB of ciphertext (the last shorter, an empty stream one empty chunk), each then its 16-byte tag
//
// Chunk i's additional data is i and whether it is the last: chunks cannot be
// moved, dropped, added or cut off without a tag failing. A stream that does
// not begin with the magic was stored before encryption was turned on and
// passes through as it is (its tree hash, recorded when it was stored, still
// vouches for it).
import { randomBytes } from 'node:crypto';
import { CHUNK, ChunkCipher, SALT_BYTES, TAG } from './chunk-cipher.ts';
import type { EncryptionKey, EncryptionKeys } from './encryption-keys.ts';
import { ChecksumMismatchError } from './retry.ts';

const MAGIC = Buffer.from('TGWSEAL1');
const ID_BYTES = 16;
const HEADER = MAGIC.length + ID_BYTES + SALT_BYTES;

/** The stream is sealed under a key this gateway does not have. */
export class StreamKeyMissingError extends Error {
  override readonly name = 'StreamKeyMissingError';
  constructor(readonly keyId: string) {
    super(
      `the archive is encrypted with the key ${keyId}, which this gateway does not have: add that key to its encryption keys (encryption.keyFile or GATEWAY_ENCRYPTION_KEYS), after the current one`,
    );
  }
}

/** Bytes of the sealed stream of `size` plaintext bytes. */
export function sealedSize(size: number): number {
  return HEADER + size + TAG * Math.max(1, Math.ceil(size / CHUNK));
}

const aad = (index: number, last: boolean) => Buffer.from(`TGWSEAL1|${index}|${last ? 'last' : 'more'}`);

export async function* sealStream(source: AsyncIterable<Buffer>, key: EncryptionKey): AsyncGenerator<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const cipher = ChunkCipher.of(key.secret, salt);
  yield Buffer.concat([MAGIC, Buffer.from(key.id, 'ascii'), salt]);
  let index = 0;
  // A full chunk is held back until the next byte shows it is not the last.
  let held: Buffer | undefined;
  const seal = (chunk: Buffer, last: boolean): Buffer => {
    const sealed = cipher.seal(index, chunk, aad(index, last));
    index++;
    return Buffer.concat([sealed.data, sealed.tag]);
  };
  for await (const chunk of rechunk(source, CHUNK)) {
    if (held) yield seal(held, false);
    held = chunk;
  }
  yield seal(held ?? Buffer.alloc(0), true);
}

/** The plaintext of a sealed stream (or the stream itself, when it was stored unsealed); bytes failing their tags throw ChecksumMismatchError. */
export async function* openStream(source: AsyncIterable<Buffer>, keys: EncryptionKeys | undefined): AsyncGenerator<Buffer> {
  const units = rechunk(source, CHUNK + TAG, HEADER);
  const first = await units.next();
  if (first.done) return;
  const header = first.value;
  if (header.length < HEADER || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    yield header;
    yield* units;
    return;
  }
  const id = header.subarray(MAGIC.length, MAGIC.length + ID_BYTES).toString('ascii');
  const key = keys?.byId.get(id);
  if (!key) throw new StreamKeyMissingError(id);
  const cipher = ChunkCipher.of(key.secret, header.subarray(MAGIC.length + ID_BYTES, HEADER));
  let index = 0;
  let held: Buffer | undefined;
  const open = (unit: Buffer, last: boolean): Buffer => {
    if (unit.length < TAG) throw new ChecksumMismatchError(`the sealed stream is cut short in chunk ${index}`);
    const plain = cipher.open(index, unit.subarray(0, unit.length - TAG), unit.subarray(unit.length - TAG), aad(index, last));
    if (!plain)
      throw new ChecksumMismatchError(`chunk ${index} of the sealed stream fails its AES-GCM tag: its bytes were changed, dropped or cut`);
    index++;
    return plain;
  };
  for await (const unit of units) {
    if (held) yield open(held, false);
    held = unit;
  }
  if (!held) throw new ChecksumMismatchError('the sealed stream ends after its header');
  yield open(held, true);
}

/** The stream's bytes cut into pieces of `size` (the last shorter), the first of `firstSize` when given. */
async function* rechunk(source: AsyncIterable<Buffer>, size: number, firstSize = size): AsyncGenerator<Buffer> {
  let want = firstSize;
  let parts: Buffer[] = [];
  let filled = 0;
  for await (const data of source) {
    for (let at = 0; at < data.length;) {
      const take = Math.min(want - filled, data.length - at);
      parts.push(data.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === want) {
        // A copy even of one part: the piece may be held while the source reads on, into memory it may reuse.
        yield Buffer.concat(parts);
        parts = [];
        filled = 0;
        want = size;
      }
    }
  }
  if (filled > 0) yield Buffer.concat(parts);
}
