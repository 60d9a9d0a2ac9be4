// Vault operations: create, describe, list, delete, and the vault lock.
import { invalid, missing, notFound } from './errors.ts';
import { json, page, readJsonBody, send, type Call, type Names } from './http.ts';
import { newId, type GlacierStore, type VaultRecord } from './store.ts';
import { deletionRules } from './vault-lock.ts';

const LOCK_TTL_MS = 24 * 3600_000;

export class VaultOperations {
  constructor(
    private readonly store: GlacierStore,
    private readonly names: Names,
  ) {}

  async createVault({ res, vault }: Call): Promise<void> {
    await this.store.createVault(vault);
    send(res, 201, { Location: this.names.path(vault) });
  }

  async describeVault({ res, vault }: Call): Promise<void> {
    json(res, 200, await this.describe(await this.store.vault(vault)));
  }

  private async describe(vault: VaultRecord): Promise<object> {
    const archives = await this.store.listArchives(vault.name);
    return {
      VaultARN: this.names.arn(vault.name),
      VaultName: vault.name,
      CreationDate: vault.creationDate,
      LastInventoryDate: vault.lastInventoryDate ?? null,
      NumberOfArchives: archives.length,
      SizeInBytes: archives.reduce((sum, a) => sum + a.size, 0),
    };
  }

  async listVaults({ res, query }: Call): Promise<void> {
    const { items, marker } = page(await this.store.listVaults(), (v) => this.names.arn(v.name), query, 10);
    json(res, 200, { VaultList: await Promise.all(items.map((v) => this.describe(v))), Marker: marker });
  }

  async deleteVault({ res, vault }: Call): Promise<void> {
    await this.store.deleteVault(vault);
    send(res, 204);
  }

  async initiateVaultLock({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const body = (await readJsonBody(req)) as { Policy?: unknown };
    const policy = body.Policy;
    if (typeof policy !== 'string') throw missing('Policy is required');
    deletionRules(policy);
    const now = Date.now();
    const lockId = newId(24);
    await this.store.updateVault(vault, (record) => {
      const lock = activeLock(record);
      if (lock)
        throw invalid(
          lock.state === 'Locked'
            ? `Vault is locked: ${this.names.arn(vault)}`
            : `Vault lock is in the InProgress state: ${this.names.arn(vault)}`,
        );
      const expirationDate = new Date(now + LOCK_TTL_MS).toISOString();
      return { ...record, lock: { policy, state: 'InProgress', lockId, creationDate: new Date(now).toISOString(), expirationDate } };
    });
    send(res, 201, { 'x-amz-lock-id': lockId });
  }

  async completeVaultLock({ res, vault, id }: Call): Promise<void> {
    await this.store.updateVault(vault, (record) => {
      const lock = activeLock(record);
      if (!lock || lock.lockId !== id) throw invalid(`Invalid lock id ${id} for vault ${this.names.arn(vault)}`);
      return { ...record, lock: { policy: lock.policy, state: 'Locked', lockId: lock.lockId, creationDate: lock.creationDate } };
    });
    send(res, 204);
  }

  async abortVaultLock({ res, vault }: Call): Promise<void> {
    await this.store.updateVault(vault, (record) => {
      if (activeLock(record)?.state === 'Locked') throw invalid(`Vault is locked; its lock cannot be aborted: ${this.names.arn(vault)}`);
      return { name: record.name, creationDate: record.creationDate, lastInventoryDate: record.lastInventoryDate };
    });
    send(res, 204);
  }

  async getVaultLock({ res, vault }: Call): Promise<void> {
    const lock = activeLock(await this.store.vault(vault));
    if (!lock) throw notFound(`No vault lock policy found for vault: ${this.names.arn(vault)}`);
    json(res, 200, {
      Policy: lock.policy,
      State: lock.state,
      ExpirationDate: lock.expirationDate ?? null,
      CreationDate: lock.creationDate,
    });
  }
}

/** The vault's lock unless it is an InProgress one past its 24 hours. */
export function activeLock(vault: VaultRecord) {
  const lock = vault.lock;
  if (!lock || (lock.state === 'InProgress' && Date.parse(lock.expirationDate ?? '') <= Date.now())) return undefined;
  return lock;
}
