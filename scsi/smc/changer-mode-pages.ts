// The medium changer's mode pages (SMC-3 7.3): element address assignment (1Dh),
// transport geometry (1Eh) and device capabilities (1Fh). All are fixed by the
// library's layout: MODE SELECT may restate them, never change them.
import type { ModePage } from '../mode-pages.ts';
import type { ElementLayout } from './media-library.ts';

function u16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

export function elementAddressAssignmentPage(layout: ElementLayout): ModePage {
  const { transport, storage, importExport, dataTransfer } = layout;
  return {
    page: 0x1d,
    name: 'Element Address Assignment',
    defaults: [
      ...u16(transport.first), ...u16(transport.count),
      ...u16(storage.first), ...u16(storage.count),
      ...u16(importExport.first), ...u16(importExport.count),
      ...u16(dataTransfer.first), ...u16(dataTransfer.count),
      0, 0,
    ],
  };
}

/** One transport element that cannot rotate media (so INVERT is never valid). */
export const transportGeometryPage: ModePage = {
  page: 0x1e,
  name: 'Transport Geometry Parameters',
  defaults: [0x00, 0x00],
};

// Bits in the STOR and MOVE bytes: MT (0), ST (1), I/E (2), DT (3).
const ST = 0x02;
const IE = 0x04;
const DT = 0x08;

/**
 * Media rest in storage, import/export and data transfer elements and move
 * between any two of them; the transport is never a source or destination,
 * and EXCHANGE MEDIUM is not supported.
 */
export const deviceCapabilitiesPage: ModePage = {
  page: 0x1f,
  name: 'Device Capabilities',
  defaults: [
    ST | IE | DT, 0,
    0, ST | IE | DT, ST | IE | DT, ST | IE | DT, // MT→, ST→, I/E→, DT→
    0, 0, 0, 0,
    0, 0, 0, 0, // exchanges
    0, 0, 0, 0,
  ],
};
