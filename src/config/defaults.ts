// The embedded default: everything on this machine, iSCSI on loopback, one
// small sparse scratch disk so initiators see a LUN before the tape library.
import { join } from 'node:path';
import { defaultSessionLimits } from '../iscsi/target-definition.ts';
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
      limits: { ...defaultSessionLimits, headerDigest: [...defaultSessionLimits.headerDigest], dataDigest: [...defaultSessionLimits.dataDigest] },
    },
    volumes: [{ name: 'scratch', size: '1GiB' }],
    s3: {
      endpoint: 'embedded',
      region: 'us-east-1',
      bucket: 'tape-gateway',
      prefix: '',
    },
  };
}
