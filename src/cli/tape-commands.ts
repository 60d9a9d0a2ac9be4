// tapegw tape create | list | describe | delete | move | import | archive | cancel-archival
import type { Argv, CommandModule } from 'yargs';
import type { ShelfTapeInfo } from '../shelf/shelf-service.ts';
import type { TapeInfo } from '../tape/tape-service.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { usageError } from './errors.ts';
import { fields, humanSize, table } from './format.ts';
import { followShelf, waitOptions, waitSettings, type WaitOptions } from './shelf-wait.ts';
import { checkBarcode, formatElement, parseCount, parseElement, parseTapeSize } from './values.ts';

const CREATE_EXAMPLE = 'tapegw tape create --count 10 --prefix ABC --size 2.5TiB';

export function tapeCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'tape',
    describe: 'create, list, describe, delete, move, import and archive tapes (virtual cartridges)',
    builder: (yargs) => {
      enter(parsing, 'tape', 'tapegw tape list');
      return yargs
        .command(create(parsing))
        .command(list(parsing))
        .command(describe(parsing))
        .command(remove(parsing))
        .command(move(parsing))
        .command(importTape(parsing))
        .command(archive(parsing))
        .command(cancelArchival(parsing))
        .demandCommand(1, 'say what to do with tapes: create, list, describe, delete, move, import, archive or cancel-archival');
    },
    handler: () => {},
  };
}

function create(parsing: Parsing) {
  return {
    command: 'create',
    describe: 'create blank tapes in free storage slots',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape create', CREATE_EXAMPLE);
      return yargs
        .option('count', { type: 'number', requiresArg: true, describe: 'how many tapes (with --prefix)' })
        .option('prefix', { type: 'string', requiresArg: true, describe: '1-4 letters every new barcode starts with' })
        .option('barcode', {
          type: 'string',
          requiresArg: true,
          describe: 'one tape with this barcode, e.g. ABC123L5 (instead of --count and --prefix)',
        })
        .option('size', { type: 'string', requiresArg: true, describe: 'capacity of each tape, e.g. 100GiB or 2.5TiB' })
        .option('pool', {
          type: 'string',
          requiresArg: true,
          describe: "where the tapes go when archived (default: the gateway's default pool)",
        })
        .option('worm', { type: 'boolean', describe: 'write once, read many: data can never be overwritten or erased' })
        .option('json', { type: 'boolean', describe: 'print the new tapes as JSON' })
        .example(CREATE_EXAMPLE, 'ten 2.5 TiB tapes ABC001, ABC002…')
        .example('tapegw tape create --barcode ABC123L5 --size 100GiB', 'one tape with a chosen barcode');
    },
    handler: async (
      argv: GlobalOptions & {
        count?: number;
        prefix?: string;
        barcode?: string;
        size?: string;
        pool?: string;
        worm?: boolean;
        json?: boolean;
      },
    ) => {
      if (argv.barcode !== undefined && (argv.count !== undefined || argv.prefix !== undefined)) {
        throw usageError('--barcode names one tape, --count and --prefix name several: give one or the other');
      }
      if (argv.barcode === undefined && argv.prefix === undefined) {
        throw usageError(`say which tapes: --count 10 --prefix ABC for several, or --barcode ABC123L5 for one, e.g. ${CREATE_EXAMPLE}`);
      }
      if (argv.size === undefined) throw usageError('say how big each tape is: add --size, e.g. --size 2.5TiB');
      const common = {
        sizeBytes: parseTapeSize(argv.size),
        ...(argv.pool !== undefined ? { pool: argv.pool } : {}),
        ...(argv.worm !== undefined ? { worm: argv.worm } : {}),
      };
      const request =
        argv.barcode !== undefined
          ? { barcode: checkBarcode(argv.barcode), ...common }
          : { count: parseCount(argv.count ?? 1), barcodePrefix: argv.prefix!, ...common };
      const api = await connect(argv);
      const { tapes } = await api.post<{ tapes: TapeInfo[] }>('/tapes', request);
      if (argv.json) printJson(tapes);
      else print(`Created ${tapes.length === 1 ? '1 tape' : `${tapes.length} tapes`}:\n${tapeTable(tapes)}`);
    },
  };
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list every tape: barcode, size, used, status, location, pool',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape list', 'tapegw tape list --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the tapes as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const { tapes } = await api.get<{ tapes: TapeInfo[] }>('/tapes');
      if (argv.json) printJson(tapes);
      else if (tapes.length === 0) print(`No tapes yet. Create some with: ${CREATE_EXAMPLE}\n`);
      else print(tapeTable(tapes));
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <barcode>',
    describe: 'show one tape',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape describe', 'tapegw tape describe ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape' })
        .option('json', { type: 'boolean', describe: 'print the tape as JSON' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      const tape = await api.get<TapeInfo>(`/tapes/${encodeURIComponent(barcode)}`);
      if (argv.json) {
        printJson(tape);
        return;
      }
      const percent = tape.sizeBytes > 0 ? ` (${((100 * tape.usedBytes) / tape.sizeBytes).toFixed(1)}%)` : '';
      print(
        fields([
          ['Barcode', tape.barcode],
          ['Size', humanSize(tape.sizeBytes)],
          ['Used', `${humanSize(tape.usedBytes)}${percent}`],
          ['Status', tape.status],
          ['Location', `${formatElement(tape.location)} (element address ${tape.location.address})`],
          ['Pool', tape.pool],
          ['WORM', tape.worm ? 'yes' : 'no'],
          ['Created', tape.createdAt],
          ...(tape.retentionUntil === undefined ? [] : [['Retained until', tape.retentionUntil] as const]),
        ]),
      );
    },
  };
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <barcode>',
    describe: "delete a tape and its data (refused while it is in a drive or its pool's retention lock holds)",
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape delete', 'tapegw tape delete ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape' })
        .option('bypass-governance-retention', {
          type: 'boolean',
          describe: 'delete despite a GOVERNANCE retention lock (never a COMPLIANCE one)',
        })
        .option('json', { type: 'boolean', describe: 'print {"barcode":BARCODE,"deleted":true}' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; bypassGovernanceRetention?: boolean; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      await api.delete(
        `/tapes/${encodeURIComponent(barcode)}`,
        argv.bypassGovernanceRetention ? { bypassGovernanceRetention: true } : undefined,
      );
      if (argv.json) printJson({ barcode, deleted: true });
      else print(`Deleted tape ${barcode}.\n`);
    },
  };
}

