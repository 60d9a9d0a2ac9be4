// The embedded S3 endpoint of the default set-up: s3rver, a real S3 HTTP server,
// storing its objects under the gateway's data directory. The gateway reaches it
// through the AWS SDK like any other endpoint.
import S3rver from 's3rver';
import type { AddressInfo } from 'node:net';

export interface LocalS3 {
  /** http://host:port, for the SDK's `endpoint`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startLocalS3(options: { directory: string; host?: string; port?: number }): Promise<LocalS3> {
  const server = new S3rver({
    address: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
  });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://${address.address}:${address.port}`,
    close: () => server.close(),
  };
}
