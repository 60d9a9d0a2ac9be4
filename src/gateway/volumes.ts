// Block volumes as sparse files under the data directory, one per configured volume.
import { join } from 'node:path';
import { formatSize, type VolumeConfig } from '../config/index.ts';
import { FileBlockDevice } from '../volume/file-block-device.ts';
import { GatewayError } from './errors.ts';

export interface OpenVolume {
  readonly config: VolumeConfig;
  readonly device: FileBlockDevice;
}

/** Opens every volume, or none: on failure the ones already open are closed. */
export async function openVolumes(volumes: readonly VolumeConfig[], directory: string): Promise<OpenVolume[]> {
  const open: OpenVolume[] = [];
  try {
    for (const config of volumes) {
      const path = join(directory, `${config.name}.img`);
      try {
        open.push({ config, device: await FileBlockDevice.open({ path, size: config.size, blockSize: config.blockSize }) });
      } catch (err) {
        const hint = err instanceof RangeError ? 'a volume cannot shrink: give it at least its current size, or a new name' : 'check the permissions and free space of the data directory';
        throw new GatewayError(
          'VOLUME_UNUSABLE',
          `cannot open volume "${config.name}" (${formatSize(config.size)}) at ${path}: ${(err as Error).message}; ${hint}`,
          { cause: err },
        );
      }
    }
    return open;
  } catch (err) {
    await Promise.allSettled(open.map((v) => v.device.close()));
    throw err;
  }
}