function move(parsing: Parsing) {
  return {
    command: 'move <barcode>',
    describe: 'move a tape to a storage slot, an import/export slot or a drive',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape move', 'tapegw tape move ABC123L5 --to drive:1');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape' })
        .option('to', { type: 'string', requiresArg: true, describe: 'slot:N, import-export:N or drive:N (N counts from 1)' })
        .option('json', { type: 'boolean', describe: 'print the moved tape as JSON' })
        .example('tapegw tape move ABC123L5 --to drive:1', 'put the tape in the first drive')
        .example('tapegw tape move ABC123L5 --to slot:12', 'back to storage slot 12');
    },
    handler: async (argv: GlobalOptions & { barcode: string; to?: string; json?: boolean }) => {
      if (argv.to === undefined)
        throw usageError(`say where to: add --to slot:N, import-export:N or drive:N, e.g. tapegw tape move ${argv.barcode} --to slot:12`);
      const barcode = checkBarcode(argv.barcode);
      const to = parseElement(argv.to);
      const api = await connect(argv);
      const tape = await api.post<TapeInfo>(`/tapes/${encodeURIComponent(barcode)}/move`, { to });
      if (argv.json) printJson(tape);
      else print(`Moved tape ${tape.barcode} to ${formatElement(tape.location)}.\n`);
    },
  };
}

function importTape(parsing: Parsing) {
  return {
    command: 'import <barcode>',
    describe: 'take into the library a tape the bucket holds (written by another gateway, or before a rebuild)',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape import', 'tapegw tape import ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape in the bucket' })
        .option('json', { type: 'boolean', describe: 'print the imported tape as JSON' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      const tape = await api.post<TapeInfo>(`/tapes/${encodeURIComponent(barcode)}/import`, {});
      if (argv.json) printJson(tape);
      else
        print(
          `Imported tape ${tape.barcode} (${humanSize(tape.usedBytes)} of ${humanSize(tape.sizeBytes)} used) into ${formatElement(tape.location)}.\n`,
        );
    },
  };
}

function archive(parsing: Parsing) {
  return {
    command: 'archive <barcode>',
    aliases: ['eject'],
    describe: "eject a tape to the vault shelf: its data goes to its pool's archive and it leaves the library",
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape archive', 'tapegw tape archive ABC123L5 --wait');
      return waitOptions(
        yargs.positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape (not in a drive)' }),
        'ARCHIVED',
      ).example('tapegw tape archive ABC123L5 --wait', 'archive and show progress until the tape is ARCHIVED');
    },
    handler: async (argv: GlobalOptions & WaitOptions & { barcode: string }) => {
      const barcode = checkBarcode(argv.barcode);
      const settings = waitSettings(argv);
      const api = await connect(argv);
      const started = await api.post<ShelfTapeInfo>(`/tapes/${encodeURIComponent(barcode)}/archive`);
      await followShelf(
        api,
        started,
        'ARCHIVED',
        settings,
        (tape) =>
          `Tape ${tape.barcode} is ARCHIVED in pool ${tape.pool}${tape.archiveBytes === undefined ? '' : ` (${humanSize(tape.archiveBytes)} archived)`}.\n`,
      );
    },
  };
}

function cancelArchival(parsing: Parsing) {
  return {
    command: 'cancel-archival <barcode>',
    describe: 'stop an archival not yet ARCHIVED: the tape goes back to a storage slot with its data',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'tape cancel-archival', 'tapegw tape cancel-archival ABC123L5');
      return yargs
        .positional('barcode', { type: 'string', demandOption: true, describe: 'barcode of the tape being archived' })
        .option('json', { type: 'boolean', describe: 'print the tape, back in the library, as JSON' });
    },
    handler: async (argv: GlobalOptions & { barcode: string; json?: boolean }) => {
      const barcode = checkBarcode(argv.barcode);
      const api = await connect(argv);
      await api.post(`/shelf/${encodeURIComponent(barcode)}/cancel-archival`);
      const tape = await api.get<TapeInfo>(`/tapes/${encodeURIComponent(barcode)}`);
      if (argv.json) printJson(tape);
      else print(`Cancelled the archival of tape ${barcode}: it is ${tape.status} in ${formatElement(tape.location)}.\n`);
    },
  };
}

function tapeTable(tapes: readonly TapeInfo[]): string {
  return table(
    ['BARCODE', 'SIZE', 'USED', 'STATUS', 'LOCATION', 'POOL'],
    tapes.map((t) => [t.barcode, humanSize(t.sizeBytes), humanSize(t.usedBytes), t.status, formatElement(t.location), t.pool]),
  );
}
