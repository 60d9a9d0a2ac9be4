// tapegw pool create | list | describe | delete
import type { Argv, CommandModule } from 'yargs';
import type { CreatePoolRequest, PoolDestination, PoolInfo } from '../tape/tape-service.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { usageError } from './errors.ts';
import { fields, table } from './format.ts';
import { parseRetentionDays, parseRetentionLock, parseStorageClass } from './values.ts';

const CREATE_EXAMPLE = 'tapegw pool create finance-7y --vault finance --retention-lock COMPLIANCE --retention-days 2555';

export function poolCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'pool',
    describe: 'create, list, describe and delete tape pools (where archived tapes go, and how long they are kept)',
    builder: (yargs) => {
      enter(parsing, 'pool', 'tapegw pool list');
      return yargs
        .command(create(parsing))
        .command(list(parsing))
        .command(describe(parsing))
        .command(remove(parsing))
        .demandCommand(1, 'say what to do with pools: create, list, describe or delete');
    },
    handler: () => {},
  };
}

interface CreateArgs extends GlobalOptions {
  name: string;
  vault?: string;
  storageClass?: string;
  retentionLock?: string;
  retentionDays?: number;
  json?: boolean;
}

function create(parsing: Parsing) {
  return {
    command: 'create <name>',
    describe: 'create a custom pool; pools never change once made',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'pool create', CREATE_EXAMPLE);
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: '1-100 letters, digits, "-", "_" or "."' })
        .option('vault', { type: 'string', requiresArg: true, describe: "archive the pool's tapes in this Glacier vault" })
        .option('storage-class', {
          type: 'string',
          requiresArg: true,
          describe: 'archive them as S3 objects of this storage class: GLACIER or DEEP_ARCHIVE',
        })
        .option('retention-lock', {
          type: 'string',
          requiresArg: true,
          describe: 'GOVERNANCE (deletes need --bypass-governance-retention) or COMPLIANCE (nobody can delete)',
        })
        .option('retention-days', {
          type: 'number',
          requiresArg: true,
          describe: 'how long the lock keeps each tape, from its creation: 1-36500 days',
        })
        .option('json', { type: 'boolean', describe: 'print the new pool as JSON' })
        .example(CREATE_EXAMPLE, 'tapes kept 7 years in the vault "finance", deletable by nobody before')
        .example('tapegw pool create cold --storage-class DEEP_ARCHIVE', 'no lock, S3 Glacier Deep Archive');
    },
    handler: async (argv: CreateArgs) => {
      const request: CreatePoolRequest = { name: argv.name, destination: destination(argv), ...retention(argv) };
      const api = await connect(argv);
      const pool = await api.post<PoolInfo>('/pools', request);
      if (argv.json) printJson(pool);
      else print(`Created pool ${pool.name}: archives to ${formatDestination(pool.destination)}, ${formatRetention(pool)}.\n`);
    },
  };
}

function destination(argv: CreateArgs): PoolDestination {
  if (argv.vault !== undefined && argv.storageClass !== undefined)
    throw usageError('a pool archives to a vault or to a storage class, not both: give --vault or --storage-class');
  if (argv.vault !== undefined) return { kind: 'vault', vault: argv.vault };
  if (argv.storageClass !== undefined) return { kind: 'storage-class', storageClass: parseStorageClass(argv.storageClass) };
  throw usageError(`say where the pool's tapes go: add --vault NAME or --storage-class GLACIER|DEEP_ARCHIVE, e.g. ${CREATE_EXAMPLE}`);
}

function retention(argv: CreateArgs): Pick<CreatePoolRequest, 'retention'> {
  if (argv.retentionLock === undefined && argv.retentionDays === undefined) return {};
  if (argv.retentionLock === undefined)
    throw usageError(`--retention-days needs a lock: add --retention-lock GOVERNANCE or --retention-lock COMPLIANCE`);
  if (argv.retentionDays === undefined)
    throw usageError(`--retention-lock needs a duration: add --retention-days N, e.g. --retention-days 2555 for 7 years`);
  return { retention: { mode: parseRetentionLock(argv.retentionLock), days: parseRetentionDays(argv.retentionDays) } };
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list the pools: built-in GLACIER and DEEP_ARCHIVE, then custom ones',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'pool list', 'tapegw pool list --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the pools as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const { pools } = await api.get<{ pools: PoolInfo[] }>('/pools');
      if (argv.json) {
        printJson(pools);
        return;
      }
      print(
        table(
          ['NAME', 'ARCHIVES TO', 'RETENTION', 'TYPE'],
          pools.map((p) => [p.name, formatDestination(p.destination), formatRetention(p), p.builtIn ? 'built-in' : 'custom']),
        ),
      );
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <name>',
    describe: 'show one pool',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'pool describe', 'tapegw pool describe finance-7y');
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'name of the pool' })
        .option('json', { type: 'boolean', describe: 'print the pool as JSON' });
    },
    handler: async (argv: GlobalOptions & { name: string; json?: boolean }) => {
      const api = await connect(argv);
      const pool = await api.get<PoolInfo>(`/pools/${encodeURIComponent(argv.name)}`);
      if (argv.json) {
        printJson(pool);
        return;
      }
      print(
        fields([
          ['Name', pool.name],
          ['Archives to', formatDestination(pool.destination)],
          ['Retention', formatRetention(pool)],
          ['Type', pool.builtIn ? 'built-in' : 'custom'],
          ['Created', pool.builtIn ? '-' : pool.createdAt],
        ]),
      );
    },
  };
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <name>',
    describe: 'delete a custom pool no tape is in (in the library or on the shelf)',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'pool delete', 'tapegw pool delete finance-7y');
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'name of the pool' })
        .option('json', { type: 'boolean', describe: 'print {"pool":NAME,"deleted":true}' });
    },
    handler: async (argv: GlobalOptions & { name: string; json?: boolean }) => {
      const api = await connect(argv);
      await api.delete(`/pools/${encodeURIComponent(argv.name)}`);
      if (argv.json) printJson({ pool: argv.name, deleted: true });
      else print(`Deleted pool ${argv.name}.\n`);
    },
  };
}

function formatDestination(destination: PoolDestination): string {
  return destination.kind === 'vault' ? `vault ${destination.vault}` : `storage class ${destination.storageClass}`;
}

function formatRetention(pool: PoolInfo): string {
  return pool.retention.mode === 'NONE' || pool.retention.days === 0
    ? 'no lock'
    : `${pool.retention.mode} lock, ${pool.retention.days} days`;
}
