// Client-side encryption through the real gateway: what a backup writes to a
// cartridge reaches the bucket as ciphertext (read raw with the SDK), and so
// does its archive on the shelf, which comes back whole; another gateway on
// the same bucket without the key cannot take the cartridge in and says which
// key it lacks, and with the key added after its own it reads every byte,
// writing its own cartridges under its own key. Two gateways on one s3rver,
// through a proxy that shows the first one also asks S3 for SSE-KMS.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { keyId } from '../../src/cloud/encryption-keys.ts';
import { startLocalS3, type LocalS3 } from '../../src/cloud/local-s3.ts';
import { startFaultInjector, type FaultInjector } from '../cloud/fault-injector.ts';
import { tempDir } from '../cloud/helpers.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import {
  IMPORT_EXPORT,
  LIBRARY_ARGS,
  STORAGE,
  api,
  moveTo,
  readBack,
  until,
  watchShelf,
  writeCartridge,
} from '../shelf/gateway-helpers.ts';

const BUCKET = 'encrypted-tapes';
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('@slow client-side encryption through the gateway', function () {
  this.timeout(300_000);
  let dir: string;
  let s3: LocalS3;
  let wire: FaultInjector;
  let raw: S3Client;
  let gw: GatewayProcess | undefined;
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const files = { a: '', b: '', ba: '' };
  let blocks: Buffer[] = [];

  const start = (name: string, keyFile: string, extra: string[] = []) =>
    startGatewayProcess({
      dataDir: join(dir, name),
      args: [
        ...LIBRARY_ARGS,
        '--segment-size',
        '1MiB',
        '--s3-endpoint',
        wire.endpoint,
        '--s3-force-path-style',
        'true',
        '--s3-bucket',
        BUCKET,
        '--encryption-key-file',
        keyFile,
        ...extra,
      ],
      env: { GATEWAY_S3_ACCESS_KEY_ID: 'S3RVER', GATEWAY_S3_SECRET_ACCESS_KEY: 'S3RVER' },
    });
  const object = async (key: string) => {
    const answer = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { body: Buffer.from(await answer.Body!.transformToByteArray()), metadata: answer.Metadata ?? {} };
  };
  /** The object once its upload is over (s3rver writes an object's metadata after its bytes). */
  const uploaded = (key: string) =>
    until(`${key} is uploaded`, async () =>
      object(key)
        .then((o) => (o.metadata['gw-enc'] ? o : undefined))
        .catch(() => undefined),
    );
  /** Whether `body` holds any 256-byte run of the blocks written. */
  const holdsPlaintext = (body: Buffer) => blocks.some((b) => body.includes(b.subarray(1000, 1256)));

  before(async () => {
    dir = await tempDir('tapegw-encryption-');
    s3 = await startLocalS3({ directory: join(dir, 's3') });
    wire = await startFaultInjector({ target: s3.endpoint, rate: 0, seed: 1 });
    raw = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    for (const [name, keys] of [
      ['a', [keyA]],
      ['b', [keyB]],
      ['ba', [keyB, keyA]],
    ] as const) {
      files[name] = join(dir, `keys-${name}`);
      await writeFile(files[name], `# made with openssl rand -base64 32\n${keys.map((k) => k.toString('base64')).join('\n')}\n`);
      await chmod(files[name], 0o600);
    }
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  after(async () => {
    raw.destroy();
    await wire.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes ciphertext to the bucket, seals the shelf archive, and retrieves it whole', async () => {
    gw = await start('gw-a', files.a, ['--s3-sse', 'SSE-KMS', '--s3-kms-key-arn', KMS_KEY]);
    assert.ok(
      gw.logs.some(
        (r) => r.msg === `client-side encryption on: objects and archives written from now on are encrypted with the key ${keyId(keyA)}`,
      ),
    );
    assert.equal(
      (await api(gw, 'POST', '/pools', { name: 'COLD', destination: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' } })).status,
      201,
    );

    blocks = await writeCartridge(gw, 'ENC001L5', 24);
    await moveTo(gw, 'ENC001L5', STORAGE);
    // 24 blocks of 64 KiB in segments of 1 MiB: two segments.
    for (const segment of ['tapes/ENC001L5/segments/00000001.data', 'tapes/ENC001L5/segments/00000002.data']) {
      const stored = await uploaded(segment);
      assert.ok(!holdsPlaintext(stored.body), `no block written reaches the bucket as plaintext in ${segment}`);
      assert.equal(stored.metadata['gw-enc-key'], keyId(keyA));
    }
    const puts = wire.seen.filter((r) => r.method === 'PUT' && r.url.includes('/tapes/ENC001L5/'));
    assert.ok(
      puts.length >= 2 &&
        puts.every(
          (r) =>
            r.headers['x-amz-server-side-encryption'] === 'aws:kms' && r.headers['x-amz-server-side-encryption-aws-kms-key-id'] === KMS_KEY,
        ),
      'and SSE-KMS asked of S3',
    );

    const coldBlocks = await writeCartridge(gw, 'ENC002L5', 16, 'COLD');
    await moveTo(gw, 'ENC002L5', IMPORT_EXPORT);
    await watchShelf(gw, 'ENC002L5', 'ARCHIVED');
    const archive = await object('shelf/ENC002L5.tape');
    assert.equal(archive.body.subarray(0, 8).toString(), 'TGWSEAL1');
    assert.ok(!coldBlocks.some((b) => archive.body.includes(b.subarray(1000, 1256))), 'the archive is sealed');

    assert.equal((await api(gw, 'POST', '/shelf/ENC002L5/retrieve', { tier: 'Expedited' })).status, 202);
    await watchShelf(gw, 'ENC002L5', 'RETRIEVED');
    (await readBack(gw, 'ENC002L5', coldBlocks)).close();
  });

  it('another gateway without the key cannot take the cartridge in, and says which key it lacks; with the key it reads every byte', async () => {
    gw = await start('gw-b', files.b);
    const refused = await api(gw, 'POST', '/tapes/ENC001L5/import');
    assert.equal(refused.status, 500);
    assert.equal(refused.body.error.code, 'DATA_UNREADABLE');
    assert.match(
      refused.body.error.message,
      new RegExp(`encrypted with the key ${keyId(keyA)}, which this gateway does not have: add that key`),
    );
    assert.equal((await api(gw, 'GET', '/tapes/ENC001L5')).status, 404, 'nothing taken in');
    await gw.stop();

    gw = await start('gw-b', files.ba);
    assert.equal((await api(gw, 'POST', '/tapes/ENC001L5/import')).status, 201);
    (await readBack(gw, 'ENC001L5', blocks)).close();
    await moveTo(gw, 'ENC001L5', STORAGE);

    // Rotation: what this gateway writes is under its own, first key.
    await writeCartridge(gw, 'ENC003L5', 4);
    await moveTo(gw, 'ENC003L5', STORAGE);
    const fresh = await uploaded('tapes/ENC003L5/segments/00000001.data');
    assert.equal(fresh.metadata['gw-enc-key'], keyId(keyB));
  });
});
