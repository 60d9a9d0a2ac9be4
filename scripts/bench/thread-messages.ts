// What moving a drive's records between a worker thread and the main thread costs, per GiB, beside
// telling the main thread only what a batch wrote (issue 21: which split of the data path is right).
// A worker sends records of RECORD_KIB (default 256) to the main thread, which hands each back as if
// written: by transfer (the ArrayBuffer moves, then comes home), by copy (structured clone; an
// acknowledgement comes back), or not at all (one message of metadata per 4 MiB batch). CPU comes
// from /proc/thread-self/stat (10 ms ticks: move a few GiB).
//   node --import tsx scripts/bench/thread-messages.ts   (GIBS=2, MODES=transfer,copy,batch-metadata)
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { must } from '../../src/must.ts';

type Mode = 'transfer' | 'copy' | 'batch-metadata';
type ToMain =
  | { readonly ready: true }
  | { readonly record: ArrayBuffer }
  | { readonly batch: { offset: number; length: number } }
  | { readonly done: true };
type ToWorker = { readonly start: true } | { readonly back: ArrayBuffer } | { readonly ack: true };

const GIB = 1024 ** 3;
const RECORD = Number(process.env.RECORD_KIB ?? 256) * 1024;
const RECORDS = Math.round((Number(process.env.GIBS ?? 2) * GIB) / RECORD);
const BATCH_BYTES = 4 * 1024 * 1024;
// Node 20 does not run the parent's --import hooks in a worker: it registers tsx itself (as src/cloud/worker-backend.ts).
const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(import.meta.url)});`;
/** Records sent and not yet handed back, as a drive's command window would allow. */
const IN_FLIGHT = 32;

/** CPU milliseconds of the calling thread: utime + stime, in ticks of 10 ms. */
function threadCpuMs(): number {
  const fields = must(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1], 'stat fields').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function measure(mode: Mode): Promise<string> {
  const worker = new Worker(bootstrap, { eval: true, workerData: { mode } });
  // Counted from the worker's first record on: loading tsx in it is not what is measured.
  let main = 0;
  let all = process.cpuUsage();
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: ToMain) => {
      if ('ready' in message) {
        [main, all, started] = [threadCpuMs(), process.cpuUsage(), performance.now()];
        const go: ToWorker = { start: true };
        return worker.postMessage(go);
      }
      if ('done' in message) return resolve();
      if (!('record' in message)) return; // a batch's metadata: noted, nothing to hand back
      const reply: ToWorker = mode === 'transfer' ? { back: message.record } : { ack: true };
      worker.postMessage(reply, mode === 'transfer' ? [message.record] : []);
    });
  });
  const wall = performance.now() - started;
  const mainMs = threadCpuMs() - main;
  const used = process.cpuUsage(all);
  await worker.terminate();
  const gib = (RECORDS * RECORD) / GIB;
  const perGib = (seconds: number) => (seconds / gib).toFixed(3);
  return `${mode.padEnd(15)} ${RECORD / 1024} KiB records: main thread ${perGib(mainMs / 1000)} s/GiB, process ${perGib((used.user + used.system) / 1e6)} s/GiB, wall ${perGib(wall / 1000)} s/GiB`;
}

function drive(mode: Mode): void {
  const port = must(parentPort ?? undefined, 'the worker is started by this script');
  const idle: ArrayBuffer[] = [];
  let inFlight = 0;
  let sent = 0;
  const send = (message: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  const fill = () => {
    for (; sent < RECORDS && inFlight < IN_FLIGHT; sent++) {
      const record = idle.pop() ?? new ArrayBuffer(RECORD);
      if (mode === 'batch-metadata') {
        idle.push(record);
        const offset = (sent + 1) * RECORD;
        if (offset % BATCH_BYTES === 0) send({ batch: { offset: offset - BATCH_BYTES, length: BATCH_BYTES } });
        continue;
      }
      inFlight++;
      send({ record }, mode === 'transfer' ? [record] : []);
    }
    if (sent === RECORDS && inFlight === 0) send({ done: true });
  };
  port.on('message', (message: ToWorker) => {
    if (!('start' in message)) inFlight--;
    if ('back' in message) idle.push(message.back);
    fill();
  });
  send({ ready: true });
}

if (isMainThread) {
  for (const mode of (process.env.MODES ?? 'transfer,copy,batch-metadata').split(',') as Mode[]) console.log(await measure(mode));
} else {
  drive((workerData as { mode: Mode }).mode);
}
