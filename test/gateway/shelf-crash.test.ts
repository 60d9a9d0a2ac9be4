// The vault shelf's jobs survive a crash: the gateway is killed (SIGKILL) while
// a cartridge is ARCHIVING and again while it is RETRIEVING; after each restart
// the job resumes from its shelf record and finishes with one archive in the
// vault, no upload left behind, and every byte read back.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-glacier';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { tempDir } from '../cloud/helpers.ts';
import {
  IMPORT_EXPORT,
  LIBRARY_ARGS,
  api,
  bucket,
  glacierVault,
  moveTo,
  objectsOf,
  readBack,
  shelfTape,
  until,
  watchShelf,
  writeCartridge,
} from '../shelf/gateway-helpers.ts';

/** Retrievals wait a few seconds for their Glacier job, so that a kill can land while one waits. */
const ARGS = [...LIBRARY_ARGS, '--glacier-job-delays', '3'];
const BLOCKS = 1536;

describe('@slow vault shelf jobs across a gateway crash', function () {
  this.timeout(600_000);
  let dataDir: string;
  let gw: GatewayProcess;

  beforeEach(async () => {
    dataDir = await tempDir('tapegw-shelf-crash-');
    gw = await startGatewayProcess({ args: ARGS, dataDir });
  });
  afterEach(async () => {
    await gw.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Kills the gateway as soon as the cartridge is seen in `status`; returns what was seen last. */
  async function killWhen(barcode: string, status: string): Promise<string> {
    const seen = await until(`${barcode} is ${status}`, async () => {
      const info = await shelfTape(gw, barcode);
      return info && (info.status === status || info.status === 'ARCHIVED' || info.status === 'RETRIEVED') ? info.status : undefined;
    });
    await gw.kill();
    gw = await startGatewayProcess({ args: ARGS, dataDir });
    return seen;
  }

  it('resumes archiving and retrieval after SIGKILL with nothing lost or duplicated', async () => {
    const blocks = await writeCartridge(gw, 'CRS001L5', BLOCKS);
    await moveTo(gw, 'CRS001L5', IMPORT_EXPORT);
    assert.equal(await killWhen('CRS001L5', 'ARCHIVING'), 'ARCHIVING', 'killed while archiving');
    await watchShelf(gw, 'CRS001L5', 'ARCHIVED');

    const vault = glacierVault(gw);
    const s3 = bucket(gw);
    try {
      assert.equal((await vault.describe()).archives, 1, 'one archive: the resumed upload did not leave a second');
      const uploads = await vault.glacier.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: vault.name }));
      assert.equal(uploads.UploadsList?.length ?? 0, 0, 'no multipart upload left behind');
      await until('its S3 objects are deleted', async () => ((await objectsOf(s3, gw, 'CRS001L5')).length === 0 ? true : undefined));

      assert.equal((await api(gw, 'POST', '/shelf/CRS001L5/retrieve', { tier: 'Standard' })).status, 202);
      assert.equal(await killWhen('CRS001L5', 'RETRIEVING'), 'RETRIEVING', 'killed while retrieving');
      const { info } = await watchShelf(gw, 'CRS001L5', 'RETRIEVED');
      assert.equal(info.location?.kind, 'import-export');
      (await readBack(gw, 'CRS001L5', blocks)).close();
    } finally {
      vault.close();
      s3.destroy();
    }
  });
});
