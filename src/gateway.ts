// The composition root: builds a running gateway from its configuration, in
// dependency order, and takes it down in the reverse order.
import { newApiToken, removeApiCredentials, writeApiCredentials } from './api/credentials.ts';
import { startApiServer } from './api/server.ts';
import type { BandwidthSchedule } from './cache/bandwidth.ts';
import { CacheEngine } from './cache/engine.ts';
import { checkPublicAccessBlock } from './cloud/account-guard.ts';
import { ArchiveBucket } from './cloud/archive-bucket.ts';
import { ObjectStore } from './cloud/object-store.ts';
import type { GatewayConfig } from './config/index.ts';
import { connectCommands, portalFor } from './gateway/connect-hint.ts';
import { createDataDir, dataDirLayout, openCatalog } from './gateway/data-dir.ts';
import { GatewayError } from './gateway/errors.ts';
import { loadOrCreateGatewayId } from './gateway/gateway-id.ts';
import { IoMeters } from './gateway/io-meters.ts';
import { connectGlacier } from './gateway/glacier.ts';
import { connectS3, isAwsEndpoint } from './gateway/s3.ts';
import { builtInPoolDestinations, openShelf } from './gateway/shelf.ts';
import { mountHint, openShares } from './gateway/shares.ts';
import { openTapeLibrary } from './gateway/tape-library.ts';
import { volumeTarget, type TargetSummary } from './gateway/targets.ts';
import { openVolumes } from './gateway/volumes.ts';
import { IscsiServer } from './iscsi/server.ts';
import { TAPES_NAMESPACE } from './tape/cartridge.ts';
import { PoolCatalog } from './tape/pools.ts';
import type { Logger } from './log.ts';

export type { TargetSummary };

export interface RunningGateway {
  readonly id: string;
  readonly name: string;
  readonly dataDir: string;
  /** Where the portal listens (the real port when the configuration said 0). */
  readonly iscsi: { readonly host: string; readonly port: number };
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly prefix: string; readonly embedded: boolean };
  readonly targets: readonly TargetSummary[];
  /** The management API the CLI talks to (its token is in api.json in the data directory). */
  readonly api: { readonly url: string };
  /** Commands that list and reach the targets from this machine. */
  readonly connect: readonly string[];
  /** The NFS server's ports (portmapPort undefined when no port mapper runs) and the shares it exports. */
  readonly nfs: { readonly host: string; readonly nfsPort: number; readonly mountPort: number; readonly portmapPort: number | undefined };
  readonly shares: readonly { readonly name: string; readonly exportPath: string; readonly bucket: string; readonly prefix: string; readonly mount: string }[];
  /** Closes everything, last opened first; safe to call more than once. */
  stop(): Promise<void>;
}

