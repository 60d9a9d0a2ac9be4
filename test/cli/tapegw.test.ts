// The real tapegw binary against a running management API (over the test
// stand-in TapeService): output, messages and exit codes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { newApiToken, writeApiCredentials } from '../../src/api/credentials.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import type { LibraryStatus, PoolInfo, TapeInfo } from '../../src/tape/tape-service.ts';
import { StandInTapeService } from '../api/tape-service-stand-in.ts';
import { assertFailure, runCli } from './run-cli.ts';

const TiB = 2 ** 40;

describe('@slow tapegw CLI against a running management API', function () {
  this.timeout(120_000);
  let dataDir: string;
  let api: ApiServer;
  let service: StandInTapeService;
  let token: string;
  const cli = (...args: string[]) => runCli(args, { cwd: dataDir, env: { GATEWAY_DATA_DIR: dataDir } });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tapegw-test-'));
    service = new StandInTapeService({ slots: 10, drives: 2, importExport: 2 });
    token = newApiToken();
    api = await startApiServer({ registry: new Registry(), logger: silentLogger(), tapes: service, token });
    await writeApiCredentials(dataDir, { url: api.url, token });
  });
  afterEach(async () => {
    await api.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates tapes by count and prefix, lists them as a table and as JSON', async () => {
    const created = await runCli(
      ['tape', 'create', '--count', '3', '--prefix', 'ABC', '--size', '2.5TiB', '--pool', 'DEEP_ARCHIVE', '--data-dir', dataDir],
      { cwd: tmpdir() },
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stdout,
      /^Created 3 tapes:\nBARCODE +SIZE +USED +STATUS +LOCATION +POOL\nABC001 +2\.5TiB +0B +AVAILABLE +slot:1 +DEEP_ARCHIVE\n/,
    );

    const [table, json] = await Promise.all([cli('tape', 'list'), cli('tape', 'list', '--json')]);
    assert.equal(table.code, 0);
    assert.deepEqual(
      table.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ +/)),
      [
        ['BARCODE', 'SIZE', 'USED', 'STATUS', 'LOCATION', 'POOL'],
        ['ABC001', '2.5TiB', '0B', 'AVAILABLE', 'slot:1', 'DEEP_ARCHIVE'],
        ['ABC002', '2.5TiB', '0B', 'AVAILABLE', 'slot:2', 'DEEP_ARCHIVE'],
        ['ABC003', '2.5TiB', '0B', 'AVAILABLE', 'slot:3', 'DEEP_ARCHIVE'],
      ],
    );
    const tapes = JSON.parse(json.stdout) as TapeInfo[];
    assert.deepEqual(
      tapes.map((t) => [t.barcode, t.sizeBytes, t.location.kind]),
      [
        ['ABC001', 2.5 * TiB, 'slot'],
        ['ABC002', 2.5 * TiB, 'slot'],
        ['ABC003', 2.5 * TiB, 'slot'],
      ],
    );
  });

  it('refuses an invalid barcode with what to type instead, exit 2, and creates nothing', async () => {
    const [lower, short] = await Promise.all([
      cli('tape', 'create', '--barcode', 'abc123L5', '--size', '100GiB'),
      cli('tape', 'create', '--barcode', 'AB1', '--size', '100GiB'),
    ]);
    assertFailure(lower, 2, /barcode "abc123L5" has lower-case letters: type ABC123L5/);
    assertFailure(short, 2, /at least 5 are needed: e\.g\. type AB100/);
    assert.deepEqual(await service.listTapes(), []);
  });

  it('refuses a duplicate barcode with exit 1', async () => {
    const first = await cli('tape', 'create', '--barcode', 'ABC123L5', '--size', '100GiB', '--worm', '--json');
    assert.equal(first.code, 0, first.stderr);
    const [tape] = JSON.parse(first.stdout) as TapeInfo[];
    assert.deepEqual([tape!.barcode, tape!.worm, tape!.sizeBytes], ['ABC123L5', true, 100 * 2 ** 30]);
    assertFailure(
      await cli('tape', 'create', '--barcode', 'ABC123L5', '--size', '100GiB'),
      1,
      /ABC123L5 exists already: choose another barcode/,
    );
  });

  it('moves a tape into a drive, refuses to delete it there (exit 1), deletes it from a slot', async () => {
    await service.createTape({ barcode: 'MOV001', sizeBytes: TiB });
    const moved = await cli('tape', 'move', 'MOV001', '--to', 'drive:2');
    assert.deepEqual([moved.code, moved.stdout], [0, 'Moved tape MOV001 to drive:2.\n']);

    assertFailure(await cli('tape', 'delete', 'MOV001'), 1, /MOV001 is in drive 2: move it to a slot first/);

    const [described, status, human] = await Promise.all([
      cli('tape', 'describe', 'MOV001', '--json'),
      cli('library', 'status', '--json'),
      cli('library', 'status'),
    ]);
    assert.equal((JSON.parse(described.stdout) as TapeInfo).status, 'IN_DRIVE');
    const library = JSON.parse(status.stdout) as LibraryStatus;
    assert.deepEqual([library.drives[1]!.barcode, library.tapes], ['MOV001', 1]);
    assert.match(human.stdout, /^Storage slots +0 of 10 full$/m);
    assert.match(human.stdout, /^drive:2 +MOV001 +yes +iqn\.2026-11\.io\.tapegateway:gw1-drive2 +0 +DRIVE0002$/m);

    assert.equal((await cli('tape', 'move', 'MOV001', '--to', 'slot:7')).code, 0);
    const deleted = await cli('tape', 'delete', 'MOV001');
    assert.deepEqual([deleted.code, deleted.stdout], [0, 'Deleted tape MOV001.\n']);
    assertFailure(await cli('tape', 'describe', 'MOV001'), 1, /no tape has barcode MOV001/);
  });

  it('says what to type instead of a wrong command line, with exit 2', async () => {
    const runs = await Promise.all([
      cli('tape', 'create', '--count', '3', '--prefix', 'ABC'),
      cli('tape', 'create', '--barcode', 'ABC123', '--count', '2', '--size', '1TiB'),
      cli('tape', 'create', '--size', '1TiB'),
      cli('tape', 'create', '--barcode', 'ABC123', '--size', '100GB'),
      cli('tape', 'move', 'ABC123', '--to', 'shelf:1'),
      cli('tape', 'move', 'ABC123', '--to'),
      cli('tape', 'describe'),
      cli('tape', 'lst'),
      cli('tape', 'list', '--jsn'),
      cli(),
    ]);
    const messages = [
      /say how big each tape is: add --size, e\.g\. --size 2\.5TiB/,
      /give one or the other/,
      /say which tapes: --count 10 --prefix ABC for several, or --barcode ABC123L5 for one/,
      /decimal units are not taken, tape sizes are binary: type --size 100GiB/,
      /type slot:N, drive:N or import-export:N .*e\.g\. --to slot:12/,
      /--to needs a value: type e\.g\. tapegw tape move ABC123L5 --to drive:1 \(more: tapegw tape move --help\)/,
      /an argument is missing: type e\.g\. tapegw tape describe ABC123L5 \(more: tapegw tape describe --help\)/,
      /did you mean list\?.*\(more: tapegw tape --help\)/,
      /unknown argument: jsn/,
      /say what to do: .*\(more: tapegw --help\)/,
    ];
    for (const [i, run] of runs.entries()) assertFailure(run, 2, messages[i]!);
    // The gateway's own 400s are usage errors too.
    assertFailure(await cli('tape', 'create', '--count', '2', '--prefix', 'ABC', '--size', '1MiB'), 2, /a tape holds 100 GiB to 15 TiB/);
  });

  it('creates pools with where they archive to and a retention lock; lists, describes and deletes them', async () => {
    const created = await cli(
      'pool',
      'create',
      'finance-7y',
      '--vault',
      'finance',
      '--retention-lock',
      'compliance',
      '--retention-days',
      '2555',
    );
    assert.deepEqual(
      [created.code, created.stdout],
      [0, 'Created pool finance-7y: archives to vault finance, COMPLIANCE lock, 2555 days.\n'],
      created.stderr,
    );
    const cold = await cli('pool', 'create', 'cold', '--storage-class', 'DEEP_ARCHIVE', '--json');
    assert.equal(cold.code, 0, cold.stderr);
    assert.deepEqual(JSON.parse(cold.stdout) as PoolInfo, { ...(await service.describePool('cold')) });

    const [table, json, described] = await Promise.all([
      cli('pool', 'list'),
      cli('pool', 'list', '--json'),
      cli('pool', 'describe', 'finance-7y'),
    ]);
    assert.equal(
      table.stdout,
      [
        'NAME          ARCHIVES TO                 RETENTION                   TYPE',
        'GLACIER       vault tapegw-archive        no lock                     built-in',
        'DEEP_ARCHIVE  storage class DEEP_ARCHIVE  no lock                     built-in',
        'finance-7y    vault finance               COMPLIANCE lock, 2555 days  custom',
        'cold          storage class DEEP_ARCHIVE  no lock                     custom',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      (JSON.parse(json.stdout) as PoolInfo[]).map((p) => p.name),
      ['GLACIER', 'DEEP_ARCHIVE', 'finance-7y', 'cold'],
    );
    assert.match(
      described.stdout,
      /^Name +finance-7y\nArchives to +vault finance\nRetention +COMPLIANCE lock, 2555 days\nType +custom\nCreated +\d{4}-/,
    );

    assert.equal((await cli('tape', 'create', '--barcode', 'FIN001L5', '--size', '100GiB', '--pool', 'cold')).code, 0);
    assertFailure(await cli('pool', 'delete', 'cold'), 1, /pool cold still has cartridges: delete them \(or their archives\) first/);
    assertFailure(await cli('pool', 'delete', 'GLACIER'), 2, /GLACIER is a built-in pool and cannot be deleted/);
    assertFailure(await cli('pool', 'describe', 'nope'), 1, /there is no pool nope: choose one of GLACIER, DEEP_ARCHIVE, finance-7y, cold/);
    assertFailure(await cli('pool', 'create', 'cold', '--vault', 'x'), 1, /pool cold already exists, and pools never change/);
    const deleted = await cli('pool', 'delete', 'finance-7y', '--json');
    assert.deepEqual([deleted.code, JSON.parse(deleted.stdout)], [0, { pool: 'finance-7y', deleted: true }]);
    assert.deepEqual(
      (await service.listPools()).map((p) => p.name),
      ['GLACIER', 'DEEP_ARCHIVE', 'cold'],
    );
  });

  it('says what to type instead of a wrong pool command line, with exit 2, and creates nothing', async () => {
    const runs = await Promise.all([
      cli('pool', 'create', 'p'),
      cli('pool', 'create', 'p', '--vault', 'v', '--storage-class', 'GLACIER'),
      cli('pool', 'create', 'p', '--storage-class', 'STANDARD'),
      cli('pool', 'create', 'p', '--vault', 'v', '--retention-lock', 'GOVERNANCE'),
      cli('pool', 'create', 'p', '--vault', 'v', '--retention-days', '30'),
      cli('pool', 'create', 'p', '--vault', 'v', '--retention-lock', 'forever', '--retention-days', '30'),
      cli('pool', 'create', 'p', '--vault', 'v', '--retention-lock', 'GOVERNANCE', '--retention-days', '0'),
      cli('pool', 'create', 'has space', '--vault', 'v'),
      cli('pool', 'create', '--vault', 'v'),
    ]);
    const messages = [
      /say where the pool's tapes go: add --vault NAME or --storage-class GLACIER\|DEEP_ARCHIVE, e\.g\. tapegw pool create finance-7y --vault finance/,
      /a pool archives to a vault or to a storage class, not both: give --vault or --storage-class/,
      /--storage-class "STANDARD" is not an archive storage class: type --storage-class GLACIER or DEEP_ARCHIVE/,
      /--retention-lock needs a duration: add --retention-days N, e\.g\. --retention-days 2555 for 7 years/,
      /--retention-days needs a lock: add --retention-lock GOVERNANCE or --retention-lock COMPLIANCE/,
      /--retention-lock "forever" is not a retention lock: type --retention-lock GOVERNANCE or COMPLIANCE/,
      /--retention-days takes whole days from 1 to 36500: e\.g\. --retention-days 2555 for 7 years/,
      /pool name "has space" must be 1 to 100 letters, digits, "-", "_" or "\.": e\.g\. finance-7y/,
      /an argument is missing: type e\.g\. tapegw pool create finance-7y --vault finance .*\(more: tapegw pool create --help\)/,
    ];
    for (const [i, run] of runs.entries()) assertFailure(run, 2, messages[i]!);
    assert.deepEqual(
      (await service.listPools()).map((p) => p.name),
      ['GLACIER', 'DEEP_ARCHIVE'],
    );
  });

  it('creates WORM tapes in a pool, refuses an unknown pool; deletes past a GOVERNANCE lock only with the bypass, never past COMPLIANCE', async () => {
    assertFailure(
      await cli('tape', 'create', '--barcode', 'ABC001L5', '--size', '100GiB', '--pool', 'weekly'),
      1,
      /there is no pool weekly: choose one of GLACIER, DEEP_ARCHIVE, or create it with "tapegw pool create"/,
    );
    await service.createPool({ name: 'gov', destination: { kind: 'vault', vault: 'g' }, retention: { mode: 'GOVERNANCE', days: 30 } });
    await service.createPool({ name: 'comp', destination: { kind: 'vault', vault: 'c' }, retention: { mode: 'COMPLIANCE', days: 30 } });
    const created = await cli('tape', 'create', '--barcode', 'GOV001L5', '--size', '100GiB', '--pool', 'gov', '--worm', '--json');
    const [tape] = JSON.parse(created.stdout) as TapeInfo[];
    assert.deepEqual(
      [tape!.pool, tape!.worm, Date.parse(tape!.retentionUntil!) - Date.parse(tape!.createdAt)],
      ['gov', true, 30 * 86_400_000],
    );
    await cli('tape', 'create', '--barcode', 'CMP001L5', '--size', '100GiB', '--pool', 'comp');

    const described = await cli('tape', 'describe', 'GOV001L5');
    assert.match(described.stdout, /^Pool +gov$/m);
    assert.match(described.stdout, /^WORM +yes$/m);
    assert.match(described.stdout, new RegExp(`^Retained until +${tape!.retentionUntil}$`, 'm'));

    assertFailure(
      await cli('tape', 'delete', 'GOV001L5'),
      1,
      /GOVERNANCE retention lock keeps it until \S+: wait, or delete with --bypass-governance-retention/,
    );
    const bypassed = await cli('tape', 'delete', 'GOV001L5', '--bypass-governance-retention', '--json');
    assert.deepEqual([bypassed.code, JSON.parse(bypassed.stdout)], [0, { barcode: 'GOV001L5', deleted: true }], bypassed.stderr);
    assertFailure(
      await cli('tape', 'delete', 'CMP001L5', '--bypass-governance-retention'),
      1,
      /COMPLIANCE retention lock keeps it until \S+; nobody can delete it before then/,
    );
    assert.deepEqual(
      (await service.listTapes()).map((t) => t.barcode),
      ['CMP001L5'],
    );
  });

  it('answers --help for every command', async () => {
    const commands = [
      [],
      ['tape'],
      ['tape', 'create'],
      ['tape', 'list'],
      ['tape', 'describe'],
      ['tape', 'delete'],
      ['tape', 'move'],
      ['tape', 'archive'],
      ['tape', 'cancel-archival'],
      ['pool'],
      ['pool', 'create'],
      ['pool', 'list'],
      ['pool', 'describe'],
      ['pool', 'delete'],
      ['shelf'],
      ['shelf', 'list'],
      ['shelf', 'describe'],
      ['shelf', 'retrieve'],
      ['shelf', 'cancel-retrieval'],
      ['shelf', 'delete'],
      ['library'],
      ['library', 'status'],
    ];
    const runs = await Promise.all(commands.map((command) => cli(...command, '--help')));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^tapegw ${commands[i]!.join(' ')}`));
      assert.match(run.stdout, /--data-dir/);
    }
  });

  it('finds the gateway from --api-url and a token in the environment; refuses a wrong token with exit 1', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'tapegw-elsewhere-'));
    try {
      const viaUrl = await runCli(['library', 'status', '--json', '--api-url', api.url], {
        cwd: elsewhere,
        env: { GATEWAY_API_TOKEN: token },
      });
      assert.equal(viaUrl.code, 0, viaUrl.stderr);
      assert.equal((JSON.parse(viaUrl.stdout) as LibraryStatus).drives.length, 2);
      assertFailure(await cli('tape', 'list', '--token', 'wrong'), 1, /refused the token/);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('says the gateway is not running, with exit 3 and how to start it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tapegw-empty-'));
    try {
      const [none, defaultDir] = await Promise.all([cli('tape', 'list', '--data-dir', empty), runCli(['tape', 'list'], { cwd: empty })]);
      assertFailure(none, 3, /the gateway is not running: .*api\.json does not exist .*start it with `npm start`/);
      assertFailure(defaultDir, 3, new RegExp(`${empty}/data/api\\.json does not exist`));
      // A gateway that stopped without removing api.json.
      const stopped = await startApiServer({ registry: new Registry(), logger: silentLogger() });
      await stopped.close();
      await writeApiCredentials(empty, { url: stopped.url, token });
      const stale = await cli('library', 'status', '--data-dir', empty);
      assertFailure(
        stale,
        3,
        /no gateway answers at http:\/\/127\.0\.0\.1:\d+ \(from .*api\.json: ECONNREFUSED\): start the gateway with `npm start`/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
