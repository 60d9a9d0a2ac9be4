// Mode pages every device type has: Control (0Ah, D_SENSE changeable) and
// Informational Exceptions Control (1Ch).
import type { ModePage } from '../mode-pages.ts';

export const controlModePage: ModePage = {
  page: 0x0a,
  name: 'Control',
  // QUEUE ALGORITHM MODIFIER 1 (unrestricted reordering), BUSY TIMEOUT PERIOD unlimited.
  defaults: [0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00],
  changeable: [0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
};

export const informationalExceptionsModePage: ModePage = {
  page: 0x1c,
  name: 'Informational Exceptions Control',
  // DEXCPT: no informational exceptions are reported (there are none to report).
  defaults: [0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],
  changeable: [0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],
};

export const spcModePages: readonly ModePage[] = [controlModePage, informationalExceptionsModePage];
