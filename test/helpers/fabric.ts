// An in-process iSCSI server with one real disk LU over a temporary file, for
// protocol-level tests of the fabric with the test initiator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskUnit } from '../../scsi/sbc/disk.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import type { BufferPool } from '../../src/buffers/buffer-pool.ts';
import { IscsiServer } from '../../src/iscsi/server.ts';
import type { IscsiServerOptions, IscsiTargetDefinition, TargetAuth } from '../../src/iscsi/target-definition.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { FileBlockDevice } from '../../src/volume/file-block-device.ts';

export const DISK_TARGET = 'iqn.2026-11.io.tapegateway.test:disk';
export const DISK_BYTES = 64 * 1024 * 1024;

export interface FabricFixture {
  readonly port: number;
  readonly server: IscsiServer;
  stop(): Promise<void>;
}

export async function startFabric(
  options: {
    auth?: TargetAuth;
    allowedInitiators?: string[];
    extraTargets?: IscsiTargetDefinition[];
    server?: Partial<IscsiServerOptions>;
    logger?: Logger;
    /** The disk's pool of READ buffers. */
    readBuffers?: BufferPool;
  } = {},
): Promise<FabricFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'fabric-'));
  const device = await FileBlockDevice.open({ path: join(dir, 'disk.img'), size: DISK_BYTES, readBuffers: options.readBuffers });
  const unit = createDiskUnit({
    identity: {
      deviceType: 0,
      vendor: 'TAPEGW',
      product: 'TEST DISK',
      revision: '0001',
      serial: 'DISK0001',
      gatewayId: 'test-gateway',
      name: 'disk0',
    },
    device,
  });
  const disk: IscsiTargetDefinition = {
    name: DISK_TARGET,
    scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }),
    auth: options.auth,
    allowedInitiators: options.allowedInitiators,
  };
  const server = new IscsiServer(
    { host: '127.0.0.1', port: 0, targets: [disk, ...(options.extraTargets ?? [])], nopInIntervalMs: 0, ...options.server },
    options.logger ?? silentLogger(),
  );
  const address = await server.listen();
  return {
    port: address.port,
    server,
    async stop() {
      await server.close();
      await device.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CDB builders for the tests. */
export const cdb = {
  testUnitReady: (): number[] => [0, 0, 0, 0, 0, 0],
  read10: (lba: number, blocks: number): number[] => [
    0x28,
    0,
    (lba >>> 24) & 0xff,
    (lba >>> 16) & 0xff,
    (lba >>> 8) & 0xff,
    lba & 0xff,
    0,
    (blocks >> 8) & 0xff,
    blocks & 0xff,
    0,
  ],
  write10: (lba: number, blocks: number): number[] => [
    0x2a,
    0,
    (lba >>> 24) & 0xff,
    (lba >>> 16) & 0xff,
    (lba >>> 8) & 0xff,
    lba & 0xff,
    0,
    (blocks >> 8) & 0xff,
    blocks & 0xff,
    0,
  ],
  reserve6: (): number[] => [0x16, 0, 0, 0, 0, 0],
  inquiry: (length: number): number[] => [0x12, 0, 0, (length >> 8) & 0xff, length & 0xff, 0],
};

export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}
