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
// the cartridge reaches through remote-store.ts by transfer of whole batches.
// With one target for every drive (targets "single") the drives stay on the
// main thread: a connection there carries every LUN. Measured on two cores
// (README, Benchmarks > scaling) the main thread's share fell by half, but the
// process spent more per byte (a read piece copied into fresh memory per
// transfer; ten isolates' collectors) and held about 40 MiB more per drive:
// hence "main" by default until that is paid back.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { EndOfPartitionError, MediumError, WormOverwriteError, WriteProtectedError } from '../../scsi/ssc/tape-medium.ts';
import { ScsiError, type SenseInfo } from '../../scsi/sense.ts';
import { DamagedDataError, ExtentNotFoundError } from '../cache/errors.ts';
import type { AdoptedConnection, ConnectionHandoff, ConnectionHost } from '../iscsi/connection-handoff.ts';
import type { Logger } from '../log.ts';
import { Rpc, type WireError } from '../threads/rpc.ts';
import { workerBootstrap } from '../package-files.ts';

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
