// The SPC commands every device type merges into its table.
import type { CommandEntry } from '../command-table.ts';
import { inquiry } from './inquiry.ts';
import { logSelectCommand, logSenseCommand } from './log.ts';
import { reportSupportedOperationCodes, reportSupportedTaskManagementFunctions } from './maintenance-in.ts';
import { modeSelect10, modeSelect6, modeSense10, modeSense6 } from './mode.ts';
import { persistentReserveCommands } from './persistent-reserve.ts';
import { reportLuns } from './report-luns.ts';
import { release6, reserve6 } from './reserve.ts';
import { requestSense, testUnitReady } from './status-commands.ts';

export { spcModePages, controlModePage, informationalExceptionsModePage } from './common-mode-pages.ts';
export { naaDesignator } from './vpd.ts';
export { standardInquiry } from './inquiry.ts';
export { encodeLun } from './report-luns.ts';

/**
 * TEST UNIT READY, REQUEST SENSE, INQUIRY, MODE SENSE/SELECT (6/10), LOG SENSE/SELECT,
 * RESERVE/RELEASE(6), PERSISTENT RESERVE IN/OUT, REPORT LUNS, REPORT SUPPORTED
 * OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
 */
export function spcCommands(): CommandEntry[] {
  return [
    testUnitReady,
    requestSense,
    inquiry,
    modeSelect6,
    modeSense6,
    modeSelect10,
    modeSense10,
    logSelectCommand,
    logSenseCommand,
    reserve6,
    release6,
    ...persistentReserveCommands,
    reportLuns,
    reportSupportedOperationCodes,
    reportSupportedTaskManagementFunctions,
  ];
}
