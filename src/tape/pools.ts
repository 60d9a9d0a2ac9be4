// Tape pools: where a pool's cartridges go when archived, and the retention
// lock that keeps them from being deleted. GLACIER and DEEP_ARCHIVE always
// exist (their destinations come from the configuration); custom pools are
// kept in the catalog's 'pools' section and, as AWS's, never change once made.
import type { Catalog, Section } from '../catalog/catalog.ts';
import type { TapeRecord } from './tape-catalog.ts';
import {
  TapeServiceError,
  type CreatePoolRequest,
  type DeleteTapeOptions,
  type PoolDestination,
  type PoolInfo,
  type RetentionMode,
} from './tape-service.ts';

export const BUILT_IN_POOLS = ['GLACIER', 'DEEP_ARCHIVE'] as const;
export type BuiltInPool = (typeof BUILT_IN_POOLS)[number];
export const DEFAULT_POOL: BuiltInPool = 'GLACIER';

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const VAULT = /^[A-Za-z0-9_.-]{1,255}$/;
const MODES: readonly RetentionMode[] = ['NONE', 'GOVERNANCE', 'COMPLIANCE'];
const STORAGE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;
const MAX_RETENTION_DAYS = 36_500;
const DAY_MS = 86_400_000;
/** Built-in pools exist from the start, as far as anyone can tell. */
const EPOCH = new Date(0).toISOString();

export class PoolCatalog {
  private readonly section: Section<PoolInfo>;
  private readonly builtIn: ReadonlyMap<string, PoolInfo>;

  constructor(catalog: Catalog, destinations: Readonly<Record<BuiltInPool, PoolDestination>>) {
    this.section = catalog.section<PoolInfo>('pools');
    this.builtIn = new Map(
      BUILT_IN_POOLS.map((name) => [
        name,
        { name, destination: destinations[name], retention: { mode: 'NONE', days: 0 }, builtIn: true, createdAt: EPOCH },
      ]),
    );
  }

  async get(name: string): Promise<PoolInfo | undefined> {
    return this.builtIn.get(name) ?? (await this.section.get(name));
  }

  /** The pool of that name, or a refusal that names the pools there are. */
  async require(name: string): Promise<PoolInfo> {
    const pool = await this.get(name);
    if (pool) return pool;
    const names = (await this.all()).map((p) => p.name).join(', ');
    throw new TapeServiceError(
      'POOL_NOT_FOUND',
      `there is no pool ${name}: choose one of ${names}, or create it with "tapegw pool create"`,
    );
  }

  /** Built-in pools first, then custom ones by name. */
  async all(): Promise<PoolInfo[]> {
    return [...this.builtIn.values(), ...(await this.section.values().all())];
  }

  async create(request: CreatePoolRequest, now = new Date()): Promise<PoolInfo> {
    const pool = newPool(request, now);
    if (await this.get(pool.name))
      throw new TapeServiceError('DUPLICATE_POOL', `pool ${pool.name} already exists, and pools never change: choose another name`);
    await this.section.put(pool.name, pool);
    return pool;
  }

  /** `inUse` says whether any cartridge, in the library or on the shelf, is in the pool. */
  async delete(name: string, inUse: (name: string) => Promise<boolean>): Promise<void> {
    const pool = await this.require(name);
    if (pool.builtIn) throw new TapeServiceError('INVALID_POOL', `${name} is a built-in pool and cannot be deleted`);
    if (await inUse(name))
      throw new TapeServiceError('POOL_IN_USE', `pool ${name} still has cartridges: delete them (or their archives) first`);
    await this.section.del(name);
  }
}

/** A custom pool as the request describes it, or a refusal that says what to send instead. */
export function newPool(request: CreatePoolRequest, now = new Date()): PoolInfo {
  if (typeof request.name !== 'string' || !NAME.test(request.name)) {
    throw new TapeServiceError(
      'INVALID_POOL',
      `pool name ${JSON.stringify(request.name)} must be 1 to 100 letters, digits, "-", "_" or ".": e.g. finance-7y`,
    );
  }
  return {
    name: request.name,
    destination: validDestination(request.destination),
    retention: validRetention(request.retention ?? { mode: 'NONE', days: 0 }),
    builtIn: false,
    createdAt: now.toISOString(),
  };
}

/** When the pool's retention lock stops protecting the cartridge; undefined when the pool has none. */
export function retentionUntil(record: Pick<TapeRecord, 'createdAt'>, pool: PoolInfo): Date | undefined {
  if (pool.retention.mode === 'NONE' || pool.retention.days === 0) return undefined;
  return new Date(Date.parse(record.createdAt) + pool.retention.days * DAY_MS);
}

/** Refuses to delete a cartridge (or its archive) that its pool's retention lock still protects. */
export function checkDeletable(
  record: Pick<TapeRecord, 'barcode' | 'createdAt'>,
  pool: PoolInfo,
  options: DeleteTapeOptions = {},
  now = new Date(),
): void {
  const until = retentionUntil(record, pool);
  if (!until || until <= now) return;
  const when = until.toISOString();
  if (pool.retention.mode === 'COMPLIANCE') {
    throw new TapeServiceError(
      'RETENTION_LOCKED',
      `cartridge ${record.barcode} is in pool ${pool.name}, whose COMPLIANCE retention lock keeps it until ${when}; nobody can delete it before then`,
    );
  }
  if (!options.bypassGovernanceRetention) {
    throw new TapeServiceError(
      'RETENTION_LOCKED',
      `cartridge ${record.barcode} is in pool ${pool.name}, whose GOVERNANCE retention lock keeps it until ${when}: wait, or delete with --bypass-governance-retention`,
    );
  }
}

function validDestination(destination: PoolDestination): PoolDestination {
  if (destination?.kind === 'vault' && typeof destination.vault === 'string' && VAULT.test(destination.vault))
    return { kind: 'vault', vault: destination.vault };
  if (destination?.kind === 'storage-class' && STORAGE_CLASSES.includes(destination.storageClass)) {
    return { kind: 'storage-class', storageClass: destination.storageClass };
  }
  throw new TapeServiceError(
    'INVALID_POOL',
    `a pool archives to a Glacier vault (1-255 letters, digits, "-", "_" or ".") or an S3 storage class (${STORAGE_CLASSES.join(' or ')}): e.g. --vault my-vault or --storage-class DEEP_ARCHIVE`,
  );
}

function validRetention(retention: { mode: RetentionMode; days: number }): { mode: RetentionMode; days: number } {
  if (!MODES.includes(retention?.mode)) {
    throw new TapeServiceError(
      'INVALID_POOL',
      `retention lock ${JSON.stringify(retention?.mode)} is not one of ${MODES.join(', ')}: e.g. --retention-lock GOVERNANCE`,
    );
  }
  if (!Number.isInteger(retention.days) || retention.days < 0 || retention.days > MAX_RETENTION_DAYS) {
    throw new TapeServiceError(
      'INVALID_POOL',
      `retention of ${retention.days} days must be a whole number from 0 to ${MAX_RETENTION_DAYS}: e.g. --retention-days 2555 for 7 years`,
    );
  }
  if (retention.mode === 'NONE' && retention.days !== 0) {
    throw new TapeServiceError(
      'INVALID_POOL',
      `${retention.days} retention days need a lock: add --retention-lock GOVERNANCE or COMPLIANCE`,
    );
  }
  return { mode: retention.mode, days: retention.days };
}
