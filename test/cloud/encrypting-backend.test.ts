// Client-side encryption over the real ObjectStore and s3rver: what the bucket
// holds is ciphertext (read raw with the SDK), every plaintext range reads back
// exact, a key the gateway lacks and bytes or metadata changed behind its back
// are refused and never served, keys rotate by re-keying new writes, and the
// engine's ranged reads work through the layer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { blockCrcs, encodeCrcs, regroup } from '../../src/crc32c/block-checksums.ts';
import {
  EncryptingBackend,
  EncryptionKeyMissingError,
  NotEncryptedError,
  plaintextSize,
  storedSize,
} from '../../src/cloud/encrypting-backend.ts';
import { parseEncryptionKeys, type EncryptionKeys } from '../../src/cloud/encryption-keys.ts';
import { ObjectStore, metadataBlockSize } from '../../src/cloud/object-store.ts';
import type { PutSource } from '../../src/cloud/object-backend.ts';
import { ChecksumMismatchError } from '../../src/cloud/retry.ts';
import { DamagedDataError } from '../../src/cache/errors.ts';
import { CacheEngine } from '../../src/cache/engine.ts';
import type { ExtentStore } from '../../src/cache/extent-store.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import type { S3Settings } from '../../src/cloud/object-store.ts';
import { silentLogger } from '../../src/log.ts';
import { MiB, pattern } from '../cache/helpers.ts';
import { startS3, tempDir, type S3Fixture } from './helpers.ts';
import { flipBits } from '../helpers/bytes.ts';

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('hex');
const keysOf = (...keys: string[]): EncryptionKeys => parseEncryptionKeys(keys.join('\n'), 'the test');

/** A PutSource over a buffer, with the engine's 256 KiB block checksums; it copies into the buffer it is given, as the cache does. */
function sourceOf(data: Buffer): PutSource {
  return {
    size: data.length,
    checksums: { blockSize: 256 * 1024, crcs: blockCrcs(data, 256 * 1024) },
    async read(offset, length, into) {
      data.copy(into, 0, offset, offset + length);
      return into.subarray(0, length);
    },
  };
}

async function raw(s3: S3Fixture, key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const answer = await s3.raw.send(new GetObjectCommand({ Bucket: s3.settings.bucket, Key: key }));
  return { body: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {} };
}

/** Puts `body` at `key` behind the gateway's back, with checksum metadata the layer below accepts (as anyone who may write to the bucket could). */
async function forge(s3: S3Fixture, key: string, body: Buffer, metadata: Record<string, string>): Promise<void> {
  const block = metadataBlockSize(body.length);
  const crcs = regroup({ blockSize: 64 * 1024, crcs: blockCrcs(body, 64 * 1024) }, body.length, block)!;
  await s3.raw.send(
    new PutObjectCommand({
      Bucket: s3.settings.bucket,
      Key: key,
      Body: body,
      Metadata: { ...metadata, 'gw-block': String(block), 'gw-crc32c': encodeCrcs(crcs) },
    }),
  );
}

/** An engine (its own catalog and cache) whose objects go through the encrypting layer with `keys`. */
async function encryptedEngine(
  directory: string,
  settings: S3Settings,
  keys: EncryptionKeys,
): Promise<{ store: ExtentStore; close(): Promise<void> }> {
  const catalog = await Catalog.open(`${directory}/catalog`);
  const engine = await CacheEngine.open({
    directory: `${directory}/cache`,
    catalog,
    backend: (hooks) => new EncryptingBackend(new ObjectStore(settings, hooks), keys),
    cacheBytes: 256 * MiB,
    uploadBufferBytes: 128 * MiB,
    logger: silentLogger(),
  });
  return {
    store: engine.namespace(''),
    async close() {
      await engine.close();
      await catalog.close();
    },
  };
}

