// A tape drive's initiator in a worker thread of the test (drive-thread.test.ts),
// so that it can work while the test's main thread, which also runs the
// gateway's main thread, is blocked: it logs in to the drive, then on "go"
// sends INQUIRY and records (which the drive buffers) and a READ POSITION,
// tells the main thread by `done` (Atomics) what came back, and on "finish"
// writes a filemark (a sync point, which needs the main thread's engine) and
// logs out.
import { parentPort, workerData } from 'node:worker_threads';
import { TestInitiator } from '../helpers/initiator.ts';
import { block, cdb } from '../helpers/library-driver.ts';

const { port, target, done, records, length } = workerData as {
  port: number;
  target: string;
  done: SharedArrayBuffer;
  records: number;
  length: number;
};
const flag = new Int32Array(done);
const main = parentPort!;
const drive = await TestInitiator.connect(port);
await drive.login({ targetName: target, isid: Buffer.from([0x80, 0, 0, 0, 0, 7]) });
for (let i = 0; i < 4 && (await drive.command(cdb.testUnitReady())).status !== 0; i++);
const message = (): Promise<unknown> => new Promise((resolve) => main.once('message', resolve));
main.postMessage('logged in');
await message();
const statuses: number[] = [];
statuses.push((await drive.command([0x12, 0, 0, 0, 96, 0], { read: 96 })).status);
for (let i = 0; i < records; i++) statuses.push((await drive.command(cdb.write6(length), { write: block(i, length) })).status);
// READ POSITION, short form: the first block's number in bytes 4-7.
const position = await drive.command([0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], { read: 20 });
statuses.push(position.status);
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
main.postMessage({ statuses, block: position.data.readUInt32BE(4) });
await message();
const filemark = await drive.command(cdb.writeFilemarks(1));
await drive.logout();
drive.close();
main.postMessage({ filemark: filemark.status });
