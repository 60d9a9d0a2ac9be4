// The real gateway as a child process: start-up on an empty data directory,
// restarts, refusals that say what to do, and clean stops.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../src/cloud/local-s3.ts';
import { GatewayExitedError, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';

async function expectStartFailure(options: Parameters<typeof startGatewayProcess>[0]): Promise<GatewayExitedError> {
  try {
    const gateway = await startGatewayProcess(options);
    await gateway.stop();
  } catch (err) {
    assert.ok(err instanceof GatewayExitedError, String(err));
    return err;
  }
  assert.fail('the gateway started');
}

describe('@slow gateway process', function () {
  this.timeout(60_000);
  let dataDir: string;
  const started: GatewayProcess[] = [];
  const start = async (options: Parameters<typeof startGatewayProcess>[0] = {}) => {
    const gateway = await startGatewayProcess({ dataDir, ...options });
    started.push(gateway);
    return gateway;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-process-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((g) => g.kill()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on an empty data directory: catalog, volume, bucket in the embedded S3, the tape library and a disk target', async () => {
    const gateway = await start();
    assert.match(gateway.gatewayId, /^[0-9a-f]{32}$/);
    assert.equal(gateway.host, '127.0.0.1');
    assert.ok(gateway.port > 0);
    assert.deepEqual(gateway.targets, [
      { name: 'iqn.2026-11.io.tapegateway:gw1-mediachanger', luns: [{ lun: 0, deviceType: 'changer' }] },
      ...Array.from({ length: 10 }, (_, i) => ({
        name: `iqn.2026-11.io.tapegateway:gw1-tapedrive-${String(i + 1).padStart(2, '0')}`,
        luns: [{ lun: 0, deviceType: 'tape' }],
      })),
      { name: 'iqn.2026-11.io.tapegateway:gw1-scratch', luns: [{ lun: 0, deviceType: 'disk', sizeBytes: 2 ** 30 }] },
    ]);
    assert.ok(existsSync(join(dataDir, 'catalog', 'CURRENT')));
    const image = statSync(join(dataDir, 'volumes', 'scratch.img'));
    assert.equal(image.size, 2 ** 30);
    assert.ok(image.blocks * 512 < 2 ** 20, 'the volume file is sparse');

    assert.equal(gateway.s3.embedded, true);
    const s3 = new S3Client({
      endpoint: gateway.s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    try {
      await s3.send(new HeadBucketCommand({ Bucket: 'tape-gateway' }));
      const { Buckets } = await s3.send(new ListBucketsCommand({}));
      assert.deepEqual(
        Buckets?.map((b) => b.Name),
        ['tape-gateway'],
      );
    } finally {
      s3.destroy();
    }

    assert.match(gateway.stdout(), new RegExp(`iscsi-ls -s iscsi://127\\.0\\.0\\.1:${gateway.port}\\n`));
    assert.ok(gateway.logs.some((r) => r.msg === 'serving target' && r['target'] === gateway.targets[0]!.name));
    assert.deepEqual(await gateway.stop(), { code: 0, signal: null });
  });

  it('keeps its gateway id and bucket across a restart, and after a crash', async () => {
    const first = await start();
    assert.deepEqual(await first.stop(), { code: 0, signal: null });
    const second = await start();
    assert.equal(second.gatewayId, first.gatewayId);
    assert.ok(second.logs.some((r) => r.msg === 'bucket found'));
    assert.deepEqual(await second.kill(), { code: null, signal: 'SIGKILL' });
    const third = await start();
    assert.equal(third.gatewayId, first.gatewayId);
    assert.equal((await third.stop()).code, 0);
  });

  it('stops cleanly on SIGINT as on SIGTERM', async () => {
    const gateway = await start();
    assert.deepEqual(await gateway.stop('SIGINT'), { code: 0, signal: null });
    assert.ok(gateway.logs.some((r) => r.msg === 'stopped'));
  });

  it('refuses a second gateway on the same data directory, and names the way out', async () => {
    const first = await start();
    const refused = await expectStartFailure({ dataDir });
    assert.equal(refused.exit.code, 1);
    assert.match(refused.stderr, /tape-gateway: cannot start: the data directory .* is in use by another running gateway: .*--data-dir/);
    assert.equal((await first.stop()).code, 0);
  });

  it("refuses a port in use, and names the way out: the iSCSI port, and the management API's", async () => {
    const first = await start();
    const otherDir = await mkdtemp(join(tmpdir(), 'gateway-process-'));
    try {
      const refused = await expectStartFailure({ dataDir: otherDir, port: first.port });
      assert.equal(refused.exit.code, 1);
      assert.match(refused.stderr, new RegExp(`the iSCSI port 127\\.0\\.0\\.1:${first.port} is already in use.*--iscsi-port`));

      const apiPort = new URL(JSON.parse(readFileSync(join(dataDir, 'api.json'), 'utf8')).url).port;
      const api = await expectStartFailure({ dataDir: otherDir, args: ['--api-port', apiPort] });
      assert.equal(api.exit.code, 1);
      assert.match(
        api.stderr,
        new RegExp(
          `tape-gateway: cannot start: the management API's port 127\\.0\\.0\\.1:${apiPort} is already in use .*: stop it, or choose another port with --api-port or GATEWAY_API_PORT`,
        ),
      );
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('exits 2 on an invalid configuration, naming the setting', async () => {
    const refused = await expectStartFailure({ args: ['--volume', 'scratch=10GB'] });
    assert.equal(refused.exit.code, 2);
    assert.match(refused.stderr, /volumes\.0\.size \(--volume\): "10GB" is not a size: write e\.g\. "1GiB"/);
  });

  it('uses an S3 endpoint given by URL, creating the bucket there', async () => {
    const s3Dir = await mkdtemp(join(tmpdir(), 'gateway-s3-'));
    const external = await startLocalS3({ directory: s3Dir });
    try {
      const gateway = await start({
        args: ['--s3-endpoint', external.endpoint, '--s3-force-path-style', 'true', '--s3-bucket', 'site-a-tapes'],
        env: { GATEWAY_S3_ACCESS_KEY_ID: 'S3RVER', GATEWAY_S3_SECRET_ACCESS_KEY: 'S3RVER' },
      });
      assert.deepEqual(gateway.s3, { endpoint: external.endpoint, bucket: 'site-a-tapes', prefix: '', embedded: false });
      assert.ok(existsSync(join(s3Dir, 'site-a-tapes')));
      assert.ok(!existsSync(join(dataDir, 's3', 'site-a-tapes')));
      assert.equal((await gateway.stop()).code, 0);
    } finally {
      await external.close();
      await rm(s3Dir, { recursive: true, force: true });
    }
  });

  it('says what to check when S3 cannot be reached or has no credentials', async () => {
    const unreachable = await expectStartFailure({
      args: ['--s3-endpoint', 'http://127.0.0.1:1'],
      env: { GATEWAY_S3_ACCESS_KEY_ID: 'a', GATEWAY_S3_SECRET_ACCESS_KEY: 'b' },
    });
    assert.equal(unreachable.exit.code, 1);
    assert.match(unreachable.stderr, /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1 .*--s3-endpoint/);
    const anonymous = await expectStartFailure({
      args: ['--s3-endpoint', 'http://127.0.0.1:1'],
      env: {
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: 'no-such-profile-for-tests',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.match(anonymous.stderr, /no credentials for the S3 endpoint .*GATEWAY_S3_ACCESS_KEY_ID/);
  });

  it('serves one target per configured volume', async () => {
    const gateway = await start({ args: ['--name', 'site2', '--volume', 'db=64MiB', '--volume', 'logs=32MiB'] });
    assert.deepEqual(
      gateway.targets.filter((t) => t.luns[0]!.deviceType === 'disk').map((t) => [t.name, t.luns[0]!.sizeBytes]),
      [
        ['iqn.2026-11.io.tapegateway:site2-db', 64 * 2 ** 20],
        ['iqn.2026-11.io.tapegateway:site2-logs', 32 * 2 ** 20],
      ],
    );
  });

  it('prints its settings with --help', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.match(out, /--iscsi-port 3260 +GATEWAY_ISCSI_PORT/);
  });
});
