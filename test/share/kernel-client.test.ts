// The Linux kernel's NFSv3 client, in the QEMU guest, against the gateway
// process on the embedded S3: mount -t nfs -o vers=3,proto=tcp,nolock through
// QEMU's user-mode network (the guest reaches only the forwarded ports), then a
// tree of 100 files of mixed sizes and one just over the multipart threshold
// copied in with cp -a and compared by checksum (SHARE_GUEST_FULL=1: the issue's
// tree, 1,000 files and three large ones, two over 100 MiB), mkdir/rmdir, renames across directories
// (a directory's too), chmod/chown/touch, symbolic links, truncate, append and
// sparse writes, git's small-file churn (commits, a rename, a checkout, a gc),
// and a directory of 10,000 entries put into the bucket with the SDK and listed in the guest. Then the host waits for the uploads, reads every
// file back with a plain GetObject, restarts the gateway on the same ports, and
// the same boot mounts again and finds everything. One boot: the guest waits at
// gates (test/helpers/guest-gate.ts) while the host does its part.
// GUEST_VERBOSE=1 shows the console.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../cli/run-cli.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { assertStep, GUEST_HOST, requireGuest, runGuest, summarize, type GuestImage } from '../helpers/guest.ts';
import { startGuestGates, type GuestGates } from '../helpers/guest-gate.ts';
import { requirePeer } from '../helpers/peers.ts';

const GATEWAY_ARGS = ['--volume', 'scratch=16MiB', '--drives', '1', '--slots', '4', '--import-export-slots', '1'];
const BUCKET = 'tape-gateway';
const PREFIX = 'kernel/';
/** Entries of the large directory, put into the bucket by the host. */
const MANY = 10_000;
/** SHARE_GUEST_FULL=1: the larger tree, run by hand beside CI's (README's test section). */
const FULL = process.env['SHARE_GUEST_FULL'] === '1';
/** Files of up to 64 KiB, every hundredth of 1 to 4 MiB, in ten directories. */
const SMALL_FILES = FULL ? 1000 : 100;
/** Large files, in MiB: the object store's multipart threshold is 64 MiB, so each goes up in parts. */
const BIG_FILES_MIB = FULL ? [65, 101, 130] : [65];
const FILES = SMALL_FILES + BIG_FILES_MIB.length;
/** The guest's /tmp, a tmpfs of 256 MiB at boot (scripts/guest/init), holds the source tree: FULL's is over 300 MiB. */
const TMP_MIB = FULL ? 768 : 256;
/** Files of the git repository churned on the share. */
const GIT_FILES = 100;
/** How long the guest waits while the host checks the bucket and restarts the gateway. */
const RESTART_GATE_S = FULL ? 900 : 150;

/** The guest's mount of the share, with the ports named (no port mapper needed). */
function mountCommand(nfsPort: number, mountPort: number): string {
  return `mkdir -p /mnt && mount -t nfs -o vers=3,proto=tcp,port=${nfsPort},mountport=${mountPort},mountproto=tcp,nolock ${GUEST_HOST}:/kernel /mnt`;
}

