// Client-side encryption's keys, read at start-up from the key file or the
// environment, or none (encryption off). A key file others may read is
// reported: whoever reads it reads the bucket.
import { readFile, stat } from 'node:fs/promises';
import { EncryptionKeyError, parseEncryptionKeys, type EncryptionKeys } from '../cloud/encryption-keys.ts';
import type { EncryptionConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { GatewayError } from './errors.ts';

export async function loadEncryptionKeys(config: EncryptionConfig, logger: Logger): Promise<EncryptionKeys | undefined> {
  let text: string;
  let source: string;
  if (config.keyFile) {
    source = config.keyFile;
    try {
      text = await readFile(config.keyFile, 'utf8');
      const { mode } = await stat(config.keyFile);
      if ((mode & 0o077) !== 0) {
        logger.warn(
          { keyFile: config.keyFile, mode: (mode & 0o777).toString(8) },
          `the encryption key file ${config.keyFile} may be read by other users: chmod 600 it`,
        );
      }
    } catch (err) {
      throw new GatewayError(
        'ENCRYPTION_KEYS_UNUSABLE',
        `cannot read the encryption key file ${config.keyFile} (${(err as Error).message}): check --encryption-key-file`,
        { cause: err },
      );
    }
  } else if (config.keys) {
    source = 'GATEWAY_ENCRYPTION_KEYS';
    text = config.keys;
  } else {
    return undefined;
  }
  let keys: EncryptionKeys;
  try {
    keys = parseEncryptionKeys(text, source);
  } catch (err) {
    if (!(err instanceof EncryptionKeyError)) throw err;
    throw new GatewayError('ENCRYPTION_KEYS_UNUSABLE', err.message, { cause: err });
  }
  logger.info(
    { keyId: keys.current.id, olderKeys: [...keys.byId.keys()].filter((id) => id !== keys.current.id) },
    `client-side encryption on: objects and archives written from now on are encrypted with the key ${keys.current.id}`,
  );
  return keys;
}
