// The embedded Glacier endpoint of the default set-up: the Glacier REST API
// (2012-06-01) as @aws-sdk/client-glacier speaks it, over node:http, with vaults,
// archives, multipart uploads, jobs and vault locks kept on disk. Jobs complete
// a configured number of seconds after they start, counted from their recorded
// creation, so they survive restarts without timers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { GlacierError, denied, invalid, missing, notFound } from './errors.ts';
import { Operations, sendError, type Call, type JobDelays } from './operations.ts';
import { verifySignature, type Credentials } from './sigv4.ts';
import { GlacierStore } from './store.ts';

export type { JobDelays } from './operations.ts';

export interface LocalGlacierOptions {
  directory: string;
  host?: string;
  port?: number;
  /** The one key pair accepted; requests signed with any other are refused. */
  credentials: Credentials;
  /** When set, signatures must be scoped to it; it also appears in ARNs (default us-east-1). */
  region?: string;
  /** The account of ARNs, accepted in paths besides "-" (default 012345678901). */
  accountId?: string;
  /** Seconds until a job completes: one number for all, or per tier and for inventories. */
  jobDelaySeconds?: number | Partial<JobDelays>;
}

export interface LocalGlacier {
  /** http://host:port, for the SDK's `endpoint`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export const defaultJobDelays: JobDelays = { Expedited: 1, Standard: 5, Bulk: 10, inventory: 5 };

type Handler = (call: Call) => Promise<void>;

export async function startLocalGlacier(options: LocalGlacierOptions): Promise<LocalGlacier> {
  const store = new GlacierStore(options.directory);
  await store.open();
  const accountId = options.accountId ?? '012345678901';
  const delays: JobDelays =
    typeof options.jobDelaySeconds === 'number'
      ? { Expedited: options.jobDelaySeconds, Standard: options.jobDelaySeconds, Bulk: options.jobDelaySeconds, inventory: options.jobDelaySeconds }
      : { ...defaultJobDelays, ...options.jobDelaySeconds };
  const ops = new Operations(store, accountId, options.region ?? 'us-east-1', delays);
  const routes = routeTable(ops);

  const server = createServer((req, res) => {
    res.setHeader('x-amzn-RequestId', randomBytes(24).toString('base64url'));
    handle(req, res).catch((error: unknown) => {
      const refusal = error instanceof GlacierError ? error : new GlacierError(500, 'ServiceUnavailableException', `Internal error: ${(error as Error)?.message}`, 'Server');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An unread body is not worth reading just to throw it away.
      if (!req.complete) res.setHeader('Connection', 'close');
      sendError(res, refusal);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    verifySignature(req, options.credentials, options.region);
    const version = req.headers['x-amz-glacier-version'];
    if (version === undefined) throw missing('Required header x-amz-glacier-version is missing');
    if (version !== '2012-06-01') throw invalid(`Invalid x-amz-glacier-version: ${version}`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let segments: string[];
    try {
      segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw invalid('Malformed request path');
    }
    const [account, collection, vault = '', sub, id = '', tail] = segments;
    if (collection !== 'vaults' || segments.length > 6) throw notFound(`No such resource: ${url.pathname.slice(0, 300)}`);
    if (account !== '-' && account !== accountId) throw denied(`Access denied for account ${account}`);
    const shape = [segments.length > 2 ? 'vault' : '', sub ?? '', segments.length > 4 ? 'id' : '', tail ?? ''].filter(Boolean).join('/');
    const handler = routes.get(`${req.method} ${shape}`);
    if (!handler) throw notFound(`No operation for ${req.method} ${url.pathname.slice(0, 300)}`);
    await handler({ req, res, vault, id, query: url.searchParams });
  }

  // Archives of gigabytes may take longer than Node's 5-minute whole-request limit; an idle socket may not.
  server.requestTimeout = 0;
  server.setTimeout(120_000, (socket) => socket.destroy());
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** "METHOD shape" → operation; the shape names the path's parts after the account. */
function routeTable(ops: Operations): Map<string, Handler> {
  const table: [string, Handler][] = [
    ['GET ', ops.listVaults],
    ['PUT vault', ops.createVault],
    ['GET vault', ops.describeVault],
    ['DELETE vault', ops.deleteVault],
    ['POST vault/archives', ops.uploadArchive],
    ['DELETE vault/archives/id', ops.deleteArchive],
    ['POST vault/multipart-uploads', ops.initiateUpload],
    ['GET vault/multipart-uploads', ops.listUploads],
    ['PUT vault/multipart-uploads/id', ops.uploadPart],
    ['POST vault/multipart-uploads/id', ops.completeUpload],
    ['DELETE vault/multipart-uploads/id', ops.abortUpload],
    ['GET vault/multipart-uploads/id', ops.listParts],
    ['POST vault/jobs', ops.initiateJob],
    ['GET vault/jobs', ops.listJobs],
    ['GET vault/jobs/id', ops.describeJob],
    ['GET vault/jobs/id/output', ops.getJobOutput],
    ['POST vault/lock-policy', ops.initiateVaultLock],
    ['GET vault/lock-policy', ops.getVaultLock],
    ['DELETE vault/lock-policy', ops.abortVaultLock],
    ['POST vault/lock-policy/id', ops.completeVaultLock],
  ];
  return new Map(table.map(([key, handler]) => [key, handler.bind(ops)]));
}
