// tapegw snapshot create | list | describe | delete
import type { Argv, CommandModule } from 'yargs';
import type { SnapshotInfo } from '../volume/volume-service.ts';
import type { ApiClient } from './api-client.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { CliError, EXIT } from './errors.ts';
import { fields, humanSize, table } from './format.ts';
import { stderrProgress } from './progress.ts';
import { parseInterval } from './values.ts';

const path = (id: string) => `/snapshots/${encodeURIComponent(id)}`;

export function snapshotCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'snapshot',
    describe: 'take, list, describe and delete snapshots of volumes (restore one with tapegw volume create --from-snapshot)',
    builder: (yargs) => {
      enter(parsing, 'snapshot', 'tapegw snapshot list');
      return yargs
        .command(create(parsing))
        .command(list(parsing))
        .command(describe(parsing))
        .command(remove(parsing))
        .demandCommand(1, 'say what to do with snapshots: create, list, describe or delete');
    },
    handler: () => {},
  };
}

function create(parsing: Parsing) {
  return {
    command: 'create <volume>',
    describe: 'take a snapshot of a volume now: its data at this moment, uploaded in the background',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'snapshot create', 'tapegw snapshot create db --description "before the upgrade" --wait');
      return yargs
        .positional('volume', { type: 'string', demandOption: true, describe: 'name of the volume' })
        .option('description', { type: 'string', requiresArg: true, describe: 'what the snapshot is for (up to 255 characters)' })
        .option('wait', {
          type: 'boolean',
          describe: 'wait until the snapshot is COMPLETED (exit 1 if it ends in ERROR), showing progress on stderr',
        })
        .option('interval', { type: 'number', requiresArg: true, default: 2, describe: 'seconds between checks while waiting' })
        .option('json', { type: 'boolean', describe: 'print the snapshot as JSON (with --wait, its last state)' });
    },
    handler: async (argv: GlobalOptions & { volume: string; description?: string; wait?: boolean; interval: number; json?: boolean }) => {
      const intervalMs = parseInterval(argv.interval);
      const api = await connect(argv);
      const body = argv.description === undefined ? undefined : { description: argv.description };
      let snapshot = await api.post<SnapshotInfo>(`/volumes/${encodeURIComponent(argv.volume)}/snapshots`, body);
      if (argv.wait) snapshot = await follow(api, snapshot, intervalMs);
      if (argv.json) printJson(snapshot);
      if (snapshot.status === 'ERROR')
        throw new CliError(`snapshot ${snapshot.id} ended in ERROR: ${snapshot.error ?? "see the gateway's log"}`, EXIT.refused);
      if (!argv.json) {
        print(
          snapshot.status === 'COMPLETED'
            ? `Snapshot ${snapshot.id} of ${snapshot.volumeName} is COMPLETED: ${snapshot.chunkCount} chunks, ${humanSize(snapshot.changedBytes)} uploaded since the previous one.\n`
            : `Snapshot ${snapshot.id} of ${snapshot.volumeName} is ${snapshot.status}${percent(snapshot)}: follow it with tapegw snapshot describe ${snapshot.id}, or add --wait.\n`,
        );
      }
    },
  };
}

/** Polls the snapshot while it is PENDING, with a progress bar (or lines) on stderr. */
async function follow(api: ApiClient, started: SnapshotInfo, intervalMs: number): Promise<SnapshotInfo> {
  const progress = stderrProgress();
  let snapshot = started;
  try {
    while (snapshot.status === 'PENDING') {
      progress.update(`${snapshot.id} PENDING  `, snapshot.progress ?? 0);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      snapshot = await api.get<SnapshotInfo>(path(snapshot.id));
    }
    if (snapshot.status === 'COMPLETED') progress.update(`${snapshot.id} COMPLETED`, 100);
  } finally {
    progress.stop();
  }
  return snapshot;
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list snapshots, those found in the bucket included: id, volume, status, when, size',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'snapshot list', 'tapegw snapshot list --volume db');
      return yargs
        .option('volume', { type: 'string', requiresArg: true, describe: "only this volume's snapshots" })
        .option('json', { type: 'boolean', describe: 'print the snapshots as JSON' });
    },
    handler: async (argv: GlobalOptions & { volume?: string; json?: boolean }) => {
      const api = await connect(argv);
      const { snapshots } = await api.get<{ snapshots: SnapshotInfo[] }>(
        argv.volume === undefined ? '/snapshots' : `/volumes/${encodeURIComponent(argv.volume)}/snapshots`,
      );
      if (argv.json) printJson(snapshots);
      else if (snapshots.length === 0)
        print(
          `No snapshots${argv.volume === undefined ? '' : ` of ${argv.volume}`}. Take one with: tapegw snapshot create ${argv.volume ?? 'VOLUME'}\n`,
        );
      else {
        print(
          table(
            ['ID', 'VOLUME', 'STATUS', 'CREATED', 'SIZE', 'CHANGED', 'DESCRIPTION'],
            snapshots.map((s) => [
              s.id,
              s.volumeName,
              `${s.status}${percent(s)}`,
              s.createdAt,
              humanSize(s.sizeBytes),
              humanSize(s.changedBytes),
              s.description + (s.imported ? ' (found in the bucket)' : ''),
            ]),
          ),
        );
      }
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <id>',
    describe: 'show one snapshot',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'snapshot describe', 'tapegw snapshot describe snap-0123456789abcdef');
      return yargs
        .positional('id', { type: 'string', demandOption: true, describe: 'id of the snapshot' })
        .option('json', { type: 'boolean', describe: 'print the snapshot as JSON' });
    },
    handler: async (argv: GlobalOptions & { id: string; json?: boolean }) => {
      const api = await connect(argv);
      const s = await api.get<SnapshotInfo>(path(argv.id));
      if (argv.json) printJson(s);
      else {
        const optional = (label: string, value: string | undefined): [string, string][] => (value === undefined ? [] : [[label, value]]);
        print(
          fields([
            ['Id', s.id],
            ['Volume', `${s.volumeName} (${s.volumeId}, ${s.volumeType})`],
            ['Status', `${s.status}${percent(s)}`],
            ...optional('Error', s.error),
            ['Description', s.description || '-'],
            ['Created', s.createdAt],
            ...optional('Completed', s.completedAt),
            ['Size', `${humanSize(s.sizeBytes)} (${s.blockSize}-byte blocks)`],
            [
              'Chunks',
              `${s.chunkCount} of ${humanSize(s.chunkSize)} hold data; ${s.changedChunks} (${humanSize(s.changedBytes)}) changed since the previous snapshot`,
            ],
            ['Origin', s.imported ? 'found in the bucket' : s.scheduled ? 'scheduled' : 'on demand'],
          ]),
        );
      }
    },
  };
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <id>',
    describe: 'delete a snapshot (chunks other snapshots or volumes still need stay)',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'snapshot delete', 'tapegw snapshot delete snap-0123456789abcdef');
      return yargs
        .positional('id', { type: 'string', demandOption: true, describe: 'id of the snapshot' })
        .option('json', { type: 'boolean', describe: 'print {"id":ID,"deleted":true}' });
    },
    handler: async (argv: GlobalOptions & { id: string; json?: boolean }) => {
      const api = await connect(argv);
      await api.delete(path(argv.id));
      if (argv.json) printJson({ id: argv.id, deleted: true });
      else print(`Deleted snapshot ${argv.id}.\n`);
    },
  };
}

function percent(info: { progress?: number }): string {
  return info.progress === undefined ? '' : ` (${Math.round(info.progress)}%)`;
}