describe('@slow client-side encryption over S3', function () {
  this.timeout(120_000);
  let s3: S3Fixture;
  let plain: ObjectStore;
  let encrypted: EncryptingBackend;

  before(async () => {
    s3 = await startS3();
    plain = new ObjectStore({ ...s3.settings, multipartThreshold: 8 * MiB, minPartSize: 5 * MiB });
    encrypted = new EncryptingBackend(plain, keysOf(KEY_A));
  });
  after(async () => {
    encrypted.close();
    await s3.close();
  });

  it('stores ciphertext: the bucket read raw holds none of the plaintext, and the key id, salt and size in metadata', async () => {
    const data = Buffer.from('tape block of a backup nobody else may read. '.repeat(5000));
    await encrypted.put('secret/segment', sourceOf(data), { metadata: { mode: '0600' } });
    const { body, metadata } = await raw(s3, 'secret/segment');
    assert.equal(body.length, storedSize(data.length));
    assert.ok(!body.includes('tape block of a backup'), 'no plaintext sentence in the stored bytes');
    assert.ok(!body.subarray(0, data.length).equals(data));
    assert.equal(metadata['gw-enc'], 'aes-256-gcm/65536');
    assert.equal(metadata['gw-enc-key'], keysOf(KEY_A).current.id);
    assert.match(metadata['gw-enc-salt']!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(metadata['gw-enc-size'], String(data.length));
    assert.equal(metadata['mode'], '0600', 'user metadata stays readable');

    const head = await encrypted.head('secret/segment');
    assert.deepEqual([head?.size, head?.metadata], [data.length, { mode: '0600' }]);
    assert.ok((await encrypted.get('secret/segment')).data.equals(data));
  });

  it('reads back every size and range exact, single and multipart, from a buffer or a source', async () => {
    const sizes = [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * MiB + 17, 12 * MiB + 5];
    for (const size of sizes) {
      const data = randomBytes(size);
      await encrypted.put(`sizes/${size}/buffer`, data);
      await encrypted.put(`sizes/${size}/source`, sourceOf(data));
      for (const form of ['buffer', 'source']) {
        const key = `sizes/${size}/${form}`;
        const whole = await encrypted.get(key);
        assert.deepEqual([whole.size, whole.data.equals(data)], [size, true], key);
        const ranges = [
          [0, Math.min(size, 1)],
          [Math.floor(size / 3), Math.floor(size / 3)],
          [size - Math.min(size, 70_000), Math.min(size, 70_000)],
          [Math.min(size, 256 * 1024), Math.max(0, Math.min(size - 256 * 1024, 256 * 1024))],
          [size, 0],
        ];
        for (const [offset, length] of ranges) {
          const got = await new EncryptingBackend(plain, keysOf(KEY_A)).get(key, { offset: offset!, length: length! }, { sizeHint: size });
          assert.ok(got.data.equals(data.subarray(offset, offset! + length!)), `${key} at ${offset}+${length}`);
          assert.equal(got.size, size);
        }
      }
    }
    const listed = new Map<string, number>();
    for await (const info of encrypted.list('sizes/')) listed.set(info.key, info.size);
    for (const size of sizes) assert.equal(listed.get(`sizes/${size}/source`), size, 'listings show plaintext sizes');
    for (let stored = 0; stored < 300_000; stored += 997) assert.equal(storedSize(plaintextSize(storedSize(stored))), storedSize(stored));
  });

  it('refuses an object under a key it lacks, naming the key, and never serves its bytes', async () => {
    const data = randomBytes(200_000);
    await encrypted.put('keys/a', data);
    const stranger = new EncryptingBackend(plain, keysOf(KEY_B));
    for (const range of [undefined, { offset: 0, length: 1000 }]) {
      await assert.rejects(stranger.get('keys/a', range), (error: Error) => {
        assert.ok(error instanceof EncryptionKeyMissingError);
        assert.match(error.message, new RegExp(`encrypted with the key ${keysOf(KEY_A).current.id}, which this gateway does not have`));
        return true;
      });
    }
  });

  it('rotates keys: new writes under the new key, old objects still read, and the old key alone cannot read the new', async () => {
    const old = randomBytes(100_000);
    await encrypted.put('rotation/old', old);
    const rotated = new EncryptingBackend(plain, keysOf(KEY_B, KEY_A));
    const fresh = randomBytes(100_000);
    await rotated.put('rotation/new', fresh);
    assert.equal((await raw(s3, 'rotation/new')).metadata['gw-enc-key'], keysOf(KEY_B).current.id);
    assert.equal((await raw(s3, 'rotation/old')).metadata['gw-enc-key'], keysOf(KEY_A).current.id);
    assert.ok((await rotated.get('rotation/old')).data.equals(old));
    assert.ok((await rotated.get('rotation/new')).data.equals(fresh));
    await assert.rejects(encrypted.get('rotation/new'), EncryptionKeyMissingError);
  });

  it('refuses bytes or metadata changed behind its back, even with checksums the layer below accepts', async () => {
    const data = randomBytes(300_000);
    await encrypted.put('tamper/x', data);
    const { body, metadata } = await raw(s3, 'tamper/x');
    const { 'gw-block': _, 'gw-crc32c': __, ...own } = metadata;

    const flipped = Buffer.from(body);
    flipBits(flipped, 150_000, 1);
    await forge(s3, 'tamper/x', flipped, own);
    const fresh = () => new EncryptingBackend(plain, keysOf(KEY_A));
    await assert.rejects(fresh().get('tamper/x'), /chunk 2 \(bytes 131072…\) fails its AES-GCM tag/);
    await assert.rejects(fresh().get('tamper/x', { offset: 140_000, length: 10 }), ChecksumMismatchError);
    assert.ok(
      (await fresh().get('tamper/x', { offset: 0, length: 65_536 })).data.equals(data.subarray(0, 65_536)),
      'untouched chunks still read',
    );

    // Chunks swapped, a tag moved, the size claimed shorter: all refused.
    const swapped = Buffer.concat([body.subarray(65_536, 131_072), body.subarray(0, 65_536), body.subarray(131_072)]);
    await forge(s3, 'tamper/x', swapped, own);
    await assert.rejects(fresh().get('tamper/x', { offset: 0, length: 10 }), ChecksumMismatchError);
    const shorter = Buffer.concat([body.subarray(0, 65_536), body.subarray(300_000, 300_016)]);
    await forge(s3, 'tamper/x', shorter, { ...own, 'gw-enc-size': '65536' });
    await assert.rejects(fresh().get('tamper/x'), ChecksumMismatchError);
  });

  it('refuses an object stored without encryption, unless the namespace takes foreign objects', async () => {
    await plain.put('foreign/readme', Buffer.from('planted in the bucket'));
    await assert.rejects(encrypted.get('foreign/readme'), NotEncryptedError);
    assert.equal((await encrypted.get('foreign/readme', undefined, { allowUnverified: true })).data.toString(), 'planted in the bucket');
  });

  it('keeps an object readable through a server-side copy that replaces its user metadata', async () => {
    const data = randomBytes(150_000);
    await encrypted.put('copy/from', data, { metadata: { mode: '0644' } });
    await encrypted.copy('copy/from', 'copy/to', { metadata: { mode: '0600' } });
    assert.ok((await encrypted.get('copy/to')).data.equals(data));
    assert.deepEqual((await encrypted.head('copy/to'))?.metadata, { mode: '0600' });
  });

  it("serves the engine's ranged reads through the layer, and an engine with another key gets DamagedDataError, not data", async () => {
    const dir = await tempDir('encrypted-engine-');
    const settings = { ...s3.settings, prefix: 'engine/' };
    const writer = await encryptedEngine(`${dir}/writer`, settings, keysOf(KEY_A));
    const data = pattern('tapes/T/segments/1.data', 9 * MiB + 123);
    try {
      await writer.store.write('tapes/T/segments/1.data', 0, data, { fresh: true });
      await writer.store.drain();
    } finally {
      await writer.close();
    }
    assert.ok(!(await raw(s3, 'engine/tapes/T/segments/1.data')).body.includes(data.subarray(0, 4096)), 'ciphertext in the bucket');

    const reader = await encryptedEngine(`${dir}/reader`, settings, keysOf(KEY_A));
    const stranger = await encryptedEngine(`${dir}/stranger`, settings, keysOf(KEY_B));
    try {
      assert.equal(await reader.store.size('tapes/T/segments/1.data'), data.length);
      for (const [offset, length] of [
        [0, 4 * MiB],
        [4 * MiB, 4 * MiB],
        [8 * MiB, MiB + 123],
        [3 * MiB + 5, 77],
      ]) {
        assert.ok(
          (await reader.store.read('tapes/T/segments/1.data', offset!, length!)).equals(data.subarray(offset, offset! + length!)),
          `${offset}+${length}`,
        );
      }
      await assert.rejects(
        stranger.store.read('tapes/T/segments/1.data', 0, 4096),
        (error: Error) => error instanceof DamagedDataError && /does not have/.test(error.message),
      );
    } finally {
      await reader.close();
      await stranger.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
