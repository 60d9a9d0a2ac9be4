// Cancelling an archival and a retrieval through the management API, with the
// real parts in one process; retrieval jobs take longer than the test waits.
import assert from 'node:assert/strict';
import { cartridgeKeys } from '../../src/tape/cartridge.ts';
import { startShelfFixture, UNREACHABLE_VAULT, type ShelfFixture } from './fixture.ts';

describe('vault shelf cancels', function () {
  this.timeout(120_000);
  let f: ShelfFixture;

  before(async () => {
    f = await startShelfFixture({ jobDelaySeconds: 3600 });
  });
  after(async () => {
    await f.close();
  });

  it('cancels an archival that cannot reach Glacier: the cartridge is back in a storage slot with its data', async () => {
    await f.pools.create({ name: 'OFFLINE', destination: { kind: 'vault', vault: UNREACHABLE_VAULT } });
    await f.cartridge('CAN001L5', 'OFFLINE');
    assert.equal((await f.call('POST', '/tapes/CAN001L5/archive')).status, 202);
    await f.until('CAN001L5', 'ARCHIVING');
    assert.equal((await f.call('GET', '/tapes/CAN001L5')).status, 404, 'it left the library');

    assert.equal((await f.call('POST', '/shelf/CAN001L5/cancel-archival')).status, 204);
    const back = await f.call('GET', '/tapes/CAN001L5');
    assert.equal(back.status, 200);
    assert.equal(back.body.status, 'AVAILABLE');
    assert.equal(back.body.location.kind, 'slot');
    assert.equal((await f.call('GET', '/shelf/CAN001L5')).status, 404, 'no longer on the shelf');
    assert.ok(
      (await f.tapeStore.size(cartridgeKeys('CAN001L5').manifest('a'))) !== undefined ||
        (await f.tapeStore.size(cartridgeKeys('CAN001L5').manifest('b'))) !== undefined,
      'its data is still there',
    );

    const again = await f.call('POST', '/shelf/CAN001L5/cancel-archival');
    assert.equal(again.status, 404);
  });

  it('cancels a retrieval: the cartridge is ARCHIVED again and can be deleted', async () => {
    await f.cartridge('CAN002L5');
    assert.equal((await f.call('POST', '/tapes/CAN002L5/archive')).status, 202);
    await f.until('CAN002L5', 'ARCHIVED');
    const refused = await f.call('POST', '/shelf/CAN002L5/cancel-archival');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'NOT_ARCHIVING');

    assert.equal((await f.call('POST', '/shelf/CAN002L5/retrieve', { tier: 'Bulk' })).status, 202);
    const cancelled = await f.call('POST', '/shelf/CAN002L5/cancel-retrieval');
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'ARCHIVED');
    assert.equal((await f.call('GET', '/tapes/CAN002L5')).status, 404, 'not in the library');
    const twice = await f.call('POST', '/shelf/CAN002L5/cancel-retrieval');
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'NOT_RETRIEVING');
    assert.equal((await f.call('DELETE', '/shelf/CAN002L5')).status, 204);
  });
});
