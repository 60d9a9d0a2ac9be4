// Tape pools over a real LevelDB catalog, and the retention-lock rule that
// library and shelf deletes share.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../src/catalog/catalog.ts';
import { checkDeletable, PoolCatalog, retentionUntil } from '../../src/tape/pools.ts';
import type { CreatePoolRequest, PoolInfo } from '../../src/tape/tape-service.ts';
import { refusal } from './refusal.ts';

const DESTINATIONS = {
  GLACIER: { kind: 'vault', vault: 'tapegw-archive' },
  DEEP_ARCHIVE: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' },
} as const;

describe('tape pools', function () {
  let dir: string;
  let catalog: Catalog;
  let pools: PoolCatalog;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'pools-'));
    catalog = await Catalog.open(join(dir, 'catalog'));
    pools = new PoolCatalog(catalog, DESTINATIONS);
  });
  afterEach(async function () {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('catalog', function () {
    it('always has GLACIER and DEEP_ARCHIVE, with the configured destinations and no lock', async function () {
      const all = await pools.all();
      assert.deepEqual(
        all.map((p) => [p.name, p.destination, p.retention, p.builtIn]),
        [
          ['GLACIER', DESTINATIONS.GLACIER, { mode: 'NONE', days: 0 }, true],
          ['DEEP_ARCHIVE', DESTINATIONS.DEEP_ARCHIVE, { mode: 'NONE', days: 0 }, true],
        ],
      );
    });

    it('creates custom pools that outlive a restart, listed after the built-in ones by name', async function () {
      const now = new Date('2026-11-22T05:00:00.000Z');
      const created = await pools.create(
        { name: 'finance-7y', destination: { kind: 'vault', vault: 'finance' }, retention: { mode: 'COMPLIANCE', days: 2555 } },
        now,
      );
      assert.deepEqual(created, {
        name: 'finance-7y',
        destination: { kind: 'vault', vault: 'finance' },
        retention: { mode: 'COMPLIANCE', days: 2555 },
        builtIn: false,
        createdAt: '2026-11-22T05:00:00.000Z',
      });
      await pools.create({ name: 'archive.cold', destination: { kind: 'storage-class', storageClass: 'GLACIER' } });

      await catalog.close();
      catalog = await Catalog.open(join(dir, 'catalog'));
      pools = new PoolCatalog(catalog, DESTINATIONS);
      assert.deepEqual(
        (await pools.all()).map((p) => [p.name, p.retention.mode]),
        [
          ['GLACIER', 'NONE'],
          ['DEEP_ARCHIVE', 'NONE'],
          ['archive.cold', 'NONE'],
          ['finance-7y', 'COMPLIANCE'],
        ],
      );
      assert.deepEqual(await pools.require('finance-7y'), created);
    });

    it('refuses a bad pool with what to send instead, and stores nothing', async function () {
      const vault = { kind: 'vault', vault: 'v' } as const;
      const cases: Array<[CreatePoolRequest, string, RegExp]> = [
        [
          { name: '', destination: vault },
          'INVALID_POOL',
          /pool name "" must be 1 to 100 letters, digits, "-", "_" or "\.": e\.g\. finance-7y/,
        ],
        [{ name: 'a b', destination: vault }, 'INVALID_POOL', /pool name "a b"/],
        [{ name: 'x'.repeat(101), destination: vault }, 'INVALID_POOL', /must be 1 to 100/],
        [
          { name: 'p', destination: { kind: 'vault', vault: 'no/slash' } },
          'INVALID_POOL',
          /e\.g\. --vault my-vault or --storage-class DEEP_ARCHIVE/,
        ],
        [
          { name: 'p', destination: { kind: 'storage-class', storageClass: 'STANDARD' as 'GLACIER' } },
          'INVALID_POOL',
          /S3 storage class \(GLACIER or DEEP_ARCHIVE\)/,
        ],
        [
          { name: 'p', destination: vault, retention: { mode: 'FOREVER' as 'NONE', days: 1 } },
          'INVALID_POOL',
          /retention lock "FOREVER" is not one of NONE, GOVERNANCE, COMPLIANCE/,
        ],
        [
          { name: 'p', destination: vault, retention: { mode: 'GOVERNANCE', days: 36_501 } },
          'INVALID_POOL',
          /whole number from 0 to 36500: e\.g\. --retention-days 2555/,
        ],
        [
          { name: 'p', destination: vault, retention: { mode: 'GOVERNANCE', days: 1.5 } },
          'INVALID_POOL',
          /1\.5 days must be a whole number/,
        ],
        [
          { name: 'p', destination: vault, retention: { mode: 'NONE', days: 30 } },
          'INVALID_POOL',
          /30 retention days need a lock: add --retention-lock GOVERNANCE or COMPLIANCE/,
        ],
        [
          { name: 'GLACIER', destination: vault },
          'DUPLICATE_POOL',
          /pool GLACIER already exists, and pools never change: choose another name/,
        ],
      ];
      for (const [request, code, message] of cases)
        assert.match(await refusal(() => pools.create(request), code), message, JSON.stringify(request));
      assert.deepEqual((await pools.all()).length, 2);

      await pools.create({ name: 'p', destination: vault });
      assert.match(
        await refusal(() => pools.create({ name: 'p', destination: { kind: 'vault', vault: 'other' } }), 'DUPLICATE_POOL'),
        /pools never change/,
      );
    });

    it('names the pools there are when asked for one that is not', async function () {
      await pools.create({ name: 'weekly', destination: { kind: 'vault', vault: 'weekly' } });
      assert.equal(await pools.get('monthly'), undefined);
      const message = await refusal(() => pools.require('monthly'), 'POOL_NOT_FOUND');
      assert.equal(
        message,
        'there is no pool monthly: choose one of GLACIER, DEEP_ARCHIVE, weekly, or create it with "tapegw pool create"',
      );
    });

    it('deletes a custom pool no cartridge is in; never a built-in one, nor one in use', async function () {
      await pools.create({ name: 'weekly', destination: { kind: 'vault', vault: 'weekly' } });
      assert.match(
        await refusal(() => pools.delete('GLACIER', async () => false), 'INVALID_POOL'),
        /GLACIER is a built-in pool and cannot be deleted/,
      );
      const asked: string[] = [];
      const inUse = async (name: string) => (asked.push(name), true);
      assert.match(
        await refusal(() => pools.delete('weekly', inUse), 'POOL_IN_USE'),
        /pool weekly still has cartridges: delete them \(or their archives\) first/,
      );
      assert.deepEqual(asked, ['weekly']);
      await pools.delete('weekly', async () => false);
      assert.equal(await pools.get('weekly'), undefined);
      await refusal(() => pools.delete('weekly', async () => false), 'POOL_NOT_FOUND');
    });
  });

  describe('retention lock', function () {
    const created = '2026-01-01T00:00:00.000Z';
    const tape = { barcode: 'RET001L5', createdAt: created };
    const pool = (mode: PoolInfo['retention']['mode'], days: number): PoolInfo => ({
      name: `${mode.toLowerCase()}-pool`,
      destination: { kind: 'vault', vault: 'v' },
      retention: { mode, days },
      builtIn: false,
      createdAt: created,
    });
    const before = new Date('2026-01-30T00:00:00.000Z');
    const after = new Date('2026-01-31T00:00:00.000Z');

    it("holds for the pool's days from the cartridge's creation; none without a lock", function () {
      assert.equal(retentionUntil(tape, pool('GOVERNANCE', 30))?.toISOString(), '2026-01-31T00:00:00.000Z');
      assert.equal(retentionUntil(tape, pool('COMPLIANCE', 30))?.toISOString(), '2026-01-31T00:00:00.000Z');
      assert.equal(retentionUntil(tape, pool('GOVERNANCE', 0)), undefined);
      assert.equal(retentionUntil(tape, pool('NONE', 0)), undefined);
    });

    it('GOVERNANCE refuses a delete until the end, unless bypassed', async function () {
      const governance = pool('GOVERNANCE', 30);
      const message = await refusal(() => checkDeletable(tape, governance, {}, before), 'RETENTION_LOCKED');
      assert.equal(
        message,
        'cartridge RET001L5 is in pool governance-pool, whose GOVERNANCE retention lock keeps it until 2026-01-31T00:00:00.000Z: wait, or delete with --bypass-governance-retention',
      );
      await refusal(() => checkDeletable(tape, governance, { bypassGovernanceRetention: false }, before), 'RETENTION_LOCKED');
      assert.doesNotThrow(() => checkDeletable(tape, governance, { bypassGovernanceRetention: true }, before));
      assert.doesNotThrow(() => checkDeletable(tape, governance, {}, after));
    });

    it('COMPLIANCE refuses a delete until the end, bypass or not', async function () {
      const compliance = pool('COMPLIANCE', 30);
      for (const options of [{}, { bypassGovernanceRetention: true }]) {
        const message = await refusal(() => checkDeletable(tape, compliance, options, before), 'RETENTION_LOCKED');
        assert.equal(
          message,
          'cartridge RET001L5 is in pool compliance-pool, whose COMPLIANCE retention lock keeps it until 2026-01-31T00:00:00.000Z; nobody can delete it before then',
        );
      }
      assert.doesNotThrow(() => checkDeletable(tape, compliance, {}, after));
    });

    it('lets anything in a pool without a lock be deleted', function () {
      assert.doesNotThrow(() => checkDeletable(tape, pool('NONE', 0), {}, before));
    });
  });
});
