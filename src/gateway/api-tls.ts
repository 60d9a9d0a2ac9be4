// The management API's certificate and key, read at start-up and checked to
// be PEM that belong together, with the certificate's fingerprint for api.json
// (the CLI on this machine checks it before it sends the token).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { ApiConfig } from '../config/index.ts';
import { GatewayError } from './errors.ts';

export interface ApiTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint of the (first) certificate, "AB:CD:…". */
  readonly certificateSha256: string;
}

export async function readApiTls(tls: NonNullable<ApiConfig['tls']>): Promise<ApiTls> {
  const read = async (path: string, what: string, flag: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new GatewayError(
        'API_TLS_UNUSABLE',
        `cannot read the management API's ${what} ${path} (${(err as Error).message}): check ${flag}`,
        { cause: err },
      );
    }
  };
  const cert = await read(tls.certificate, 'certificate', '--api-tls-cert (api.tls.certificate)');
  const key = await read(tls.key, 'private key', '--api-tls-key (api.tls.key)');
  let certificateSha256: string;
  try {
    certificateSha256 = new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new GatewayError(
      'API_TLS_UNUSABLE',
      `${tls.certificate} holds no PEM certificate (${(err as Error).message}): give --api-tls-cert a file that begins "-----BEGIN CERTIFICATE-----"`,
      { cause: err },
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new GatewayError(
      'API_TLS_UNUSABLE',
      `the management API's key ${tls.key} is not a PEM private key of the certificate ${tls.certificate} (${(err as Error).message}): give --api-tls-key the key the certificate was made for`,
      { cause: err },
    );
  }
  return { cert, key, certificateSha256 };
}
