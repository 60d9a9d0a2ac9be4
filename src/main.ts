// The gateway process: configuration, start, a summary on stdout, and a clean
// stop on SIGINT or SIGTERM. Exit codes: 0 stopped cleanly, 1 could not start
// or stop cleanly, 2 configuration invalid.
import { ConfigError, formatSize, loadConfig, usage } from './config/index.ts';
import type { RunningGateway } from './gateway/start-gateway.ts';
import { GatewayError } from './gateway/errors.ts';
import { createLogger } from './log.ts';

function summary(gateway: RunningGateway): string {
  const lines = [
    `Tape gateway ${gateway.name} is running (gateway id ${gateway.id}).`,
    `  data directory  ${gateway.dataDir}`,
    `  S3              bucket ${gateway.s3.bucket} at ${gateway.s3.endpoint}${gateway.s3.embedded ? ' (embedded)' : ''}`,
    `  iSCSI portal    ${gateway.iscsi.host}:${gateway.iscsi.port}`,
    ...gateway.targets.map(
      (t) =>
        `  target          ${t.name}  (${t.luns.map((l) => `LUN ${l.lun}: ${l.deviceType}${l.sizeBytes ? ` ${formatSize(l.sizeBytes)}` : ''}`).join(', ')})`,
    ),
    "Connect with libiscsi's tools (Debian package libiscsi-bin):",
    ...gateway.connect.map((c) => `  ${c}`),
    `  NFS             port ${gateway.nfs.nfsPort}, MOUNT port ${gateway.nfs.mountPort}, ${gateway.nfs.portmapPort === undefined ? 'no port mapper (clients name the ports)' : `port mapper on ${gateway.nfs.portmapPort}`}`,
    ...gateway.shares.flatMap((share) => [
      `  share           ${share.exportPath} on s3://${share.bucket}/${share.prefix}`,
      `    mount it (as root): mkdir -p /mnt && ${share.mount}`,
      `    or with libnfs's tools: nfs-ls 'nfs://${gateway.nfs.host === '0.0.0.0' ? '127.0.0.1' : gateway.nfs.host}${share.exportPath}?nfsport=${gateway.nfs.nfsPort}&mountport=${gateway.nfs.mountPort}'`,
    ]),
    'Stop with Ctrl-C.',
  ];
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tape-gateway: ${err.message}\nRun with --help to list the settings.\n`);
    return 2;
  }
  if (loaded.help) {
    process.stdout.write(usage());
    return 0;
  }
  const { config, warnings, configFile } = loaded;
  const logger = createLogger({ level: config.logLevel });
  // Node's own warnings (the AWS SDK's Node-version notice among them) join the log instead of breaking its one-record-a-line form.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ warning: { name: warning.name, message: warning.message } }, 'node warning'));
  for (const warning of warnings) logger.warn(warning);
  if (configFile) logger.info({ configFile }, 'configuration file read');

  // A signal during start-up is honoured as soon as start-up finishes.
  let signalled: NodeJS.Signals | undefined;
  let stopped: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without a clean stop');
      process.exit(1);
    }
    signalled = signal;
    stopped?.(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let gateway: RunningGateway;
  try {
    // Loaded here, not at the top: --help and configuration errors answer without loading the AWS SDK.
    const { startGateway } = await import('./gateway/start-gateway.ts');
    gateway = await startGateway(config, logger);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err, code: err instanceof GatewayError ? err.code : undefined }, `cannot start: ${message}`);
    process.stderr.write(`tape-gateway: cannot start: ${message}\n`);
    return 1;
  }
  process.stdout.write(summary(gateway));

  const signal = signalled ?? (await new Promise<NodeJS.Signals>((resolve) => (stopped = resolve)));
  logger.info({ signal }, 'stopping');
  try {
    await gateway.stop();
  } catch (err) {
    logger.error({ err }, 'stopped with errors');
    return 1;
  }
  logger.info('stopped');
  return 0;
}

// Exit explicitly: the SDK's and the S3 server's idle sockets must not keep a stopped gateway alive.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tape-gateway: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
