// The gateway's file shares: their definitions in the catalog, each one's file
// system opened on its objects, and what the operator does with them (create,
// list, describe, delete, refresh, wait until uploaded). A share created here
// is exported at once: the NFS server asks this service for shares by name and
// by id on every call.
import type { Section } from '../catalog/catalog.ts';
import type { Logger } from '../log.ts';
import { ClientList, parseClientEntry, type Squash } from './fs/access.ts';
import { FsError } from './fs/errors.ts';
import { ShareFs, type ShareSettings } from './fs/share-fs.ts';
import type { ShareObjects } from './fs/share-objects.ts';
import type { ExportedShares } from './nfs/nfs3-program.ts';

export type ShareErrorCode = 'INVALID_SHARE' | 'SHARE_NOT_FOUND' | 'DUPLICATE_SHARE' | 'PATH_NOT_FOUND';

export class ShareServiceError extends Error {
  constructor(
    readonly code: ShareErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the operator says when creating a share; everything but name and bucket has a default. */
export interface ShareRequest {
  readonly name: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly readOnly?: boolean;
  readonly squash?: Squash;
  readonly clients?: readonly string[];
  /** AWS's CacheStaleTimeoutInSeconds: 0 (only on refresh) or 300 to 2,592,000. */
  readonly cacheStaleTimeoutSeconds?: number;
  readonly fileMode?: number;
  readonly directoryMode?: number;
  readonly ownerUid?: number;
  readonly ownerGid?: number;
  readonly anonUid?: number;
  readonly anonGid?: number;
  /** A file is uploaded once it has not changed for this long. */
  readonly settleSeconds?: number;
}

/** A share as the catalog keeps it. */
export interface ShareDefinition extends Required<ShareRequest> {
  /** In every file handle: unique and never reused. */
  readonly id: number;
  readonly createdAt: string;
}

export interface ShareInfo extends ShareDefinition {
  /** The path clients mount: "/NAME". */
  readonly exportPath: string;
  /** Files (and directories) with changes not yet in the bucket, and the bytes they hold. */
  readonly filesDirty: number;
  readonly bytesDirty: number;
  readonly filesFailingUpload: number;
}

/** Opens a share's objects: the cache engine's namespace "shares/NAME", routed to the share's bucket and prefix. */
export interface ShareObjectsProvider {
  open(share: ShareDefinition): Promise<ShareObjects>;
  close(share: ShareDefinition): Promise<void>;
}

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const BUCKET = /^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$/;
const MAX_STALE_SECONDS = 2_592_000;
const DEFINITION = 'cfg!';
const NEXT_ID = 'cfg-next-id';

function invalid(message: string): ShareServiceError {
  return new ShareServiceError('INVALID_SHARE', message);
}

function uidOrGid(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_fffe)
    throw invalid(`${what} must be a number from 0 to 4294967294, e.g. 65534`);
  return value;
}

/** Checks a request and fills in the defaults; throws INVALID_SHARE saying what to write instead. */
export function shareDefinition(request: ShareRequest, id: number, createdAt: Date): ShareDefinition {
  if (!NAME.test(request.name)) throw invalid(`the share name must be 1 to 63 lower-case letters, digits or inner hyphens, e.g. "files"`);
  if (!BUCKET.test(request.bucket))
    throw invalid(`the bucket must be a DNS-style bucket name: 3 to 63 lower-case letters, digits, dots or hyphens, e.g. "my-files"`);
  let prefix = request.prefix ?? '';
  if (prefix.startsWith('/')) throw invalid('the prefix must not start with "/", e.g. "site-a/files/"');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  if (Buffer.byteLength(prefix) > 512) throw invalid('the prefix must be at most 512 bytes, leaving room for paths under it');
  const stale = request.cacheStaleTimeoutSeconds ?? 0;
  if (!Number.isInteger(stale) || (stale !== 0 && (stale < 300 || stale > MAX_STALE_SECONDS))) {
    throw invalid(
      `the cache-stale timeout must be 0 (refresh only on demand) or 300 to ${MAX_STALE_SECONDS} seconds, as AWS's CacheStaleTimeoutInSeconds, e.g. 300`,
    );
  }
  const clients = request.clients ?? [];
  if (clients.length > 100) throw invalid('at most 100 client addresses or CIDR blocks');
  for (const entry of clients) {
    try {
      parseClientEntry(entry);
    } catch (err) {
      throw invalid((err as Error).message);
    }
  }
  const mode = (value: number | undefined, fallback: number, what: string) => {
    const m = value ?? fallback;
    if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw invalid(`${what} must be an octal mode from 0 to 7777, e.g. 0644`);
    return m;
  };
  const settle = request.settleSeconds ?? 5;
  if (!Number.isFinite(settle) || settle < 0 || settle > 3600) throw invalid('the settling time must be 0 to 3600 seconds, e.g. 5');
  return {
    name: request.name,
    id,
    bucket: request.bucket,
    prefix,
    readOnly: request.readOnly ?? false,
    squash: request.squash ?? 'root',
    clients: [...clients],
    cacheStaleTimeoutSeconds: stale,
    fileMode: mode(request.fileMode, 0o666, 'the default file mode'),
    directoryMode: mode(request.directoryMode, 0o777, 'the default directory mode'),
    ownerUid: uidOrGid(request.ownerUid ?? 65534, 'the default owner'),
    ownerGid: uidOrGid(request.ownerGid ?? 65534, 'the default group'),
    anonUid: uidOrGid(request.anonUid ?? 65534, 'the anonymous uid'),
    anonGid: uidOrGid(request.anonGid ?? 65534, 'the anonymous gid'),
    settleSeconds: settle,
    createdAt: createdAt.toISOString(),
  };
}

export function settingsOf(share: ShareDefinition): ShareSettings {
  return {
    name: share.name,
    id: share.id,
    readOnly: share.readOnly,
    squash: share.squash,
    anonUid: share.anonUid,
    anonGid: share.anonGid,
    clients: new ClientList(share.clients),
    defaults: { fileMode: share.fileMode, dirMode: share.directoryMode, uid: share.ownerUid, gid: share.ownerGid },
    cacheStaleTimeoutMs: share.cacheStaleTimeoutSeconds * 1000,
    settleMs: share.settleSeconds * 1000,
    keyPrefix: share.prefix,
  };
}

interface OpenShare {
  readonly definition: ShareDefinition;
  readonly fs: ShareFs;
}

export class ShareService implements ExportedShares {
  private readonly shares = new Map<string, OpenShare>();

