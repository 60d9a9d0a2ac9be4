// tapegw volume create | list | describe | delete | schedule
import type { Argv, CommandModule } from 'yargs';
import type { VolumeInfo } from '../volume/volume-service.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { usageError } from './errors.ts';
import { fields, humanInterval, humanSize, table } from './format.ts';
import { parseBlockSize, parseEvery, parseVolumeSize, parseVolumeType } from './values.ts';

const CREATE_EXAMPLE = 'tapegw volume create db --type cached --size 10GiB';
const path = (name: string, action = '') => `/volumes/${encodeURIComponent(name)}${action}`;

export function volumeCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'volume',
    describe: 'create, list, describe, delete and schedule the snapshots of block volumes (iSCSI disks)',
    builder: (yargs) => {
      enter(parsing, 'volume', 'tapegw volume list');
      return yargs
        .command(create(parsing))
        .command(list(parsing))
        .command(describe(parsing))
        .command(remove(parsing))
        .command(schedule(parsing))
        .demandCommand(1, 'say what to do with volumes: create, list, describe, delete or schedule');
    },
    handler: () => {},
  };
}

function create(parsing: Parsing) {
  return {
    command: 'create <name>',
    describe: 'create a volume, empty or restored from a snapshot; its target is served at once',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'volume create', CREATE_EXAMPLE);
      return yargs
        .positional('name', {
          type: 'string',
          demandOption: true,
          describe: 'name of the volume (1-32 lower-case letters, digits, inner hyphens); its target ends with it',
        })
        .option('type', {
          type: 'string',
          requiresArg: true,
          describe:
            'cached (the bucket holds the volume, the cache its hot data) or stored (this machine holds it all, the bucket its snapshots)',
        })
        .option('size', {
          type: 'string',
          requiresArg: true,
          describe: 'capacity, e.g. 10GiB (cached 1GiB-32TiB, stored 1GiB-16TiB); from a snapshot, its size by default',
        })
        .option('block-size', {
          type: 'number',
          requiresArg: true,
          describe: 'logical block size, 512 or 4096',
          defaultDescription: "512, or the snapshot's",
        })
        .option('from-snapshot', {
          type: 'string',
          requiresArg: true,
          describe: 'restore the volume from this snapshot (an id from tapegw snapshot list)',
        })
        .option('json', { type: 'boolean', describe: 'print the new volume as JSON' })
        .example(CREATE_EXAMPLE, 'a 10 GiB cached volume')
        .example(
          'tapegw volume create db-copy --type stored --from-snapshot snap-0123456789abcdef',
          'a stored volume restored from a snapshot',
        );
    },
    handler: async (
      argv: GlobalOptions & { name: string; type?: string; size?: string; blockSize?: number; fromSnapshot?: string; json?: boolean },
    ) => {
      if (argv.type === undefined) throw usageError(`say which type of volume: add --type cached or --type stored, e.g. ${CREATE_EXAMPLE}`);
      if (argv.size === undefined && argv.fromSnapshot === undefined)
        throw usageError(`say how big the volume is: add --size, e.g. ${CREATE_EXAMPLE}`);
      const request = {
        name: argv.name,
        type: parseVolumeType(argv.type),
        ...(argv.size !== undefined ? { sizeBytes: parseVolumeSize(argv.size) } : {}),
        ...(argv.blockSize !== undefined ? { blockSize: parseBlockSize(argv.blockSize) } : {}),
        ...(argv.fromSnapshot !== undefined ? { fromSnapshot: argv.fromSnapshot } : {}),
      };
      const api = await connect(argv);
      const volume = await api.post<VolumeInfo>('/volumes', request);
      if (argv.json) printJson(volume);
      else
        print(
          `Created volume ${volume.name} (${volume.type}, ${humanSize(volume.sizeBytes)}): ${volume.status}${percent(volume)}\nIts target: ${volume.target}\n`,
        );
    },
  };
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list every volume: name, type, status, size, used, target',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'volume list', 'tapegw volume list --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the volumes as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const { volumes } = await api.get<{ volumes: VolumeInfo[] }>('/volumes');
      if (argv.json) printJson(volumes);
      else if (volumes.length === 0) print(`The gateway has no volumes. Create one with: ${CREATE_EXAMPLE}\n`);
      else {
        print(
          table(
            ['NAME', 'TYPE', 'STATUS', 'SIZE', 'USED', 'BLOCK', 'SESSIONS', 'TARGET'],
            volumes.map((v) => [
              v.name,
              v.type,
              `${v.status}${percent(v)}`,
              humanSize(v.sizeBytes),
              humanSize(v.usedBytes),
              String(v.blockSize),
              String(v.sessions),
              v.target,
            ]),
          ),
        );
      }
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <name>',
    describe: 'show one volume',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'volume describe', 'tapegw volume describe db');
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'name of the volume' })
        .option('json', { type: 'boolean', describe: 'print the volume as JSON' });
    },
    handler: async (argv: GlobalOptions & { name: string; json?: boolean }) => {
      const api = await connect(argv);
      const volume = await api.get<VolumeInfo>(path(argv.name));
      if (argv.json) printJson(volume);
      else print(describeVolume(volume));
    },
  };
}

