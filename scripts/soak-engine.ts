// npm run soak:engine [-- --minutes 10 --lanes 2]
// The crash test at length: children writing through the engine are killed
// with SIGKILL at random moments until the time is up (bounded), then every
// durable extent must read back and reach S3, and nothing in S3 may be corrupt.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startS3 } from '../test/cloud/helpers.ts';
import { crashTrials } from '../test/cache/crash-trials.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, lanes: { type: 'string', default: '2' } } });
const minutes = Math.min(Number(values.minutes), 24 * 60);
const deadline = Date.now() + minutes * 60_000;
const dir = await mkdtemp(join(tmpdir(), 'soak-engine-'));
const s3 = await startS3('soak-engine');
const started = Date.now();
try {
  const report = await crashTrials({ dir, settings: s3.settings, lanes: Number(values.lanes), more: () => Date.now() < deadline });
  console.log(
    `soak passed: ${report.trials} SIGKILL trials in ${((Date.now() - started) / 60_000).toFixed(1)} min; ${report.durable} durable extents read back and found whole in S3; ${report.objects} objects in S3 checked, none corrupt`,
  );
} finally {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
}