  private constructor(
    private readonly section: Section<unknown>,
    private readonly provider: ShareObjectsProvider,
    private readonly logger: Logger,
  ) {}

  /** Opens every share the catalog holds, and creates `initial` shares the first time the gateway starts. */
  static async open(options: {
    section: Section<unknown>;
    provider: ShareObjectsProvider;
    logger: Logger;
    initial?: readonly ShareRequest[];
  }): Promise<ShareService> {
    const service = new ShareService(options.section, options.provider, options.logger);
    const definitions: ShareDefinition[] = [];
    for await (const [, value] of options.section.iterator({ gt: DEFINITION, lt: `${DEFINITION}~` }))
      definitions.push(value as ShareDefinition);
    for (const definition of definitions) await service.openShare(definition);
    const firstStart = (await options.section.get(NEXT_ID)) === undefined;
    if (firstStart) {
      await options.section.put(NEXT_ID, 1);
      for (const request of options.initial ?? []) await service.create(request);
    }
    return service;
  }

  private async openShare(definition: ShareDefinition): Promise<OpenShare> {
    const objects = await this.provider.open(definition);
    const fs = await ShareFs.open({
      settings: settingsOf(definition),
      section: this.section,
      objects,
      logger: this.logger.child({ share: definition.name }),
    });
    const open = { definition, fs };
    this.shares.set(definition.name, open);
    return open;
  }

  private share(name: string): OpenShare {
    const share = this.shares.get(name);
    if (!share)
      throw new ShareServiceError('SHARE_NOT_FOUND', `no share named ${JSON.stringify(name)}: tapegw share list shows the shares`);
    return share;
  }

  async create(request: ShareRequest): Promise<ShareInfo> {
    if (this.shares.has(request.name))
      throw new ShareServiceError('DUPLICATE_SHARE', `a share named ${JSON.stringify(request.name)} exists: choose another name`);
    const id = ((await this.section.get(NEXT_ID)) as number | undefined) ?? 1;
    const definition = shareDefinition(request, id, new Date());
    // The id is spent first, so that a share that fails to open never hands its id to another.
    await this.section.put(NEXT_ID, id + 1);
    const open = await this.openShare(definition);
    await this.section.put(`${DEFINITION}${definition.name}`, definition);
    this.logger.info({ share: definition.name, bucket: definition.bucket, prefix: definition.prefix }, 'share created and exported');
    return this.info(open);
  }

  list(): ShareInfo[] {
    return [...this.shares.values()].map((share) => this.info(share)).sort((a, b) => a.name.localeCompare(b.name));
  }

  describe(name: string): ShareInfo {
    return this.info(this.share(name));
  }

  /** Stops exporting the share and forgets it; the bucket's objects stay (as AWS's DeleteFileShare). */
  async delete(name: string): Promise<void> {
    const share = this.share(name);
    this.shares.delete(name);
    await share.fs.close();
    await share.fs.forgetNamespace();
    await this.section.del(`${DEFINITION}${name}`);
    await this.provider.close(share.definition);
    this.logger.info({ share: name }, 'share deleted; its objects stay in the bucket');
  }

  async refresh(name: string, options: { path?: string; recursive?: boolean } = {}): Promise<{ directories: number }> {
    const share = this.share(name);
    try {
      return await share.fs.refresh(options.path ?? '', options.recursive ?? false);
    } catch (err) {
      if (err instanceof FsError && (err.code === 'NOENT' || err.code === 'NOTDIR')) {
        throw new ShareServiceError(
          'PATH_NOT_FOUND',
          `no directory ${JSON.stringify(options.path)} in the share ${name}: give a path from the share's root, e.g. "projects/2026"`,
        );
      }
      throw err;
    }
  }

  /** True once every change made to the share before the call is in the bucket; false if that takes longer than `timeoutMs`. */
  async waitUploaded(name: string, timeoutMs: number): Promise<boolean> {
    return this.share(name).fs.waitUploaded(AbortSignal.timeout(timeoutMs));
  }

  byId(id: number): ShareFs | undefined {
    for (const share of this.shares.values()) if (share.definition.id === id) return share.fs;
    return undefined;
  }

  byName(name: string): ShareFs | undefined {
    return this.shares.get(name)?.fs;
  }

  all(): readonly ShareFs[] {
    return [...this.shares.values()].map((share) => share.fs);
  }

  private info(share: OpenShare): ShareInfo {
    const stats = share.fs.stats();
    return { ...share.definition, exportPath: `/${share.definition.name}`, ...stats };
  }

  async close(): Promise<void> {
    for (const share of this.shares.values()) {
      await share.fs.close();
      await this.provider.close(share.definition);
    }
    this.shares.clear();
  }
}
