// tapegw shelf list | describe | retrieve | cancel-retrieval | delete
import type { Argv, CommandModule } from 'yargs';
import type { ShelfTapeInfo } from '../shelf/shelf-service.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { fields, humanSize, table } from './format.ts';
import { followShelf, percent, waitOptions, waitSettings, type WaitOptions } from './shelf-wait.ts';
import { checkBarcode, formatElement, parseTier } from './values.ts';

const path = (barcode: string, action = '') => `/shelf/${encodeURIComponent(barcode)}${action}`;

export function shelfCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'shelf',
    describe: 'the vault shelf: archived tapes, retrieving them, deleting archives',
    builder: (yargs) => {
      enter(parsing, 'shelf', 'tapegw shelf list');
      return yargs
        .command(list(parsing))
        .command(describe(parsing))
        .command(retrieve(parsing))
        .command(cancelRetrieval(parsing))
        .command(remove(parsing))
        .demandCommand(1, 'say what to do on the shelf: list, describe, retrieve, cancel-retrieval or delete');
    },
    handler: () => {},
  };
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list every tape on the shelf or on its way: barcode, size, status, progress, pool',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'shelf list', 'tapegw shelf list --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the shelf as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const { tapes } = await api.get<{ tapes: ShelfTapeInfo[] }>('/shelf');
      if (argv.json) printJson(tapes);
      else if (tapes.length === 0) print('The shelf is empty. Archive a tape with: tapegw tape archive ABC123L5\n');
      else {
        print(
          table(
            ['BARCODE', 'SIZE', 'USED', 'STATUS', 'PROGRESS', 'POOL', 'ARCHIVED'],
            tapes.map((t) => [
              t.barcode,
              humanSize(t.sizeBytes),
              humanSize(t.usedBytes),
              t.status,
              t.progress === undefined ? '-' : `${Math.round(t.progress)}%`,
              t.pool,
              t.archivedAt ?? '-',
            ]),
          ),
        );
      }
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <barcode>',
    describe: 'show one tape on the shelf',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'shelf describe', 'tapegw shelf describe ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape' })
        .option('json', { type: 'boolean', describe: 'print the shelf entry as JSON' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      const tape = await api.get<ShelfTapeInfo>(path(barcode));
      if (argv.json) printJson(tape);
      else print(describeShelfTape(tape));
    },
  };
}

function describeShelfTape(tape: ShelfTapeInfo): string {
  const optional = (label: string, value: string | undefined): [string, string][] => (value === undefined ? [] : [[label, value]]);
  return fields([
    ['Barcode', tape.barcode],
    ['Status', `${tape.status}${percent(tape)}`],
    ['Pool', tape.pool],
    ['Size', humanSize(tape.sizeBytes)],
    ['Used', humanSize(tape.usedBytes)],
    ['WORM', tape.worm ? 'yes' : 'no'],
    ['Created', tape.createdAt],
    ...optional('Archived', tape.archivedAt),
    ...optional('Archive size', tape.archiveBytes === undefined ? undefined : humanSize(tape.archiveBytes)),
    ...optional('Retrieved', tape.retrievedAt),
    ...optional('Location', tape.location && `${formatElement(tape.location)} (element address ${tape.location.address})`),
    ...optional('Retained until', tape.retentionUntil),
    ...optional(tape.status === 'IRRECOVERABLE' ? 'Why' : 'Last error', tape.error),
  ]);
}

function retrieve(parsing: Parsing) {
  return {
    command: 'retrieve <barcode>',
    describe: 'bring an archived tape back into the library, read-only, in an import/export slot',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'shelf retrieve', 'tapegw shelf retrieve ABC123L5 --tier Bulk --wait');
      return waitOptions(
        yargs.positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the archived tape' }).option('tier', {
          type: 'string',
          requiresArg: true,
          describe: 'Expedited (minutes, dearest), Standard (hours) or Bulk (cheapest, slowest)',
          defaultDescription: 'Standard',
        }),
        'RETRIEVED',
      ).example('tapegw shelf retrieve ABC123L5 --wait', 'retrieve and show progress until the tape is in the library');
    },
    handler: async (argv: GlobalOptions & WaitOptions & { barcode: string; tier?: string }) => {
      const barcode = checkBarcode(argv.barcode);
      const body = argv.tier === undefined ? {} : { tier: parseTier(argv.tier) };
      const settings = waitSettings(argv);
      const api = await connect(argv);
      const started = await api.post<ShelfTapeInfo>(path(barcode, '/retrieve'), body);
      await followShelf(
        api,
        started,
        'RETRIEVED',
        settings,
        (tape) => `Tape ${tape.barcode} is RETRIEVED: read-only, in ${tape.location ? formatElement(tape.location) : 'the library'}.\n`,
      );
    },
  };
}

function cancelRetrieval(parsing: Parsing) {
  return {
    command: 'cancel-retrieval <barcode>',
    describe: 'stop a retrieval: the tape stays ARCHIVED',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'shelf cancel-retrieval', 'tapegw shelf cancel-retrieval ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape being retrieved' })
        .option('json', { type: 'boolean', describe: 'print the shelf entry as JSON' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      const tape = await api.post<ShelfTapeInfo>(path(barcode, '/cancel-retrieval'));
      if (argv.json) printJson(tape);
      else print(`Cancelled the retrieval of tape ${tape.barcode}: it is ${tape.status}.\n`);
    },
  };
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <barcode>',
    describe: "delete an archived tape for good (refused while its pool's retention lock holds)",
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'shelf delete', 'tapegw shelf delete ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the archived tape' })
        .option('bypass-governance-retention', {
          type: 'boolean',
          describe: 'delete despite a GOVERNANCE retention lock (never a COMPLIANCE one)',
        })
        .option('json', { type: 'boolean', describe: 'print {"barcode":BARCODE,"deleted":true}' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; bypassGovernanceRetention?: boolean; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      await api.delete(path(barcode), argv.bypassGovernanceRetention ? { bypassGovernanceRetention: true } : undefined);
      if (argv.json) printJson({ barcode, deleted: true });
      else print(`Deleted the archive of tape ${barcode} for good.\n`);
    },
  };
}