function describeVolume(v: VolumeInfo): string {
  const optional = (label: string, value: string | undefined): [string, string][] => (value === undefined ? [] : [[label, value]]);
  const every = v.snapshotSchedule.everySeconds;
  return fields([
    ['Name', v.name],
    ['Id', v.id],
    ['Type', v.type],
    ['Status', `${v.status}${percent(v)}`],
    ...optional(v.status === 'IRRECOVERABLE' ? 'Why' : 'Error', v.error),
    ['Size', `${humanSize(v.sizeBytes)} (${v.sizeBytes} bytes, ${v.blockSize}-byte blocks)`],
    ['Used', humanSize(v.usedBytes)],
    ...optional('Cache hits', v.cacheHitPercent === undefined ? undefined : `${v.cacheHitPercent}% of reads since the gateway started`),
    ['Target', v.target],
    ['Sessions', String(v.sessions)],
    [
      'Snapshots',
      every === null
        ? 'not scheduled'
        : `every ${humanInterval(every)}${v.snapshotSchedule.nextAt ? `, next at ${v.snapshotSchedule.nextAt}` : ''}`,
    ],
    ...optional('Last snapshot', v.lastSnapshotAt),
    ...optional('Restored from', v.sourceSnapshotId),
    ['Created', v.createdAt],
    ...(v.fromConfig ? [['From', 'the configuration file'] as [string, string]] : []),
  ]);
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <name>',
    describe: 'delete a volume and its data (its snapshots stay); refused while an initiator is logged in, unless --force',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'volume delete', 'tapegw volume delete db');
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'name of the volume' })
        .option('force', { type: 'boolean', describe: 'log out the initiators logged in to its target and delete it anyway' })
        .option('json', { type: 'boolean', describe: 'print {"name":NAME,"deleted":true}' });
    },
    handler: async (argv: GlobalOptions & { name: string; force?: boolean; json?: boolean }) => {
      const api = await connect(argv);
      await api.delete(path(argv.name), argv.force ? { force: true } : undefined);
      if (argv.json) printJson({ name: argv.name, deleted: true });
      else print(`Deleted volume ${argv.name}.\n`);
    },
  };
}

function schedule(parsing: Parsing) {
  return {
    command: 'schedule <name>',
    describe: 'take snapshots of a volume on a schedule, or stop',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'volume schedule', 'tapegw volume schedule db --every 24h');
      return yargs
        .positional('name', { type: 'string', demandOption: true, describe: 'name of the volume' })
        .option('every', { type: 'string', requiresArg: true, describe: 'interval between snapshots, e.g. 24h, 12h, 7d; off for none' })
        .option('json', { type: 'boolean', describe: 'print the volume as JSON' })
        .example('tapegw volume schedule db --every 24h', 'a snapshot a day (stored volumes have this by default)')
        .example('tapegw volume schedule db --every off', 'no scheduled snapshots');
    },
    handler: async (argv: GlobalOptions & { name: string; every?: string; json?: boolean }) => {
      if (argv.every === undefined) throw usageError('say how often: add --every, e.g. --every 24h, or --every off');
      const everySeconds = parseEvery(argv.every);
      const api = await connect(argv);
      const volume = await api.post<VolumeInfo>(path(argv.name, '/schedule'), { everySeconds });
      if (argv.json) printJson(volume);
      else
        print(
          everySeconds === null
            ? `Volume ${volume.name}: no scheduled snapshots.\n`
            : `Volume ${volume.name}: a snapshot every ${humanInterval(everySeconds)}, next at ${volume.snapshotSchedule.nextAt}.\n`,
        );
    },
  };
}

/** " (40%)" while the gateway reports progress. */
function percent(info: { progress?: number }): string {
  return info.progress === undefined ? '' : ` (${Math.round(info.progress)}%)`;
}
