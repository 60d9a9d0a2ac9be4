// A stand-in for the gateway's tape drives until the gateway serves its library: the same parts
// the gateway wires (src/iscsi fabric, scsi/ssc drive, src/tape Cartridge and Bay, src/cache
// engine over a LevelDB catalog, the embedded s3rver in the same process), with N drives, each a
// target of its own at LUN 0 with a fresh cartridge loaded. It logs the gateway's "gateway-ready"
// record so the benchmark drives it like the gateway. Benchmark use only.
//
//   node --import tsx scripts/bench/tape-standin.ts --data-dir DIR [--drives 4]
//        [--capacity 12GiB] [--segment 64MiB] [--cache 64GiB] [--upload-buffer 16GiB]
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { ScsiTarget } from '../../scsi/target.ts';
import { CacheEngine } from '../../src/cache/engine.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { startLocalS3 } from '../../src/cloud/local-s3.ts';
import { IscsiServer } from '../../src/iscsi/server.ts';
import { createLogger } from '../../src/log.ts';
import { Cartridge } from '../../src/tape/cartridge.ts';
import { Bay } from '../../src/tape/drive-bay.ts';
import { parseSize } from './util.ts';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    drives: { type: 'string', default: '4' },
    capacity: { type: 'string', default: '12GiB' },
    segment: { type: 'string', default: '64MiB' },
    cache: { type: 'string', default: '64GiB' },
    'upload-buffer': { type: 'string', default: '16GiB' },
    // Accepted for the benchmark's gateway launcher; the portal is always 127.0.0.1 on a free port.
    'iscsi-host': { type: 'string' },
    'iscsi-port': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const dataDir = values['data-dir'];
if (!dataDir) throw new Error('--data-dir is required');
const logger = createLogger({ level: values['log-level'] ?? 'info', name: 'tape-standin' });

await mkdir(join(dataDir, 's3'), { recursive: true });
const s3server = await startLocalS3({ directory: join(dataDir, 's3') });
const settings = {
  endpoint: s3server.endpoint,
  region: 'us-east-1',
  bucket: 'tape-gateway-bench',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
};
const client = new S3Client(settings);
await client.send(new CreateBucketCommand({ Bucket: settings.bucket }));
client.destroy();

const catalog = await Catalog.open(join(dataDir, 'catalog'));
const engine = await CacheEngine.open({
  directory: join(dataDir, 'cache'),
  catalog,
  s3: settings,
  cacheBytes: parseSize(values.cache!),
  uploadBufferBytes: parseSize(values['upload-buffer']!),
  logger: logger.child({ component: 'engine' }),
});

const drives = Number(values.drives);
const targets = [];
const summaries = [];
for (let d = 0; d < drives; d++) {
  const barcode = `BENCH${d}L5`;
  await Cartridge.create(engine, { barcode, capacityBytes: parseSize(values.capacity!), segmentBytes: parseSize(values.segment!) });
  const bay = new Bay({
    cartridges: { openCartridge: (b) => Cartridge.open(engine, b), closeCartridge: async () => {} },
    exclusive: (work) => work(),
  });
  await bay.insert(barcode);
  const unit = createTapeDriveUnit({ identity: { serial: `101300000${d}`, gatewayId: 'bench', name: `drive-${d}` }, bay });
  const name = `iqn.2026-11.io.tapegateway:bench-tapedrive-${String(d + 1).padStart(2, '0')}`;
  targets.push({ name, scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }) });
  summaries.push({ name, luns: [{ lun: 0, deviceType: 'tape' as const }] });
}

const server = new IscsiServer({ host: '127.0.0.1', port: 0, targets }, logger.child({ component: 'iscsi' }));
const address = await server.listen();
logger.info({ event: 'gateway-ready', iscsi: { host: address.address, port: address.port }, targets: summaries }, 'tape stand-in ready');

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await server.close();
  await engine.close();
  await catalog.close();
  await s3server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
