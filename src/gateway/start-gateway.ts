// The composition root: builds a running gateway from its configuration, in
// dependency order, and takes it down in the reverse order.
import { ApiToken, removeApiCredentials, writeApiCredentials } from '../api/credentials.ts';
import { startApiServer } from '../api/server.ts';
import { BufferPool } from '../buffers/buffer-pool.ts';
import type { BandwidthSchedule } from '../cache/bandwidth.ts';
import { CacheEngine } from '../cache/engine.ts';
import { checkPublicAccessBlock } from '../cloud/account-guard.ts';
import { ArchiveBucket } from '../cloud/archive-bucket.ts';
import { EncryptingBackend } from '../cloud/encrypting-backend.ts';
import type { GatewayConfig } from '../config/index.ts';
import { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import { readApiTls } from './api-tls.ts';
import { connectCommands, portalFor } from './connect-hint.ts';
import { loadEncryptionKeys } from './encryption.ts';
import { createDataDir, dataDirLayout, openCatalog } from './data-dir.ts';
import { GatewayError } from './errors.ts';
import { loadOrCreateGatewayId } from './gateway-id.ts';
import { IoMeters } from './io-meters.ts';
import { connectGlacier } from './glacier.ts';
import { connectS3, isAwsEndpoint, openObjectBackend } from './s3.ts';
import { builtInPoolDestinations, openShelf } from './shelf.ts';
import { mountHint, openShares } from './shares.ts';
import { openTapeLibrary } from './tape-library.ts';
import type { TargetSummary } from './targets.ts';
import { checkVaultAccess } from './vault-access.ts';
import { openVolumes, VolumeTargets } from './volumes.ts';
import { IscsiServer } from '../iscsi/server.ts';
import { TAPES_NAMESPACE } from '../tape/cartridge.ts';
import { PoolCatalog } from '../tape/pools.ts';
import { CHUNK_CHECKSUM_BLOCK, VOLUMES_NAMESPACE } from '../volume/chunk-map.ts';
import type { Logger } from '../log.ts';

export type { TargetSummary };

/** Extent files the engine keeps open: a volume's working set of chunks (1 MiB each), within the usual limit of 1024 descriptors. */
const OPEN_EXTENT_FILES = 512;

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
  readonly shares: readonly {
    readonly name: string;
    readonly exportPath: string;
    readonly bucket: string;
    readonly prefix: string;
    readonly mount: string;
  }[];
  /** Closes everything, last opened first; safe to call more than once. */
  readonly stop: () => Promise<void>;
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
    const encryption = await loadEncryptionKeys(config.encryption, logger);
    const s3Settings = {
      endpoint: s3.endpoint,
      region: config.s3.region,
      bucket: s3.bucket,
      prefix: s3.prefix,
      forcePathStyle: config.s3.forcePathStyle,
      uploadCheck: s3.uploadCheck,
      ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
      ...(config.s3.sse ? { serverSideEncryption: config.s3.sse } : {}),
    };
    // No setting configures a schedule yet: uploads run at full speed. The API shows the same one.
    const bandwidth: BandwidthSchedule = {};
    // Small writes on this thread into the cache's files and stored volumes' files watch one gate (a worker writing files would share its memory).
    const inlineWrites = new InlineWriteGate();
    // Large reads of the cache and of stored volumes' files share one pool: what one kind keeps idle serves the other.
    const readBuffers = new BufferPool();
    const engine = await CacheEngine.open({
      directory: layout.cache,
      catalog,
      backend: (hooks) => {
        const store = openObjectBackend(s3Settings, config.s3.requestThread, hooks);
        return encryption ? new EncryptingBackend(store, encryption) : store;
      },
      cacheBytes: config.cache.size,
      uploadBufferBytes: config.cache.uploadBuffer,
      uploadQuietMs: config.cache.uploadQuietMs,
      uploadMaxDeferMs: config.cache.uploadMaxDeferMs,
      bandwidth,
      // Volumes spread small I/O over many chunks, each an extent file: keep a working set of them open.
      openFiles: OPEN_EXTENT_FILES,
      inlineWrites,
      readBuffers,
      logger,
    });
    closers.push({ what: 'cache engine', close: () => engine.close() });
    // A tape's records are written once, as a stream, and seldom read back soon (RouteOptions.streamed).
    const tapeStore = engine.namespace(TAPES_NAMESPACE, { streamed: true });

    const glacier = await connectGlacier(config.glacier, config.s3, layout.glacier, logger);
    closers.push({ what: 'Glacier', close: glacier.close });

    const pools = new PoolCatalog(catalog, builtInPoolDestinations(config.shelf, config.glacier, config.gatewayName));
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
    const shelf = await openShelf({
      config: config.shelf,
      catalog,
      tapeLibrary,
      tapeStore,
      pools,
      glacier,
      archiveBucket,
      ...(encryption ? { encryption } : {}),
      logger,
    });
    closers.push({ what: 'vault shelf', close: () => shelf.close() });
    if (!config.glacier.embedded) {
      // In the background: a Glacier that is slow to answer does not hold up the start.
      const stopChecking = new AbortController();
      void checkVaultAccess({
        pools: await pools.all(),
        vault: (name) => glacier.vault(name),
        endpoint: glacier.endpoint ?? `AWS Glacier in ${config.glacier.region ?? config.s3.region}`,
        logger,
        signal: stopChecking.signal,
      });
      closers.push({ what: 'Glacier vault check', close: async () => stopChecking.abort() });
    }

    const meters = new IoMeters(engine.metrics.registry);
    const tapeTargets = tapeLibrary.targets.map((target) => meters.meter(target));

    const discoveryAuth = config.iscsi.discoveryAuth.chap ? config.iscsi.discoveryAuth : undefined;
    const server = new IscsiServer(
      {
        host: config.iscsi.host,
        port: config.iscsi.port,
        targets: tapeTargets.map((t) => t.definition),
        ...(discoveryAuth ? { discoveryAuth } : {}),
        limits: config.iscsi.limits,
        loginTimeoutMs: config.iscsi.loginTimeout * 1000,
        connectionLimits: { total: config.iscsi.connectionLimit, perAddress: config.iscsi.connectionLimitPerAddress },
      },
      logger.child({ component: 'iscsi' }),
    );
    // Volumes' targets join the portal as the volumes open, and later as they are created.
    const volumeTargets = new VolumeTargets(server, meters, {
      gatewayId: id,
      gatewayName: config.gatewayName,
      iscsi: config.iscsi,
      logger,
    });
    const volumes = await openVolumes({
      configured: config.volumes,
      directory: layout.volumes,
      catalog,
      store: engine.namespace(VOLUMES_NAMESPACE, { blockSize: CHUNK_CHECKSUM_BLOCK }),
      uploadBufferUse: () => {
        const stats = engine.stats();
        return stats.dirtyBytes / stats.uploadBufferBytes;
      },
      inlineWrites,
      readBuffers,
      exposure: volumeTargets,
      logger,
    });
    closers.push({ what: 'volumes', close: () => volumes.close() });
    const targets = [...tapeTargets.map((t) => t.summary), ...volumeTargets.summaries.values()];

    const address = await listening(() => server.listen(), ISCSI_PORT, config.iscsi);
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

    const tls = config.api.tls ? await readApiTls(config.api.tls) : undefined;
    const token = await ApiToken.open(layout.root);
    const publish = (current: string) =>
      writeApiCredentials(layout.root, { url: api.url, token: current, ...(tls ? { certificateSha256: tls.certificateSha256 } : {}) });
    const apiLogger = logger.child({ component: 'api' });
    const api = await listening(
      () =>
        startApiServer({
          host: config.api.host,
          port: config.api.port,
          ...(tls ? { tls } : {}),
          registry: engine.metrics.registry,
          tapes: tapeLibrary.service,
          shelf,
          cache: { stats: () => engine.stats(), bandwidth },
          shares: { service: shares.service, mountCommand: (exportPath) => mountHint(shares.nfs, exportPath) },
          volumes,
          token: {
            current: () => token.current(),
            rotate: async () => {
              const next = await token.rotate();
              await publish(next);
              apiLogger.info('management API token rotated: the old one no longer works');
              return next;
            },
          },
          logger: apiLogger,
        }),
      API_PORT,
      config.api,
    );
    closers.push({ what: 'management API', close: () => api.close() });
    await publish(token.current());
    closers.push({ what: 'API credentials', close: () => removeApiCredentials(layout.root) });

    const portal = portalFor(address.address, address.port);
    const first = tapeLibrary.targets[0]?.definition;
    const connect = connectCommands(portal, {
      ...(discoveryAuth ? { discoveryAuth } : {}),
      ...(first ? { target: { name: first.name, ...(first.auth ? { auth: first.auth } : {}) } } : {}),
    });
    for (const summary of targets) logger.info({ target: summary.name, luns: summary.luns, portal }, 'serving target');
    const running: RunningGateway = {
      id,
      name: config.gatewayName,
      dataDir: layout.root,
      iscsi: { host: address.address, port: address.port },
      s3: { endpoint: s3.endpoint, bucket: s3.bucket, prefix: s3.prefix, embedded: config.s3.embedded },
      targets,
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

/** A port the gateway listens on, for the messages when it cannot. */
interface PortUse {
  /** The port, as a message names it: "the iSCSI port". */
  readonly what: string;
  /** What listens there: "the iSCSI portal". */
  readonly service: string;
  readonly hostFlag: string;
  readonly portFlag: string;
  /** How to choose another port. */
  readonly choose: string;
  /** Who else may hold the port. */
  readonly holders: string;
}

const ISCSI_PORT: PortUse = {
  what: 'the iSCSI port',
  service: 'the iSCSI portal',
  hostFlag: '--iscsi-host',
  portFlag: '--iscsi-port',
  choose: '--iscsi-port or GATEWAY_ISCSI_PORT',
  holders: 'another gateway, or an iSCSI target such as tgtd',
};
const API_PORT: PortUse = {
  what: "the management API's port",
  service: 'the management API',
  hostFlag: '--api-host',
  portFlag: '--api-port',
  choose: '--api-port or GATEWAY_API_PORT (0 picks a free one, and the CLI finds it in api.json)',
  holders: 'another gateway, or another service',
};

/** Runs `listen`, turning a refusal to listen into a GatewayError that names the port, what it is for and what to do. */
async function listening<T>(listen: () => Promise<T>, port: PortUse, at: { host: string; port: number }): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${at.host}:${at.port}`;
    if (code === 'EADDRINUSE') {
      throw new GatewayError(
        'PORT_IN_USE',
        `${port.what} ${where} is already in use (${port.holders}): stop it, or choose another port with ${port.choose}`,
        { cause: err },
      );
    }
    const hint =
      code === 'EACCES'
        ? `ports below 1024 need root: choose a port above 1023 with ${port.portFlag}`
        : code === 'EADDRNOTAVAIL'
          ? `${at.host} is not an address of this machine: choose one of its addresses with ${port.hostFlag}`
          : `check ${port.hostFlag} and ${port.portFlag}`;
    throw new GatewayError('PORT_UNUSABLE', `${port.service} cannot listen on ${where} (${(err as Error).message}): ${hint}`, {
      cause: err,
    });
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
  if (failures.length > 0)
    throw new AggregateError(failures, `${failures.length} part(s) of the gateway did not close cleanly; see the log`);
}
