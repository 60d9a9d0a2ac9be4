// The embedded Glacier endpoint of the default set-up: the Glacier REST API
// (2012-06-01) as @aws-sdk/client-glacier speaks it, over node:http, with vaults,
// archives, multipart uploads, jobs and vault locks kept on disk. Jobs complete
// a configured number of seconds after they start, counted from their recorded
// creation, so they survive restarts without timers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { GlacierError, denied, invalid, missing, notFound } from './errors.ts';
import { ArchiveOperations } from './archives.ts';
import { Names, sendError, type Call } from './http.ts';
import { JobOperations, type JobDelays } from './jobs.ts';
import { verifySignature, type Credentials } from './sigv4.ts';
import { GlacierStore } from './store.ts';
import { VaultOperations } from './vaults.ts';

export type { JobDelays } from './jobs.ts';

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
      ? {
          Expedited: options.jobDelaySeconds,
          Standard: options.jobDelaySeconds,
          Bulk: options.jobDelaySeconds,
          inventory: options.jobDelaySeconds,
        }
      : { ...defaultJobDelays, ...options.jobDelaySeconds };
  const names = new Names(accountId, options.region ?? 'us-east-1');
  const routes = routeTable(
    new VaultOperations(store, names),
    new ArchiveOperations(store, names),
    new JobOperations(store, names, delays),
  );

  const server = createServer((req, res) => {
    res.setHeader('x-amzn-RequestId', randomBytes(24).toString('base64url'));
    handle(req, res).catch((error: unknown) => {
      const refusal =
        error instanceof GlacierError
          ? error
          : new GlacierError(500, 'ServiceUnavailableException', `Internal error: ${(error as Error)?.message}`, 'Server');
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
    if (version !== '2012-06-01') throw invalid(`Invalid x-amz-glacier-version: ${String(version)}`);
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
function routeTable(vaults: VaultOperations, archives: ArchiveOperations, jobs: JobOperations): Map<string, Handler> {
  const table: [string, Handler][] = [
    ['GET ', vaults.listVaults.bind(vaults)],
    ['PUT vault', vaults.createVault.bind(vaults)],
    ['GET vault', vaults.describeVault.bind(vaults)],
    ['DELETE vault', vaults.deleteVault.bind(vaults)],
    ['POST vault/lock-policy', vaults.initiateVaultLock.bind(vaults)],
    ['GET vault/lock-policy', vaults.getVaultLock.bind(vaults)],
    ['DELETE vault/lock-policy', vaults.abortVaultLock.bind(vaults)],
    ['POST vault/lock-policy/id', vaults.completeVaultLock.bind(vaults)],
    ['POST vault/archives', archives.uploadArchive.bind(archives)],
    ['DELETE vault/archives/id', archives.deleteArchive.bind(archives)],
    ['POST vault/multipart-uploads', archives.initiateUpload.bind(archives)],
    ['GET vault/multipart-uploads', archives.listUploads.bind(archives)],
    ['PUT vault/multipart-uploads/id', archives.uploadPart.bind(archives)],
    ['POST vault/multipart-uploads/id', archives.completeUpload.bind(archives)],
    ['DELETE vault/multipart-uploads/id', archives.abortUpload.bind(archives)],
    ['GET vault/multipart-uploads/id', archives.listParts.bind(archives)],
    ['POST vault/jobs', jobs.initiateJob.bind(jobs)],
    ['GET vault/jobs', jobs.listJobs.bind(jobs)],
    ['GET vault/jobs/id', jobs.describeJob.bind(jobs)],
    ['GET vault/jobs/id/output', jobs.getJobOutput.bind(jobs)],
  ];
  return new Map(table);
}
