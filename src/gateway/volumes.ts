// The gateway's block volumes: the volume service over the cache engine's
// 'volumes/' namespace, each volume served as an iSCSI target of its own,
// added to and removed from the running portal as volumes come and go.
import type { BufferPool } from '../buffers/buffer-pool.ts';
import type { ExtentStore } from '../cache/extent-store.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { InlineWriteGate } from '../fileio/inline-write-gate.ts';
import { formatSize, type IscsiConfig, type VolumeConfig } from '../config/index.ts';
import type { IscsiServer } from '../iscsi/server.ts';
import type { Logger } from '../log.ts';
import { VolumeService, VolumeServiceError, type ServedVolume, type VolumeExposure } from '../volume/volume-service.ts';
import { GatewayError } from './errors.ts';
import type { IoMeters } from './io-meters.ts';
import { targetName, volumeTarget, type TargetSummary } from './targets.ts';

export interface VolumeTargetOptions {
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly iscsi: IscsiConfig;
  readonly logger: Logger;
}

/** Volumes as targets of the running portal. */
export class VolumeTargets implements VolumeExposure {
  /** What each served volume's target looks like, for the start-up log. */
  readonly summaries = new Map<string, TargetSummary>();

  constructor(
    private readonly server: IscsiServer,
    private readonly meters: IoMeters,
    private readonly options: VolumeTargetOptions,
  ) {}

  targetName(name: string): string {
    return targetName(this.options.iscsi, this.options.gatewayName, name);
  }

  attach(volume: ServedVolume): void {
    const built = this.meters.meter(volumeTarget(volume, this.options));
    this.server.addTarget(built.definition);
    this.summaries.set(volume.name, built.summary);
  }

  async detach(name: string): Promise<void> {
    this.server.removeTarget(this.targetName(name));
    this.meters.forget(this.targetName(name));
    this.summaries.delete(name);
  }

  sessions(name: string): number {
    return this.server.sessionCount(this.targetName(name));
  }
}

/** Opens the volume service: the catalog's volumes and the configuration's, each served as a target of `server`. */
export async function openVolumes(options: {
  configured: readonly VolumeConfig[];
  directory: string;
  catalog: Catalog;
  store: ExtentStore;
  uploadBufferUse: () => number;
  inlineWrites: InlineWriteGate;
  readBuffers: BufferPool;
  exposure: VolumeTargets;
  logger: Logger;
}): Promise<VolumeService> {
  try {
    return await VolumeService.open(
      {
        catalog: options.catalog,
        store: options.store,
        directory: options.directory,
        uploadBufferUse: options.uploadBufferUse,
        inlineWrites: options.inlineWrites,
        readBuffers: options.readBuffers,
        exposure: options.exposure,
        logger: options.logger,
      },
      options.configured.map((v) => ({
        name: v.name,
        size: v.size,
        blockSize: v.blockSize,
        type: v.type,
        ...(v.auth ? { auth: v.auth } : {}),
        ...(v.allowedInitiators ? { allowedInitiators: v.allowedInitiators } : {}),
      })),
    );
  } catch (err) {
    if (!(err instanceof VolumeServiceError) && !(err instanceof RangeError) && (err as NodeJS.ErrnoException).code === undefined)
      throw err;
    const sizes = options.configured.map((v) => `${v.name} (${formatSize(v.size)})`).join(', ');
    throw new GatewayError('VOLUME_UNUSABLE', `cannot open the volumes [${sizes}] under ${options.directory}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