interface Closer {
  readonly what: string;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const closers: Closer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= closeAll(closers, logger));
  try {
    const layout = dataDirLayout(config.dataDir);
    await createDataDir(layout);
    const catalog = await openCatalog(layout);
    closers.push({ what: 'catalog', close: () => catalog.close() });

    const { id, created } = await loadOrCreateGatewayId(catalog);
    logger.info({ gatewayId: id, dataDir: layout.root }, created ? 'new gateway identity created' : 'gateway identity loaded');

    const s3 = await connectS3(config.s3, layout.s3, logger);
    closers.push({ what: 'S3', close: s3.close });

    await checkPublicAccessBlock(
      {
        // On AWS the SDK finds the account's S3 Control endpoint itself; elsewhere there is none to find.
        ...(isAwsEndpoint(s3.endpoint) ? {} : { endpoint: s3.endpoint }),
        region: config.s3.region,
        ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
        ...(config.s3.accountId ? { accountId: config.s3.accountId } : {}),
      },
      logger,
    );
    const s3Settings = {
      endpoint: s3.endpoint,
      region: config.s3.region,
      bucket: s3.bucket,
      prefix: s3.prefix,
      forcePathStyle: config.s3.forcePathStyle,
      ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
    };
    // No setting configures a schedule yet: uploads run at full speed. The API shows the same one.
    const bandwidth: BandwidthSchedule = {};
    const engine = await CacheEngine.open({
      directory: layout.cache,
      catalog,
      backend: (hooks) => new ObjectStore(s3Settings, hooks),
      cacheBytes: config.cache.size,
      uploadBufferBytes: config.cache.uploadBuffer,
      uploadQuietMs: config.cache.uploadQuietMs,
      uploadMaxDeferMs: config.cache.uploadMaxDeferMs,
      bandwidth,
      logger,
    });
    closers.push({ what: 'cache engine', close: () => engine.close() });
    const tapeStore = engine.namespace(TAPES_NAMESPACE);

    const glacier = await connectGlacier(config.glacier, config.s3, layout.glacier, logger);
    closers.push({ what: 'Glacier', close: glacier.close });

    const pools = new PoolCatalog(catalog, builtInPoolDestinations(config.shelf, config.gatewayName));
    const tapeLibrary = await openTapeLibrary({
      config: config.library,
      iscsi: config.iscsi,
      gatewayId: id,
      gatewayName: config.gatewayName,
      catalog,
      tapeStore,
      pools,
      logger,
    });
    closers.push({ what: 'tape library', close: () => tapeLibrary.close() });

    // Storage-class pools archive to the gateway's own bucket.
    const archiveBucket = new ArchiveBucket(s3Settings);
    closers.push({ what: 'archive bucket', close: async () => archiveBucket.close() });
    const shelf = await openShelf({ config: config.shelf, catalog, tapeLibrary, tapeStore, pools, glacier, archiveBucket, logger });
    closers.push({ what: 'vault shelf', close: () => shelf.close() });

    const volumes = await openVolumes(config.volumes, layout.volumes);
    for (const volume of volumes) closers.push({ what: `volume ${volume.config.name}`, close: () => volume.device.close() });
    const meters = new IoMeters(engine.metrics.registry);
    const targets = [
      ...tapeLibrary.targets,
      ...volumes.map((volume) => volumeTarget(volume, { gatewayId: id, gatewayName: config.gatewayName, iscsi: config.iscsi, logger })),
    ].map((target) => meters.meter(target));

    const discoveryAuth = config.iscsi.discoveryAuth.chap ? config.iscsi.discoveryAuth : undefined;
    const server = new IscsiServer(
      {
        host: config.iscsi.host,
        port: config.iscsi.port,
        targets: targets.map((t) => t.definition),
        ...(discoveryAuth ? { discoveryAuth } : {}),
        limits: config.iscsi.limits,
      },
      logger.child({ component: 'iscsi' }),
    );
    const address = await listen(server, config.iscsi.host, config.iscsi.port);
    closers.push({ what: 'iSCSI server', close: () => server.close() });

    const shares = await openShares({
      config: config.nfs,
      catalog,
      engine,
      s3: s3Settings,
      client: s3.client,
      embedded: config.s3.embedded,
      registry: engine.metrics.registry,
      logger,
    });
    closers.push({ what: 'file shares', close: () => shares.close() });

    const token = newApiToken();
    const api = await startApiServer({
      host: config.api.host,
      port: config.api.port,
      registry: engine.metrics.registry,
      tapes: tapeLibrary.service,
      shelf,
      cache: { stats: () => engine.stats(), bandwidth },
      shares: shares.service,
      token,
      logger: logger.child({ component: 'api' }),
    });
    closers.push({ what: 'management API', close: () => api.close() });
    await writeApiCredentials(layout.root, { url: api.url, token });
    closers.push({ what: 'API credentials', close: () => removeApiCredentials(layout.root) });

    const portal = portalFor(address.address, address.port);
    const first = targets[0]?.definition;
    const connect = connectCommands(portal, {
      ...(discoveryAuth ? { discoveryAuth } : {}),
      ...(first ? { target: { name: first.name, ...(first.auth ? { auth: first.auth } : {}) } } : {}),
    });
    for (const { summary } of targets) logger.info({ target: summary.name, luns: summary.luns, portal }, 'serving target');
    const running: RunningGateway = {
      id,
      name: config.gatewayName,
      dataDir: layout.root,
      iscsi: { host: address.address, port: address.port },
      s3: { endpoint: s3.endpoint, bucket: s3.bucket, prefix: s3.prefix, embedded: config.s3.embedded },
      targets: targets.map((t) => t.summary),
      api: { url: api.url },
      connect,
      nfs: shares.nfs,
      shares: shares.service.list().map((share) => ({
        name: share.name,
        exportPath: share.exportPath,
        bucket: share.bucket,
        prefix: share.prefix,
        mount: mountHint(shares.nfs, share.exportPath),
      })),
      stop,
    };
    const { stop: _, ...ready } = running;
    logger.info({ event: 'gateway-ready', ...ready }, `gateway ready: ${connect[0]}`);
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}

async function listen(server: IscsiServer, host: string, port: number) {
  try {
    return await server.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${host}:${port}`;
    if (code === 'EADDRINUSE') {
      throw new GatewayError(
        'PORT_IN_USE',
        `the iSCSI port ${where} is already in use (another gateway, or an iSCSI target such as tgtd): stop it, or choose another port with --iscsi-port or GATEWAY_ISCSI_PORT`,
        { cause: err },
      );
    }
    const hint =
      code === 'EACCES'
        ? 'ports below 1024 need root: choose a port above 1023 with --iscsi-port'
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine: choose one of its addresses with --iscsi-host`
          : 'check --iscsi-host and --iscsi-port';
    throw new GatewayError('PORT_UNUSABLE', `cannot listen on ${where} (${(err as Error).message}): ${hint}`, { cause: err });
  }
}

async function closeAll(closers: Closer[], logger: Logger): Promise<void> {
  const failures: unknown[] = [];
  for (const closer of closers.splice(0).reverse()) {
    try {
      await closer.close();
    } catch (err) {
      logger.error({ err, what: closer.what }, `closing ${closer.what} failed`);
      failures.push(err);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} part(s) of the gateway did not close cleanly; see the log`);
}
