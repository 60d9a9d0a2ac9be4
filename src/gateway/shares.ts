// The gateway's file shares: each share's namespace on the cache engine routed
// to its own bucket and prefix, the ShareService over them, and the NFS server
// (NFSv3, MOUNT, the port mapper) exporting them.
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Registry } from 'prom-client';
import type { CacheEngine } from '../cache/engine.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { BackendHooks } from '../cloud/object-backend.ts';
import { ObjectStore, type S3Settings } from '../cloud/object-store.ts';
import type { NfsConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { EngineShareObjects, shareNamespace } from '../share/engine-objects.ts';
import { registerShareMetrics } from '../share/metrics.ts';
import { NfsServer, type NfsAddresses } from '../share/nfs/nfs-server.ts';
import { ShareService, ShareServiceError, type ShareDefinition, type ShareObjectsProvider } from '../share/share-service.ts';
import { GatewayError } from './errors.ts';

export interface GatewayShares {
  readonly service: ShareService;
  readonly nfs: NfsAddresses;
  close(): Promise<void>;
}

export interface SharesOptions {
  readonly config: NfsConfig;
  readonly catalog: Catalog;
  readonly engine: CacheEngine;
  /** The gateway's S3 settings: a share's own store differs in bucket and has no prefix of its own (the route adds the share's). */
  readonly s3: S3Settings;
  readonly client: S3Client;
  readonly embedded: boolean;
  readonly registry: Registry;
  readonly logger: Logger;
}

export async function openShares(options: SharesOptions): Promise<GatewayShares> {
  const { config, engine, logger } = options;
  const provider: ShareObjectsProvider = {
    open: async (share: ShareDefinition) => {
      await ensureShareBucket(options.client, share.bucket, options.embedded);
      const backend = (hooks: BackendHooks) => new ObjectStore({ ...options.s3, bucket: share.bucket, prefix: '' }, hooks);
      const namespace = shareNamespace(share.name);
      // The share uploads a file once it has settled (drain()); neither a COMMIT nor the engine's writeback uploads it mid-write.
      const store = engine.namespace(namespace, { backend, remotePrefix: share.prefix, allowUnverified: true, uploadsWhenDrained: true });
      return new EngineShareObjects(store, namespace);
    },
    close: async (share: ShareDefinition) => {
      engine.closeNamespace(shareNamespace(share.name));
    },
  };
  const gatewayPrefix = options.s3.prefix ?? '';
  const initial = config.initialShare
    ? [{ name: config.initialShare, bucket: options.s3.bucket, prefix: `${gatewayPrefix}${config.initialShare}/` }]
    : [];
  const service = await ShareService.open({
    section: options.catalog.section('shares'),
    provider,
    logger: logger.child({ component: 'share' }),
    initial,
  });
  const nfs = new NfsServer({
    host: config.host,
    nfsPort: config.port,
    mountPort: config.mountPort,
    portmapPort: config.portmap ? config.portmapPort : undefined,
    shares: service,
    logger: logger.child({ component: 'nfs' }),
  });
  let addresses: NfsAddresses;
  try {
    addresses = await nfs.start();
  } catch (err) {
    await nfs.close();
    await service.close();
    throw portError(err, config);
  }
  registerShareMetrics(options.registry, service, () => nfs.sessions);
  for (const share of service.list()) {
    logger.info(
      {
        share: share.name,
        bucket: share.bucket,
        prefix: share.prefix,
        exportPath: share.exportPath,
        nfsPort: addresses.nfsPort,
        mountPort: addresses.mountPort,
      },
      'exporting share',
    );
  }
  return {
    service,
    nfs: addresses,
    close: async () => {
      await nfs.close();
      await service.close();
    },
  };
}

/** The share's bucket must exist; the embedded endpoint makes it, as it makes the gateway's. */
async function ensureShareBucket(client: S3Client, bucket: string, embedded: boolean): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404)
      throw new ShareServiceError(
        'INVALID_SHARE',
        `the bucket ${bucket} cannot be reached (${(err as Error).message}): check its name and the gateway's S3 credentials`,
      );
  }
  if (!embedded)
    throw new ShareServiceError(
      'INVALID_SHARE',
      `the bucket ${bucket} does not exist: create it first (as for AWS's file gateway), or name an existing one`,
    );
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** How the mount command reads from this machine, with the ports named (no port mapper needed). */
export function mountHint(nfs: NfsAddresses, exportPath: string): string {
  const host = nfs.host === '0.0.0.0' ? '127.0.0.1' : nfs.host;
  return `mount -t nfs -o vers=3,proto=tcp,port=${nfs.nfsPort},mountport=${nfs.mountPort},mountproto=tcp,nolock ${host}:${exportPath} /mnt`;
}

function portError(err: unknown, config: NfsConfig): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new GatewayError(
      'PORT_IN_USE',
      `an NFS port (${config.port} or ${config.mountPort}) on ${config.host} is already in use (another gateway, or an NFS server): stop it, or choose other ports with --nfs-port and --nfs-mount-port`,
      { cause: err },
    );
  }
  if (code === 'EACCES')
    return new GatewayError(
      'PORT_UNUSABLE',
      `ports below 1024 need root: choose NFS ports above 1023 with --nfs-port and --nfs-mount-port`,
      { cause: err },
    );
  return err;
}
