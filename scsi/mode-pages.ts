// Typed mode pages and the current values of one logical unit (SPC-4 7.5).
// Saved values are not implemented: MODE SENSE with PC=11b answers
// SAVING PARAMETERS NOT SUPPORTED and MODE SELECT with SP=1 is refused.

export type PageControl = 'current' | 'changeable' | 'default';

export interface ModePage {
  readonly page: number;
  /** 0 (the default) uses the page_0 format, any other value the sub_page format. */
  readonly subpage?: number;
  readonly name: string;
  /** Default parameter bytes, after the page header (2 bytes page_0, 4 bytes sub_page); a PageLayout encodes them. */
  readonly defaults: Uint8Array | readonly number[];
  /** Bits MODE SELECT may change, same length as `defaults`; absent = none. */
  readonly changeable?: Uint8Array | readonly number[];
  /**
   * Called with the accepted new parameter bytes once they passed the changeable
   * mask, before they become current; throws ScsiError to refuse them.
   * `offset` is where these bytes start in the parameter list, for field pointers.
   */
  readonly select?: (value: Buffer, offset: number) => void;
  /** Current values computed from the device (e.g. status fields) from the stored ones. */
  readonly current?: (stored: Buffer) => Buffer;
}

/** Medium type, device-specific parameter and block descriptors: the device type's part of the mode header. */
export interface ModeParameterHooks {
  /** Device-specific parameter byte of the header (WP for disks, buffered mode and speed for tape). */
  readonly deviceSpecificParameter?: () => number;
  readonly mediumType?: () => number;
  /** Block descriptors, 8 bytes each, or 16 bytes each when `long` (LLBAA honoured). */
  readonly blockDescriptors?: (long: boolean) => Buffer[];
  /**
   * MODE SELECT header and block descriptors, and where they sit in the parameter list (for field pointers);
   * throws ScsiError to refuse them. Returns true when the unit's parameters changed: the other I_T nexuses
   * are then told (MODE PARAMETERS CHANGED).
   */
  readonly select?: (
    header: { mediumType: number; deviceSpecificParameter: number; blockDescriptors: Buffer[]; long: boolean },
    at: ModeParameterOffsets,
  ) => boolean | void;
}

/** Offsets in a MODE SELECT parameter list. */
export interface ModeParameterOffsets {
  readonly deviceSpecificParameter: number;
  /** The first block descriptor. */
  readonly blockDescriptors: number;
}

export const pageKey = (page: number, subpage = 0): number => (page << 8) | subpage;

export class ModePages {
  /** Sorted by page then subpage, the order MODE SENSE returns them in. */
  readonly pages: readonly ModePage[];
  private readonly byKey = new Map<number, ModePage>();
  private readonly values = new Map<number, Buffer>();

  constructor(pages: readonly ModePage[]) {
    for (const p of pages) {
      const key = pageKey(p.page, p.subpage);
      if (this.byKey.has(key)) throw new Error(`mode page ${p.name}: duplicate ${key.toString(16)}`);
      if (p.changeable && p.changeable.length !== p.defaults.length) throw new Error(`mode page ${p.name}: changeable mask length`);
      this.byKey.set(key, p);
    }
    this.pages = [...pages].sort((a, b) => pageKey(a.page, a.subpage) - pageKey(b.page, b.subpage));
    this.reset();
  }

  find(page: number, subpage = 0): ModePage | undefined {
    return this.byKey.get(pageKey(page, subpage));
  }

  /** Parameter bytes (without header) for a page control. */
  value(p: ModePage, pc: PageControl): Buffer {
    if (pc === 'default') return Buffer.from(p.defaults);
    if (pc === 'changeable') return p.changeable ? Buffer.from(p.changeable) : Buffer.alloc(p.defaults.length);
    const stored = this.values.get(pageKey(p.page, p.subpage))!;
    return p.current ? p.current(Buffer.from(stored)) : Buffer.from(stored);
  }

  /** Page with its header, as MODE SENSE returns it (PS=0: nothing is savable). */
  encode(p: ModePage, pc: PageControl): Buffer {
    const body = this.value(p, pc);
    if (!p.subpage) return Buffer.concat([Buffer.from([p.page & 0x3f, body.length]), body]);
    const header = Buffer.from([0x40 | (p.page & 0x3f), p.subpage, 0, 0]);
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }

  set(p: ModePage, body: Buffer): void {
    this.values.set(pageKey(p.page, p.subpage), Buffer.from(body));
  }

  /** Back to defaults (logical unit reset, SPC-4 7.5.1: no saved values). */
  reset(): void {
    for (const p of this.pages) this.values.set(pageKey(p.page, p.subpage), Buffer.from(p.defaults));
  }
}
