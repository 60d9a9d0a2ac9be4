// The real tapegw binary against the real gateway process: it finds the API
// through api.json in the data directory, and the library's refusals reach
// the operator as one line and a non-zero exit code.
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LibraryStatus, TapeInfo } from '../../src/tape/tape-service.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { assertFailure, runCli } from './run-cli.ts';

const LIBRARY_ARGS = [
  '--drives',
  '2',
  '--slots',
  '10',
  '--import-export-slots',
  '2',
  '--min-tape-size',
  '1MiB',
  '--volume',
  'scratch=1MiB',
];

describe('@slow tapegw CLI against the real gateway', function () {
  this.timeout(180_000);
  let dataDir: string;
  let gw: GatewayProcess | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tapegw-gateway-'));
    gw = await startGatewayProcess({ dataDir, args: LIBRARY_ARGS });
  });
  afterEach(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates, lists, moves and refuses as the library says; says the gateway is not running once it stopped', async () => {
    // Run from elsewhere with only the data directory, as an operator would.
    const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], { cwd: tmpdir() });

    const created = await cli('tape', 'create', '--count', '2', '--prefix', 'ABC', '--size', '64MiB', '--json');
    assert.equal(created.code, 0, created.stderr);
    const [first, second] = (JSON.parse(created.stdout) as TapeInfo[]).map((t) => t.barcode);
    assert.match(first!, /^ABC001/);
    assert.match(second!, /^ABC002/);

    const [invalid, prefix, duplicate, size] = await Promise.all([
      cli('tape', 'create', '--barcode', 'abc1', '--size', '64MiB'),
      cli('tape', 'create', '--count', '1', '--prefix', 'AB1', '--size', '64MiB'),
      cli('tape', 'create', '--barcode', first!, '--size', '64MiB'),
      cli('tape', 'create', '--barcode', 'XYZ001', '--size', '100TiB'),
    ]);
    assertFailure(invalid, 2, /barcode "abc1"/);
    assertFailure(prefix, 2, /prefix "AB1" must be 1 to 4 letters A-Z: e\.g\. --prefix AB/);
    assertFailure(duplicate, 1, new RegExp(`${first} is taken: choose another barcode`));
    assertFailure(size, 2, /a cartridge must hold 1MiB to .*: e\.g\. --size /);

    const moved = await cli('tape', 'move', first!, '--to', 'drive:1');
    assert.equal(moved.code, 0, moved.stderr);
    assertFailure(await cli('tape', 'delete', first!), 1, new RegExp(`${first} is in .*: move it to a slot first`));

    const [list, status] = await Promise.all([cli('tape', 'list', '--json'), cli('library', 'status', '--json')]);
    assert.deepEqual((JSON.parse(list.stdout) as TapeInfo[]).map((t) => [t.barcode, t.status]).sort(), [
      [first, 'IN_DRIVE'],
      [second, 'AVAILABLE'],
    ]);
    const library = JSON.parse(status.stdout) as LibraryStatus;
    assert.deepEqual([library.drives[0]!.barcode, library.drives.length, library.slots], [first, 2, { total: 10, full: 1 }]);

    const exit = await gw!.stop();
    gw = undefined;
    assert.equal(exit.code, 0);
    await assert.rejects(access(join(dataDir, 'api.json')), /ENOENT/);
    assertFailure(await cli('tape', 'list'), 3, /the gateway is not running: .*api\.json does not exist .*start it with `npm start`/);
  });
});
