// The real tapegw binary's shelf and pool commands against the real gateway
// process, as a backup administrator uses them: archive a tape with --wait
// until it has left the library, retrieve it back into an import/export
// slot, and the retention locks of custom pools refusing deletes (GOVERNANCE
// unless bypassed, COMPLIANCE always). One gateway serves the whole file,
// with 1 MiB segments and Glacier jobs that complete in a second; each test
// uses its own barcodes and pools.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShelfTapeInfo } from '../../src/shelf/shelf-service.ts';
import type { PoolInfo, TapeInfo } from '../../src/tape/tape-service.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { LIBRARY_ARGS } from '../shelf/gateway-helpers.ts';
import { assertFailure, runCli, type CliRun } from './run-cli.ts';

function assertOk(run: CliRun): void {
  assert.equal(run.code, 0, `exit code of ${JSON.stringify(run)}`);
}

describe('@slow tapegw shelf and pool commands against the real gateway', function () {
  this.timeout(240_000);
  let dataDir: string;
  let gw: GatewayProcess | undefined;
  // Run from elsewhere with only the data directory, as an operator would.
  const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], { cwd: tmpdir() });
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli(...args, '--json');
    assertOk(run);
    return JSON.parse(run.stdout) as T;
  };
  const barcodesInLibrary = async () => (await json<TapeInfo[]>('tape', 'list')).map((t) => t.barcode);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tapegw-shelf-gateway-'));
    gw = await startGatewayProcess({ dataDir, args: [...LIBRARY_ARGS, '--segment-size', '1MiB', '--glacier-job-delays', '1'] });
  });
  after(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('archives a tape with --wait until it has left the library, and retrieves it read-only into an import/export slot', async () => {
    assertOk(await cli('tape', 'create', '--barcode', 'ARC001L5', '--size', '8MiB'));

    const archived = await cli('tape', 'archive', 'ARC001L5', '--wait', '--interval', '0.2');
    assertOk(archived);
    assert.match(archived.stdout, /^Tape ARC001L5 is ARCHIVED in pool GLACIER( \([^)]+ archived\))?\.\n$/);
    assert.match(archived.stderr, /ARC001L5 ARCHIVED +100%\n$/, 'progress on stderr ends at ARCHIVED 100%');

    const [onShelf, shelf, library] = await Promise.all([
      json<ShelfTapeInfo>('shelf', 'describe', 'ARC001L5'),
      json<ShelfTapeInfo[]>('shelf', 'list'),
      barcodesInLibrary(),
    ]);
    assert.equal(onShelf.status, 'ARCHIVED');
    assert.equal(onShelf.pool, 'GLACIER');
    assert.equal(onShelf.location, undefined, 'an archived tape is nowhere in the library');
    assert.ok(onShelf.archivedAt, 'it says when it was archived');
    assert.deepEqual(
      shelf.filter((t) => t.barcode === 'ARC001L5').map((t) => t.status),
      ['ARCHIVED'],
    );
    assert.ok(!library.includes('ARC001L5'), 'tape list no longer lists it');
    assertFailure(await cli('tape', 'describe', 'ARC001L5'), 1, /no cartridge ARC001L5/);

    const retrieved = await cli('shelf', 'retrieve', 'ARC001L5', '--tier', 'Expedited', '--wait', '--interval', '0.2');
    assertOk(retrieved);
    assert.match(retrieved.stdout, /^Tape ARC001L5 is RETRIEVED: read-only, in import-export:\d\.\n$/);
    assert.match(retrieved.stderr, /ARC001L5 RETRIEVING +\d+%\n/, 'progress while RETRIEVING');
    assert.match(retrieved.stderr, /ARC001L5 RETRIEVED +100%\n$/);

    const [back, tapes, shelfEntry] = await Promise.all([
      json<TapeInfo>('tape', 'describe', 'ARC001L5'),
      json<TapeInfo[]>('tape', 'list'),
      json<ShelfTapeInfo>('shelf', 'describe', 'ARC001L5'),
    ]);
    assert.equal(back.status, 'RETRIEVED');
    assert.equal(back.location.kind, 'import-export');
    assert.deepEqual(
      tapes.filter((t) => t.barcode === 'ARC001L5').map((t) => [t.status, t.location.kind]),
      [['RETRIEVED', 'import-export']],
    );
    assert.equal(shelfEntry.status, 'RETRIEVED');
    assert.deepEqual(shelfEntry.location && [shelfEntry.location.kind, shelfEntry.location.index], [
      back.location.kind,
      back.location.index,
    ]);

    const described = await cli('tape', 'describe', 'ARC001L5');
    assertOk(described);
    assert.match(described.stdout, /^Status +RETRIEVED$/m);
    assert.match(described.stdout, /^Location +import-export:\d \(element address \d+\)$/m);
    assertFailure(await cli('shelf', 'retrieve', 'ARC001L5', '--tier', 'Expedited'), 1, /already retrieved/);

    // Back to the shelf, so its import/export slot is free for the next test.
    assertOk(await cli('tape', 'archive', 'ARC001L5', '--wait', '--interval', '0.2'));
    assert.ok(!(await barcodesInLibrary()).includes('ARC001L5'));
  });

  it('keeps the tapes of a GOVERNANCE pool from deletion unless bypassed, and of a COMPLIANCE pool always', async () => {
    const created = await cli(
      'pool',
      'create',
      'gov-30d',
      '--vault',
      'gov-vault',
      '--retention-lock',
      'GOVERNANCE',
      '--retention-days',
      '30',
    );
    assertOk(created);
    assert.equal(created.stdout, 'Created pool gov-30d: archives to vault gov-vault, GOVERNANCE lock, 30 days.\n');
    const pool = await json<PoolInfo>('pool', 'describe', 'gov-30d');
    assert.deepEqual(
      [pool.destination, pool.retention, pool.builtIn],
      [{ kind: 'vault', vault: 'gov-vault' }, { mode: 'GOVERNANCE', days: 30 }, false],
    );

    const [tape] = await json<TapeInfo[]>('tape', 'create', '--barcode', 'GOV001L5', '--size', '8MiB', '--pool', 'gov-30d');
    assert.equal(tape!.pool, 'gov-30d');
    const days = (Date.parse(tape!.retentionUntil!) - Date.parse(tape!.createdAt)) / 86_400_000;
    assert.equal(days, 30, 'retained 30 days from its creation');

    assertFailure(
      await cli('tape', 'delete', 'GOV001L5'),
      1,
      /GOV001L5 is in pool gov-30d, whose GOVERNANCE retention lock keeps it until .*--bypass-governance-retention/,
    );
    assert.ok((await barcodesInLibrary()).includes('GOV001L5'), 'the refused delete left it in the library');

    const archived = await json<ShelfTapeInfo>('tape', 'archive', 'GOV001L5', '--wait', '--interval', '0.2');
    assert.deepEqual([archived.status, archived.pool, archived.retentionUntil], ['ARCHIVED', 'gov-30d', tape!.retentionUntil]);

    assertFailure(
      await cli('shelf', 'delete', 'GOV001L5'),
      1,
      /GOV001L5 is in pool gov-30d, whose GOVERNANCE retention lock .*--bypass-governance-retention/,
    );
    assert.equal((await json<ShelfTapeInfo>('shelf', 'describe', 'GOV001L5')).status, 'ARCHIVED', 'the refused delete kept the archive');
    assertFailure(await cli('pool', 'delete', 'gov-30d'), 1, /pool gov-30d still has cartridges: delete them \(or their archives\) first/);

    const deleted = await cli('shelf', 'delete', 'GOV001L5', '--bypass-governance-retention');
    assertOk(deleted);
    assert.equal(deleted.stdout, 'Deleted the archive of tape GOV001L5 for good.\n');
    assertFailure(await cli('shelf', 'describe', 'GOV001L5'), 1, /no cartridge GOV001L5 on the shelf/);
    assert.ok(!(await json<ShelfTapeInfo[]>('shelf', 'list')).some((t) => t.barcode === 'GOV001L5'));

    // A GOVERNANCE tape still in the library goes with the flag too.
    assertOk(await cli('tape', 'create', '--barcode', 'GOV002L5', '--size', '8MiB', '--pool', 'gov-30d'));
    assert.deepEqual(await json('tape', 'delete', 'GOV002L5', '--bypass-governance-retention'), { barcode: 'GOV002L5', deleted: true });
    assert.ok(!(await barcodesInLibrary()).includes('GOV002L5'));
    assertOk(await cli('pool', 'delete', 'gov-30d')); // no tape is left in the pool

    assertOk(await cli('pool', 'create', 'comp-30d', '--vault', 'comp-vault', '--retention-lock', 'COMPLIANCE', '--retention-days', '30'));
    assertOk(await cli('tape', 'create', '--barcode', 'CMP001L5', '--size', '8MiB', '--pool', 'comp-30d'));
    const nobody = /CMP001L5 is in pool comp-30d, whose COMPLIANCE retention lock keeps it until .*nobody can delete it/;
    assertFailure(await cli('tape', 'delete', 'CMP001L5'), 1, nobody);
    assertFailure(await cli('tape', 'delete', 'CMP001L5', '--bypass-governance-retention'), 1, nobody);
    assert.ok((await barcodesInLibrary()).includes('CMP001L5'));

    assert.equal((await json<ShelfTapeInfo>('tape', 'archive', 'CMP001L5', '--wait', '--interval', '0.2')).status, 'ARCHIVED');
    assertFailure(await cli('shelf', 'delete', 'CMP001L5', '--bypass-governance-retention'), 1, nobody);
    assert.equal((await json<ShelfTapeInfo>('shelf', 'describe', 'CMP001L5')).status, 'ARCHIVED');
  });

  it('refuses to archive a tape the library does not have, and says how to find the right one', async () => {
    assertFailure(
      await cli('tape', 'archive', 'NOSUCH01'),
      1,
      /there is no cartridge NOSUCH01 in the library: list them with "tapegw tape list"/,
    );
    assertFailure(await cli('tape', 'archive', 'NOSUCH01', '--wait'), 1, /list them with "tapegw tape list"/);
  });
});
