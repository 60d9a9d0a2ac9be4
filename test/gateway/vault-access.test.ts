// Glacier vaults for new AWS accounts: with glacier.endpoint "aws" the
// built-in pools archive to the S3 storage classes (GLACIER objects in the
// gateway's bucket), and a gateway whose credentials cannot use the vaults its
// pools name says so once at start-up, in words an operator can act on. The
// refusal is real: the local Glacier endpoint refuses a key pair it does not
// know, as AWS refuses an account without vault access.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startLocalGlacier, type LocalGlacier } from '../../src/cloud/local-glacier/index.ts';
import { Vault } from '../../src/cloud/vault.ts';
import { checkVaultAccess } from '../../src/gateway/vault-access.ts';
import type { PoolInfo } from '../../src/tape/tape-service.ts';
import { tempDir } from '../cloud/helpers.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { capturingLogger, type LogRecord } from '../helpers/log-records.ts';
import { IMPORT_EXPORT, LIBRARY_ARGS, api, bucket, moveTo, watchShelf, writeCartridge } from '../shelf/gateway-helpers.ts';

const known = { accessKeyId: 'AKIDKNOWN', secretAccessKey: 'known-secret' };
const stranger = { accessKeyId: 'AKIDNOVAULTS', secretAccessKey: 'no-vaults-secret' };
const pool = (name: string, destination: PoolInfo['destination']): PoolInfo => ({
  name,
  destination,
  retention: { mode: 'NONE', days: 0 },
  builtIn: false,
  createdAt: '',
});

describe('@slow Glacier vault access', function () {
  this.timeout(120_000);
  let dir: string;
  let glacier: LocalGlacier;

  before(async () => {
    dir = await tempDir('tapegw-vault-access-');
    glacier = await startLocalGlacier({ directory: join(dir, 'glacier'), credentials: known });
  });
  after(async () => {
    await glacier.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('the start-up check', () => {
    const records: LogRecord[] = [];
    const logger = capturingLogger(records, 'info');
    const vaults: Vault[] = [];
    const check = (credentials: typeof known, pools: PoolInfo[]) =>
      checkVaultAccess({
        pools,
        vault: (name) => {
          const vault = new Vault({ vault: name, endpoint: glacier.endpoint, region: 'us-east-1', credentials, retry: { maxAttempts: 1 } });
          vaults.push(vault);
          return vault;
        },
        endpoint: glacier.endpoint,
        logger,
        signal: new AbortController().signal,
      });
    beforeEach(() => (records.length = 0));
    after(() => vaults.forEach((v) => v.close()));

    it('says once, naming the pools and the way out, when the credentials cannot use vaults', async () => {
      const pools = [
        pool('GLACIER', { kind: 'vault', vault: 'gw1-glacier' }),
        pool('finance', { kind: 'vault', vault: 'finance' }),
        pool('cold', { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' }),
      ];
      assert.equal(await check(stranger, pools), 'refused');
      assert.equal(records.length, 1);
      const [warning] = records;
      assert.equal(warning!.level, 40);
      assert.equal(warning!['event'], 'glacier-vaults-refused');
      assert.equal(warning!['code'], 'UnrecognizedClientException');
      assert.deepEqual(warning!['pools'], ['GLACIER', 'finance']);
      assert.match(warning!.msg, /Pools GLACIER, finance archive to vaults, and their cartridges will not be archived/);
      assert.match(warning!.msg, /no new customers since 15 December 2025/);
      assert.match(warning!.msg, /tapegw pool create NAME --storage-class GLACIER/);
    });

    it('finds vaults usable with credentials that may use them, even before the vault exists', async () => {
      assert.equal(await check(known, [pool('GLACIER', { kind: 'vault', vault: 'not-created-yet' })]), 'usable');
      assert.deepEqual(
        records.map((r) => r.msg),
        ['Glacier vaults are usable'],
      );
    });

    it('asks nothing when no pool archives to a vault', async () => {
      const before = vaults.length;
      assert.equal(await check(stranger, [pool('GLACIER', { kind: 'storage-class', storageClass: 'GLACIER' })]), 'unused');
      assert.deepEqual(records, []);
      assert.equal(vaults.length, before, 'no client made');
    });
  });

  describe('the gateway', () => {
    let gw: GatewayProcess | undefined;
    afterEach(async () => {
      await gw?.stop();
      gw = undefined;
    });

    it('warns at start-up when its Glacier refuses its credentials', async () => {
      gw = await startGatewayProcess({
        args: ['--glacier-endpoint', glacier.endpoint, '--drives', '1', '--volume', 'tiny=1MiB'],
        env: { GATEWAY_GLACIER_ACCESS_KEY_ID: stranger.accessKeyId, GATEWAY_GLACIER_SECRET_ACCESS_KEY: stranger.secretAccessKey },
      });
      const refused = () => gw!.logs.filter((r) => r['event'] === 'glacier-vaults-refused');
      for (let i = 0; i < 500 && refused().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(refused().length, 1);
      assert.match(refused()[0]!.msg, /Pools GLACIER, DEEP_ARCHIVE archive to vaults/);
    });

    it('with glacier.endpoint "aws", archives the built-in GLACIER pool to GLACIER objects in its bucket, and asks no vault', async () => {
      gw = await startGatewayProcess({ args: [...LIBRARY_ARGS, '--segment-size', '1MiB', '--glacier-endpoint', 'aws'] });
      const pools = (await api(gw, 'GET', '/pools')).body.pools as PoolInfo[];
      assert.deepEqual(
        pools.map((p) => [p.name, p.destination]),
        [
          ['GLACIER', { kind: 'storage-class', storageClass: 'GLACIER' }],
          ['DEEP_ARCHIVE', { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' }],
        ],
      );
      await writeCartridge(gw, 'AWS001L5', 8);
      await moveTo(gw, 'AWS001L5', IMPORT_EXPORT);
      await watchShelf(gw, 'AWS001L5', 'ARCHIVED');
      const s3 = bucket(gw);
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: gw.s3.bucket, Key: `${gw.s3.prefix}shelf/AWS001L5.tape` }));
        assert.equal(head.StorageClass, 'GLACIER');
      } finally {
        s3.destroy();
      }
      assert.ok(!gw.logs.some((r) => typeof r['event'] === 'string' && r['event'].startsWith('glacier-vaults')), 'no vault was asked');
    });
  });
});
