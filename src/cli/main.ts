// tapegw: the operator's command line. It talks to the running gateway's
// management API (the gateway holds the catalog's lock, so nothing here opens
// it). Exit codes: see EXIT in errors.ts.
import yargs from 'yargs';
import { cacheCommand } from './cache-commands.ts';
import type { Parsing } from './command.ts';
import { CliError, EXIT, usageError } from './errors.ts';
import { libraryCommand } from './library-commands.ts';
import { poolCommand } from './pool-commands.ts';
import { shareCommand } from './share-commands.ts';
import { shelfCommand } from './shelf-commands.ts';
import { snapshotCommand } from './snapshot-commands.ts';
import { tapeCommand } from './tape-commands.ts';
import { tokenCommand } from './token-commands.ts';
import { volumeCommand } from './volume-commands.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const parsing: Parsing = { command: '', example: 'tapegw tape list' };
  const parser = yargs([...argv])
    .scriptName('tapegw')
    .usage(
      '$0 <command>\n\nManage the gateway running on this machine (tapes, the vault shelf, volumes, snapshots) through its management API.',
    )
    .option('data-dir', {
      type: 'string',
      requiresArg: true,
      global: true,
      describe: "the running gateway's data directory, where it publishes its API address and token (api.json)",
      defaultDescription: '$GATEWAY_DATA_DIR, else ./data',
    })
    .option('api-url', {
      type: 'string',
      requiresArg: true,
      global: true,
      describe: 'URL of the management API instead of the one in api.json',
      defaultDescription: '$GATEWAY_API_URL',
    })
    .option('token', {
      type: 'string',
      requiresArg: true,
      global: true,
      describe: 'bearer token instead of the one in api.json (better: GATEWAY_API_TOKEN)',
      defaultDescription: '$GATEWAY_API_TOKEN',
    })
    .group(['data-dir', 'api-url', 'token'], 'Finding the gateway:')
    .command(tapeCommand(parsing))
    .command(poolCommand(parsing))
    .command(shelfCommand(parsing))
    .command(libraryCommand(parsing))
    .command(cacheCommand(parsing))
    .command(shareCommand(parsing))
    .command(volumeCommand(parsing))
    .command(snapshotCommand(parsing))
    .command(tokenCommand(parsing))
    .demandCommand(
      1,
      'say what to do: tapegw tape …, tapegw pool …, tapegw shelf …, tapegw share …, tapegw volume …, tapegw snapshot …, tapegw library status, tapegw cache status or tapegw token rotate',
    )
    .strict()
    .recommendCommands()
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .epilogue('Exit codes: 0 done, 1 refused by the gateway, 2 wrong command line, 3 no gateway running or reachable.')
    .version(false)
    .help()
    .alias('help', 'h')
    .exitProcess(false)
    .fail((message, error) => {
      const help = ['tapegw', parsing.command, '--help'].filter(Boolean).join(' ');
      // yargs' own validation errors are YErrors; anything else came from a handler.
      if (error && error.name !== 'YError') throw error;
      throw usageError(`${explain(message)}: type e.g. ${parsing.example} (more: ${help})`);
    });
  parser.wrap(Math.min(110, parser.terminalWidth()));
  try {
    await parser.parseAsync();
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof CliError)) {
      process.stderr.write(`tapegw: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      return EXIT.refused;
    }
    process.stderr.write(`tapegw: ${error.message}\n`);
    return error.exitCode;
  }
}

/** yargs' own messages, said the way this CLI says things. */
function explain(message: string): string {
  if (message.startsWith('Not enough non-option arguments')) return 'an argument is missing';
  const following = /^Not enough arguments following: (.+)$/.exec(message);
  if (following) return `--${following[1]} needs a value`;
  const meant = /^Did you mean (.+)\?$/.exec(message);
  if (meant) return `unknown command; did you mean ${meant[1]}?`;
  return message.replace(/^Unknown arguments?: /, (prefix) => prefix.toLowerCase());
}
