// A drive's bay split across two threads, for a drive served by a thread of
// its own (src/gateway/drive-thread.ts). The library, the changer and the
// LibraryBay stay on the main thread, which is where MOVE MEDIUM, element
// status, the API and the catalog are; the cartridge a drive reads and writes
// is opened in the drive's thread, so that its records, their batching and the
// buffers lent between the connection, the SSC unit and the cartridge never
// leave that thread.
//
// - ThreadDriveBay (drive thread) is the DriveBay the SSC unit works through:
//   its medium is the cartridge open here; occupied mirrors the LibraryBay's;
//   LOAD, UNLOAD and PREVENT go to the LibraryBay (the library's lock and its
//   report to the changer stay there).
// - DriveThreadCartridges (main thread) is the library's CartridgeFactory for
//   such drives: opening a cartridge for drive n opens it in drive n's thread
//   and gives the library a ThreadMedium, a handle that flushes it there and
//   knows its size as the thread last reported it.
import type { DriveBay, TapeCapacity } from '../../scsi/ssc/tape-medium.ts';
import type { Rpc } from '../threads/rpc.ts';
import { must } from '../must.ts';
import { Cartridge, type CartridgeStore } from './cartridge.ts';
import type { CartridgeFactory, LibraryBay, LoadedMedium } from './library-bay.ts';
import type { CartridgeLifecycle } from './cartridge-lifecycle.ts';

/** How often a drive thread tells the main thread its cartridge's size, while it changes (the API's used bytes). */
const USAGE_REPORT_MS = 1000;

/** The drive thread's side of the bay. */
export class ThreadDriveBay implements DriveBay {
  private cartridge: Cartridge | undefined;
  private present = false;
  private readonly listeners: (() => void)[] = [];
  private reportedBytes = -1;

  constructor(
    private readonly rpc: Rpc,
    store: CartridgeStore,
  ) {
    rpc.handle('medium.open', async ({ barcode, readOnly }: { barcode: string; readOnly: boolean }) => {
      const cartridge = await Cartridge.open(store, barcode, { readOnly });
      this.cartridge = cartridge;
      return this.usage();
    });
    rpc.handle('medium.flush', async () => {
      await must(this.cartridge, 'the cartridge to flush').flush();
      return this.usage();
    });
    rpc.handle('medium.close', async () => {
      const cartridge = must(this.cartridge, 'the cartridge to close');
      await cartridge.deleted();
      this.cartridge = undefined;
      return cartridge.capacity();
    });
    rpc.handle('bay.occupied', ({ occupied }: { occupied: boolean }) => void (this.present = occupied));
    rpc.handle('bay.changed', () => {
      for (const l of this.listeners) l();
    });
    setInterval(() => {
      if (this.cartridge && this.cartridge.capacity().usedBytes !== this.reportedBytes) rpc.notify('medium.usage', this.usage());
    }, USAGE_REPORT_MS).unref();
  }

  get medium(): Cartridge | undefined {
    return this.cartridge;
  }

  get occupied(): boolean {
    return this.present;
  }

  load(): Promise<void> {
    return this.rpc.call('bay.load');
  }

  unload(): Promise<void> {
    return this.rpc.call('bay.unload');
  }

  /**
   * A notice, not a call: the command that sent it answers before the main
   * thread has read it, but the notice is queued first, ahead of anything the
   * initiator can send the changer once it has the answer.
   */
  preventRemoval(nexusKey: string, prevent: boolean): void {
    this.rpc.notify('bay.prevent', { nexusKey, prevent });
  }

  onMediumChanged(listener: () => void): void {
    this.listeners.push(listener);
  }

  private usage(): TapeCapacity {
    const capacity = must(this.cartridge, 'a cartridge').capacity();
    this.reportedBytes = capacity.usedBytes;
    return capacity;
  }
}

/** The library's handle on a cartridge open in a drive's thread. */
export class ThreadMedium implements LoadedMedium {
  constructor(
    readonly barcode: string,
    readonly drive: number,
    private readonly rpc: Rpc,
    private last: TapeCapacity,
  ) {}

  capacity(): TapeCapacity {
    return this.last;
  }

  async flush(): Promise<void> {
    this.last = await this.rpc.call<TapeCapacity>('medium.flush');
  }

  /** The drive thread's latest report of the cartridge's size. */
  reported(capacity: TapeCapacity): void {
    this.last = capacity;
  }
}

/** A drive's thread as the library sees it: a channel to it, and a way to start it (a cartridge opened there needs it running). */
export interface DriveThreadHandle {
  readonly rpc: Rpc;
  start(): void;
}

/** The main thread's side: opens and closes cartridges in the drives' threads, and serves their bays' calls. */
export class DriveThreadCartridges implements CartridgeFactory<ThreadMedium> {
  private readonly media = new Map<number, ThreadMedium>();

  constructor(
    /** Each drive's thread, by 1-based drive number. */
    private readonly drives: ReadonlyMap<number, DriveThreadHandle>,
    private readonly lifecycle: Pick<CartridgeLifecycle, 'opensReadOnly' | 'closed'>,
  ) {
    for (const [drive, { rpc }] of drives) {
      rpc.handle('medium.usage', (capacity: TapeCapacity) => this.media.get(drive)?.reported(capacity));
    }
  }

  /** Serves drive `drive`'s bay calls from its LibraryBay and keeps its thread's mirror of it. */
  serveBay(drive: number, bay: LibraryBay<ThreadMedium>): void {
    const rpc = this.rpcOf(drive);
    rpc.handle('bay.load', () => bay.load());
    rpc.handle('bay.unload', () => bay.unload());
    rpc.handle('bay.prevent', ({ nexusKey, prevent }: { nexusKey: string; prevent: boolean }) => bay.preventRemoval(nexusKey, prevent));
    bay.onOccupancy((occupied) => rpc.notify('bay.occupied', { occupied }));
    bay.onMediumChanged(() => rpc.notify('bay.changed'));
    // A cartridge restored into the bay at start-up came before this.
    rpc.notify('bay.occupied', { occupied: bay.occupied });
  }

  async openCartridge(barcode: string, drive: number): Promise<ThreadMedium> {
    const thread = this.threadOf(drive);
    thread.start();
    const { rpc } = thread;
    const readOnly = await this.lifecycle.opensReadOnly(barcode);
    const capacity = await rpc.call<TapeCapacity>('medium.open', { barcode, readOnly });
    const medium = new ThreadMedium(barcode, drive, rpc, capacity);
    this.media.set(drive, medium);
    return medium;
  }

  /** As CartridgeLifecycle.closeCartridge, with the cartridge's garbage deleted in its thread. */
  async closeCartridge(medium: ThreadMedium): Promise<void> {
    const capacity = await this.rpcOf(medium.drive).call<TapeCapacity>('medium.close');
    if (this.media.get(medium.drive) === medium) this.media.delete(medium.drive);
    await this.lifecycle.closed(medium.barcode, capacity.usedBytes);
  }

  private rpcOf(drive: number): Rpc {
    return this.threadOf(drive).rpc;
  }

  private threadOf(drive: number): DriveThreadHandle {
    return must(this.drives.get(drive), `drive ${drive}'s thread`);
  }
}
