// The embedded S3 endpoint's own process (forked by local-s3.ts): s3rver, after
// repairing what an interrupted PUT left. Its own process, so that a gateway
// killed mid-upload does not tear s3rver's writes, and so that s3rver's hashing
// and file writes leave the gateway's thread to the data path. It stops, letting
// requests in flight finish, when asked or when the gateway goes away.
import S3rver from 's3rver';
import type { AddressInfo } from 'node:net';
import { repairLocalS3Store } from './local-s3-repair.ts';

export interface LocalS3Request {
  readonly directory: string;
  readonly host: string;
  readonly port: number;
}

export type LocalS3Message = { readonly endpoint: string; readonly repaired: string[] } | { readonly error: string };

const request = JSON.parse(process.argv[2] ?? '{}') as LocalS3Request;
try {
  const repaired = await repairLocalS3Store(request.directory);
  const server = new S3rver({ address: request.host, port: request.port, directory: request.directory, silent: true });
  const address = (await server.run()) as AddressInfo;
  const stop = () => void server.close().finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.on('message', (message) => {
    if (message === 'close') stop();
  });
  process.send!({ endpoint: `http://${address.address}:${address.port}`, repaired } satisfies LocalS3Message);
} catch (error) {
  process.send!({ error: (error as Error).message } satisfies LocalS3Message, () => process.exit(1));
}
