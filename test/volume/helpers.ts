// A volume service over a real engine, catalog and s3rver, in a scratch
// directory; and the exposure it serves targets through, as the gateway's
// iSCSI portal would (here a record of what is attached, whose session
// counts a test sets: the fabric itself is tested with real initiators in
// test/gateway/volumes.test.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Settings } from '../../src/cloud/object-store.ts';
import type { EngineOptions } from '../../src/cache/engine.ts';
import { silentLogger } from '../../src/log.ts';
import { CHUNK_CHECKSUM_BLOCK, VOLUMES_NAMESPACE } from '../../src/volume/chunk-map.ts';
import {
  VolumeService,
  type ConfigVolume,
  type ServedVolume,
  type VolumeExposure,
  type VolumeServiceOptions,
} from '../../src/volume/volume-service.ts';
import { openEngine, type OpenedEngine } from '../cache/helpers.ts';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export class ExposureRecord implements VolumeExposure {
  readonly served = new Map<string, ServedVolume>();
  readonly loggedIn = new Map<string, number>();
  targetName(name: string): string {
    return `iqn.2026-11.io.tapegateway:test-${name}`;
  }
  attach(volume: ServedVolume): void {
    if (this.served.has(volume.name)) throw new Error(`${volume.name} attached twice`);
    this.served.set(volume.name, volume);
  }
  async detach(name: string): Promise<void> {
    this.served.delete(name);
    this.loggedIn.delete(name);
  }
  sessions(name: string): number {
    return this.loggedIn.get(name) ?? 0;
  }
  device(name: string) {
    const served = this.served.get(name);
    if (!served) throw new Error(`volume ${name} is not served`);
    return served.device;
  }
}

export interface OpenedVolumes extends OpenedEngine {
  readonly service: VolumeService;
  readonly exposure: ExposureRecord;
  readonly directory: string;
  /** Closes the service, then the engine and catalog. */
  close(): Promise<void>;
}

export async function openVolumes(
  directory: string,
  s3: S3Settings,
  options: {
    engine?: Partial<Omit<EngineOptions, 'directory' | 'catalog' | 'backend'>>;
    service?: Partial<VolumeServiceOptions>;
    configured?: ConfigVolume[];
  } = {},
): Promise<OpenedVolumes> {
  const opened = await openEngine(directory, s3, {
    cacheBytes: 512 * MiB,
    uploadBufferBytes: 256 * MiB,
    uploadQuietMs: 0,
    ...options.engine,
  });
  const exposure = new ExposureRecord();
  const volumesDir = join(directory, 'volumes');
  await mkdir(volumesDir, { recursive: true });
  try {
    const service = await VolumeService.open(
      {
        catalog: opened.catalog,
        store: opened.engine.namespace(VOLUMES_NAMESPACE, { blockSize: CHUNK_CHECKSUM_BLOCK }),
        directory: volumesDir,
        uploadBufferUse: () => {
          const s = opened.engine.stats();
          return s.dirtyBytes / s.uploadBufferBytes;
        },
        exposure,
        logger: silentLogger(),
        chunkSize: MiB,
        ...options.service,
      },
      options.configured ?? [],
    );
    return {
      ...opened,
      service,
      exposure,
      directory,
      async close() {
        await service.close();
        await opened.close();
      },
    };
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** Waits until `check` holds, looking every 50 ms, at most `ms`. */
export async function until(check: () => Promise<boolean> | boolean, ms = 20_000, what = 'the condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
