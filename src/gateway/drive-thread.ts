// A tape drive served by a worker thread of its own (library.driveThreads:
// "worker", targets per-device). Issue 21: every drive's commands shared the
// one JavaScript thread, so the gateway never used more than one core for
// data. The split is a thread per drive, not per connection: a drive's state
// (position, record batch, per-nexus encryption keys, reservations, unit
// attentions) wants one owner, and a drive may have several connections. What
// runs in the drive's thread (drive-worker.ts): its sessions after login (PDU
// reading and writing, the command flow), its SSC unit, and the cartridge in
// it (record batching, read-ahead, the manifest). What stays on the main
// thread: logins (targets, CHAP, TSIHs), the changer and the library (the
// LibraryBay, drive-thread-bay.ts), the catalog and the cache engine, which
// the cartridge reaches through remote-store.ts, its batches and read pieces
// in shared memory the drive's thread lends. A drive's thread starts at the
// drive's first login or loaded cartridge (DriveThread.start).
// With one target for every drive (targets "single") the drives stay on the
// main thread: a connection there carries every LUN.
//
// Which to use (library.driveThreads, default "auto"; README, Benchmarks >
// scaling, has the figures and commands). Measured on this 2-core machine in
// one session, ten drives at once (load 3-5), CPU seconds per GiB of the main
// thread / of all threads: with "main" 1.35 / 4.94 written (uploads included)
// and 0.56 / 0.97 read; with "worker" 0.56 / 5.45 and 0.10 / 2.13. So the
// threads take most of the main thread's work away, but cost more in all
// (in part ten threads each waking for their own sockets on two cores, where
// one thread serves many drives' events per wake: with "main" the CPU per GiB
// read falls from 1.84 s with one drive to 0.97 with ten, with "worker" it
// stays near 2; perf stat over a whole scaling run counted 1.5x the context
// switches and 2x the CPU; what else, a profile of a drive thread would
// tell). On two cores that is
// slower (ten drives read 865 MB/s against 1049; one drive slower at most
// block sizes) and holds more (peak RSS 502 MiB against 319). What a machine
// can move is bounded by the main thread (1 / its s/GiB) and by the cores
// (cores / all threads' s/GiB): "main" gives at most 0.74 GiB/s written and
// 1.79 read on any number of cores; "worker" gives cores / 5.45 and
// cores / 2.13, the same at 4 cores and 1.5x from 6. Hence "auto": worker
// from WORKER_FROM_CORES cores, main below, where the threads' memory buys
// nothing.
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { EndOfPartitionError, MediumError, WormOverwriteError, WriteProtectedError } from '../../scsi/ssc/tape-medium.ts';
import { ScsiError, type SenseInfo } from '../../scsi/sense.ts';
import { DamagedDataError, ExtentNotFoundError } from '../cache/errors.ts';
import type { AdoptedConnection, ConnectionHandoff, ConnectionHost } from '../iscsi/connection-handoff.ts';
import type { Logger } from '../log.ts';
import { Rpc, type WireError } from '../threads/rpc.ts';
import { workerBootstrap } from '../package-files.ts';
import type { LibraryConfig } from '../config/index.ts';

/** Cores from which "auto" serves each drive from a thread of its own (the model above: 1.5x main's bound at 6). */
export const WORKER_FROM_CORES = 6;

/** Whether each drive gets a thread of its own: with per-device targets, when asked, or by the machine's cores for "auto". */
export function drivesInThreads(config: Pick<LibraryConfig, 'driveThreads' | 'targets'>, cores = availableParallelism()): boolean {
  if (config.targets !== 'per-device') return false;
  return config.driveThreads === 'worker' || (config.driveThreads === 'auto' && cores >= WORKER_FROM_CORES);
}

/** What a drive's thread is started with. */
export interface DriveThreadSetup {
  readonly targetName: string;
  readonly alias: string;
  readonly identity: {
    readonly serial: string;
    readonly gatewayId: string;
    readonly name: string;
    readonly vendor: string;
    readonly product: string;
  };
  readonly logLevel: string;
}

const bootstrap = workerBootstrap(import.meta.url, 'drive-worker');

/** What the drive's thread is given: its setup, and its end of the channel to the main thread. */
export interface DriveThreadData {
  readonly setup: DriveThreadSetup;
  readonly port: MessagePort;
}

/**
 * A drive's thread, started by the first thing that needs it there (a login
 * handed over, a cartridge opened): an idle drive costs no isolate. Calls and
 * notices sent before go through a channel of its own and wait there, in
 * order, until the thread listens.
 */
export class DriveThread implements ConnectionHost {
  readonly rpc: Rpc;
  private readonly port: MessagePort;
  private worker: Worker | undefined;
  private readonly ends = new Map<number, () => void>();
  private nextKey = 1;

  constructor(
    private readonly setup: DriveThreadSetup,
    private readonly logger: Logger,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port2;
    this.rpc = new Rpc(port1, reviveError);
    // The drive's channel keeps nothing alive by itself: the gateway's own life does (close()).
    port1.unref();
    this.rpc.handle('iscsi.ended', ({ key }: { key: number }) => {
      this.ends.get(key)?.();
      this.ends.delete(key);
    });
  }

  /** Starts the thread, unless it runs already. */
  start(): void {
    if (this.worker) return;
    const { setup, logger } = this;
    const workerData: DriveThreadData = { setup, port: this.port };
    this.worker = new Worker(bootstrap, { eval: true, workerData, transferList: [this.port], name: setup.identity.name });
    this.worker.unref();
    const stopped = (reason: Error): void => {
      logger.error({ err: reason, drive: setup.identity.name }, 'drive thread stopped');
      this.rpc.stop(reason);
      for (const end of this.ends.values()) end();
      this.ends.clear();
    };
    this.worker.on('error', (error) =>
      stopped(new Error(`drive ${setup.identity.name}'s thread failed: ${error.message}`, { cause: error })),
    );
    this.worker.on('exit', (code) => stopped(new Error(`drive ${setup.identity.name}'s thread exited (code ${code})`)));
  }

  adopt(handoff: ConnectionHandoff): AdoptedConnection {
    this.start();
    const key = this.nextKey++;
    const ended = new Promise<void>((resolve) => this.ends.set(key, resolve));
    this.rpc.notify('iscsi.adopt', { key, handoff });
    return {
      close: (reason) => this.rpc.notify('iscsi.close', { key, reason }),
      requestLogout: () => this.rpc.notify('iscsi.logout', { key }),
      ended,
    };
  }

  async close(): Promise<void> {
    this.rpc.stop(new Error(`drive ${this.setup.identity.name}'s thread is closed`));
    this.worker?.removeAllListeners('exit');
    await this.worker?.terminate();
  }
}

/** The errors a drive's thread and the main thread tell apart, made again on arrival. */
export function reviveError({ name, message, fields }: WireError): Error | undefined {
  switch (name) {
    case 'ScsiError':
      return new ScsiError(fields.sense as SenseInfo, message);
    case 'DamagedDataError':
    case 'CacheCorruptionError':
      return new DamagedDataError(String(fields.key), message);
    case 'ExtentNotFoundError':
      return new ExtentNotFoundError(String(fields.key));
    case 'EndOfPartitionError':
      return new EndOfPartitionError(Number(fields.written));
  }
  // Classes without a name of their own cross as their constructor's.
  const made = { MediumError, WormOverwriteError, WriteProtectedError }[name];
  return made ? Object.assign(new made(message), fields) : undefined;
}
