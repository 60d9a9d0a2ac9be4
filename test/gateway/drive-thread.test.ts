// A drive served by a thread of its own (library.driveThreads "worker",
// src/gateway/drive-thread.ts): its commands are answered while the main
// thread, where logins, the changer and the engine are, cannot run at all, and
// a cartridge written there and moved by the changer to another drive reads
// back the same.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Catalog } from '../../src/catalog/catalog.ts';
import { defaultConnectionLimits, defaultSessionLimits } from '../../src/config/iscsi-limits.ts';
import { openTapeLibrary, type TapeLibraryParts } from '../../src/gateway/tape-library.ts';
import { IscsiServer } from '../../src/iscsi/server.ts';
import { silentLogger } from '../../src/log.ts';
import { PoolCatalog } from '../../src/tape/pools.ts';
import { tempDir } from '../cloud/helpers.ts';
import { TestInitiator } from '../helpers/initiator.ts';
import { block, cdb, DRIVE, elements, GOOD } from '../helpers/library-driver.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';

const RECORDS = 8;

/** Worker threads of this process (tsx's module loader among them). */
function threads(): number {
  return (process.report.getReport() as { workers: unknown[] }).workers.length;
}
const LENGTH = 64 * 1024;
const client = new URL('./drive-thread-client.ts', import.meta.url).href;
const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(client)});`;

describe('a tape drive in a thread of its own', function () {
  this.timeout(120_000);
  let dir: string;
  let catalog: Catalog;
  let parts: TapeLibraryParts;
  let server: IscsiServer;
  let port: number;

  before(async () => {
    dir = await tempDir('drive-thread-');
    catalog = await Catalog.open(join(dir, 'catalog'));
    const iscsi = {
      host: '127.0.0.1',
      port: 0,
      iqnPrefix: 'iqn.2026-11.io.tapegateway',
      auth: {},
      discoveryAuth: {},
      limits: {
        ...defaultSessionLimits,
        headerDigest: [...defaultSessionLimits.headerDigest],
        dataDigest: [...defaultSessionLimits.dataDigest],
      },
      loginTimeout: 15,
      connectionLimit: defaultConnectionLimits.total,
      connectionLimitPerAddress: defaultConnectionLimits.perAddress,
    };
    parts = await openTapeLibrary({
      config: {
        drives: 2,
        storageSlots: 4,
        importExportSlots: 1,
        targets: 'per-device',
        driveThreads: 'worker',
        mediaSuffix: 'L5',
        minTapeSize: 1024 * 1024,
        maxTapeSize: 1024 ** 3,
        segmentSize: 64 * 1024 * 1024,
      },
      iscsi,
      gatewayId: 'drive-thread-test',
      gatewayName: 'gw1',
      catalog,
      tapeStore: new MemoryCartridgeStore(),
      pools: new PoolCatalog(catalog, { GLACIER: { kind: 'vault', vault: 'glacier' }, DEEP_ARCHIVE: { kind: 'vault', vault: 'deep' } }),
      logger: silentLogger(),
    });
    server = new IscsiServer({ host: '127.0.0.1', port: 0, targets: parts.targets.map((t) => t.definition) }, silentLogger());
    port = (await server.listen()).port;
  });

  after(async () => {
    await server?.close();
    await parts?.close();
    await catalog?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers its commands while the main thread is blocked, and the cartridge keeps its records when the changer moves it to another drive', async () => {
    // The library is open, and no drive has a thread yet: nothing has needed one.
    const idle = threads();
    await parts.service.createTape({ barcode: 'THR001L5', sizeBytes: 64 * 1024 * 1024 });
    const [changerTarget, drive1, drive2] = parts.targets.map((t) => t.summary.name);
    const changer = await TestInitiator.connect(port);
    await changer.login({ targetName: changerTarget, isid: Buffer.from([0x80, 0, 0, 0, 0, 1]) });
    for (let i = 0; i < 4 && (await changer.command(cdb.testUnitReady())).status !== GOOD; i++);
    const move = async (barcode: string, to: number): Promise<void> => {
      const all = await elements(changer);
      const from = all.find((e) => e.barcode === barcode)!;
      const drives = all.filter((e) => e.type === DRIVE);
      assert.equal((await changer.command(cdb.moveMedium(from.address, drives[to]!.address))).status, GOOD);
    };
    await move('THR001L5', 0);
    assert.equal(threads(), idle + 1, "the cartridge loaded started the first drive's thread, and only that one");

    const done = new SharedArrayBuffer(4);
    const thread = new Worker(bootstrap, { eval: true, workerData: { port, target: drive1, done, records: RECORDS, length: LENGTH } });
    const next = (): Promise<unknown> =>
      new Promise((resolve, reject) => {
        thread.once('message', resolve);
        thread.once('error', reject);
      });
    assert.equal(await next(), 'logged in');
    const answered = next();
    thread.postMessage('go');
    // Nothing runs on this thread meanwhile: no socket read, no timer, no message. A drive served here would leave
    // the client waiting, and the wait would end by its time limit.
    const outcome = Atomics.wait(new Int32Array(done), 0, 0, 60_000);
    assert.equal(outcome, 'ok', 'the drive answered INQUIRY, WRITEs and READ POSITION while the main thread was blocked');
    const { statuses, block: position } = (await answered) as { statuses: number[]; block: number };
    assert.deepEqual(statuses, Array(RECORDS + 2).fill(GOOD));
    assert.equal(position, RECORDS, 'the drive stands after the records it took');
    const finished = next();
    thread.postMessage('finish');
    assert.deepEqual(await finished, { filemark: GOOD }, 'the filemark, a sync point, reached the engine on the main thread');
    await thread.terminate();

    await move('THR001L5', 1);
    assert.equal(threads(), idle + 2, "then the second drive's");
    changer.close();
    const reader = await TestInitiator.connect(port);
    await reader.login({ targetName: drive2, isid: Buffer.from([0x80, 0, 0, 0, 0, 2]) });
    for (let i = 0; i < 4 && (await reader.command(cdb.testUnitReady())).status !== GOOD; i++);
    for (let i = 0; i < RECORDS; i++) {
      const read = await reader.command(cdb.read6(LENGTH), { read: LENGTH });
      assert.equal(read.status, GOOD);
      assert.ok(read.data.equals(block(i, LENGTH)), `record ${i} read back from the other drive`);
    }
    assert.equal((await reader.command(cdb.read6(LENGTH), { read: LENGTH })).status, 2, 'then the filemark');
    reader.close();
    const tape = await parts.service.describeTape('THR001L5');
    assert.equal(tape.usedBytes, RECORDS * LENGTH, 'the API counts what was written, reported from the drive thread');
  });
});
