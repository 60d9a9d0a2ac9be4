// What the SMC handlers of one changer share: the library, the I_T nexuses
// preventing exports, and each nexus's last barcode search.
import type { MediaLibrary } from './media-library.ts';

/** The search a nexus asked for last (SEND VOLUME TAG). */
export interface VolumeSearch {
  readonly type: number;
  readonly start: number;
  readonly matches: (barcode: string) => boolean;
}

/** What the handlers work on: one per changer logical unit. */
export interface Changer {
  readonly library: MediaLibrary;
  /** I_T nexuses holding PREVENT MEDIUM REMOVAL: exports to import/export elements are refused while any does. */
  readonly preventing: Set<string>;
  /** The last SEND VOLUME TAG of each I_T nexus. */
  readonly searches: Map<string, VolumeSearch>;
}
