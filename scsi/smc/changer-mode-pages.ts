// The medium changer's mode pages (SMC-3 7.3): element address assignment (1Dh),
// transport geometry (1Eh) and device capabilities (1Fh). All are fixed by the
// library's layout: MODE SELECT may restate them, never change them. Field
// offsets are of the page body, after its 2-byte header.
import type { ModePage } from '../mode-pages.ts';
import { bitsOf, bytesOf, flag, PageLayout } from '../page-layout.ts';
import type { ElementLayout } from './media-library.ts';

/** Element Address Assignment (SMC-3 7.3.3): the first address and the count of each element type. */
const elementAddressFields = new PageLayout(18, {
  firstTransport: bytesOf(0, 2),
  transportCount: bytesOf(2, 2),
  firstStorage: bytesOf(4, 2),
  storageCount: bytesOf(6, 2),
  firstImportExport: bytesOf(8, 2),
  importExportCount: bytesOf(10, 2),
  firstDataTransfer: bytesOf(12, 2),
  dataTransferCount: bytesOf(14, 2),
});

export function elementAddressAssignmentPage(layout: ElementLayout): ModePage {
  const { transport, storage, importExport, dataTransfer } = layout;
  return {
    page: 0x1d,
    name: 'Element Address Assignment',
    defaults: elementAddressFields.encode({
      firstTransport: transport.first,
      transportCount: transport.count,
      firstStorage: storage.first,
      storageCount: storage.count,
      firstImportExport: importExport.first,
      importExportCount: importExport.count,
      firstDataTransfer: dataTransfer.first,
      dataTransferCount: dataTransfer.count,
    }),
  };
}

/** Transport Geometry Parameters (SMC-3 7.3.4), for the one transport. */
const transportGeometryFields = new PageLayout(2, {
  rotate: flag(0, 0),
  memberNumber: bytesOf(1),
});

/** One transport element that cannot rotate media (so INVERT is never valid). */
export const transportGeometryPage: ModePage = {
  page: 0x1e,
  name: 'Transport Geometry Parameters',
  defaults: transportGeometryFields.encode({ rotate: false, memberNumber: 0 }),
};

/** Element types as the bits of a Device Capabilities field (the transport's, 1h, is never set). */
const ST = 0x2;
const IE = 0x4;
const DT = 0x8;

/** Device Capabilities (SMC-3 7.3.2): where media may rest, and where each type of element may move or exchange them to. */
const deviceCapabilitiesFields = new PageLayout(18, {
  storage: bitsOf(0, 3, 0),
  moveFromTransport: bitsOf(2, 3, 0),
  moveFromStorage: bitsOf(3, 3, 0),
  moveFromImportExport: bitsOf(4, 3, 0),
  moveFromDataTransfer: bitsOf(5, 3, 0),
  exchangeFromTransport: bitsOf(10, 3, 0),
  exchangeFromStorage: bitsOf(11, 3, 0),
  exchangeFromImportExport: bitsOf(12, 3, 0),
  exchangeFromDataTransfer: bitsOf(13, 3, 0),
});

/**
 * Media rest in storage, import/export and data transfer elements and move
 * between any two of them; the transport is never a source or destination,
 * and EXCHANGE MEDIUM is not supported.
 */
export const deviceCapabilitiesPage: ModePage = {
  page: 0x1f,
  name: 'Device Capabilities',
  defaults: deviceCapabilitiesFields.encode({
    storage: ST | IE | DT,
    moveFromTransport: 0,
    moveFromStorage: ST | IE | DT,
    moveFromImportExport: ST | IE | DT,
    moveFromDataTransfer: ST | IE | DT,
    exchangeFromTransport: 0,
    exchangeFromStorage: 0,
    exchangeFromImportExport: 0,
    exchangeFromDataTransfer: 0,
  }),
};
