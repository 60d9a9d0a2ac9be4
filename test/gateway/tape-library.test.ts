// The tape library end to end through the real gateway process: the CLI makes
// cartridges, the changer loads them over iSCSI, a drive writes and reads, and
// what was synced survives a SIGKILL. On s3rver and on Ceph RGW alike, an
// uploaded cartridge survives a wiped cache, a fresh gateway imports it, and
// one damaged in the bucket is refused rather than served.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startGatewayProcess, waitForUploads, type GatewayProcess, type GatewayProcessOptions } from '../helpers/gateway-process.ts';
import { CHECK_CONDITION, GOOD, LIBRARY_ARGS, block, cdb, elements, login } from '../helpers/library-driver.ts';
import { describeEachBackend, type BackendName } from '../helpers/s3-backends.ts';
import { decodeSense } from '../helpers/sense.ts';
import { flipStoredByte, tempDir, type S3Fixture } from '../cloud/helpers.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/tapegw');

async function cli(gw: GatewayProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run(CLI, ['--data-dir', gw.dataDir, ...args]);
  return stdout;
}

// The test's gateway, its data directory and how it is started.
let dataDir: string;
let gw: GatewayProcess;
let gatewayOptions: () => GatewayProcessOptions;

function startGateway(dir = dataDir): Promise<GatewayProcess> {
  return startGatewayProcess({ ...gatewayOptions(), dataDir: dir });
}

/** Gives each test of the suite a gateway started with `options` on a fresh data directory, stopped after it. */
function useGateway(options: () => GatewayProcessOptions): void {
  beforeEach(async () => {
    gatewayOptions = options;
    dataDir = await tempDir('tapegw-');
    gw = await startGateway();
  });
  afterEach(async () => {
    await gw.stop(); // a no-op for a gateway a test stopped itself
    await rm(dataDir, { recursive: true, force: true });
  });
}

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
  for (const [i, block] of blocks.slice(0, 8).entries()) {
    const read = await reader.command(cdb.read6(64 * 1024), { read: 64 * 1024 });
    assert.equal(read.status, GOOD, `block ${i} reads back (sense ${read.sense.toString('hex')})`);
    assert.ok(read.data.equals(block), `block ${i} is what was written`);
  }
  const filemark = await reader.command(cdb.read6(64 * 1024), { read: 64 * 1024 });
  assert.equal(filemark.status, 2);
  assert.equal(filemark.sense.readUInt8(2) & 0x80, 0x80, 'FILEMARK bit');
  reader.close();
}

/** Writes the cartridge, puts it back in a slot, and stops the gateway once everything is uploaded. */
async function writeAndUpload(): Promise<{ blocks: Buffer[]; driveName: string }> {
  const written = await writeCartridge();
  await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'slot:5');
  await waitForUploads(gw, 30_000);
  await gw.stop();
  return written;
}

describe('@slow tape library through the gateway', function () {
  this.timeout(120_000);
  useGateway(() => ({ args: LIBRARY_ARGS }));

  it('what was written before WRITE FILEMARKS survives a SIGKILL of the gateway', async () => {
    const { blocks, driveName } = await writeCartridge();
    await gw.kill();
    gw = await startGateway();
    await readsBackSynced(driveName, blocks);
    const described = JSON.parse(await cli(gw, 'tape', 'describe', 'E2E001L5', '--json')) as { location: { kind: string } };
    assert.equal(described.location.kind, 'drive', 'the cartridge is still in the drive after the restart');
  });
});

/** The check of uploads the gateway finds each backend makes (test/cloud/dialect.test.ts pins what they verify). */
const uploadCheckOf: Record<BackendName, string> = { s3rver: 'none', rgw: 'sha256' };

describeEachBackend("@slow a cartridge in the gateway's bucket", function (backend) {
  this.timeout(180_000);
  let s3: S3Fixture;
  beforeEach(async () => {
    s3 = await backend.bucket();
  });
  useGateway(() => ({ args: [...LIBRARY_ARGS, ...s3.gateway.args], env: s3.gateway.env }));
  afterEach(async () => {
    await s3.close();
  });

  it('logs once how uploads are checked; once uploaded, reads back after the cache is wiped, and is refused after a byte is flipped in the bucket', async () => {
    const said = gw.logs.filter((record) => record['uploadCheck'] !== undefined);
    assert.equal(said.length, 1, 'one log record says which check protects uploads');
    assert.equal(said[0]!['uploadCheck'], uploadCheckOf[backend.name]);

    const { blocks, driveName } = await writeAndUpload();
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    gw = await startGateway();
    await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'drive:1');
    await readsBackSynced(driveName, blocks);
    await gw.stop();

    // One byte of the data segment flipped behind the gateway's back, its metadata (our CRC32Cs) kept.
    const Bucket = s3.settings.bucket;
    const listed = await s3.raw.send(new ListObjectsV2Command({ Bucket, Prefix: 'tapes/E2E001L5/segments/' }));
    const Key = listed.Contents?.map((o) => o.Key!).find((key) => key.endsWith('.data'));
    assert.ok(Key, `a data segment in the bucket: ${JSON.stringify(listed.Contents?.map((o) => o.Key))}`);
    await flipStoredByte(s3.raw, Bucket, Key, 100);
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    gw = await startGateway();
    const reader = await login(gw, driveName, 3);
    try {
      assert.equal((await reader.command(cdb.rewind())).status, GOOD);
      const read = await reader.command(cdb.read6(64 * 1024), { read: 64 * 1024 });
      assert.equal(read.status, CHECK_CONDITION, 'the damaged record is not served');
      assert.equal(decodeSense(read.sense).key, 0x03, 'MEDIUM ERROR');
    } finally {
      reader.close();
    }
  });

  it('is imported by a fresh gateway on the same bucket and reads back identically', async () => {
    const { blocks, driveName } = await writeAndUpload();
    const freshDir = await tempDir('tapegw-fresh-');
    try {
      gw = await startGateway(freshDir);
      const imported = JSON.parse(await cli(gw, 'tape', 'import', 'E2E001L5', '--json')) as { usedBytes: number; sizeBytes: number };
      assert.equal(imported.sizeBytes, 64 * 1024 * 1024);
      assert.equal(imported.usedBytes, 12 * 64 * 1024, 'every record the other gateway synced, the unsynced tail too once unloaded');
      await cli(gw, 'tape', 'move', 'E2E001L5', '--to', 'drive:1');
      await readsBackSynced(driveName, blocks);
      await gw.stop();
    } finally {
      await rm(freshDir, { recursive: true, force: true });
    }
  });
});
