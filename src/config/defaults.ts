// The embedded default: everything on this machine, iSCSI on loopback, one
// small sparse scratch disk so initiators see a LUN before the tape library.
import { join } from 'node:path';
import { DEFAULT_LOGIN_TIMEOUT_MS, defaultConnectionLimits, defaultSessionLimits } from './iscsi-limits.ts';
import type { Tree } from './layer.ts';

export function builtInDefaults(cwd: string): Tree {
  return {
    dataDir: join(cwd, 'data'),
    gatewayName: 'gw1',
    logLevel: 'info',
    iscsi: {
      host: '127.0.0.1',
      port: 3260,
      iqnPrefix: 'iqn.2026-11.io.tapegateway',
      auth: {},
      discoveryAuth: {},
      limits: {
        ...defaultSessionLimits,
        headerDigest: [...defaultSessionLimits.headerDigest],
        dataDigest: [...defaultSessionLimits.dataDigest],
      },
      loginTimeout: DEFAULT_LOGIN_TIMEOUT_MS / 1000,
      connectionLimit: defaultConnectionLimits.total,
      connectionLimitPerAddress: defaultConnectionLimits.perAddress,
    },
    volumes: [{ name: 'scratch', size: '1GiB' }],
    // AWS's tape gateway: 10 drives, 1600 slots and 1600 import/export slots, a target per device.
    library: {
      drives: 10,
      storageSlots: 1600,
      importExportSlots: 1600,
      targets: 'per-device',
      // A thread per drive (src/gateway/drive-thread.ts) costs more than it gives on two cores so far: README, Benchmarks > scaling.
      driveThreads: 'auto',
      mediaSuffix: 'L5',
      minTapeSize: '100GiB',
      maxTapeSize: '15TiB',
      segmentSize: '64MiB',
    },
    cache: { size: '64GiB', uploadBuffer: '16GiB', uploadQuietMs: 1000, uploadMaxDeferMs: 60_000 },
    api: { host: '127.0.0.1', port: 0 },
    // NFS's and Linux mountd's usual ports; the port mapper on 111 when the gateway may bind it.
    nfs: { host: '127.0.0.1', port: 2049, mountPort: 20048, portmap: true, portmapPort: 111, initialShare: 'files' },
    s3: {
      endpoint: 'embedded',
      region: 'us-east-1',
      bucket: 'tape-gateway',
      prefix: '',
      serverSideEncryption: 'none',
      requestThread: 'worker',
    },
    // Job delays in seconds, so that a retrieval on the default set-up finishes while one waits.
    glacier: { endpoint: 'embedded', jobDelays: 'Expedited=1,Standard=5,Bulk=10' },
    shelf: { retrievalTier: 'Standard' },
    encryption: {},
  };
}
