// Storage-class pools through the real gateway process: a cartridge of a pool
// whose destination is an S3 storage class is archived as one object in the
// gateway's bucket (the embedded s3rver keeps the storage class and reports
// it; it has no RestoreObject, which the shelf takes as "readable now"),
// retrieved read-only with every byte identical, and a damaged object makes
// the cartridge IRRECOVERABLE.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { decodeSense } from '../helpers/sense.ts';
import { tempDir } from '../cloud/helpers.ts';
import { IMPORT_EXPORT, LIBRARY_ARGS, api, block, bucket, cdb, changerView, flipByte, moveTo, objectsOf, readBack, retrieveIrrecoverable, until, watchShelf, writeCartridge } from '../shelf/gateway-helpers.ts';

/** s3rver's file holding an object's bytes, found below the gateway's data directory. */
async function storedFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === `${name}._S3rver_object`) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

describe('@slow storage-class shelf through the gateway', function () {
  this.timeout(300_000);
  let dataDir: string;
  let gw: GatewayProcess;

  beforeEach(async () => {
    dataDir = await tempDir('tapegw-shelf-sc-');
    gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, '--segment-size', '1MiB'], dataDir });
    const pool = await api(gw, 'POST', '/pools', { name: 'COLD', destination: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' } });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
  });
  afterEach(async () => {
    await gw.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('archives a cartridge as one DEEP_ARCHIVE object, retrieves it read-only and reads back every byte', async () => {
    const blocks = await writeCartridge(gw, 'SCL001L5', 48, 'COLD');
    const s3 = bucket(gw);
    const key = `${gw.s3.prefix}shelf/SCL001L5.tape`;
    try {
      await moveTo(gw, 'SCL001L5', IMPORT_EXPORT);
      const { info } = await watchShelf(gw, 'SCL001L5', 'ARCHIVED');
      await until('its segment objects are deleted', async () => ((await objectsOf(s3, gw, 'SCL001L5')).length === 0 ? true : undefined));
      const head = await s3.send(new HeadObjectCommand({ Bucket: gw.s3.bucket, Key: key }));
      assert.equal(head.StorageClass, 'DEEP_ARCHIVE', 'the object carries the pool storage class, as s3rver reports it');
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
      await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: gw.s3.bucket, Key: key })), { name: 'NotFound' });
    } finally {
      s3.destroy();
    }
  });

  it('marks a cartridge whose object is damaged IRRECOVERABLE and never puts it in the library', async () => {
    await writeCartridge(gw, 'SCL002L5', 40, 'COLD');
    await moveTo(gw, 'SCL002L5', IMPORT_EXPORT);
    await watchShelf(gw, 'SCL002L5', 'ARCHIVED');
    const path = await storedFile(dataDir, 'SCL002L5.tape');
    assert.ok(path, "s3rver's file of the archive object is found");
    await flipByte(path, 1_000_000);

    await retrieveIrrecoverable(gw, 'SCL002L5');
  });
});
