import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { crashTrials } from './crash-trials.ts';

describeEachBackend('@slow cache engine under SIGKILL', function (backend) {
  this.timeout(300_000);
  let s3: S3Fixture;
  let dir: string;

  before(async () => {
    s3 = await backend.bucket();
    dir = await tempDir('crash-');
  });
  after(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Fewer on RGW, where a trial costs five times as long: what differs there is the store, not the kill.
  const perLane = backend.name === 'rgw' ? 2 : 5;

  it(`after ${4 * perLane} kills at random moments, every durable extent reads back, reaches S3, and nothing in S3 is corrupt`, async () => {
    const report = await crashTrials({ dir, settings: { ...s3.settings }, lanes: 4, more: (done) => done < perLane });
    assert.equal(report.trials, 4 * perLane);
    assert.ok(report.durable >= 2 * perLane, `only ${report.durable} extents were made durable`);
  });
});
