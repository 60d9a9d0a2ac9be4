// Mode pages every device type has: Control (0Ah, D_SENSE changeable) and
// Informational Exceptions Control (1Ch). Field offsets are of the page body,
// after its 2-byte header.
import type { ModePage } from '../mode-pages.ts';
import { bitsOf, bytesOf, flag, PageLayout } from '../page-layout.ts';

/** Control mode page (SPC-4 7.5.8), the fields the gateway sets or reads. */
export const controlFields = new PageLayout(10, {
  descriptorSense: flag(0, 2),
  queueAlgorithmModifier: bitsOf(1, 7, 4),
  softwareWriteProtect: flag(2, 3),
  busyTimeoutPeriod: bytesOf(6, 2),
});

export const controlModePage: ModePage = {
  page: 0x0a,
  name: 'Control',
  // Unrestricted reordering, BUSY TIMEOUT PERIOD unlimited.
  defaults: controlFields.encode({ queueAlgorithmModifier: 1, busyTimeoutPeriod: 0xffff }),
  changeable: controlFields.mask('descriptorSense'),
};

/** Informational Exceptions Control mode page (SPC-4 7.5.11), the fields the gateway sets. */
const informationalExceptionsFields = new PageLayout(10, {
  disableExceptions: flag(0, 3),
});

export const informationalExceptionsModePage: ModePage = {
  page: 0x1c,
  name: 'Informational Exceptions Control',
  // DEXCPT: no informational exceptions are reported (there are none to report).
  defaults: informationalExceptionsFields.encode({ disableExceptions: true }),
  changeable: informationalExceptionsFields.mask('disableExceptions'),
};

export const spcModePages: readonly ModePage[] = [controlModePage, informationalExceptionsModePage];