/** The guest's script: everything written, unmounted; the host restarts the gateway; mounted again, everything there. */
const guestScript = (mount: string, gates: GuestGates) => `
${gates.shell}
step mount '${mount}'
step mkdir-rmdir '
  mkdir /mnt/d1 && mkdir /mnt/d1/d2 && rmdir /mnt/d1/d2 && rmdir /mnt/d1
  test ! -e /mnt/d1
'
step make-tree '
  mount -o remount,size=${TMP_MIB}m /tmp
  mkdir -p /tmp/src/big /tmp/src/small
  for m in ${BIG_FILES_MIB.join(' ')}; do dd if=/dev/urandom of=/tmp/src/big/file-$m-MiB bs=1M count=$m 2>/dev/null; done
  i=0
  while [ $i -lt ${SMALL_FILES} ]; do
    d=/tmp/src/small/dir$((i % 10))
    mkdir -p $d
    if [ $((i % 100)) = 99 ]; then dd if=/dev/urandom of=$d/f$i bs=1M count=$((i / 100 % 4 + 1)) 2>/dev/null
    else dd if=/dev/urandom of=$d/f$i bs=$(( (i * 7919) % 65536 + 1 )) count=1 2>/dev/null; fi
    i=$((i + 1))
  done
  chmod 600 /tmp/src/small/dir3/f3
'
step copy-tree '
  cp -a /tmp/src /mnt/tree
  cd /tmp/src && find . -type f | sort | xargs md5sum > /tmp/src.sums
  cd /mnt/tree && find . -type f | sort | xargs md5sum > /tmp/nfs.sums
  test "$(wc -l < /tmp/src.sums)" = ${FILES}
  cmp /tmp/src.sums /tmp/nfs.sums
  cp /tmp/src.sums /mnt/tree.sums
  cmp /tmp/src.sums /mnt/tree.sums
  test "$(find /mnt/tree -type f | wc -l)" = ${FILES}
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
  test ! -e /mnt/a/sub
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
# git's small-file churn: lock files renamed over the index, objects written to temporary names and
# linked (LINK answers NOTSUPP, so git renames them), a repack that deletes the loose objects.
step git-churn '
  mkdir /mnt/repo
  cd /mnt/repo
  git init -q
  git config user.name guest
  git config user.email guest@example.com
  git config gc.auto 0
  i=0
  while [ $i -lt ${GIT_FILES} ]; do mkdir -p d$((i % 10)); echo "line $i" > d$((i % 10))/f$i; i=$((i + 1)); done
  git add -A
  git commit -q -m first
  i=0
  while [ $i -lt ${GIT_FILES} ]; do echo "change $i" >> d$((i % 10))/f$i; i=$((i + 3)); done
  git mv d0/f0 d2/renamed
  git rm -q d1/f1
  git commit -q -a -m second
  git checkout -q HEAD~1
  test "$(cat d0/f0)" = "line 0"
  test ! -e d2/renamed
  git checkout -q -
  test "$(cat d2/renamed)" = "$(printf "line 0\\nchange 0")"
  test ! -e d1/f1
  git gc -q
  test -z "$(find .git/objects -type f -path "*/objects/??/*")"
  git fsck --full --strict
  test -z "$(git status --porcelain)"
  test "$(git rev-list --count HEAD)" = 2
'
# The shell's glob reads the directory alone (busybox ls would stat every entry).
step list-many '
  guest_wait_gate many 120
  set -- /mnt/many/*
  test $# = ${MANY} && test "$1" = /mnt/many/entry-00000 && test "$(eval echo \\\${$#})" = /mnt/many/entry-0${MANY - 1}
'
step unmount 'cd / && umount /mnt'
step wait-restart 'guest_wait_gate restarted ${RESTART_GATE_S}'
step mount-again '${mount}'
step everything-there '
  cd /mnt/tree && find . -type f | sort | xargs md5sum > /tmp/again.sums
  cmp /mnt/tree.sums /tmp/again.sums
  test "$(cat /mnt/b/moved)" = hello
  test "$(cat /mnt/b/sub2/deeper/x)" = deep
  test "$(stat -c "%a %u %g" /mnt/attrs)" = "640 1234 5678"
  test "$(readlink /mnt/link)" = b/moved
  test "$(cat /mnt/t)" = 0123more
  test "$(stat -c %s /mnt/sparse)" = 5000001
  set -- /mnt/many/*
  test $# = ${MANY}
  cd /mnt/repo
  git fsck --full --strict
  test -z "$(git status --porcelain)"
  test "$(git rev-list --count HEAD)" = 2
'
step unmount-again 'cd / && umount /mnt'
`;

