// A drive's bay in the library: which cartridge sits in the drive, whether it
// is threaded (open as a TapeMedium), and who prevents its removal. The library
// owns the cartridge's place; the bay owns the open medium.
//
// The changer never reads the bay: the bay reports what the changer shows of
// it (loaded, prevented, a failed load) each time that changes, and the
// library keeps the last report. The bay itself stays on the library's thread
// even for a drive served by a thread of its own (src/gateway/drive-thread.ts):
// its medium is then a handle on the cartridge open in that thread
// (drive-thread-bay.ts), and the drive sees the bay through a mirror there.
import { Asc, mediumNotPresent } from '../../scsi/sense.ts';
import type { TapeMedium } from '../../scsi/ssc/tape-medium.ts';

/** What the library needs of a cartridge threaded in a drive: the drive's SSC unit needs the whole TapeMedium. */
export type LoadedMedium = Pick<TapeMedium, 'barcode' | 'capacity' | 'flush'>;

/** How cartridges are opened for a drive and given back: the cartridge engine provides it. */
export interface CartridgeFactory<M extends LoadedMedium = TapeMedium> {
  /** `drive`: the 1-based drive it is opened in. */
  openCartridge(barcode: string, drive: number): Promise<M>;
  /** Releases a medium the drive is done with; its data was flushed just before. */
  closeCartridge(medium: M): Promise<void>;
}

/** What the changer shows of a drive, as its bay last reported it. */
export interface BayReport {
  /** The cartridge in the drive is threaded (open for I/O). */
  readonly loaded: boolean;
  /** An initiator of the drive prevents medium removal: the changer refuses to move the cartridge, and shows the element not ACCESSible. */
  readonly prevented: boolean;
  /** ASC/ASCQ of a failed load, reported as EXCEPT in the drive's element status. */
  readonly exception?: number;
}

export const EMPTY_BAY: BayReport = { loaded: false, prevented: false };

/** What a bay needs from its library: the cartridge in it, the library's one-at-a-time lock, and where its reports go. */
export interface LibraryBayHost<M extends LoadedMedium = TapeMedium> {
  readonly cartridges: Pick<CartridgeFactory<M>, 'closeCartridge'> & { openCartridge(barcode: string): Promise<M> };
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Called with the bay's new state each time it changes. */
  report?(state: BayReport): void;
}

/** A DriveBay (scsi/ssc/tape-medium.ts) when M is TapeMedium. */
export class LibraryBay<M extends LoadedMedium = TapeMedium> {
  private inBay: string | undefined;
  private failure: number | undefined;
  private loaded: M | undefined;
  private readonly preventing = new Set<string>();
  private readonly listeners: (() => void)[] = [];
  private readonly occupancyListeners: ((occupied: boolean) => void)[] = [];
  private reported: BayReport = EMPTY_BAY;

  constructor(private readonly host: LibraryBayHost<M>) {}

  get medium(): M | undefined {
    return this.loaded;
  }

  get occupied(): boolean {
    return this.inBay !== undefined;
  }

  load(): Promise<void> {
    return this.host.exclusive(() => this.thread());
  }

  unload(): Promise<void> {
    return this.host.exclusive(async () => {
      if (!this.occupied) throw mediumNotPresent();
      await this.release();
    });
  }

  preventRemoval(nexusKey: string, prevent: boolean): void {
    if (prevent) this.preventing.add(nexusKey);
    else this.preventing.delete(nexusKey);
    this.report();
  }

  onMediumChanged(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Called with `occupied` each time a cartridge is put in or taken out, before the drive is told (notify). */
  onOccupancy(listener: (occupied: boolean) => void): void {
    this.occupancyListeners.push(listener);
  }

  /** A cartridge goes in and is loaded, as drives load what is inserted; on failure the bay stays empty. */
  async insert(barcode: string): Promise<void> {
    this.put(barcode);
    try {
      await this.thread();
    } catch (err) {
      this.put(undefined);
      this.failure = undefined;
      this.report();
      throw err;
    }
  }

  /** The cartridge is unloaded (if it still was loaded) and taken out. */
  async eject(): Promise<void> {
    await this.release();
    this.put(undefined);
    this.failure = undefined;
    this.report();
  }

  /** A cartridge found in the drive at start-up: loaded if it can be, else left in with the failure as EXCEPT. */
  async restore(barcode: string): Promise<unknown> {
    this.put(barcode);
    try {
      await this.thread();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  /** Tells the drive a cartridge arrived or left (it reports 28/00). */
  notify(): void {
    for (const l of this.listeners) l();
  }

  private put(barcode: string | undefined): void {
    this.inBay = barcode;
    for (const l of this.occupancyListeners) l(barcode !== undefined);
  }

  private async thread(): Promise<void> {
    if (this.inBay === undefined) throw mediumNotPresent();
    if (this.loaded) return;
    try {
      this.loaded = await this.host.cartridges.openCartridge(this.inBay);
      this.failure = undefined;
    } catch (err) {
      this.failure = Asc.MEDIUM_LOAD_OR_EJECT_FAILED;
      throw err;
    } finally {
      this.report();
    }
  }

  /** Unloads: a sync point, then the medium is closed; the cartridge stays in the bay. */
  async release(): Promise<void> {
    const medium = this.loaded;
    if (!medium) return;
    await medium.flush();
    await this.host.cartridges.closeCartridge(medium);
    this.loaded = undefined;
    this.report();
  }

  /** Tells the library what changed, if anything did. */
  private report(): void {
    const state: BayReport = {
      loaded: this.loaded !== undefined,
      prevented: this.preventing.size > 0,
      ...(this.failure !== undefined ? { exception: this.failure } : {}),
    };
    const last = this.reported;
    if (state.loaded === last.loaded && state.prevented === last.prevented && state.exception === last.exception) return;
    this.reported = state;
    this.host.report?.(state);
  }
}
