// Tape VPD pages: Sequential-Access Device Capabilities (B0h), Manufacturer-
// assigned Serial Number (B1h), TapeAlert Supported Flags (B2h) (SSC-4 8.4),
// and IBM LTO's Drive Component Revision Levels (C0h) and Drive Serial
// Numbers (C1h), which IBM's drivers read.
import { asciiField } from '../buffers.ts';
import type { VpdPage } from '../vpd-pages.ts';
import { SUPPORTED_TAPE_ALERTS } from './state.ts';

const WORM = 0x01;
/** The gateway's drive code: its level is the INQUIRY revision; no build date is claimed. */
const PLATFORM = 'tape-gateway';

function tapeAlertSupported(): Buffer {
  const b = Buffer.alloc(12);
  for (const flag of SUPPORTED_TAPE_ALERTS) b[(flag - 1) >> 3]! |= 0x80 >> ((flag - 1) & 7);
  return b;
}

export const tapeVpdPages: readonly VpdPage[] = [
  { page: 0xb0, name: 'Sequential-Access Device Capabilities', data: () => Buffer.from([WORM, 0]) },
  { page: 0xb1, name: 'Manufacturer-assigned Serial Number', data: (identity) => Buffer.from(identity.serial, 'ascii') },
  { page: 0xb2, name: 'TapeAlert Supported Flags', data: tapeAlertSupported },
  {
    page: 0xc0,
    name: 'Drive Component Revision Levels (IBM)',
    // CODE NAME (12), TIME hhmmss (7), DATE yyyymmdd (8), PLATFORM (12).
    data: (identity) => Buffer.concat([asciiField(identity.revision, 12), asciiField('', 7), asciiField('', 8), asciiField(PLATFORM, 12)]),
  },
  {
    page: 0xc1,
    name: 'Drive Serial Numbers (IBM)',
    data: (identity) => Buffer.concat([asciiField(identity.serial, 12), asciiField(identity.serial, 12)]),
  },
];
