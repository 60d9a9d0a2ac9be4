// Storage-class pools through the real gateway process, on s3rver and on Ceph
// RGW: a cartridge of a pool whose destination is an S3 storage class is
// archived as one object in the gateway's bucket (both keep the storage class
// and report it; neither has RestoreObject, which the shelf takes as "readable
// now"), retrieved read-only with every byte identical, and a damaged object
// makes the cartridge IRRECOVERABLE.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { decodeSense } from '../helpers/sense.ts';
import { flipStoredByte, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import {
  IMPORT_EXPORT,
  LIBRARY_ARGS,
  api,
  block,
  cdb,
  changerView,
  moveTo,
  objectsOf,
  readBack,
  retrieveIrrecoverable,
  until,
  watchShelf,
  writeCartridge,
} from '../shelf/gateway-helpers.ts';

describeEachBackend('@slow storage-class shelf through the gateway', function (backend) {
  this.timeout(300_000);
  let dataDir: string;
  let s3: S3Fixture;
  let gw: GatewayProcess;

  beforeEach(async () => {
    dataDir = await tempDir('tapegw-shelf-sc-');
    s3 = await backend.bucket();
    gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, '--segment-size', '1MiB', ...s3.gateway.args], env: s3.gateway.env, dataDir });
    const pool = await api(gw, 'POST', '/pools', { name: 'COLD', destination: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' } });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
  });
  afterEach(async () => {
    await gw.stop();
    await s3.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('archives a cartridge as one DEEP_ARCHIVE object, retrieves it read-only and reads back every byte', async () => {
    const blocks = await writeCartridge(gw, 'SCL001L5', 48, 'COLD');
    const key = `${gw.s3.prefix}shelf/SCL001L5.tape`;
    await moveTo(gw, 'SCL001L5', IMPORT_EXPORT);
    const { info } = await watchShelf(gw, 'SCL001L5', 'ARCHIVED');
    await until('its segment objects are deleted', async () => ((await objectsOf(s3.raw, gw, 'SCL001L5')).length === 0 ? true : undefined));
    const head = await s3.raw.send(new HeadObjectCommand({ Bucket: gw.s3.bucket, Key: key }));
    assert.equal(head.StorageClass, 'DEEP_ARCHIVE', 'the object carries the pool storage class');
    assert.equal(head.ContentLength, info.archiveBytes);
    assert.ok(!(await changerView(gw)).some((e) => e.barcode === 'SCL001L5'), 'its import/export slot is free');

    assert.equal((await api(gw, 'POST', '/shelf/SCL001L5/retrieve', { tier: 'Bulk' })).status, 202);
    const { info: retrieved } = await watchShelf(gw, 'SCL001L5', 'RETRIEVED');
    assert.equal(retrieved.location?.kind, 'import-export');
    const reader = await readBack(gw, 'SCL001L5', blocks);
    const write = await reader.command(cdb.write6(1024), { write: block(99, 1024) });
    assert.equal(decodeSense(write.sense).asc, 0x27, 'a retrieved cartridge is WRITE PROTECTED');
    reader.close();

    // Back on the shelf, then the archive deleted: the object goes.
    await moveTo(gw, 'SCL001L5', IMPORT_EXPORT);
    await watchShelf(gw, 'SCL001L5', 'ARCHIVED');
    assert.equal((await api(gw, 'DELETE', '/shelf/SCL001L5')).status, 204);
    await assert.rejects(s3.raw.send(new HeadObjectCommand({ Bucket: gw.s3.bucket, Key: key })), { name: 'NotFound' });
  });

  it('marks a cartridge whose object is damaged IRRECOVERABLE and never puts it in the library', async () => {
    await writeCartridge(gw, 'SCL002L5', 40, 'COLD');
    await moveTo(gw, 'SCL002L5', IMPORT_EXPORT);
    await watchShelf(gw, 'SCL002L5', 'ARCHIVED');
    await flipStoredByte(s3.raw, gw.s3.bucket, `${gw.s3.prefix}shelf/SCL002L5.tape`, 1_000_000);

    await retrieveIrrecoverable(gw, 'SCL002L5');
  });
});
