// The volume service's refusals (each with what to do instead, changing
// nothing) and its snapshot schedules, on a real engine over s3rver.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeServiceError, type VolumeErrorCode } from '../../src/volume/volume-service.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { GiB, MiB, openVolumes, until, type OpenedVolumes } from './helpers.ts';

const TiB = 1024 * GiB;

describe('volume service', function () {
  this.timeout(120_000);
  let s3: S3Fixture;
  let v: OpenedVolumes;
  let dir: string;

  const refused = async (action: Promise<unknown>, code: VolumeErrorCode, message: RegExp) => {
    await assert.rejects(action, (e: unknown) => {
      assert.ok(e instanceof VolumeServiceError, `a VolumeServiceError, not ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    });
  };

  before(async () => {
    s3 = await startS3();
    dir = await tempDir('service-');
    v = await openVolumes(dir, s3.settings, { service: { minimumScheduleMs: 200 } });
  });
  after(async () => {
    await v.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad requests with a clear reason, and they change nothing', async () => {
    await v.service.createVolume({ name: 'keep', type: 'stored', sizeBytes: GiB });
    const listed = JSON.stringify(await v.service.listVolumes());
    const files = await readdir(join(dir, 'volumes'));

    await refused(v.service.createVolume({ name: 'Bad_Name', type: 'cached', sizeBytes: GiB }), 'INVALID_NAME', /lower-case letters/);
    await refused(v.service.createVolume({ name: 'x'.repeat(33), type: 'cached', sizeBytes: GiB }), 'INVALID_NAME', /1 to 32/);
    await refused(v.service.createVolume({ name: 'keep', type: 'cached', sizeBytes: GiB }), 'DUPLICATE_VOLUME', /exists already/);
    await refused(v.service.createVolume({ name: 'odd', type: 'tape' as never, sizeBytes: GiB }), 'INVALID_TYPE', /"cached".*"stored"/);
    await refused(v.service.createVolume({ name: 'small', type: 'cached', sizeBytes: 512 * MiB }), 'INVALID_SIZE', /1GiB to 32TiB/);
    await refused(v.service.createVolume({ name: 'huge', type: 'cached', sizeBytes: 33 * TiB }), 'INVALID_SIZE', /1GiB to 32TiB/);
    await refused(v.service.createVolume({ name: 'huge', type: 'stored', sizeBytes: 17 * TiB }), 'INVALID_SIZE', /1GiB to 16TiB/);
    await refused(
      v.service.createVolume({ name: 'ragged', type: 'cached', sizeBytes: GiB + 512, blockSize: 4096 }),
      'INVALID_SIZE',
      /4096-byte blocks/,
    );
    await refused(
      v.service.createVolume({ name: 'blocks', type: 'cached', sizeBytes: GiB, blockSize: 1024 }),
      'INVALID_BLOCK_SIZE',
      /512 or 4096/,
    );
    await refused(
      v.service.createVolume({ name: 'restore', type: 'cached', fromSnapshot: 'snap-0000000000000000' }),
      'SNAPSHOT_NOT_FOUND',
      /snapshot list/,
    );
    await refused(v.service.createSnapshot('nope'), 'VOLUME_NOT_FOUND', /the gateway has keep/);
    await refused(v.service.describeVolume('nope'), 'VOLUME_NOT_FOUND', /no volume is named "nope"/);
    await refused(v.service.deleteSnapshot('snap-nope'), 'SNAPSHOT_NOT_FOUND', /no snapshot/);
    await refused(v.service.setSchedule('keep', 100), 'INVALID_SCHEDULE', /every 0.2 seconds at most often/);
    await refused(v.service.createSnapshot('keep', { description: 'd'.repeat(256) }), 'INVALID_DESCRIPTION', /255/);

    assert.equal(JSON.stringify(await v.service.listVolumes()), listed);
    assert.deepEqual(await readdir(join(dir, 'volumes')), files);
    assert.deepEqual(await v.service.listSnapshots(), []);
  });

  it('refuses to delete a volume with a logged-in initiator unless forced', async () => {
    await v.service.createVolume({ name: 'in-use', type: 'cached', sizeBytes: GiB });
    v.exposure.loggedIn.set('in-use', 1);
    await refused(v.service.deleteVolume('in-use'), 'VOLUME_IN_USE', /1 initiator session.*--force/);
    assert.ok(v.exposure.served.has('in-use'), 'still served');
    assert.equal((await v.service.describeVolume('in-use')).status, 'AVAILABLE');
    await v.service.deleteVolume('in-use', { force: true });
    assert.ok(!v.exposure.served.has('in-use'), 'its target is gone');
    await refused(v.service.describeVolume('in-use'), 'VOLUME_NOT_FOUND', /no volume/);
  });

  it('takes snapshots on the schedule set, and none once it is off', async () => {
    await v.service.createVolume({ name: 'nightly', type: 'cached', sizeBytes: GiB });
    assert.equal(
      (await v.service.describeVolume('nightly')).snapshotSchedule.everySeconds,
      null,
      'cached volumes have no schedule unless given one',
    );
    await v.exposure.device('nightly').write(0, Buffer.alloc(4096, 1));
    const info = await v.service.setSchedule('nightly', 300);
    assert.equal(info.snapshotSchedule.everySeconds, 0.3);
    await until(async () => (await v.service.listSnapshots({ volume: 'nightly' })).length >= 2, 20_000, 'two scheduled snapshots');
    const taken = await v.service.listSnapshots({ volume: 'nightly' });
    assert.ok(taken.every((s) => s.scheduled && s.description === 'scheduled'));
    assert.ok(Date.parse(taken[1]!.createdAt) - Date.parse(taken[0]!.createdAt) >= 250, 'about the interval apart');
    await v.service.setSchedule('nightly', null);
    const count = (await v.service.listSnapshots({ volume: 'nightly' })).length;
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await v.service.listSnapshots({ volume: 'nightly' })).length, count);
    await v.service.uploadsSettled();
  });
});