describe('@peer @guest @slow the share from the Linux kernel NFS client', function () {
  this.timeout(FULL ? 1_500_000 : 360_000);
  let image: GuestImage;
  let gw: GatewayProcess | undefined;
  let gates: GuestGates | undefined;
  let s3: S3Client | undefined;
  let dir: string;
  const cli = (...args: string[]) => runCli(['--data-dir', gw!.dataDir, ...args], { cwd: dir });

  before(async function () {
    this.timeout(300_000); // a cold build of the guest image takes a minute or two
    requirePeer(this, 'perl');
    image = await requireGuest(this);
    dir = await mkdtemp(path.join(os.tmpdir(), 'kernel-nfs-'));
    gw = await startGatewayProcess({ dataDir: path.join(dir, 'data'), args: GATEWAY_ARGS });
    // root keeps its identity here (the "files" share squashes root, as AWS's default): the guest chowns as root.
    const created = await cli('share', 'create', 'kernel', '--bucket', BUCKET, '--prefix', PREFIX, '--squash', 'none');
    assert.equal(created.code, 0, created.stderr);
    gates = await startGuestGates();
    s3 = new S3Client({
      endpoint: gw.s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });
  after(async () => {
    s3?.destroy();
    await gates?.close();
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (key: string) =>
    Buffer.from(await (await s3!.send(new GetObjectCommand({ Bucket: BUCKET, Key: PREFIX + key }))).Body!.transformToByteArray());

  /** The large directory, put by another S3 client while the guest boots; the share sees it after a refresh. */
  async function putMany(): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < MANY; i = next++) {
          await s3!.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}many/entry-${String(i).padStart(5, '0')}`, Body: `${i}\n` }),
          );
        }
      }),
    );
    const refreshed = await cli('share', 'refresh', 'kernel');
    assert.equal(refreshed.code, 0, refreshed.stderr);
  }

  /** Once the guest has unmounted: every write is in the bucket as the guest wrote it; then the gateway restarts on the same ports. */
  async function checkBucketAndRestart(): Promise<void> {
    const started = Date.now();
    const waited = await cli('share', 'wait-uploaded', 'kernel');
    assert.equal(waited.code, 0, waited.stderr);
    const uploaded = Date.now();
    const sumsObject = await get('tree.sums').catch(() => Buffer.alloc(0)); // absent: said below
    const sums = sumsObject.toString().trim().split('\n');
    if (sums.length !== FILES) {
      const warnings = gw!.logs.filter((r) => r.level >= 40 || JSON.stringify(r).includes('tree.sums')).slice(0, 20);
      const described = await cli('share', 'describe', 'kernel');
      assert.fail(
        `tree.sums in the bucket: ${sumsObject.length} bytes, starting ${JSON.stringify(sumsObject.subarray(0, 120).toString('latin1'))}\n${described.stdout}\n${warnings.map((r) => JSON.stringify(r)).join('\n')}`,
      );
    }
    for (const line of sums) {
      const [sum, name] = line.split(/\s+/) as [string, string];
      const data = await get(`tree/${name.replace(/^\.\//, '')}`);
      assert.equal(createHash('md5').update(data).digest('hex'), sum, name);
    }
    // (s3rver keeps an object put in parts as one, with a plain MD5 ETag: its size and checksum are the proof.)
    for (const mib of BIG_FILES_MIB) {
      const big = await s3!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}tree/big/file-${mib}-MiB` }));
      assert.equal(big.ContentLength, mib * 1024 * 1024);
    }
    const attrs = (await s3!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}attrs` }))).Metadata ?? {};
    assert.deepEqual([attrs['file-permissions'], attrs['file-owner'], attrs['file-group']], ['0100640', '1234', '5678']);
    assert.equal(attrs['file-mtime'], `${Date.parse('2020-01-02T03:04:05Z') / 1000}000000000ns`);
    assert.equal((await get('link')).toString(), 'b/moved');
    assert.equal((await get('b/sub2/deeper/x')).toString(), 'deep\n', 'the directory rename moved its keys');
    await assert.rejects(get('a/sub/deeper/x'), /NoSuchKey|does not exist/);
    assert.equal((await get('t')).toString(), '0123more');
    assert.equal((await get('repo/d2/renamed')).toString(), 'line 0\nchange 0\n', 'git mv renamed the object');
    await assert.rejects(get('repo/d1/f1'), /NoSuchKey|does not exist/);

    const checked = Date.now();
    const { dataDir, nfs } = gw!;
    await gw!.stop();
    gw = undefined;
    gw = await startGatewayProcess({
      dataDir,
      args: [...GATEWAY_ARGS, '--nfs-port', String(nfs.nfsPort), '--nfs-mount-port', String(nfs.mountPort)],
    });
    console.log(
      `      host: wait-uploaded ${uploaded - started} ms, bucket checked ${checked - uploaded} ms, restart ${Date.now() - checked} ms`,
    );
  }

  it('copies a tree in, renames, changes attributes, links, truncates, churns a git repository, lists 10,000 entries; S3 holds it all; it is all there after a restart', async () => {
    const { nfsPort, mountPort } = gw!.nfs;
    const host: Promise<void>[] = [];
    const gated = (name: string, work: () => Promise<void>) => {
      const done = work().then(
        () => gates!.open(name),
        (error: unknown) => {
          gates!.abort();
          throw error;
        },
      );
      done.catch(() => undefined); // awaited below, once the guest is done
      host.push(done);
    };
    gated('many', putMany);
    const run = await runGuest(image, {
      luns: [],
      forwardPorts: [nfsPort, mountPort, gates!.port],
      script: guestScript(mountCommand(nfsPort, mountPort), gates!),
      // The tree is made in the guest's memory first.
      memoryMiB: FULL ? 1536 : 768,
      timeoutMs: FULL ? 1_200_000 : 300_000,
      onLine: (line) => {
        if (line.startsWith('@@guest step-end unmount ')) gated('restarted', checkBucketAndRestart);
      },
    });
    console.log(`      ${summarize(run)}`); // first: a failing step's time says as much as its output
    // The steps that wait for no host work first: a tree the guest could not make or copy is why the bucket lacks it.
    for (const name of [
      'mount',
      'mkdir-rmdir',
      'make-tree',
      'copy-tree',
      'rename',
      'attributes',
      'symlinks',
      'truncate-append-sparse',
      'git-churn',
    ])
      assertStep(run, name);
    // Then the host's failures: they say why a gate never opened.
    for (const work of host) await work;
    for (const name of ['list-many', 'unmount']) assertStep(run, name);
    assert.equal(host.length, 2, 'the host restarted the gateway');
    for (const name of ['wait-restart', 'mount-again', 'everything-there', 'unmount-again']) assertStep(run, name);
  });
});
