// What archive and retrieve share: the answer right away, or with --wait the
// progress on stderr until the cartridge is ARCHIVED or RETRIEVED, and an
// exit code that says whether it got there.
import type { Argv } from 'yargs';
import type { ShelfStatus, ShelfTapeInfo } from '../shelf/shelf-service.ts';
import type { ApiClient } from './api-client.ts';
import { print, printJson } from './command.ts';
import { CliError, EXIT } from './errors.ts';
import { stderrProgress, type Progress } from './progress.ts';
import { parseInterval } from './values.ts';

export type ShelfGoal = 'ARCHIVED' | 'RETRIEVED';

/** The options as typed. */
export interface WaitOptions {
  readonly wait?: boolean;
  readonly interval: number;
  readonly json?: boolean;
}

/** The options checked, before anything is asked of the gateway. */
export interface WaitSettings {
  readonly wait: boolean;
  readonly intervalMs: number;
  readonly json: boolean;
}

export function waitSettings(argv: WaitOptions): WaitSettings {
  return { wait: argv.wait ?? false, intervalMs: parseInterval(argv.interval), json: argv.json ?? false };
}

/** On the way to each goal; any other status ends the wait. */
const ON_THE_WAY: Record<ShelfGoal, readonly ShelfStatus[]> = {
  ARCHIVED: ['IN_TRANSIT_TO_VTS', 'ARCHIVING'],
  RETRIEVED: ['RETRIEVING'],
};
const LONGEST_STATUS = 'IN_TRANSIT_TO_VTS'.length;

export function waitOptions<T>(yargs: Argv<T>, goal: ShelfGoal) {
  return yargs
    .option('wait', { type: 'boolean', describe: `wait until the tape is ${goal} (or IRRECOVERABLE, exit 1), showing progress on stderr` })
    .option('interval', { type: 'number', requiresArg: true, default: 10, describe: 'seconds between checks while waiting' })
    .option('json', { type: 'boolean', describe: 'print the shelf entry as JSON (with --wait, its last state)' });
}

/**
 * Reports `started` (the gateway's first answer), or with --wait follows it
 * to `goal`; `done` says in words that it got there.
 */
export async function followShelf(
  api: ApiClient,
  started: ShelfTapeInfo,
  goal: ShelfGoal,
  settings: WaitSettings,
  done: (info: ShelfTapeInfo) => string,
): Promise<void> {
  const barcode = started.barcode;
  if (!settings.wait) {
    if (settings.json) printJson(started);
    else
      print(`Tape ${barcode} is ${started.status}${percent(started)}: follow it with tapegw shelf describe ${barcode}, or add --wait.\n`);
    return;
  }
  const info = await waitFor(api, started, goal, settings.intervalMs, stderrProgress());
  if (settings.json) printJson(info);
  if (info.status === 'IRRECOVERABLE') {
    throw new CliError(
      `tape ${barcode} is IRRECOVERABLE: ${info.error ?? "the gateway gave no reason; see the gateway's log"}`,
      EXIT.refused,
    );
  }
  if (info.status !== goal) {
    throw new CliError(
      `tape ${barcode} is ${info.status} now, not ${goal} (was it cancelled?): see tapegw shelf describe ${barcode}`,
      EXIT.refused,
    );
  }
  if (!settings.json) print(done(info));
}

/** Polls GET /shelf/:barcode while the cartridge is on its way to `goal`. */
async function waitFor(
  api: ApiClient,
  started: ShelfTapeInfo,
  goal: ShelfGoal,
  intervalMs: number,
  progress: Progress,
): Promise<ShelfTapeInfo> {
  const show = (info: ShelfTapeInfo, percent: number) => progress.update(`${info.barcode} ${info.status.padEnd(LONGEST_STATUS)}`, percent);
  let info = started;
  try {
    while (ON_THE_WAY[goal].includes(info.status)) {
      show(info, info.progress ?? 0);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      info = await api.get<ShelfTapeInfo>(`/shelf/${encodeURIComponent(info.barcode)}`);
    }
    if (info.status === goal) show(info, 100);
  } finally {
    progress.stop();
  }
  return info;
}

/** " (40%)" while the gateway reports progress. */
export function percent(info: ShelfTapeInfo): string {
  return info.progress === undefined ? '' : ` (${Math.round(info.progress)}%)`;
}
