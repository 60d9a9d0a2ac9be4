// Whether the gateway's credentials can use the Glacier vaults its pools
// archive to, asked once at start-up (in the background: the gateway serves
// meanwhile) so that an account without vault access hears so then, in words
// it can act on, instead of at its first export. Amazon Glacier's vault API
// takes no new customers since 15 December 2025; such accounts archive to the
// S3 storage classes. DescribeVault of each vault a pool names answers: the
// vault, or "not found" (the shelf creates it), or a refusal.
import type { Vault } from '../cloud/vault.ts';
import type { Logger } from '../log.ts';
import type { PoolInfo } from '../tape/tape-service.ts';

export type VaultAccess = 'usable' | 'refused' | 'unknown' | 'unused';

export interface VaultAccessCheck {
  /** The pools as they are at start-up. */
  readonly pools: readonly PoolInfo[];
  vault(name: string): Vault;
  /** For messages: the endpoint's URL, or "AWS Glacier in REGION". */
  readonly endpoint: string;
  readonly logger: Logger;
  /** Set when the gateway stops: the answer is no longer wanted. */
  readonly signal: AbortSignal;
}

const REFUSALS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);

export async function checkVaultAccess(check: VaultAccessCheck): Promise<VaultAccess> {
  const byVault = new Map<string, string[]>();
  for (const pool of check.pools) {
    if (pool.destination.kind === 'vault') byVault.set(pool.destination.vault, [...(byVault.get(pool.destination.vault) ?? []), pool.name]);
  }
  if (byVault.size === 0) return 'unused';
  for (const name of byVault.keys()) {
    try {
      await check.vault(name).describe();
    } catch (error) {
      if (check.signal.aborted) return 'unknown';
      const { name: code = 'Error', message = String(error) } = error as Error;
      if (code === 'ResourceNotFoundException') continue;
      const vaultPools = [...byVault.values()].flat();
      if (REFUSALS.has(code) || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) {
        check.logger.warn(
          { event: 'glacier-vaults-refused', endpoint: check.endpoint, vault: name, code, pools: vaultPools },
          `these credentials cannot use Glacier vaults at ${check.endpoint}: DescribeVault of ${name} answered ${code} (${message}). ` +
            `Pools ${vaultPools.join(', ')} archive to vaults, and their cartridges will not be archived. ` +
            "Amazon Glacier's vault API takes no new customers since 15 December 2025: on an account without vaults, archive to the S3 storage classes " +
            '(with glacier.endpoint "aws" the built-in GLACIER and DEEP_ARCHIVE pools do, unless shelf.glacierVault or shelf.deepArchiveVault names a vault; ' +
            'for a custom pool, "tapegw pool create NAME --storage-class GLACIER" or DEEP_ARCHIVE). ' +
            'If the account has vaults, check glacier.credentials and that its policy allows glacier:DescribeVault, CreateVault, InitiateMultipartUpload, UploadMultipartPart, CompleteMultipartUpload, InitiateJob, GetJobOutput and DeleteArchive.',
        );
        return 'refused';
      }
      check.logger.warn(
        { event: 'glacier-vaults-unchecked', endpoint: check.endpoint, vault: name, code },
        `cannot tell whether Glacier vaults are usable at ${check.endpoint} (DescribeVault of ${name}: ${code}, ${message}); archives to vaults are retried until Glacier answers`,
      );
      return 'unknown';
    }
  }
  check.logger.info({ endpoint: check.endpoint, vaults: [...byVault.keys()] }, 'Glacier vaults are usable');
  return 'usable';
}
