// Vital product data pages (SPC-4 7.8) as a device type registers them;
// INQUIRY (spc/inquiry.ts) adds the header.
import type { DeviceIdentity } from './identity.ts';
import type { Nexus } from './types.ts';

export interface VpdPage {
  readonly page: number;
  readonly name: string;
  /** The page after its 4-byte header (peripheral byte, page code, page length), for the unit and the I_T nexus asking. */
  readonly data: (identity: DeviceIdentity, nexus: Nexus) => Buffer;
}
