// The keys of client-side encryption: 256-bit keys, each known by an id (the
// first 8 bytes of its SHA-256, in hex) that is recorded with every object it
// encrypts. The first key encrypts what is written from now on; the others
// still decrypt what they encrypted before, so a key is rotated by putting a
// new one first and keeping the old one until nothing in the bucket uses it.
import { createHash } from 'node:crypto';

export interface EncryptionKey {
  readonly id: string;
  readonly secret: Buffer;
}

export interface EncryptionKeys {
  /** Encrypts new writes. */
  readonly current: EncryptionKey;
  /** Every key by id, the current one included. */
  readonly byId: ReadonlyMap<string, EncryptionKey>;
}

export class EncryptionKeyError extends Error {
  override readonly name = 'EncryptionKeyError';
}

const KEY_BYTES = 32;

export function keyId(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/**
 * Keys from text: one per line or comma-separated, each 32 bytes in base64
 * (what `openssl rand -base64 32` prints) or 64 hex digits; blank lines and
 * lines starting with # are skipped. `source` names where the text came from.
 */
export function parseEncryptionKeys(text: string, source: string): EncryptionKeys {
  const keys: EncryptionKey[] = [];
  const items = text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const [i, item] of items.entries()) {
    const secret = /^[0-9a-f]{64}$/i.test(item)
      ? Buffer.from(item, 'hex')
      : /^[A-Za-z0-9+/]{43}=$/.test(item)
        ? Buffer.from(item, 'base64')
        : undefined;
    if (!secret || secret.length !== KEY_BYTES) {
      throw new EncryptionKeyError(
        `key ${i + 1} of ${source} is not 32 bytes in base64 or 64 hex digits: make one with "openssl rand -base64 32"`,
      );
    }
    keys.push({ id: keyId(secret), secret });
  }
  if (keys.length === 0) throw new EncryptionKeyError(`${source} holds no key: put one there, made with "openssl rand -base64 32"`);
  const byId = new Map<string, EncryptionKey>();
  for (const key of keys) {
    if (byId.has(key.id)) throw new EncryptionKeyError(`${source} holds the key ${key.id} twice: keep it once`);
    byId.set(key.id, key);
  }
  return { current: keys[0]!, byId };
}
