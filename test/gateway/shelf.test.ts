// The vault shelf end to end through the real gateway process: a cartridge
// written over iSCSI is exported by MOVE MEDIUM into an import/export slot,
// archived to the embedded Glacier endpoint, retrieved read-only and read back;
// a damaged archive makes the cartridge IRRECOVERABLE instead of short.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { decodeSense } from '../helpers/sense.ts';
import { tempDir } from '../cloud/helpers.ts';
import {
  CHECK_CONDITION,
  IMPORT_EXPORT,
  LIBRARY_ARGS,
  api,
  block,
  bucket,
  cdb,
  changerView,
  flipByte,
  glacierVault,
  moveTo,
  objectsOf,
  readBack,
  retrieveIrrecoverable,
  until,
  watchShelf,
  writeCartridge,
} from '../shelf/gateway-helpers.ts';

const ORDER = ['IN_TRANSIT_TO_VTS', 'ARCHIVING', 'ARCHIVED'];

describe('@slow vault shelf through the gateway', function () {
  this.timeout(300_000);
  let dataDir: string;
  let gw: GatewayProcess;

  beforeEach(async () => {
    dataDir = await tempDir('tapegw-shelf-');
    // Segments of 1 MiB: a cartridge of several, the last one begun but empty.
    gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, '--segment-size', '1MiB', '--glacier-job-delays', '1'], dataDir });
  });
  afterEach(async () => {
    await gw.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function archived(barcode: string): Promise<void> {
    await moveTo(gw, barcode, IMPORT_EXPORT);
    const { seen } = await watchShelf(gw, barcode, 'ARCHIVED');
    assert.deepEqual(
      seen,
      ORDER.filter((s) => seen.includes(s)),
      `statuses follow the lifecycle: ${seen.join(' → ')}`,
    );
  }

  it('archives an exported cartridge, retrieves it read-only into an import/export slot, and reads back every byte', async () => {
    const blocks = await writeCartridge(gw, 'SHF001L5', 48);
    const s3 = bucket(gw);
    const vault = glacierVault(gw);
    try {
      // Uploads wait for reads and writes to go quiet (cache.uploadQuietMs), then the data is in S3.
      await until('its data is in S3', async () => ((await objectsOf(s3, gw, 'SHF001L5')).length > 0 ? true : undefined));
      await archived('SHF001L5');
      assert.ok(
        !(await changerView(gw)).some((e) => e.barcode === 'SHF001L5'),
        'the cartridge has left the library; its import/export slot is free',
      );
      assert.equal((await api(gw, 'GET', '/tapes/SHF001L5')).status, 404);
      await until('its S3 objects are deleted', async () => ((await objectsOf(s3, gw, 'SHF001L5')).length === 0 ? true : undefined));
      const described = await vault.describe();
      assert.equal(described.archives, 1, 'the vault holds its archive');
      const info = (await api(gw, 'GET', '/shelf/SHF001L5')).body;
      assert.equal(info.archiveBytes, described.sizeInBytes);
      const reimport = await api(gw, 'POST', '/tapes/SHF001L5/import');
      assert.deepEqual(
        [reimport.status, reimport.body.error.code],
        [409, 'TAPE_ON_SHELF'],
        'an archived cartridge is retrieved, not imported',
      );
      assert.match(reimport.body.error.message, /tapegw shelf retrieve SHF001L5/);

      const retrieving = await api(gw, 'POST', '/shelf/SHF001L5/retrieve', { tier: 'Expedited' });
      assert.equal(retrieving.status, 202);
      assert.equal(retrieving.body.status, 'RETRIEVING');
      const { info: retrieved } = await watchShelf(gw, 'SHF001L5', 'RETRIEVED');
      assert.equal(retrieved.location?.kind, 'import-export');
      const slot = (await changerView(gw)).find((e) => e.barcode === 'SHF001L5');
      assert.equal(slot?.type, IMPORT_EXPORT, 'the changer reports it, with its barcode, in an import/export slot');

      const reader = await readBack(gw, 'SHF001L5', blocks);
      const data = block(99);
      const write = await reader.command(cdb.write6(data.length), { write: data });
      assert.equal(write.status, CHECK_CONDITION, 'a retrieved cartridge refuses writes');
      assert.equal(decodeSense(write.sense).key, 0x07, 'DATA PROTECT');
      assert.equal(decodeSense(write.sense).asc, 0x27, 'WRITE PROTECTED');
      reader.close();
      const deleting = await api(gw, 'DELETE', '/tapes/SHF001L5');
      assert.deepEqual(
        [deleting.status, deleting.body.error.code],
        [409, 'TAPE_ON_SHELF'],
        'a retrieved cartridge is returned to the shelf, not deleted from the library',
      );

      // Back on the shelf: only the restored objects go; the archive stays.
      await moveTo(gw, 'SHF001L5', IMPORT_EXPORT);
      await watchShelf(gw, 'SHF001L5', 'ARCHIVED');
      await until('the restored objects are deleted', async () => ((await objectsOf(s3, gw, 'SHF001L5')).length === 0 ? true : undefined));
      assert.equal((await vault.describe()).archives, 1);
      assert.equal((await api(gw, 'DELETE', '/shelf/SHF001L5')).status, 204);
      assert.equal((await vault.describe()).archives, 0);
      assert.equal((await api(gw, 'GET', '/shelf/SHF001L5')).status, 404);
    } finally {
      s3.destroy();
      vault.close();
    }
  });

  it('marks a cartridge whose archive is damaged IRRECOVERABLE and never puts it in the library', async () => {
    await writeCartridge(gw, 'SHF002L5', 40);
    await archived('SHF002L5');
    const archives = join(dataDir, 'glacier', 'vaults', 'v-gw1-glacier', 'archives');
    const data = (await readdir(archives)).filter((name) => name.endsWith('.data'));
    assert.equal(data.length, 1);
    await flipByte(join(archives, data[0]!), 2_000_000);

    await retrieveIrrecoverable(gw, 'SHF002L5');
    const again = await api(gw, 'POST', '/shelf/SHF002L5/retrieve', {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'NOT_ARCHIVED');
  });
});
