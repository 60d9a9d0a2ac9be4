// Deleting an archive from the shelf under a pool's retention lock, through
// the management API's routes, with the real parts in one process.
import assert from 'node:assert/strict';
import { startShelfFixture, type ShelfFixture } from './fixture.ts';

const DAY = 86_400_000;

describe('vault shelf retention lock', function () {
  this.timeout(120_000);
  let f: ShelfFixture;

  before(async () => {
    f = await startShelfFixture({ jobDelaySeconds: 0 });
  });
  after(async () => {
    await f.close();
  });

  async function archivedIn(pool: string, barcode: string): Promise<void> {
    await f.pools.create({
      name: pool,
      destination: { kind: 'vault', vault: `${pool.toLowerCase()}-vault` },
      retention: { mode: pool.startsWith('GOV') ? 'GOVERNANCE' : 'COMPLIANCE', days: 30 },
    });
    await f.cartridge(barcode, pool);
    const archiving = await f.call('POST', `/tapes/${barcode}/archive`);
    assert.equal(archiving.status, 202, JSON.stringify(archiving.body));
    await f.until(barcode, 'ARCHIVED');
  }

  it('refuses to delete a GOVERNANCE-locked archive with a clear error, and deletes it when told to bypass', async () => {
    f.clock.now = new Date();
    await archivedIn('GOV-30D', 'RET001L5');
    const info = (await f.call('GET', '/shelf/RET001L5')).body;
    assert.ok(info.retentionUntil > f.clock.now.toISOString(), 'the shelf says until when');

    const refused = await f.call('DELETE', '/shelf/RET001L5');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'RETENTION_LOCKED');
    assert.match(refused.body.error.message, /GOVERNANCE retention lock keeps it until .*--bypass-governance-retention/);
    assert.equal((await f.vault('gov-30d-vault').describe()).archives, 1, 'the archive is still there');

    assert.equal((await f.call('DELETE', '/shelf/RET001L5', { bypassGovernanceRetention: true })).status, 204);
    assert.equal((await f.vault('gov-30d-vault').describe()).archives, 0);
    assert.equal((await f.call('GET', '/shelf/RET001L5')).status, 404);
  });

  it('refuses to delete a COMPLIANCE-locked archive even with the bypass, and deletes it once retention has expired', async () => {
    f.clock.now = new Date();
    await archivedIn('COMPLIANCE-30D', 'RET002L5');
    const bypass = await f.call('DELETE', '/shelf/RET002L5', { bypassGovernanceRetention: true });
    assert.equal(bypass.status, 409);
    assert.equal(bypass.body.error.code, 'RETENTION_LOCKED');
    assert.match(bypass.body.error.message, /COMPLIANCE retention lock .*nobody can delete it/);

    f.clock.now = new Date(Date.now() + 31 * DAY);
    assert.equal((await f.call('DELETE', '/shelf/RET002L5')).status, 204);
    assert.equal((await f.vault('compliance-30d-vault').describe()).archives, 0);
  });

  it('answers what to do instead for requests the shelf refuses', async () => {
    const missing = await f.call('POST', '/shelf/NOPE01L5/retrieve');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'TAPE_NOT_FOUND');
    const tier = await f.call('POST', '/shelf/NOPE01L5/retrieve', { tier: 'Fast' });
    assert.equal(tier.status, 400);
    assert.match(tier.body.error.message, /Expedited/);
  });
});
