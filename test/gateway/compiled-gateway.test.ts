// The gateway as `npm start` runs it: compiled into JavaScript by
// scripts/build-gateway.ts and run by node alone, without tsx. What it finds by
// a path relative to a module must be found from the compiled tree too: the
// native addons (CRC32C, file I/O), the embedded S3's process, the S3 worker
// thread's module and the console's files.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PACKAGE_ROOT } from '../../src/package-files.ts';
import { buildGateway } from '../../scripts/build-gateway.ts';
import { pattern } from '../cache/helpers.ts';
import { BlockClient } from '../helpers/block-client.ts';
import { startGatewayProcess, waitForUploads } from '../helpers/gateway-process.ts';

const MiB = 1024 * 1024;

describe('@slow the compiled gateway (npm start)', function () {
  this.timeout(120_000);
  const outdir = join(PACKAGE_ROOT, `dist-test-${process.pid}`);

  before(async () => {
    await buildGateway(outdir);
  });
  after(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it('serves a cached volume, uploads it through its S3 worker to the embedded S3, and serves the console', async () => {
    const gw = await startGatewayProcess({
      mainScript: join(outdir, 'src', 'main.js'),
      args: ['--drives', '1', '--volume', 'disk=64MiB:cached'],
    });
    try {
      const target = gw.targets.find((t) => t.name.endsWith('-disk'))?.name;
      assert.ok(target, 'the volume has its target');
      const data = pattern('compiled', 2 * MiB);
      const client = await BlockClient.login(gw.port, target);
      try {
        await client.write(2048, data);
        await client.synchronizeCache();
        assert.ok((await client.read(2048, data.length / 512)).equals(data), 'reads back what it wrote');
      } finally {
        await client.logout();
      }

      await waitForUploads(gw);
      const s3 = new S3Client({
        endpoint: gw.s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      try {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: gw.s3.bucket, Prefix: gw.s3.prefix }));
        assert.ok(
          listed.Contents?.some((o) => /volumes\//.test(o.Key ?? '')),
          `the volume's chunks are in the bucket: ${listed.Contents?.map((o) => o.Key).join(', ')}`,
        );
      } finally {
        s3.destroy();
      }

      const { url } = JSON.parse(await readFile(join(gw.dataDir, 'api.json'), 'utf8')) as { url: string };
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
    } finally {
      assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    }
  });
});
