// The Linux kernel's NFSv3 client, in the QEMU guest, against the share's NFS
// server: mount -t nfs -o vers=3,proto=tcp,nolock through QEMU's user-mode
// network (the guest reaches only the forwarded NFS and MOUNT ports), then a
// tree of 1,000 files of mixed sizes (one over 100 MiB) copied in with cp -a
// and compared by checksum, mkdir/rmdir, renames across directories,
// chmod/chown/touch (and the objects' metadata), symbolic links, truncate,
// append and sparse writes, a directory of 10,000 entries; then unmount, a
// restart of the server, and a second boot that mounts again and finds
// everything. The gateway runs as a process on the embedded S3, and every file
// the guest wrote is read back with a plain GetObject and its checksum compared.
// About 10 minutes under TCG on a busy 2-core machine. GUEST_VERBOSE=1 shows the console.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../cli/run-cli.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { assertStep, GUEST_HOST, requireGuest, runGuest, summarize, type GuestImage } from '../helpers/guest.ts';
import { requirePeer } from '../helpers/peers.ts';

/** The guest's mount of the share, with the ports named (no port mapper needed). */
function mountCommand(nfsPort: number, mountPort: number, exportPath = '/files', dir = '/mnt'): string {
  return `mkdir -p ${dir} && mount -t nfs -o vers=3,proto=tcp,port=${nfsPort},mountport=${mountPort},mountproto=tcp,nolock ${GUEST_HOST}:${exportPath} ${dir}`;
}

/** Shell run in the guest: writes a tree and everything else, leaving checksums in the share for the second boot. */
const writeScript = (mount: string) => `
step mount '${mount}'
step mkdir-rmdir '
  mkdir /mnt/d1 && mkdir /mnt/d1/d2 && rmdir /mnt/d1/d2 && rmdir /mnt/d1
  test ! -e /mnt/d1
'
step make-tree '
  mkdir -p /tmp/src/big /tmp/src/small
  dd if=/dev/urandom of=/tmp/src/big/over-100MiB bs=1M count=101 2>/dev/null
  i=0
  while [ $i -lt 999 ]; do
    d=/tmp/src/small/dir$((i % 20))
    mkdir -p $d
    dd if=/dev/urandom of=$d/f$i bs=$(( (i * 7919) % 65536 + 1 )) count=1 2>/dev/null
    i=$((i + 1))
  done
  chmod 600 /tmp/src/small/dir3/f3
  find /tmp/src -type f | wc -l
'
step copy-tree '
  cp -a /tmp/src /mnt/tree
  cd /tmp/src && find . -type f | sort | xargs md5sum > /tmp/src.sums
  cd /mnt/tree && find . -type f | sort | xargs md5sum > /tmp/nfs.sums
  cmp /tmp/src.sums /tmp/nfs.sums
  cp /tmp/src.sums /mnt/tree.sums
  test "$(find /mnt/tree -type f | wc -l)" = 1000
  test "$(stat -c %a /mnt/tree/small/dir3/f3)" = 600
'
step rename '
  mkdir /mnt/a /mnt/b
  echo hello > /mnt/a/file
  mv /mnt/a/file /mnt/b/moved
  test "$(cat /mnt/b/moved)" = hello
  test ! -e /mnt/a/file
  mkdir -p /mnt/a/sub/deeper && echo deep > /mnt/a/sub/deeper/x
  mv /mnt/a/sub /mnt/b/sub2
  test "$(cat /mnt/b/sub2/deeper/x)" = deep
'
step attributes '
  echo attrs > /mnt/attrs
  chmod 640 /mnt/attrs && chown 1234:5678 /mnt/attrs && touch -d "2020-01-02 03:04:05" /mnt/attrs
  test "$(stat -c "%a %u %g" /mnt/attrs)" = "640 1234 5678"
  test "$(stat -c %Y /mnt/attrs)" = "$(date -d "2020-01-02 03:04:05" +%s)"
'
step symlinks '
  ln -s b/moved /mnt/link
  test "$(readlink /mnt/link)" = b/moved
  test "$(cat /mnt/link)" = hello
'
step truncate-append-sparse '
  printf 0123456789 > /mnt/t
  truncate -s 4 /mnt/t && test "$(cat /mnt/t)" = 0123
  printf more >> /mnt/t && test "$(cat /mnt/t)" = 0123more
  dd if=/dev/zero of=/mnt/sparse bs=1 count=1 seek=5000000 2>/dev/null
  test "$(stat -c %s /mnt/sparse)" = 5000001
  test "$(dd if=/mnt/sparse bs=1 skip=4999999 count=2 2>/dev/null | od -An -tx1 | tr -d " ")" = 0000
'
step ten-thousand '
  mkdir /mnt/many && cd /mnt/many
  seq 1 10000 | sed "s/^/entry-/" | xargs touch
  cd / && test "$(ls /mnt/many | wc -l)" = 10000
'
step umount 'cd / && umount /mnt'
`;

