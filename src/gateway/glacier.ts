// The gateway's Glacier: the embedded endpoint (a child process with its state
// under the data directory) when configured, else AWS or another endpoint; one
// Vault client per vault name either way.
import type { Credentials } from '../cloud/local-glacier/sigv4.ts';
import { startLocalGlacierProcess } from '../cloud/local-glacier/forked.ts';
import { Vault } from '../cloud/vault.ts';
import type { GlacierConfig, S3Config } from '../config/index.ts';
import type { Logger } from '../log.ts';

/** The one key pair the embedded endpoint accepts (it is reachable from this machine only). */
export const embeddedGlacierCredentials: Credentials = { accessKeyId: 'TAPEGWGLACIER', secretAccessKey: 'tapegw-embedded-glacier' };

export interface GlacierConnection {
  /** Undefined for AWS itself (the SDK finds the region's endpoint). */
  readonly endpoint: string | undefined;
  vault(name: string): Vault;
  readonly close: () => Promise<void>;
}

export async function connectGlacier(config: GlacierConfig, s3: S3Config, directory: string, logger: Logger): Promise<GlacierConnection> {
  const region = config.region ?? s3.region;
  const local = config.embedded
    ? await startLocalGlacierProcess({ directory, credentials: embeddedGlacierCredentials, region, jobDelaySeconds: config.jobDelays })
    : undefined;
  if (local)
    logger.info(
      { endpoint: local.endpoint, directory, pid: local.pid, jobDelaySeconds: config.jobDelays },
      'embedded Glacier endpoint started',
    );
  const endpoint = local?.endpoint ?? (config.endpoint === 'aws' ? undefined : config.endpoint);
  // Outside the embedded set-up the S3 key pair is the natural default: one account, one user.
  const credentials = local ? embeddedGlacierCredentials : (config.credentials ?? (s3.embedded ? undefined : s3.credentials));
  const vaults = new Map<string, Vault>();
  return {
    endpoint,
    vault(name) {
      let vault = vaults.get(name);
      if (!vault) {
        vault = new Vault({ vault: name, region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) });
        vaults.set(name, vault);
      }
      return vault;
    },
    async close() {
      for (const vault of vaults.values()) vault.close();
      await local?.close();
    },
  };
}
