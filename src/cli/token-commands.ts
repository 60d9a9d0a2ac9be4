// tapegw token rotate
import type { Argv, CommandModule } from 'yargs';
import { connectTo, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';

export function tokenCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'token',
    describe: "the management API's bearer token",
    builder: (yargs) => {
      enter(parsing, 'token', 'tapegw token rotate');
      return yargs.command(rotate(parsing)).demandCommand(1, 'say what to do: tapegw token rotate');
    },
    handler: () => {},
  };
}

function rotate(parsing: Parsing) {
  return {
    command: 'rotate',
    describe: 'replace the token: the old one stops working at once',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'token rotate', 'tapegw token rotate');
      return yargs.option('json', { type: 'boolean', describe: 'print {"token": NEW} as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const { api, gateway } = await connectTo(argv);
      const { token } = await api.post<{ token: string }>('/token/rotate');
      if (argv.json) {
        printJson({ token });
      } else if (gateway.source === '--api-url') {
        // A client elsewhere has no api.json to read it from.
        print(
          `The management API's token was rotated; the old one no longer works. The new one (pass it with --token or GATEWAY_API_TOKEN):\n${token}\n`,
        );
      } else {
        print(`The management API's token was rotated; the old one no longer works. The new one is in ${gateway.source}.\n`);
      }
    },
  };
}
