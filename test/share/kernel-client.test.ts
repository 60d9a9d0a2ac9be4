// The Linux kernel's NFSv3 client, in the QEMU guest, against the share's NFS
// server: mount -t nfs -o vers=3,proto=tcp,nolock through QEMU's user-mode
// network (the guest reaches only the forwarded NFS and MOUNT ports), then a
// tree of 1,000 files of mixed sizes (one over 100 MiB) copied in with cp -a
// and compared by checksum, mkdir/rmdir, renames across directories,
// chmod/chown/touch (and the objects' metadata), symbolic links, truncate,
// append and sparse writes, a directory of 10,000 entries; then unmount, a
// restart of the server, and a second boot that mounts again and finds
// everything. The server runs here on the in-memory stand-in for the engine
// (test/share/gateway-share.test.ts runs the gateway itself).
// Run alone with GUEST_VERBOSE=1 to watch the console.
import assert from 'node:assert/strict';
import { assertStep, GUEST_HOST, requireGuest, runGuest, summarize, type GuestImage } from '../helpers/guest.ts';
import { requirePeer } from '../helpers/peers.ts';
import { startNfsShare, type NfsShareFixture } from '../helpers/nfs-share.ts';

/** The guest's mount of the share, with the ports named (no port mapper needed). */
export function mountCommand(nfsPort: number, mountPort: number, exportPath = '/files', dir = '/mnt'): string {
  return `mkdir -p ${dir} && mount -t nfs -o vers=3,proto=tcp,port=${nfsPort},mountport=${mountPort},mountproto=tcp,nolock ${GUEST_HOST}:${exportPath} ${dir}`;
}

/** Shell run in the guest: writes a tree and everything else, leaving checksums in the share for the second boot. */
export const writeScript = (mount: string) => `
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
export const verifyScript = (mount: string) => `
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

describe('@peer @guest @slow the share from the Linux kernel NFS client', function () {
  this.timeout(1_200_000);
  let image: GuestImage;
  let share: NfsShareFixture | undefined;

  before(async function () {
    this.timeout(900_000);
    requirePeer(this, 'socat');
    image = await requireGuest(this);
    share = await startNfsShare({ shares: [{ settleMs: 200 }] });
  });
  after(async () => {
    await share?.stop();
  });

  it('copies a tree in, renames, changes attributes, links, truncates, lists 10,000 entries, and finds it all after a restart', async () => {
    const { nfsPort, mountPort } = share!.addresses;
    const first = await runGuest(image, {
      luns: [],
      forwardPorts: [nfsPort, mountPort],
      script: writeScript(mountCommand(nfsPort, mountPort)),
      memoryMiB: 1024,
      timeoutMs: 900_000,
    });
    for (const name of ['mount', 'mkdir-rmdir', 'make-tree', 'copy-tree', 'rename', 'attributes', 'symlinks', 'truncate-append-sparse', 'ten-thousand', 'umount']) {
      assertStep(first, name);
    }
    await share!.fs().waitUploaded();
    const bucket = share!.objects().bucket;
    assert.equal(bucket.get('tree/big/over-100MiB')?.data.length, 101 * 1024 * 1024);
    const attrs = bucket.get('attrs')!.metadata;
    assert.deepEqual([attrs['file-permissions'], attrs['file-owner'], attrs['file-group']], ['0100640', '1234', '5678']);
    assert.equal(attrs['file-mtime'], `${Date.parse('2020-01-02T03:04:05Z') / 1000}000000000ns`);
    assert.equal(bucket.get('link')?.data.toString(), 'b/moved');
    assert.ok(bucket.has('b/sub2/deeper/x') && !bucket.has('a/sub/deeper/x'), 'the directory rename moved its keys');

    await share!.restart();
    const second = await runGuest(image, { luns: [], forwardPorts: [nfsPort, mountPort], script: verifyScript(mountCommand(nfsPort, mountPort)), memoryMiB: 512, timeoutMs: 600_000 });
    assertStep(second, 'mount-again');
    assertStep(second, 'everything-there');
    console.log(`      ${summarize(first)}\n      ${summarize(second)}`);
  });
});
