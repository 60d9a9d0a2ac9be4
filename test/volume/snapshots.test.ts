// Snapshots on a real engine over s3rver: a point in time that later writes do
// not change, incremental uploads, restores of either type, deletion that keeps
// what others need; and recovery of a fresh gateway from the bucket alone, on
// s3rver and on Ceph RGW.
import assert from 'node:assert/strict';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { VolumeServiceError } from '../../src/volume/volume-service.ts';
import { startS3, tempDir, type S3Fixture } from '../cloud/helpers.ts';
import { describeEachBackend } from '../helpers/s3-backends.ts';
import { metric, pattern } from '../cache/helpers.ts';
import { GiB, MiB, openVolumes, until, type OpenedVolumes } from './helpers.ts';

/** The snapshot once it is no longer PENDING; it must have COMPLETED. */
async function completed(v: OpenedVolumes, id: string) {
  await until(async () => (await v.service.describeSnapshot(id)).status !== 'PENDING', 60_000, `snapshot ${id}`);
  const info = await v.service.describeSnapshot(id);
  assert.equal(info.status, 'COMPLETED', info.error);
  return info;
}

/** Data directories for a suite's gateways, each new; removeAll() removes those made so far. */
function scratchDirs(): { scratch: () => Promise<string>; removeAll: () => Promise<void> } {
  const dirs: string[] = [];
  return {
    scratch: async () => {
      const d = await tempDir('snapshots-');
      dirs.push(d);
      return d;
    },
    removeAll: async () => {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

describe('volume snapshots', function () {
  this.timeout(180_000);
  let s3: S3Fixture;
  const { scratch, removeAll } = scratchDirs();
  const bucketKeys = async (prefix: string) => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await s3.raw.send(new ListObjectsV2Command({ Bucket: s3.settings.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(out.Contents ?? []).map((o) => o.Key!));
      token = out.NextContinuationToken;
    } while (token);
    return keys.sort();
  };
  before(async () => {
    s3 = await startS3();
  });
  after(async () => {
    await s3.close();
    await removeAll();
  });

  it('keeps the moment it was taken while the volume is written on, uploads only what changed, and restores as cached and as stored', async () => {
    const v = await openVolumes(await scratch(), s3.settings);
    try {
      const vol = await v.service.createVolume({ name: 'src', type: 'cached', sizeBytes: GiB });
      const disk = v.exposure.device('src');
      const before = pattern('before', 8 * MiB);
      await disk.write(0, before);
      const first = await v.service.createSnapshot('src', { description: 'first' });
      assert.equal(first.status, 'PENDING');
      assert.equal(first.chunkCount, 8);
      assert.equal(first.changedChunks, 8);
      // Written on at once: a new generation for chunk 2, chunk 3 unmapped, chunk 20 new.
      const after = pattern('after', 4096);
      await disk.write(2 * MiB + 4096, after);
      await disk.discard(3 * MiB, MiB);
      await disk.write(20 * MiB, after);
      await disk.flush();
      await completed(v, first.id);

      const uploadedBefore = await metric(v.engine, 'CloudBytesUploaded');
      const second = await v.service.createSnapshot('src', { description: 'second' });
      assert.equal(second.changedChunks, 2, 'chunks 2 and 20 changed since the first');
      await completed(v, second.id);
      const uploaded = (await metric(v.engine, 'CloudBytesUploaded')) - uploadedBefore;
      assert.ok(uploaded <= 2 * MiB + 64 * 1024, `the second snapshot uploaded ${uploaded} bytes for 2 changed chunks and its manifest`);

      // The live volume has the later writes; the first snapshot has none of them.
      const now = Buffer.from(before);
      after.copy(now, 2 * MiB + 4096);
      now.fill(0, 3 * MiB, 4 * MiB);
      assert.ok((await disk.read(0, 8 * MiB)).equals(now));

      const cached = await v.service.createVolume({ name: 'from-first', type: 'cached', fromSnapshot: first.id });
      assert.equal(cached.sizeBytes, GiB, 'the snapshot size by default');
      assert.equal(cached.sourceSnapshotId, first.id);
      const restored = v.exposure.device('from-first');
      assert.ok((await restored.read(0, 8 * MiB)).equals(before), 'usable at once, with the first moment');
      assert.ok((await restored.read(20 * MiB, 4096)).equals(Buffer.alloc(4096)));
      await until(
        async () => (await v.service.describeVolume('from-first')).status === 'AVAILABLE',
        30_000,
        'the cached restore to be checked',
      );

      const stored = await v.service.createVolume({ name: 'stored-copy', type: 'stored', fromSnapshot: second.id, sizeBytes: 2 * GiB });
      assert.ok(['RESTORING', 'AVAILABLE'].includes(stored.status));
      const storedDisk = v.exposure.device('stored-copy');
      assert.equal(storedDisk.size, 2 * GiB);
      assert.ok((await storedDisk.read(0, 8 * MiB)).equals(now), 'readable while RESTORING');
      await until(async () => (await v.service.describeVolume('stored-copy')).status === 'AVAILABLE', 60_000, 'the stored restore');
      const file = await open(join(v.directory, 'volumes', `${stored.id}.img`));
      const head = Buffer.alloc(21 * MiB);
      await file.read(head, 0, head.length, 0);
      await file.close();
      assert.ok(head.subarray(0, 8 * MiB).equals(now), 'the file holds the snapshot');
      assert.ok(head.subarray(20 * MiB, 20 * MiB + 4096).equals(after));
      // Writing to a restored volume changes it alone.
      await restored.write(0, after);
      assert.ok((await disk.read(0, 4096)).equals(before.subarray(0, 4096)));
      assert.ok((await storedDisk.read(0, 4096)).equals(now.subarray(0, 4096)));

      await assert.rejects(
        v.service.createVolume({ name: 'too-small', type: 'cached', fromSnapshot: second.id, sizeBytes: GiB / 2 }),
        (e: unknown) => e instanceof VolumeServiceError && e.code === 'SNAPSHOT_TOO_LARGE' && /at least 1GiB/.test(e.message),
      );
      await assert.rejects(
        v.service.createVolume({ name: 'too-small', type: 'stored', fromSnapshot: vol.id, sizeBytes: GiB }),
        (e: unknown) => e instanceof VolumeServiceError && e.code === 'SNAPSHOT_NOT_FOUND',
      );
    } finally {
      await v.close();
    }
  });

  it('deletes only the chunks no other snapshot or volume needs', async () => {
    const v = await openVolumes(await scratch(), s3.settings);
    try {
      const vol = await v.service.createVolume({ name: 'gc', type: 'cached', sizeBytes: GiB });
      const disk = v.exposure.device('gc');
      await disk.write(0, pattern('one', 4 * MiB));
      const s1 = await completed(v, (await v.service.createSnapshot('gc')).id);
      await disk.write(0, pattern('two', MiB)); // chunk 0 gets a new generation
      const s2 = await completed(v, (await v.service.createSnapshot('gc')).id);
      await disk.write(MiB, pattern('three', MiB)); // chunk 1 too
      await disk.flush();
      await v.engine.namespace('volumes/').drain();
      const chunks = () => bucketKeys(`volumes/${vol.id}/chunks/`);
      assert.equal((await chunks()).length, 6, 'chunks 0-3, chunk 0 again, chunk 1 again');

      await v.service.deleteSnapshot(s1.id);
      await v.engine.namespace('volumes/').drain();
      // Chunk 0's first generation was s1's alone; chunk 1's first is s2's; chunks 2 and 3 are everyone's.
      assert.equal((await chunks()).length, 5);
      assert.deepEqual(await bucketKeys(`volumes/snapshots/${s1.id}/`), []);
      await assert.rejects(
        v.service.describeSnapshot(s1.id),
        (e: unknown) => e instanceof VolumeServiceError && e.code === 'SNAPSHOT_NOT_FOUND',
      );

      const restored = await v.service.createVolume({ name: 'gc-copy', type: 'cached', fromSnapshot: s2.id });
      await v.service.deleteSnapshot(s2.id);
      await v.service.deleteVolume('gc');
      await v.engine.namespace('volumes/').drain();
      // The restored volume still names s2's chunks: 0 (second generation), 1, 2, 3.
      assert.equal((await chunks()).length, 4);
      const copy = v.exposure.device('gc-copy');
      assert.ok((await copy.read(0, MiB)).equals(pattern('two', MiB)));
      assert.ok((await copy.read(MiB, 3 * MiB)).equals(pattern('one', 4 * MiB).subarray(MiB)));
      assert.equal(restored.sourceSnapshotId, s2.id);
      await v.service.deleteVolume('gc-copy');
      await v.engine.namespace('volumes/').drain();
      assert.deepEqual(await chunks(), []);
    } finally {
      await v.close();
    }
  });
});

// The round trip that depends on what the object store does (listing, ranged reads, the manifest),
// on each backend: a snapshot written by one gateway, found in the bucket and restored by another.
describeEachBackend('volume snapshots recovered from the bucket', function (backend) {
  this.timeout(180_000);
  let s3: S3Fixture;
  const { scratch, removeAll } = scratchDirs();
  beforeEach(async () => (s3 = await backend.bucket()));
  afterEach(async () => {
    await s3.close();
    await removeAll();
  });

  it('a fresh gateway on the same bucket finds the snapshots there and restores them', async () => {
    const old = await openVolumes(await scratch(), s3.settings);
    let snapshotId: string;
    const data = pattern('recover', 3 * MiB + 4096);
    try {
      await old.service.createVolume({ name: 'lost', type: 'stored', sizeBytes: GiB, blockSize: 4096 });
      const disk = old.exposure.device('lost');
      await until(async () => (await old.service.describeVolume('lost')).status === 'AVAILABLE', 30_000, 'the new stored volume');
      await disk.write(MiB, data);
      snapshotId = (await completed(old, (await old.service.createSnapshot('lost', { description: 'nightly' })).id)).id;
    } finally {
      await old.close();
    }
    // The manifest alone says what the snapshot is.
    const manifest = JSON.parse(
      await (
        await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: `volumes/snapshots/${snapshotId}/manifest.json` }))
      ).Body!.transformToString(),
    ) as Record<string, unknown>;
    assert.equal(manifest['format'], 'tape-gateway/volume-snapshot');
    assert.equal(manifest['volumeName'], 'lost');
    assert.equal(manifest['chunkCount'], 4);

    const fresh = await openVolumes(await scratch(), s3.settings);
    try {
      const found = await fresh.service.listSnapshots();
      const snapshot = found.find((s) => s.id === snapshotId);
      assert.ok(snapshot, `the fresh gateway lists ${snapshotId}: ${JSON.stringify(found)}`);
      assert.equal(snapshot.imported, true);
      assert.equal(snapshot.status, 'COMPLETED');
      assert.equal(snapshot.description, 'nightly');
      assert.equal(snapshot.blockSize, 4096);
      await fresh.service.createVolume({ name: 'back', type: 'cached', fromSnapshot: snapshotId });
      const disk = fresh.exposure.device('back');
      assert.equal(disk.blockSize, 4096);
      assert.ok((await disk.read(MiB, data.length)).equals(data));
      await fresh.service.createVolume({ name: 'back-stored', type: 'stored', fromSnapshot: snapshotId });
      await until(async () => (await fresh.service.describeVolume('back-stored')).status === 'AVAILABLE', 60_000, 'the stored restore');
      assert.ok((await fresh.exposure.device('back-stored').read(MiB, data.length)).equals(data));
    } finally {
      await fresh.close();
    }
  });
});