/** The second boot: everything the first left is there, byte for byte. */
const verifyScript = (mount: string) => `
step mount-again '${mount}'
step everything-there '
  cd /mnt/tree && find . -type f | sort | xargs md5sum > /tmp/again.sums
  cmp /mnt/tree.sums /tmp/again.sums
  test "$(cat /mnt/b/moved)" = hello
  test "$(cat /mnt/b/sub2/deeper/x)" = deep
  test "$(stat -c "%a %u %g" /mnt/attrs)" = "640 1234 5678"
  test "$(readlink /mnt/link)" = b/moved
  test "$(cat /mnt/t)" = 0123more
  test "$(ls /mnt/many | wc -l)" = 10000
'
step umount 'cd / && umount /mnt'
`;

const GATEWAY_ARGS = ['--volume', 'scratch=16MiB', '--drives', '1', '--slots', '4', '--import-export-slots', '1'];

describe('@peer @guest @slow the share from the Linux kernel NFS client', function () {
  this.timeout(1_800_000);
  let image: GuestImage;
  let gw: GatewayProcess | undefined;
  let dir: string;

  before(async function () {
    this.timeout(900_000);
    requirePeer(this, 'socat');
    image = await requireGuest(this);
    dir = await mkdtemp(path.join(os.tmpdir(), 'kernel-nfs-'));
    gw = await startGatewayProcess({ dataDir: path.join(dir, 'data'), args: GATEWAY_ARGS });
    // root keeps its identity here (the "files" share squashes root, as AWS's default): the guest chowns as root.
    const created = await runCli(['--data-dir', gw.dataDir, 'share', 'create', 'kernel', '--bucket', 'tape-gateway', '--prefix', 'kernel/', '--squash', 'none'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies a tree in, renames, changes attributes, links, truncates, lists 10,000 entries; S3 holds it all; it is all there after a restart', async () => {
    const first = await runGuest(image, {
      luns: [],
      forwardPorts: [gw!.nfs.nfsPort, gw!.nfs.mountPort],
      script: writeScript(mountCommand(gw!.nfs.nfsPort, gw!.nfs.mountPort, '/kernel')),
      memoryMiB: 1024,
      timeoutMs: 1_200_000,
    });
    for (const name of ['mount', 'mkdir-rmdir', 'make-tree', 'copy-tree', 'rename', 'attributes', 'symlinks', 'truncate-append-sparse', 'ten-thousand', 'umount']) {
      assertStep(first, name);
    }
    const waited = await runCli(['--data-dir', gw!.dataDir, 'share', 'wait-uploaded', 'kernel'], { cwd: dir });
    assert.equal(waited.code, 0, waited.stderr);

    // Every file the guest wrote, read back with a plain GetObject, has the checksum the guest took of its source.
    const s3 = new S3Client({ endpoint: gw!.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const get = async (key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'tape-gateway', Key: key }))).Body!.transformToByteArray());
      const sums = (await get('kernel/tree.sums')).toString().trim().split('\n');
      assert.equal(sums.length, 1000);
      for (const line of sums) {
        const [sum, name] = line.split(/\s+/) as [string, string];
        const data = await get(`kernel/tree/${name.replace(/^\.\//, '')}`);
        assert.equal(createHash('md5').update(data).digest('hex'), sum, name);
      }
      const attrs = (await s3.send(new HeadObjectCommand({ Bucket: 'tape-gateway', Key: 'kernel/attrs' }))).Metadata ?? {};
      assert.deepEqual([attrs['file-permissions'], attrs['file-owner'], attrs['file-group']], ['0100640', '1234', '5678']);
      assert.equal(attrs['file-mtime'], `${Date.parse('2020-01-02T03:04:05Z') / 1000}000000000ns`);
      assert.equal((await get('kernel/link')).toString(), 'b/moved');
      assert.equal((await get('kernel/b/sub2/deeper/x')).toString(), 'deep\n', 'the directory rename moved its keys');
      await assert.rejects(get('kernel/a/sub/deeper/x'), /NoSuchKey|does not exist/);
    } finally {
      s3.destroy();
    }

    const dataDir = gw!.dataDir;
    await gw!.stop();
    gw = await startGatewayProcess({ dataDir, args: GATEWAY_ARGS });
    const second = await runGuest(image, {
      luns: [],
      forwardPorts: [gw.nfs.nfsPort, gw.nfs.mountPort],
      script: verifyScript(mountCommand(gw.nfs.nfsPort, gw.nfs.mountPort, '/kernel')),
      memoryMiB: 512,
      timeoutMs: 900_000,
    });
    assertStep(second, 'mount-again');
    assertStep(second, 'everything-there');
    console.log(`      ${summarize(first)}\n      ${summarize(second)}`);
  });
});
