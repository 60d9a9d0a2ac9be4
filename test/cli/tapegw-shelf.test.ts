// The real tapegw binary's shelf commands (archive, retrieve, --wait, delete)
// against the shelf routes of the HTTP contract, served over a stand-in
// shelf: output, progress, messages and exit codes. The real shelf through
// the gateway process is tested with the shelf itself.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiToken, writeApiCredentials } from '../../src/api/credentials.ts';
import type { ShelfTapeInfo } from '../../src/shelf/shelf-service.ts';
import type { TapeInfo } from '../../src/tape/tape-service.ts';
import { StandInTapeService } from '../api/tape-service-stand-in.ts';
import { assertFailure, runCli } from './run-cli.ts';
import { serveTapesAndShelf, StandInShelfService, type StandInServer } from './shelf-service-stand-in.ts';

const TiB = 2 ** 40;

describe('@slow tapegw shelf commands against the shelf routes', function () {
  this.timeout(120_000);
  let dataDir: string;
  let server: StandInServer;
  let tapes: StandInTapeService;
  let shelf: StandInShelfService;
  const cli = (...args: string[]) => runCli(args, { cwd: dataDir, env: { GATEWAY_DATA_DIR: dataDir } });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tapegw-shelf-'));
    tapes = new StandInTapeService({ slots: 10, drives: 2, importExport: 2 });
    shelf = new StandInShelfService(tapes);
    const token = newApiToken();
    server = await serveTapesAndShelf(tapes, shelf, token);
    await writeApiCredentials(dataDir, { url: server.url, token });
    await tapes.createTape({ barcode: 'ABC001L5', sizeBytes: TiB });
  });
  afterEach(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('archives a tape and says how to follow it; lists and describes the shelf', async () => {
    const archived = await cli('tape', 'archive', 'ABC001L5');
    assert.deepEqual(
      [archived.code, archived.stdout],
      [0, 'Tape ABC001L5 is IN_TRANSIT_TO_VTS (0%): follow it with tapegw shelf describe ABC001L5, or add --wait.\n'],
      archived.stderr,
    );
    assert.deepEqual(await tapes.listTapes(), [], 'it left the library');
    assert.deepEqual(server.requests, ['POST /tapes/ABC001L5/archive']);

    const listed = await cli('shelf', 'list');
    assert.deepEqual(
      listed.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ +/)),
      [
        ['BARCODE', 'SIZE', 'USED', 'STATUS', 'PROGRESS', 'POOL', 'ARCHIVED'],
        ['ABC001L5', '1TiB', '0B', 'IN_TRANSIT_TO_VTS', '50%', 'GLACIER', '-'],
      ],
    );
    const described = await cli('shelf', 'describe', 'ABC001L5');
    assert.match(
      described.stdout,
      /^Barcode +ABC001L5\nStatus +ARCHIVING \(0%\)\nPool +GLACIER\nSize +1TiB\nUsed +0B\nWORM +no\nCreated +\S+\n$/,
    );
    const json = await cli('shelf', 'describe', 'ABC001L5', '--json');
    assert.deepEqual(
      [(JSON.parse(json.stdout) as ShelfTapeInfo).status, (JSON.parse(json.stdout) as ShelfTapeInfo).progress],
      ['ARCHIVING', 50],
    );
    const all = await cli('shelf', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(all.stdout) as ShelfTapeInfo[]).map((t) => t.status),
      ['ARCHIVED'],
    );
  });

  it('eject --wait shows progress lines on stderr (not a terminal) and ends ARCHIVED; --json prints only the last state', async () => {
    const waited = await cli('tape', 'eject', 'ABC001L5', '--wait', '--interval', '0.01');
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout, 'Tape ABC001L5 is ARCHIVED in pool GLACIER (0B archived).\n');
    assert.deepEqual(waited.stderr.split('\n'), [
      'ABC001L5 IN_TRANSIT_TO_VTS 0%',
      'ABC001L5 IN_TRANSIT_TO_VTS 50%',
      'ABC001L5 ARCHIVING         0%',
      'ABC001L5 ARCHIVING         50%',
      'ABC001L5 ARCHIVED          100%',
      '',
    ]);

    await tapes.createTape({ barcode: 'ABC002L5', sizeBytes: TiB });
    const json = await cli('tape', 'archive', 'ABC002L5', '--wait', '--interval', '0.01', '--json');
    assert.equal(json.code, 0, json.stderr);
    const info = JSON.parse(json.stdout) as ShelfTapeInfo;
    assert.deepEqual([info.barcode, info.status, info.archivedAt], ['ABC002L5', 'ARCHIVED', '2026-11-22T06:00:00.000Z']);
    assert.match(json.stderr, /ABC002L5 ARCHIVED +100%\n$/);
  });

  it('retrieve --wait asks for the tier and ends RETRIEVED in an import/export slot; cancel-retrieval leaves it ARCHIVED', async () => {
    await shelf.archiveTape('ABC001L5');
    while ((await shelf.describeShelfTape('ABC001L5')).status !== 'ARCHIVED');
    server.requests.length = 0;

    const retrieved = await cli('shelf', 'retrieve', 'ABC001L5', '--tier', 'bulk', '--wait', '--interval', '0.01');
    assert.equal(retrieved.code, 0, retrieved.stderr);
    assert.equal(retrieved.stdout, 'Tape ABC001L5 is RETRIEVED: read-only, in import-export:1.\n');
    assert.deepEqual(retrieved.stderr.split('\n'), [
      'ABC001L5 RETRIEVING        0%',
      'ABC001L5 RETRIEVING        50%',
      'ABC001L5 RETRIEVED         100%',
      '',
    ]);
    assert.equal(server.requests[0], 'POST /shelf/ABC001L5/retrieve {"tier":"Bulk"}');

    await tapes.createTape({ barcode: 'ABC002L5', sizeBytes: TiB });
    await shelf.archiveTape('ABC002L5');
    while ((await shelf.describeShelfTape('ABC002L5')).status !== 'ARCHIVED');
    const started = await cli('shelf', 'retrieve', 'ABC002L5', '--json');
    assert.deepEqual([started.code, (JSON.parse(started.stdout) as ShelfTapeInfo).status], [0, 'RETRIEVING']);
    assert.equal(server.requests.at(-1), 'POST /shelf/ABC002L5/retrieve {}');
    const cancelled = await cli('shelf', 'cancel-retrieval', 'ABC002L5');
    assert.deepEqual([cancelled.code, cancelled.stdout], [0, 'Cancelled the retrieval of tape ABC002L5: it is ARCHIVED.\n']);
    assertFailure(await cli('shelf', 'cancel-retrieval', 'ABC002L5'), 1, /tape ABC002L5 is ARCHIVED, not being retrieved/);
  });

  it('cancels an archival: the tape is back in a slot', async () => {
    await cli('tape', 'archive', 'ABC001L5');
    const cancelled = await cli('tape', 'cancel-archival', 'ABC001L5');
    assert.deepEqual(
      [cancelled.code, cancelled.stdout],
      [0, 'Cancelled the archival of tape ABC001L5: it is AVAILABLE in slot:1.\n'],
      cancelled.stderr,
    );
    const json = await cli('tape', 'describe', 'ABC001L5', '--json');
    assert.equal((JSON.parse(json.stdout) as TapeInfo).status, 'AVAILABLE');
    assertFailure(await cli('tape', 'cancel-archival', 'ABC001L5', '--json'), 1, /there is no tape ABC001L5 on the shelf/);
  });

  it('--wait ends with exit 1 and the reason when the tape becomes IRRECOVERABLE', async () => {
    shelf.failures.set('ABC001L5', 'archive part 3 failed its SHA-256 tree hash twice');
    const run = await cli('tape', 'archive', 'ABC001L5', '--wait', '--interval', '0.01');
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.deepEqual(run.stderr.split('\n'), [
      'ABC001L5 IN_TRANSIT_TO_VTS 0%',
      'tapegw: tape ABC001L5 is IRRECOVERABLE: archive part 3 failed its SHA-256 tree hash twice',
      '',
    ]);

    const json = await cli('shelf', 'describe', 'ABC001L5', '--json');
    assert.equal((JSON.parse(json.stdout) as ShelfTapeInfo).status, 'IRRECOVERABLE');
    const human = await cli('shelf', 'describe', 'ABC001L5');
    assert.match(human.stdout, /^Why +archive part 3 failed its SHA-256 tree hash twice$/m);
  });

  it('--wait ends with exit 1 when the retrieval is cancelled meanwhile; --json still prints the last state', async () => {
    await shelf.archiveTape('ABC001L5');
    while ((await shelf.describeShelfTape('ABC001L5')).status !== 'ARCHIVED');
    const waiting = cli('shelf', 'retrieve', 'ABC001L5', '--wait', '--interval', '1', '--json');
    while (!server.requests.includes('POST /shelf/ABC001L5/retrieve {}')) await new Promise((resolve) => setTimeout(resolve, 20));
    await shelf.cancelRetrieval('ABC001L5');
    const run = await waiting;
    assert.equal(run.code, 1);
    assert.equal((JSON.parse(run.stdout) as ShelfTapeInfo).status, 'ARCHIVED');
    assert.match(
      run.stderr,
      /^ABC001L5 RETRIEVING +0%\ntapegw: tape ABC001L5 is ARCHIVED now, not RETRIEVED \(was it cancelled\?\): see tapegw shelf describe ABC001L5\n$/,
    );
  });

  it('deletes an archive past a GOVERNANCE lock only with the bypass, never past COMPLIANCE; not while archiving', async () => {
    await tapes.createPool({ name: 'gov', destination: { kind: 'vault', vault: 'g' }, retention: { mode: 'GOVERNANCE', days: 30 } });
    await tapes.createPool({ name: 'comp', destination: { kind: 'vault', vault: 'c' }, retention: { mode: 'COMPLIANCE', days: 30 } });
    for (const [barcode, pool] of [
      ['GOV001L5', 'gov'],
      ['CMP001L5', 'comp'],
    ] as const) {
      await tapes.createTape({ barcode, sizeBytes: TiB, pool });
      await shelf.archiveTape(barcode);
    }
    assertFailure(
      await cli('shelf', 'delete', 'GOV001L5'),
      1,
      /tape GOV001L5 is IN_TRANSIT_TO_VTS, not ARCHIVED: cancel its archival or retrieval first/,
    );
    for (const barcode of ['GOV001L5', 'CMP001L5']) while ((await shelf.describeShelfTape(barcode)).status !== 'ARCHIVED');

    assertFailure(
      await cli('shelf', 'delete', 'GOV001L5'),
      1,
      /GOVERNANCE retention lock keeps it until \S+: wait, or delete with --bypass-governance-retention/,
    );
    server.requests.length = 0;
    const deleted = await cli('shelf', 'delete', 'GOV001L5', '--bypass-governance-retention');
    assert.deepEqual([deleted.code, deleted.stdout], [0, 'Deleted the archive of tape GOV001L5 for good.\n'], deleted.stderr);
    assert.deepEqual(server.requests, ['DELETE /shelf/GOV001L5 {"bypassGovernanceRetention":true}']);
    assertFailure(
      await cli('shelf', 'delete', 'CMP001L5', '--bypass-governance-retention', '--json'),
      1,
      /COMPLIANCE retention lock .*nobody can delete it before then/,
    );
    assertFailure(await cli('shelf', 'describe', 'GOV001L5'), 1, /there is no tape GOV001L5 on the shelf/);
  });

  it('says what to type instead of a wrong shelf command line, with exit 2, before asking the gateway', async () => {
    const runs = await Promise.all([
      cli('shelf', 'retrieve', 'ABC001L5', '--tier', 'fast'),
      cli('tape', 'archive', 'ABC001L5', '--wait', '--interval', '0'),
      cli('tape', 'archive', 'abc001l5'),
      cli('shelf', 'retrieve'),
      cli('shelf', 'retreive', 'ABC001L5'),
    ]);
    const messages = [
      /--tier "fast" is not a retrieval tier: type --tier Expedited, Standard or Bulk/,
      /--interval takes the seconds between checks, more than 0: e\.g\. --interval 30/,
      /barcode "abc001l5" has lower-case letters: type ABC001L5/,
      /an argument is missing: type e\.g\. tapegw shelf retrieve ABC123L5 --tier Bulk --wait \(more: tapegw shelf retrieve --help\)/,
      /did you mean retrieve\?/,
    ];
    for (const [i, run] of runs.entries()) assertFailure(run, 2, messages[i]!);
    assert.deepEqual(server.requests, []);
    assert.equal((await tapes.describeTape('ABC001L5')).status, 'AVAILABLE');
  });
});
