// AES-256-GCM over chunks of 64 KiB under a key of one object's own, derived
// from a master key and a random salt kept with the object (HKDF-SHA256): the
// piece both client-side encryption layers build on (encrypting-backend.ts for
// the engine's objects, sealed-stream.ts for the shelf's archives). Chunk i's
// nonce is i, unique since the key is the object's own; the caller's
// additional data binds a chunk to its place.
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

export const CHUNK = 64 * 1024;
export const TAG = 16;
export const SALT_BYTES = 32;

export class ChunkCipher {
  private constructor(private readonly key: Buffer) {}

  static of(master: Buffer, salt: Buffer): ChunkCipher {
    return new ChunkCipher(Buffer.from(hkdfSync('sha256', master, salt, 'tapegw object key v1', 32)));
  }

  /** The ciphertext of chunk `index` (as long as `plain`) and its tag. */
  seal(index: number, plain: Uint8Array, aad: Buffer): { data: Buffer; tag: Buffer } {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(index));
    cipher.setAAD(aad);
    const data = cipher.update(plain);
    cipher.final();
    return { data, tag: cipher.getAuthTag() };
  }

  /** The plaintext of chunk `index`, or undefined when it fails its tag. */
  open(index: number, sealed: Uint8Array, tag: Uint8Array, aad: Buffer): Buffer | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(index));
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const plain = decipher.update(sealed);
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plain;
  }
}

function nonce(index: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUIntBE(index, 6, 6);
  return iv;
}
