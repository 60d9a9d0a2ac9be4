// tapegw library status
import type { Argv, CommandModule } from 'yargs';
import type { LibraryStatus } from '../tape/tape-service.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { fields, table } from './format.ts';
import { formatElement } from './values.ts';

export function libraryCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'library',
    describe: 'the tape library: changer, drives, slots',
    builder: (yargs) => {
      enter(parsing, 'library', 'tapegw library status');
      return yargs.command(status(parsing)).demandCommand(1, 'say what to show: tapegw library status');
    },
    handler: () => {},
  };
}

function status(parsing: Parsing) {
  return {
    command: 'status',
    describe: 'the changer, each drive and what it holds, how full the slots are',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'library status', 'tapegw library status --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the status as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const library = await api.get<LibraryStatus>('/library');
      if (argv.json) {
        printJson(library);
        return;
      }
      const { changer } = library;
      print(
        fields([
          ['Changer', `${changer.target} LUN ${changer.lun} (serial ${changer.serial})`],
          ['Storage slots', `${library.slots.full} of ${library.slots.total} full`],
          ['Import/export slots', `${library.importExport.full} of ${library.importExport.total} full`],
          ['Tapes', String(library.tapes)],
        ]) +
          '\n' +
          table(
            ['DRIVE', 'TAPE', 'LOADED', 'TARGET', 'LUN', 'SERIAL'],
            library.drives.map((d) => [
              formatElement({ kind: 'drive', index: d.index }),
              d.barcode ?? '-',
              d.barcode === undefined ? '-' : d.loaded ? 'yes' : 'no',
              d.target,
              String(d.lun),
              d.serial,
            ]),
          ),
      );
    },
  };
}
