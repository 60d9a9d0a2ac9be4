// The share in the running gateway, end to end: libnfs's tools write through
// NFS, the cache engine uploads to the embedded S3, and a plain
// @aws-sdk/client-s3 GetObject reads back what the client wrote; an object
// put with the SDK shows after `tapegw share refresh`; shares created while
// the gateway runs are exported at once; a COMMITted write survives kill -9, and
// so does a file the moment its CREATE is answered;
// handles survive a restart; /metrics has the share's metrics. @peer @slow
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ShareAnswer } from '../../src/api/share-routes.ts';
import { assertFailure, runCli } from '../cli/run-cli.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { NfsTestClient } from '../helpers/nfs-client.ts';
import { requirePeer } from '../helpers/peers.ts';

const run = promisify(execFile);

function s3Of(gw: GatewayProcess): S3Client {
  return new S3Client({
    endpoint: gw.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

const GATEWAY_ARGS = ['--volume', 'scratch=16MiB', '--drives', '1', '--slots', '4', '--import-export-slots', '1'];

const url = (gw: GatewayProcess, share: string, file = '') =>
  `nfs://127.0.0.1/${share}${file ? `/${file}` : ''}?nfsport=${gw.nfs.nfsPort}&mountport=${gw.nfs.mountPort}`;

describe('@peer @slow the gateway serving NFS shares', function () {
  this.timeout(180_000);
  let gw: GatewayProcess | undefined;
  let dir: string;
  let s3: S3Client;
  const cli = (...args: string[]) => runCli(['--data-dir', gw!.dataDir, ...args], { cwd: dir });

  before(async function () {
    requirePeer(this, 'nfs-cp', 'nfs-ls', 'nfs-cat');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-share-'));
    // A data directory of the test's own: the helper removes its own at kill(), and this one outlives a kill -9.
    gw = await startGatewayProcess({ dataDir: path.join(dir, 'data'), args: GATEWAY_ARGS });
    s3 = s3Of(gw);
  });
  after(async () => {
    s3?.destroy();
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the share "files" from the start, and every file reads back through GetObject as written', async () => {
    assert.match(gw!.stdout(), /share +\/files on s3:\/\/tape-gateway\/files\//);
    assert.match(gw!.stdout(), /mount -t nfs -o vers=3,proto=tcp,port=\d+,mountport=\d+,mountproto=tcp,nolock 127\.0\.0\.1:\/files \/mnt/);
    const small = randomBytes(1000);
    const large = randomBytes(9 * 1024 * 1024 + 17);
    await writeFile(path.join(dir, 'small'), small);
    await writeFile(path.join(dir, 'large'), large);
    await run('nfs-cp', [path.join(dir, 'small'), url(gw!, 'files', 'small.bin')]);
    await run('nfs-cp', [path.join(dir, 'large'), url(gw!, 'files', 'large.bin')]);
    const waited = await cli('share', 'wait-uploaded', 'files');
    assert.equal(waited.code, 0, waited.stderr);
    assert.ok((await getObject(s3, 'tape-gateway', 'files/small.bin')).equals(small));
    assert.ok((await getObject(s3, 'tape-gateway', 'files/large.bin')).equals(large));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'tape-gateway', Key: 'files/small.bin' }));
    assert.equal(head.Metadata?.['user-agent'], 'aws-storage-gateway');
    assert.match(head.Metadata?.['file-permissions'] ?? '', /^0100\d{3}$/);
  });

  it('shows an object put with the SDK after tapegw share refresh', async () => {
    await run('nfs-ls', [url(gw!, 'files')]);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'tape-gateway',
        Key: 'files/from-sdk.txt',
        Body: 'put by the SDK\n',
        Metadata: { 'file-permissions': '0100640' },
      }),
    );
    const before = await run('nfs-ls', [url(gw!, 'files')]);
    assert.doesNotMatch(before.stdout, /from-sdk/, 'no cache-stale timeout: not before a refresh');
    const refreshed = await cli('share', 'refresh', 'files', '--json');
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.deepEqual(JSON.parse(refreshed.stdout), { directories: 1 });
    const after = await run('nfs-ls', [url(gw!, 'files')]);
    assert.match(after.stdout, /-rw-r-----\s.*from-sdk\.txt/);
    assert.equal((await run('nfs-cat', [url(gw!, 'files', 'from-sdk.txt')])).stdout, 'put by the SDK\n');
  });

  it('exports a share created while running at once, lists, describes and deletes it', async () => {
    const created = await cli(
      'share',
      'create',
      'projects',
      '--bucket',
      'projects-bucket',
      '--prefix',
      'team-a',
      '--squash',
      'none',
      '--settle-time',
      '2',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const share = JSON.parse(created.stdout) as ShareAnswer;
    assert.deepEqual([share.name, share.prefix, share.exportPath, share.settleSeconds], ['projects', 'team-a/', '/projects', 2]);
    const mount = `mount -t nfs -o vers=3,proto=tcp,port=${gw!.nfs.nfsPort},mountport=${gw!.nfs.mountPort},mountproto=tcp,nolock 127.0.0.1:/projects /mnt`;
    assert.equal(share.mount, mount);
    await writeFile(path.join(dir, 'plan'), 'the plan\n');
    await run('nfs-cp', [path.join(dir, 'plan'), url(gw!, 'projects', 'plan.txt')]);
    assert.equal((await cli('share', 'wait-uploaded', 'projects')).code, 0);
    assert.equal((await getObject(s3, 'projects-bucket', 'team-a/plan.txt')).toString(), 'the plan\n');
    const listed = await cli('share', 'list');
    assert.match(listed.stdout, /projects +\/projects +s3:\/\/projects-bucket\/team-a\//);
    const described = await cli('share', 'describe', 'projects');
    assert.match(described.stdout, /Squash +none/);
    assert.ok(
      described.stdout.split('\n').some((line) => /^Mount +mount /.test(line) && line.endsWith(mount)),
      described.stdout,
    );
    assert.match(described.stdout, /Not uploaded +0 files \(0B\)\n/);
    assertFailure(await cli('share', 'create', 'projects', '--bucket', 'projects-bucket'), 1, /exists/);
    assertFailure(await cli('share', 'create', 'Bad_Name', '--bucket', 'projects-bucket'), 2, /share name/);
    assertFailure(await cli('share', 'create', 'x', '--bucket', 'bucket-x', '--cache-stale-timeout', '10'), 2, /300 to 2592000/);
    assertFailure(await cli('share', 'create', 'y', '--bucket', 'bucket-y', '--clients', '10.0.0/8'), 2, /CIDR/);
    assertFailure(await cli('share', 'create', 'z'), 2, /--bucket/);
    assertFailure(await cli('share', 'create', 'w', '--bucket', 'bucket-w', '--settle-time', '-1'), 2, /--settle-time 5/);
    assert.equal((await cli('share', 'delete', 'projects')).code, 0);
    await assert.rejects(run('nfs-ls', [url(gw!, 'projects')]));
    assertFailure(await cli('share', 'describe', 'projects'), 1, /no share named "projects"/);
    assert.equal((await getObject(s3, 'projects-bucket', 'team-a/plan.txt')).toString(), 'the plan\n', 'the objects stay');
  });

  it('uploads empty files and directories as objects ("dir/" for a directory)', async () => {
    const client = await NfsTestClient.connect(gw!.nfs.nfsPort);
    try {
      const root = (await client.mount('/files')).handle!;
      const dirHandle = (await client.mkdir(root, 'empty-dir')).handle!;
      assert.equal((await client.create(dirHandle, 'empty-file', { mode: 1 })).status, 0);
    } finally {
      client.close();
    }
    assert.equal((await cli('share', 'wait-uploaded', 'files')).code, 0);
    const marker = await s3.send(new HeadObjectCommand({ Bucket: 'tape-gateway', Key: 'files/empty-dir/' }));
    assert.equal(marker.ContentLength, 0);
    assert.equal(marker.Metadata?.['file-permissions'], '0040755');
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'tape-gateway', Key: 'files/empty-dir/empty-file' }))).ContentLength, 0);
  });

  it("holds a settled file's upload back while a client keeps asking, and uploads it once the client pauses", async () => {
    const inBucket = (key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: 'tape-gateway', Key: key })).then(
        () => true,
        () => false,
      );
    const client = await NfsTestClient.connect(gw!.nfs.nfsPort);
    try {
      const root = (await client.mount('/files')).handle!;
      const file = (await client.create(root, 'browsed.bin', { mode: 1 })).handle!;
      assert.equal((await client.write(file, 0, randomBytes(4096))).status, 0);
      // Longer than the share's settling time (5 s) plus the engine's quiet time (1 s): a client browsing, a GETATTR every 100 ms.
      for (const end = Date.now() + 8_000; Date.now() < end; await sleep(100)) assert.equal((await client.getattr(root)).status, 0);
      assert.equal(await inBucket('files/browsed.bin'), false, 'not uploaded while the client keeps asking');
    } finally {
      client.close();
    }
    for (const end = Date.now() + 20_000; !(await inBucket('files/browsed.bin')); await sleep(100))
      assert.ok(Date.now() < end, 'uploaded once the client paused, without being asked');
  });

  it('has the share metrics on /metrics', async () => {
    const { url: apiUrl } = JSON.parse(await readFile(path.join(gw!.dataDir, 'api.json'), 'utf8')) as { url: string };
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    assert.match(metrics, /^FilesFailingUpload\{share="files"\} 0$/m);
    assert.match(metrics, /^NfsSessions \d+$/m);
    assert.match(metrics, /^CachePercentDirty /m);
  });

  it('keeps a COMMITted write, its size and its time through kill -9, and the file handle stays good', async function () {
    const client = await NfsTestClient.connect(gw!.nfs.nfsPort);
    const root = (await client.mount('/files')).handle!;
    const file = (await client.create(root, 'committed.bin', { mode: 1 })).handle!;
    const data = randomBytes(2 * 1024 * 1024);
    for (let at = 0; at < data.length; at += 512 * 1024)
      assert.equal((await client.write(file, at, data.subarray(at, at + 512 * 1024))).status, 0);
    assert.equal((await client.commit(file)).status, 0);
    const committed = (await client.getattr(file)).attrs!;
    // A small new file the way libnfs's creat, pwrite, fsync write it: its cache file is made on the WRITE itself.
    const small = (await client.create(root, 'committed-small.bin', { mode: 1 })).handle!;
    const smallData = randomBytes(4096);
    assert.equal((await client.write(small, 0, smallData)).status, 0);
    assert.ok((await client.read(small, 0, 8192)).data!.equals(smallData), 'an UNSTABLE write reads back before its COMMIT');
    assert.equal((await client.commit(small)).status, 0);
    client.close();
    const dataDir = gw!.dataDir;
    await gw!.kill();
    s3.destroy();
    gw = await startGatewayProcess({ dataDir, args: GATEWAY_ARGS });
    s3 = s3Of(gw);
    const again = await NfsTestClient.connect(gw.nfs.nfsPort);
    try {
      const attrs = (await again.getattr(file)).attrs!;
      assert.deepEqual([attrs.size, attrs.mtime], [committed.size, committed.mtime], 'the size and time of the last write are kept');
      const pieces: Buffer[] = [];
      for (let at = 0; at < data.length; at += 1024 * 1024) {
        const read = await again.read(file, at, 1024 * 1024);
        assert.equal(read.status, 0, 'the old handle is good after the restart');
        pieces.push(read.data!);
      }
      assert.ok(Buffer.concat(pieces).equals(data), 'every committed byte is there');
      assert.equal((await again.getattr(small)).attrs!.size, BigInt(smallData.length));
      assert.ok((await again.read(small, 0, 8192)).data!.equals(smallData), 'the small file COMMITted is there too');
    } finally {
      again.close();
    }
    assert.equal((await cli('share', 'wait-uploaded', 'files')).code, 0);
    assert.ok((await getObject(s3, 'tape-gateway', 'files/committed.bin')).equals(data));
    assert.ok((await getObject(s3, 'tape-gateway', 'files/committed-small.bin')).equals(smallData));
  });

  it('keeps files and a directory through a kill -9 sent the moment the last CREATE is answered', async () => {
    const client = await NfsTestClient.connect(gw!.nfs.nfsPort);
    const root = (await client.mount('/files')).handle!;
    const dir = (await client.mkdir(root, 'made-before-kill')).handle!;
    const names = Array.from({ length: 20 }, (_, i) => `created-${i}`);
    const handles: Buffer[] = [];
    for (const name of names) {
      const created = await client.create(dir, name, { mode: 1 });
      assert.equal(created.status, 0);
      handles.push(created.handle!);
    }
    // Killed before any other call: a CREATE's reply must not leave its namespace's write to the background.
    const dataDir = gw!.dataDir;
    const killed = gw!.kill();
    client.close();
    await killed;
    s3.destroy();
    gw = await startGatewayProcess({ dataDir, args: GATEWAY_ARGS });
    s3 = s3Of(gw);
    const again = await NfsTestClient.connect(gw.nfs.nfsPort);
    try {
      const listed = await again.readdirAll((await again.lookup((await again.mount('/files')).handle!, 'made-before-kill')).handle!);
      assert.deepEqual(
        listed
          .map((e) => e.name)
          .filter((n) => n.startsWith('created-'))
          .sort(),
        [...names].sort(),
      );
      for (const [i, handle] of handles.entries()) assert.equal((await again.getattr(handle)).status, 0, `${names[i]}'s handle is good`);
    } finally {
      again.close();
    }
  });
});
