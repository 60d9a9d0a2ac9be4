// A logical block as the drive stores it when it encrypts (SSC-4 4.2.27):
// AES-256-GCM under the application's key, with a random 96-bit IV, the
// key-associated data the application gave with the key (so that a restore
// can tell which key a block needs), and the 16-byte authentication tag. Only
// this leaves the drive's data path: the cache and the bucket never see the
// plaintext or the key. A wrong key fails the tag.
//
//   header (20 bytes) | U-KAD | A-KAD | ciphertext | tag (16 bytes)
//
// The header and both KADs are authenticated as GCM's additional data.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { bytesOf, PageLayout } from '../page-layout.ts';

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const AES_256_GCM_KEY_BYTES = 32;

const header = new PageLayout(20, {
  format: bytesOf(0),
  algorithmIndex: bytesOf(1),
  kadFormat: bytesOf(2),
  ukadLength: bytesOf(4, 2),
  akadLength: bytesOf(6, 2),
});
/** Bytes 8-19 of the header: the IV. */
const IV_AT = 8;

/** What the application associated with the key that encrypted a block (SSC-4 8.5.4.3). */
export interface KeyAssociatedData {
  /** Unauthenticated KAD (type 00h), e.g. a key label. */
  readonly ukad?: Buffer;
  /** Authenticated KAD (type 01h). */
  readonly akad?: Buffer;
  /** KAD FORMAT of the Set Data Encryption page (0 unspecified, 1 binary key name, 2 ASCII key name). */
  readonly format: number;
}

export interface EncryptedRecordInfo extends KeyAssociatedData {
  readonly algorithmIndex: number;
}

export class UndecryptableRecordError extends Error {}

function parts(stored: Buffer): { info: EncryptedRecordInfo; aad: Buffer; iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  if (stored.length < header.length + TAG_BYTES || header.get(stored, 'format') !== FORMAT)
    throw new UndecryptableRecordError('not an encrypted record of a known format');
  const ukadLength = header.get(stored, 'ukadLength');
  const akadLength = header.get(stored, 'akadLength');
  const kadEnd = header.length + ukadLength + akadLength;
  if (kadEnd + TAG_BYTES > stored.length) throw new UndecryptableRecordError('encrypted record shorter than its header says');
  const ukad = stored.subarray(header.length, header.length + ukadLength);
  const akad = stored.subarray(header.length + ukadLength, kadEnd);
  return {
    info: {
      algorithmIndex: header.get(stored, 'algorithmIndex'),
      format: header.get(stored, 'kadFormat'),
      ...(ukadLength > 0 ? { ukad } : {}),
      ...(akadLength > 0 ? { akad } : {}),
    },
    aad: stored.subarray(0, kadEnd),
    iv: stored.subarray(IV_AT, IV_AT + IV_BYTES),
    ciphertext: stored.subarray(kadEnd, stored.length - TAG_BYTES),
    tag: stored.subarray(stored.length - TAG_BYTES),
  };
}

/** The record encrypted under `key`, with its KADs, in the stored form. */
export function sealRecord(key: KeyObject, algorithmIndex: number, kad: KeyAssociatedData, plaintext: Buffer): Buffer {
  const ukad = kad.ukad ?? Buffer.alloc(0);
  const akad = kad.akad ?? Buffer.alloc(0);
  const out = Buffer.allocUnsafe(header.length + ukad.length + akad.length + plaintext.length + TAG_BYTES);
  header.encode({ format: FORMAT, algorithmIndex, kadFormat: kad.format, ukadLength: ukad.length, akadLength: akad.length }).copy(out);
  randomBytes(IV_BYTES).copy(out, IV_AT);
  ukad.copy(out, header.length);
  akad.copy(out, header.length + ukad.length);
  const kadEnd = header.length + ukad.length + akad.length;
  const cipher = createCipheriv('aes-256-gcm', key, out.subarray(IV_AT, IV_AT + IV_BYTES));
  cipher.setAAD(out.subarray(0, kadEnd));
  let at = kadEnd + cipher.update(plaintext).copy(out, kadEnd);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/** The header of a stored encrypted record: which algorithm, and the KADs that name its key. */
export function recordInfo(stored: Buffer): EncryptedRecordInfo {
  return parts(stored).info;
}

/** The plaintext, or UndecryptableRecordError when `key` is not the one the record was sealed with (or the record was altered). */
export function openRecord(key: KeyObject, stored: Buffer): Buffer {
  const { aad, iv, ciphertext, tag } = parts(stored);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new UndecryptableRecordError('the record fails its authentication tag under this key');
  }
}
