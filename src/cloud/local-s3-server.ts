// The embedded S3 endpoint's own process (forked by local-s3.ts through
// forked-endpoint.ts): s3rver, after repairing what an interrupted PUT left. Its
// own process, so that a gateway killed mid-upload does not tear s3rver's writes,
// and so that s3rver's hashing and file writes leave the gateway's thread to the
// data path. It stops, letting requests in flight finish, when asked or when the
// gateway goes away.
import S3rver from 's3rver';
import { serveForked } from './forked-endpoint.ts';
import { repairLocalS3Store } from './local-s3-repair.ts';

export interface LocalS3Request {
  readonly directory: string;
  readonly host: string;
  readonly port: number;
}

export interface LocalS3Ready {
  readonly endpoint: string;
  readonly repaired: string[];
}

await serveForked<LocalS3Ready>(async (raw) => {
  const request = raw as LocalS3Request;
  const repaired = await repairLocalS3Store(request.directory);
  const server = new S3rver({ address: request.host, port: request.port, directory: request.directory, silent: true });
  deleteOneAtATime((server as unknown as { store: ObjectDeleter }).store);
  const address = await server.run();
  return { ready: { endpoint: `http://${address.address}:${address.port}`, repaired }, close: () => server.close() };
});

interface ObjectDeleter {
  deleteObject(bucket: string, key: string): Promise<void>;
}

/**
 * s3rver deletes the keys of a DeleteObjects all at once, and each then removes
 * its folders if they are empty: two in one folder race, and the loser's rmdir
 * fails the whole request with 500. One at a time, none does.
 */
function deleteOneAtATime(store: ObjectDeleter): void {
  const deleteObject = store.deleteObject.bind(store);
  let last: Promise<unknown> = Promise.resolve();
  store.deleteObject = (bucket, key) => {
    const next = last.then(() => deleteObject(bucket, key));
    last = next.catch(() => undefined);
    return next;
  };
}
