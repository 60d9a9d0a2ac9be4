// Stored volumes on a real engine over s3rver: the file is the volume, the
// image in the bucket follows it; when the upload buffer fills (here because
// S3 answers nothing but errors, through the fault injector) the volume keeps
// serving I/O PASS THROUGH, then BOOTSTRAPPING catches the image up.
import assert from 'node:assert/strict';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeServiceError } from '../../src/volume/volume-service.ts';
import { startS3, tempDir, type S3rverFixture } from '../cloud/helpers.ts';
import { startFaultInjector, type FaultInjector } from '../cloud/fault-injector.ts';
import { pattern } from '../cache/helpers.ts';
import { CountingPool } from '../helpers/counting-pool.ts';
import { capturingLogger, type LogRecord } from '../helpers/log-records.ts';
import { GiB, MiB, openVolumes, until, type OpenedVolumes } from './helpers.ts';

describe('stored volumes', function () {
  this.timeout(180_000);
  let s3: S3rverFixture;
  let faults: FaultInjector;
  const dirs: string[] = [];
  const scratch = async () => {
    const d = await tempDir('stored-');
    dirs.push(d);
    return d;
  };
  const status = async (v: OpenedVolumes, name: string) => (await v.service.describeVolume(name)).status;

  /** What the bucket's image of a stored volume holds, seen through a cached volume restored from a new snapshot. */
  async function imageThroughSnapshot(v: OpenedVolumes, name: string, offset: number, length: number): Promise<Buffer> {
    const snapshot = await v.service.createSnapshot(name);
    await until(async () => (await v.service.describeSnapshot(snapshot.id)).status !== 'PENDING', 60_000, 'the snapshot');
    assert.equal((await v.service.describeSnapshot(snapshot.id)).status, 'COMPLETED');
    const copy = `${name}-image`;
    await v.service.createVolume({ name: copy, type: 'cached', fromSnapshot: snapshot.id });
    try {
      return Buffer.from(await v.exposure.device(copy).read(offset, length));
    } finally {
      await v.service.deleteVolume(copy);
    }
  }

  before(async () => {
    s3 = await startS3();
    faults = await startFaultInjector({ target: s3.s3.endpoint, rate: 0, seed: 20261206 });
  });
  after(async () => {
    await faults.close();
    await s3.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('keeps the whole volume in its file and its image in the bucket in step', async () => {
    const dir = await scratch();
    const v = await openVolumes(dir, s3.settings);
    try {
      const info = await v.service.createVolume({ name: 'local', type: 'stored', sizeBytes: GiB });
      assert.equal(info.snapshotSchedule.everySeconds, 24 * 3600, 'a stored volume is snapshotted daily unless told otherwise');
      assert.ok(info.snapshotSchedule.nextAt);
      const disk = v.exposure.device('local');
      const data = pattern('local', 3 * MiB);
      await disk.write(MiB / 2, data);
      await disk.discard(2 * MiB, MiB);
      await disk.flush();
      const expected = Buffer.alloc(4 * MiB);
      data.copy(expected, MiB / 2);
      expected.fill(0, 2 * MiB, 3 * MiB);
      assert.ok((await disk.read(0, 4 * MiB)).equals(expected));
      const file = await open(join(dir, 'volumes', `${info.id}.img`));
      const head = Buffer.alloc(4 * MiB);
      await file.read(head, 0, head.length, 0);
      await file.close();
      assert.ok(head.equals(expected), 'the file is the volume');
      assert.ok((await imageThroughSnapshot(v, 'local', 0, 4 * MiB)).equals(expected), 'the bucket holds the same');
    } finally {
      await v.close();
    }
  });

  it('goes PASS THROUGH when the upload buffer fills, serves I/O all along, then BOOTSTRAPPING to AVAILABLE with the image caught up', async () => {
    const settings = {
      ...s3.settings,
      endpoint: faults.endpoint,
      idleTimeoutMs: 1000,
      retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
    };
    const log: LogRecord[] = [];
    const v = await openVolumes(await scratch(), settings, {
      engine: { cacheBytes: 64 * MiB, uploadBufferBytes: 16 * MiB },
      service: { logger: capturingLogger(log, 'info') },
    });
    try {
      await v.service.createVolume({ name: 'busy', type: 'stored', sizeBytes: GiB });
      const disk = v.exposure.device('busy');
      faults.setRate(1); // S3 answers every request with an error
      const written: Buffer[] = [];
      for (let i = 0; i < 24; i++) {
        const data = pattern(`busy-${i}`, MiB);
        written.push(data);
        await disk.write(i * MiB, data);
        await disk.flush();
      }
      assert.equal(await status(v, 'busy'), 'PASS THROUGH');
      for (let i = 0; i < 24; i++)
        assert.ok((await disk.read(i * MiB, MiB)).equals(written[i]!), `chunk ${i} reads back while PASS THROUGH`);
      await assert.rejects(
        v.service.createSnapshot('busy'),
        (e: unknown) => e instanceof VolumeServiceError && e.code === 'VOLUME_NOT_AVAILABLE' && /PASS THROUGH/.test(e.message),
      );

      faults.setRate(0);
      const seen = new Set<string>();
      await until(
        async () => {
          const info = await v.service.describeVolume('busy');
          seen.add(info.status);
          return info.status === 'AVAILABLE';
        },
        120_000,
        'the volume to catch up',
      );
      // The catch-up can be quicker than a poll: the log line marks the moment the status turned BOOTSTRAPPING.
      const bootstrapping = log.filter((r) => /volume is BOOTSTRAPPING/.test(r.msg));
      assert.ok(bootstrapping.length > 0, `went BOOTSTRAPPING: ${log.map((r) => r.msg).join(' | ')}`);
      assert.ok(Number(bootstrapping[0]!.stale) > 0, 'with stale chunks to catch up');
      assert.deepEqual(
        [...seen].filter((s) => !['PASS THROUGH', 'BOOTSTRAPPING', 'AVAILABLE'].includes(s)),
        [],
        'no other status on the way',
      );
      const expected = Buffer.concat(written);
      assert.ok((await imageThroughSnapshot(v, 'busy', 0, 24 * MiB)).equals(expected), 'the image holds what was written PASS THROUGH');
    } finally {
      faults.setRate(0);
      await v.close();
    }
  });

  it("takes in a file the configuration names, BOOTSTRAPPING until its data is in the bucket, each chunk read into the pool's buffers", async () => {
    const dir = await scratch();
    const volumes = join(dir, 'volumes');
    const data = pattern('legacy', 2 * MiB);
    // A volume file as the gateway kept it before volumes reached the bucket.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(volumes, { recursive: true });
    const legacy = Buffer.alloc(64 * MiB);
    data.copy(legacy, 40 * MiB);
    await writeFile(join(volumes, 'legacy.img'), legacy);
    const pool = new CountingPool();
    const v = await openVolumes(dir, s3.settings, {
      configured: [{ name: 'legacy', size: 64 * MiB, blockSize: 512 }],
      service: { readBuffers: pool },
    });
    try {
      const info = await v.service.describeVolume('legacy');
      assert.equal(info.type, 'stored');
      assert.equal(info.fromConfig, true);
      assert.ok((await v.exposure.device('legacy').read(40 * MiB, data.length)).equals(data), 'serves its data at once');
      await until(async () => (await status(v, 'legacy')) === 'AVAILABLE', 60_000, 'the adoption');
      // Its 64 chunks read from the file, each into a buffer of the pool given back once the image had it.
      assert.ok(pool.taken >= 64, `the adoption read its chunks into the pool's buffers (${pool.taken} taken)`);
      assert.equal(pool.out, 0, 'every buffer came back');
      assert.equal((await v.service.describeVolume('legacy')).usedBytes, 2 * MiB, 'only chunks with data went to the bucket');
      assert.ok((await imageThroughSnapshot(v, 'legacy', 40 * MiB, data.length)).equals(data));
      await assert.rejects(
        v.service.deleteVolume('legacy'),
        (e: unknown) => e instanceof VolumeServiceError && e.code === 'VOLUME_IN_CONFIG',
      );
    } finally {
      await v.close();
    }
    // Grown in the configuration: the file grows, the data stays; shrinking is refused.
    const grown = await openVolumes(dir, s3.settings, { configured: [{ name: 'legacy', size: 128 * MiB, blockSize: 512 }] });
    try {
      assert.equal(grown.exposure.device('legacy').size, 128 * MiB);
      assert.ok((await grown.exposure.device('legacy').read(40 * MiB, data.length)).equals(data));
    } finally {
      await grown.close();
    }
    await assert.rejects(
      openVolumes(dir, s3.settings, { configured: [{ name: 'legacy', size: 64 * MiB, blockSize: 512 }] }),
      /cannot shrink/,
    );
  });
});
