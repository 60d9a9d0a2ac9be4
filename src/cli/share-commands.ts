// tapegw share create | list | describe | delete | refresh | wait-uploaded
import type { Argv, CommandModule } from 'yargs';
import type { ShareAnswer } from '../api/share-routes.ts';
import { connect, enter, print, printJson, type GlobalOptions, type Parsing } from './command.ts';
import { usageError } from './errors.ts';
import { fields, humanSize, table } from './format.ts';

const CREATE_EXAMPLE = 'tapegw share create projects --bucket my-projects --clients 10.0.0.0/8';

export function shareCommand(parsing: Parsing): CommandModule<GlobalOptions, GlobalOptions> {
  return {
    command: 'share',
    describe: 'create, list, describe, delete and refresh NFS file shares (each a bucket or a prefix in one)',
    builder: (yargs) => {
      enter(parsing, 'share', 'tapegw share list');
      return yargs
        .command(create(parsing))
        .command(list(parsing))
        .command(describe(parsing))
        .command(remove(parsing))
        .command(refresh(parsing))
        .command(waitUploaded(parsing))
        .demandCommand(1, 'say what to do with shares: create, list, describe, delete, refresh or wait-uploaded');
    },
    handler: () => {},
  };
}

const nameArgument = (yargs: Argv<GlobalOptions>) =>
  yargs.positional('name', { type: 'string', demandOption: true, describe: 'name of the share (its export path is /NAME)' });

/** "10.0.0.0/8,192.0.2.7" → the list; the gateway checks each entry. */
function parseClients(text: string): string[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0)
    throw usageError('--clients takes addresses or CIDR blocks separated by commas, e.g. --clients 10.0.0.0/8,192.0.2.7');
  return entries;
}

function parseSeconds(text: number, option: string, example: string): number {
  if (!Number.isSafeInteger(text) || text < 0) throw usageError(`${option} takes a whole number of seconds, e.g. ${option} ${example}`);
  return text;
}

function create(parsing: Parsing) {
  return {
    command: 'create <name>',
    describe: 'create a share on a bucket (or a prefix in one); it is exported at once',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share create', CREATE_EXAMPLE);
      return nameArgument(yargs)
        .option('bucket', { type: 'string', requiresArg: true, describe: 'the bucket the files are objects in' })
        .option('prefix', {
          type: 'string',
          requiresArg: true,
          describe: 'key prefix in the bucket, e.g. site-a/ (default: the whole bucket)',
        })
        .option('read-only', { type: 'boolean', describe: 'clients may read, never write' })
        .option('squash', {
          type: 'string',
          requiresArg: true,
          choices: ['root', 'all', 'none'] as const,
          describe: 'who is mapped to the anonymous user: root (default), all or none',
        })
        .option('clients', {
          type: 'string',
          requiresArg: true,
          describe: 'addresses or CIDR blocks allowed to mount, comma-separated (default: everyone)',
        })
        .option('cache-stale-timeout', {
          type: 'number',
          requiresArg: true,
          describe:
            "seconds after which a directory is listed from the bucket again: 0 (only on refresh) or 300 to 2592000, as AWS's CacheStaleTimeoutInSeconds",
        })
        .option('settle-time', {
          type: 'number',
          requiresArg: true,
          describe: 'seconds a file stays unchanged before it is uploaded (default 5)',
        })
        .option('json', { type: 'boolean', describe: 'print the new share as JSON' })
        .example(CREATE_EXAMPLE, 'a share for the 10.x network')
        .example(
          'tapegw share create archive --bucket corp-data --prefix archive/ --read-only --cache-stale-timeout 300',
          'a read-only view of a prefix, listed again every 5 minutes',
        );
    },
    handler: async (
      argv: GlobalOptions & {
        name: string;
        bucket?: string;
        prefix?: string;
        readOnly?: boolean;
        squash?: 'root' | 'all' | 'none';
        clients?: string;
        cacheStaleTimeout?: number;
        settleTime?: number;
        json?: boolean;
      },
    ) => {
      if (argv.bucket === undefined) throw usageError(`say which bucket the share is on: add --bucket, e.g. ${CREATE_EXAMPLE}`);
      const request = {
        name: argv.name,
        bucket: argv.bucket,
        ...(argv.prefix !== undefined ? { prefix: argv.prefix } : {}),
        ...(argv.readOnly !== undefined ? { readOnly: argv.readOnly } : {}),
        ...(argv.squash !== undefined ? { squash: argv.squash } : {}),
        ...(argv.clients !== undefined ? { clients: parseClients(argv.clients) } : {}),
        ...(argv.cacheStaleTimeout !== undefined
          ? { cacheStaleTimeoutSeconds: parseSeconds(argv.cacheStaleTimeout, '--cache-stale-timeout', '300') }
          : {}),
        ...(argv.settleTime !== undefined ? { settleSeconds: parseSeconds(argv.settleTime, '--settle-time', '5') } : {}),
      };
      const api = await connect(argv);
      const share = await api.post<ShareAnswer>('/shares', request);
      if (argv.json) printJson(share);
      else print(`Created share ${share.name} on ${where(share)}, exported as ${share.exportPath}. Mount it with:\n  ${share.mount}\n`);
    },
  };
}

