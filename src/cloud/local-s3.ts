// The embedded S3 endpoint of the default set-up: s3rver, a real S3 HTTP server,
// storing its objects under the gateway's data directory, in a process of its
// own (local-s3-server.ts, run by forked-endpoint.ts). The gateway reaches it
// through the AWS SDK like any other endpoint.
import { siblingModule } from '../package-files.ts';
import { forkEndpoint } from './forked-endpoint.ts';
import type { LocalS3Ready, LocalS3Request } from './local-s3-server.ts';

export interface LocalS3 {
  /** http://host:port, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Objects an interrupted PUT had left torn, removed before the start. */
  readonly repaired: readonly string[];
  readonly pid: number;
  close(): Promise<void>;
}

const serverModule = siblingModule(import.meta.url, 'local-s3-server');

export async function startLocalS3(options: { directory: string; host?: string; port?: number }): Promise<LocalS3> {
  const request: LocalS3Request = { directory: options.directory, host: options.host ?? '127.0.0.1', port: options.port ?? 0 };
  // s3rver makes ListObjectsV2's continuation tokens with DES, which OpenSSL 3 keeps in its legacy
  // provider: without it every listing of more than one page (1,000 keys) failed with 500.
  const child = await forkEndpoint<LocalS3Ready>(serverModule, request, 'embedded S3 server', ['--openssl-legacy-provider']);
  return { endpoint: child.ready.endpoint, repaired: child.ready.repaired, pid: child.pid, close: child.close };
}
