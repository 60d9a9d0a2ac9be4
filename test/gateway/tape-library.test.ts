// The tape library end to end through the real gateway process: the CLI makes
// cartridges, the changer loads them over iSCSI, a drive writes and reads, and
// what was synced survives a SIGKILL and a wiped cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { GOOD, LIBRARY_ARGS, block, cdb, elements, login } from '../helpers/library-driver.ts';
import { credentials, startS3, tempDir } from '../cloud/helpers.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/tapegw');

async function cli(gw: GatewayProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run(CLI, ['--data-dir', gw.dataDir, ...args]);
  return stdout;
}

describe('@slow tape library through the gateway', function () {
  this.timeout(120_000);
  let dataDir: string;
  let gw: GatewayProcess;

  beforeEach(async () => {
    dataDir = await tempDir('tapegw-');
    gw = await startGatewayProcess({ args: LIBRARY_ARGS, dataDir });
  });
  afterEach(async () => {
    await gw.stop(); // a no-op for a gateway a test stopped itself
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Makes a cartridge with the CLI, loads it with MOVE MEDIUM and writes 8 blocks, a filemark, then 4 more blocks. */
  async function writeCartridge(): Promise<{ blocks: Buffer[]; driveName: string; changerName: string }> {
    await cli(gw, 'tape', 'create', '--barcode', 'E2E001L5', '--size', '64MiB');
    const changerName = gw.targets.find((t) => t.luns[0]?.deviceType === 'changer')!.name;
    const driveName = gw.targets.find((t) => t.luns[0]?.deviceType === 'tape')!.name;
    const changer = await login(gw, changerName, 1);
    const before = await elements(changer);
    const slot = before.find((e) => e.barcode === 'E2E001L5')!;
    const drive = before.find((e) => e.type === 4)!;
    assert.equal(slot.type, 2, 'the new cartridge sits in a storage slot, its barcode in the volume tag');
    assert.equal((await changer.command(cdb.moveMedium(slot.address, drive.address))).status, GOOD);
    changer.close();
    const tape = await login(gw, driveName, 2);
    const blocks = Array.from({ length: 12 }, (_, i) => block(i, 64 * 1024));
    for (const data of blocks.slice(0, 8)) assert.equal((await tape.command(cdb.write6(data.length), { write: data })).status, GOOD);
    assert.equal((await tape.command(cdb.writeFilemarks(1))).status, GOOD, 'sync point');
    for (const data of blocks.slice(8)) assert.equal((await tape.command(cdb.write6(data.length), { write: data })).status, GOOD);
    tape.close();
    return { blocks, driveName, changerName };
  }

  async function readsBackSynced(driveName: string, blocks: Buffer[]): Promise<void> {
    const reader = await login(gw, driveName, 3);
    assert.equal((await reader.command(cdb.rewind())).status, GOOD);
    for (let i = 0; i < 8; i++) {
      const read = await reader.command(cdb.read6(64 * 1024), { read: 64 * 1024 });
      assert.equal(read.status, GOOD, `block ${i} reads back (sense ${read.sense.toString('hex')})`);
      assert.ok(read.data.equals(blocks[i]), `block ${i} is what was written`);
    }
    const filemark = await reader.command(cdb.read6(64 * 1024), { read: 64 * 1024 });
    assert.equal(filemark.status, 2);
    assert.equal(filemark.sense[2] & 0x80, 0x80, 'FILEMARK bit');
    reader.close();
  }

  it('what was written before WRITE FILEMARKS survives a SIGKILL of the gateway', async () => {
    const { blocks, driveName } = await writeCartridge();
    await gw.kill();
    gw = await startGatewayProcess({ args: LIBRARY_ARGS, dataDir });
    await readsBackSynced(driveName, blocks);
    const described = JSON.parse(await cli(gw, 'tape', 'describe', 'E2E001L5', '--json')) as { location: { kind: string } };
    assert.equal(described.location.kind, 'drive', 'the cartridge is still in the drive after the restart');
  });

  it('once uploaded, a cartridge reads back from S3 after the local cache is wiped', async () => {
    const { blocks, driveName } = await writeCartridge();
    await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'slot:5');
    await uploaded(gw);
    await gw.stop();
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    gw = await startGatewayProcess({ args: LIBRARY_ARGS, dataDir });
    await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'drive:1');
    await readsBackSynced(driveName, blocks);
  });

  it('a fresh gateway on the same bucket imports the cartridge and reads it back identically', async () => {
    await gw.stop();
    const s3 = await startS3('shared-bucket');
    const bucketArgs = ['--s3-endpoint', s3.s3.endpoint, '--s3-bucket', 'shared-bucket', '--s3-force-path-style', 'true'];
    const env = { GATEWAY_S3_ACCESS_KEY_ID: credentials.accessKeyId, GATEWAY_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey };
    try {
      gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, ...bucketArgs], env, dataDir });
      const { blocks, driveName } = await writeCartridge();
      await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'slot:5');
      await uploaded(gw);
      await gw.stop();

      const freshDir = await tempDir('tapegw-fresh-');
      gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, ...bucketArgs], env, dataDir: freshDir });
      const imported = JSON.parse(await cli(gw, 'tape', 'import', 'E2E001L5', '--json')) as { usedBytes: number; sizeBytes: number };
      assert.equal(imported.sizeBytes, 64 * 1024 * 1024);
      assert.equal(imported.usedBytes, 12 * 64 * 1024, 'every record the other gateway synced, the unsynced tail too once unloaded');
      await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'drive:1');
      await readsBackSynced(driveName, blocks);
      await gw.stop();
      await rm(freshDir, { recursive: true, force: true });
    } finally {
      await s3.close();
    }
  });
});

/** Waits until the engine has nothing left to upload (its metrics say so). */
async function uploaded(gw: GatewayProcess): Promise<void> {
  const { url } = JSON.parse(await readFile(join(gw.dataDir, 'api.json'), 'utf8')) as { url: string };
  for (let i = 0; i < 300; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    if (value('UploadQueueDepth') === 0 && value('CachePercentDirty') === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('the engine did not finish uploading in 30 s');
}