function list(parsing: Parsing) {
  return {
    command: 'list',
    describe: 'list every share: name, bucket and prefix, access, files not yet uploaded',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share list', 'tapegw share list --json');
      return yargs.option('json', { type: 'boolean', describe: 'print the shares as JSON' });
    },
    handler: async (argv: GlobalOptions & { json?: boolean }) => {
      const api = await connect(argv);
      const { shares } = await api.get<{ shares: ShareAnswer[] }>('/shares');
      if (argv.json) printJson(shares);
      else if (shares.length === 0) print(`No shares yet. Create one with: ${CREATE_EXAMPLE}\n`);
      else
        print(
          table(
            ['NAME', 'EXPORT', 'LOCATION', 'ACCESS', 'SQUASH', 'NOT UPLOADED', 'FAILING'],
            shares.map((s) => [
              s.name,
              s.exportPath,
              where(s),
              s.readOnly ? 'read-only' : 'read-write',
              s.squash,
              notUploaded(s),
              String(s.filesFailingUpload),
            ]),
          ),
        );
    },
  };
}

function describe(parsing: Parsing) {
  return {
    command: 'describe <name>',
    describe: 'show one share',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share describe', 'tapegw share describe files');
      return nameArgument(yargs).option('json', { type: 'boolean', describe: 'print the share as JSON' });
    },
    handler: async (argv: GlobalOptions & { name: string; json?: boolean }) => {
      const api = await connect(argv);
      const share = await api.get<ShareAnswer>(`/shares/${encodeURIComponent(argv.name)}`);
      if (argv.json) {
        printJson(share);
        return;
      }
      print(
        fields([
          ['Name', share.name],
          ['Export path', share.exportPath],
          ['Location', where(share)],
          ['Access', share.readOnly ? 'read-only' : 'read-write'],
          ['Squash', `${share.squash} (anonymous ${share.anonUid}:${share.anonGid})`],
          ['Clients', share.clients.length === 0 ? 'everyone' : share.clients.join(', ')],
          [
            'Cache stale timeout',
            share.cacheStaleTimeoutSeconds === 0 ? 'none (refresh on demand)' : `${share.cacheStaleTimeoutSeconds} s`,
          ],
          [
            'Defaults',
            `files ${share.fileMode.toString(8).padStart(4, '0')}, directories ${share.directoryMode.toString(8).padStart(4, '0')}, owner ${share.ownerUid}:${share.ownerGid}`,
          ],
          ['Settling time', `${share.settleSeconds} s`],
          ['Mount', share.mount],
          ['Not uploaded', notUploaded(share)],
          ['Failing upload', `${share.filesFailingUpload} files`],
          ['Created', share.createdAt],
        ]),
      );
    },
  };
}

function remove(parsing: Parsing) {
  return {
    command: 'delete <name>',
    describe: "stop exporting a share and forget it; the bucket's objects stay",
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share delete', 'tapegw share delete files');
      return nameArgument(yargs);
    },
    handler: async (argv: GlobalOptions & { name: string }) => {
      const api = await connect(argv);
      await api.delete(`/shares/${encodeURIComponent(argv.name)}`);
      print(`Deleted share ${argv.name}; its objects stay in the bucket.\n`);
    },
  };
}

function refresh(parsing: Parsing) {
  return {
    command: 'refresh <name>',
    describe: 'list a directory from the bucket again now, so that objects other S3 clients put, changed or deleted show',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share refresh', 'tapegw share refresh files --path projects --recursive');
      return nameArgument(yargs)
        .option('path', { type: 'string', requiresArg: true, describe: "directory in the share (default: the share's top)" })
        .option('recursive', { type: 'boolean', describe: 'every directory under it too' })
        .option('json', { type: 'boolean', describe: 'print the result as JSON' });
    },
    handler: async (argv: GlobalOptions & { name: string; path?: string; recursive?: boolean; json?: boolean }) => {
      const api = await connect(argv);
      const result = await api.post<{ directories: number }>(`/shares/${encodeURIComponent(argv.name)}/refresh`, {
        ...(argv.path !== undefined ? { path: argv.path } : {}),
        ...(argv.recursive !== undefined ? { recursive: argv.recursive } : {}),
      });
      if (argv.json) printJson(result);
      else print(`Refreshed ${result.directories === 1 ? '1 directory' : `${result.directories} directories`} of share ${argv.name}.\n`);
    },
  };
}

function waitUploaded(parsing: Parsing) {
  return {
    command: 'wait-uploaded <name>',
    describe: 'wait until every write made to the share before now is in the bucket',
    builder: (yargs: Argv<GlobalOptions>) => {
      enter(parsing, 'share wait-uploaded', 'tapegw share wait-uploaded files');
      return nameArgument(yargs).option('json', { type: 'boolean', describe: 'print the share as JSON once uploaded' });
    },
    handler: async (argv: GlobalOptions & { name: string; json?: boolean }) => {
      const api = await connect(argv);
      for (;;) {
        const { uploaded, share } = await api.post<{ uploaded: boolean; share: ShareAnswer }>(
          `/shares/${encodeURIComponent(argv.name)}/wait-uploaded`,
          { timeoutSeconds: 10 },
        );
        if (uploaded) {
          if (argv.json) printJson(share);
          else print(`Every write made to share ${share.name} is in the bucket.\n`);
          return;
        }
        if (!argv.json)
          process.stderr.write(
            `waiting: ${share.filesDirty} files of share ${share.name} not uploaded yet${share.filesFailingUpload > 0 ? `, ${share.filesFailingUpload} failing (see the gateway's log)` : ''}\n`,
          );
      }
    },
  };
}

/** "3 files (12.0 MiB)" */
function notUploaded(share: ShareAnswer): string {
  return `${share.filesDirty} ${share.filesDirty === 1 ? 'file' : 'files'} (${humanSize(share.bytesDirty)})`;
}

function where(share: ShareAnswer): string {
  return `s3://${share.bucket}/${share.prefix}`;
}
