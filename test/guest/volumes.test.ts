// Volumes from a Linux guest: the guest's own SCSI disk driver (sd) on QEMU's iSCSI initiator sees
// a cached and a stored volume of the real gateway process as disks. ext4 is made on each and a
// tree of 1,000 files of mixed sizes (a few MiB) copied in, synced, and read back (page cache
// dropped) against checksums made on the host. While both are mounted and being written to, a
// snapshot of each is taken with `tapegw snapshot create --wait` and restored as a new volume with
// `tapegw volume create --from-snapshot`. Then the gateway is stopped, its cache wiped and started
// again, and a second boot sees all four volumes: the cached one (now read from the bucket) and the
// stored one pass fsck and hold every file; each restored volume mounts, passes fsck and holds the
// files of its snapshot's moment and nothing written after it.
//
// The same tree also goes through the initiator a Linux server would use, the kernel's own
// (open-iscsi's iscsistart and iscsi_tcp over QEMU's user network): a third, cached volume, created
// through the API while the gateway runs, with mutual CHAP. A wrong secret on either side gets no disk; with the
// right ones the first boot makes ext4 on it, copies the tree in, unmounts, drops the page cache and
// runs fsck; the second boot, after the cache wipe, logs in again, runs fsck and checks every file.
// (Every request there crosses QEMU's user network, about 13 ms each under emulation against
// QEMU's own initiator's 1 or 2: reading the 1,000 files back takes 25-50 s at a load of 13, so
// they are read back once, in the second boot, where nothing can come from a cache.)
//
// Two boots, because QEMU's LUNs are fixed when it starts. In the first, the guest and the test
// meet at a small HTTP endpoint on the host (a forwarded port): the guest asks for /snapshot/NAME
// and waits while the test takes and restores the snapshot. GUEST_VERBOSE=1 shows the consoles.
// The kernel's steps come last in each boot: a login adds a SCSI host of its own, and with it
// devices whose ids look like QEMU's (disk() below skips them).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnapshotInfo, VolumeInfo } from '../../src/volume/volume-service.ts';
import { runCli } from '../cli/run-cli.ts';
import { startGatewayProcess, waitForUploads, type GatewayProcess } from '../helpers/gateway-process.ts';
import { assertStep, GUEST_HOST, requireGuest, runGuest, summarize, type GuestImage, type GuestResult } from '../helpers/guest.ts';
import { requirePeer } from '../helpers/peers.ts';
import { api } from '../shelf/gateway-helpers.ts';

const VOLUMES = [
  { name: 'gcached', flag: 'gcached=1GiB:cached', type: 'cached' },
  { name: 'gstored', flag: 'gstored=1GiB', type: 'stored' },
] as const;
/** Reached only through the kernel's initiator, with mutual CHAP as a Linux server would be set up. */
const KERNEL_VOLUME = {
  name: 'gkernel',
  sizeBytes: 2 ** 30,
  chap: { user: 'linux-server', secret: 'kernel-secret-1' },
  mutualChap: { user: 'gateway', secret: 'gateway-secret-2' },
} as const;
const FILES = 1000;
/** File sizes, cycled: empty, sub-block, block-aligned and ragged, and two larger files. */
const SIZES = [0, 1, 511, 4096, 4097, 777, 12_345, 2048, 1500, 16_384];
const LARGE = { 'big/one-mib': 1024 * 1024, 'big/ragged': 2 * 1024 * 1024 + 4321 };

/** The tree the guest copies onto the volumes, and its sha256sum -c list. */
function makeTree(): { files: Record<string, Buffer>; sums: string; bytes: number } {
  const files: Record<string, Buffer> = {};
  let seed = 0x16;
  const bytesOf = (length: number) => {
    const data = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    return data;
  };
  for (let i = 0; i < FILES - Object.keys(LARGE).length; i++) files[`d${i % 25}/f${i}`] = bytesOf(SIZES[i % SIZES.length]!);
  for (const [name, size] of Object.entries(LARGE)) files[name] = bytesOf(size);
  const sums = Object.entries(files)
    .map(([name, data]) => `${createHash('sha256').update(data).digest('hex')}  ./${name}\n`)
    .join('');
  const bytes = Object.values(files).reduce((n, data) => n + data.length, 0);
  return { files, sums, bytes };
}

/** Shell functions both boots use. */
const FUNCTIONS = `
# disk ID: the sd device of QEMU's LUN at SCSI id ID (sd probes asynchronously: names need not
# follow ids). The kernel initiator's devices, under an iSCSI session, are not QEMU's.
disk() {
  local tries=0 name device
  while :; do
    name=
    for device in /sys/bus/scsi/devices/*:0:$1:0; do
      case "$(readlink -f $device)" in */session*) ;; *) name=$(ls $device/block 2>/dev/null || true) ;; esac
    done
    if [ -n "$name" ] && [ -b "/dev/$name" ]; then echo "/dev/$name"; return 0; fi
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { echo "no disk at SCSI id $1" >&2; return 1; }
    usleep 100000
  done
}
# check_sums DIR: every file of the tree is in DIR with its checksum (only failures are printed).
check_sums() {
  (cd "$1" && sha256sum -c /guest/tree.sums >/tmp/check.log 2>&1) || { grep -v ': OK$' /tmp/check.log | head -n 20; return 1; }
  echo "$(grep -c ': OK$' /tmp/check.log) files with equal checksums"
}
# kernel_login PORT TARGET [SECRET [MUTUAL-SECRET]]: iscsistart with the kernel volume's CHAP and
# mutual CHAP (or other secrets, to be refused).
kernel_login() {
  guest_iscsi_login -u ${KERNEL_VOLUME.chap.user} -w \${3:-${KERNEL_VOLUME.chap.secret}} -U ${KERNEL_VOLUME.mutualChap.user} -W \${4:-${KERNEL_VOLUME.mutualChap.secret}} $1 $2
}
mkdir -p /mnt/a /mnt/b
`;

/** Where the guest's kernel logs in: the gateway's port (forwarded) and the kernel volume's target. */
interface KernelPortal {
  readonly port: number;
  readonly target: string;
}

function firstBoot(control: number, kernel: KernelPortal): string {
  return `${FUNCTIONS}
# No -T: busybox's static wget crashes with it. The host's side is bounded (the CLI's own timeout).
ask_host() { wget -q -O - "http://${GUEST_HOST}:${control}/$1"; }
${VOLUMES.map(
  (v, i) => `step fill-${v.name} '
  dev=$(disk ${i}); echo "${v.name} is $dev"
  mke2fs -q -F -t ext4 $dev
  mkdir /mnt/${v.name}; mount -t ext4 $dev /mnt/${v.name}
  cp -a /guest/tree/. /mnt/${v.name}/
  sync; echo 3 > /proc/sys/vm/drop_caches
  check_sums /mnt/${v.name}'`,
).join('\n')}
${VOLUMES.map(
  (v) => `step snapshot-${v.name} '
  (n=0; while [ ! -e /tmp/stop-${v.name} ]; do head -c 65536 /dev/urandom > /mnt/${v.name}/busy-$n; n=$((n + 1)); sleep 0.1; done; echo "$n files written meanwhile") &
  writer=$!
  ask_host snapshot/${v.name}
  touch /tmp/stop-${v.name}; wait $writer
  echo after > /mnt/${v.name}/after
  umount /mnt/${v.name}'`,
).join('\n')}
step kernel-refused '
  echo "-- the initiator proves a wrong secret:"
  expect_fail kernel_login ${kernel.port} ${kernel.target} wrong-secret-00
  echo "-- the initiator expects another secret from the gateway:"
  expect_fail kernel_login ${kernel.port} ${kernel.target} ${KERNEL_VOLUME.chap.secret} not-the-gateway1
  if grep -qsx ${kernel.target} /sys/class/iscsi_session/session*/targetname; then echo "a session despite the wrong secret"; exit 1; fi
  echo "no session with the wrong secrets"'
step kernel-fill '
  kernel_login ${kernel.port} ${kernel.target}
  dev=$(guest_iscsi_disk ${kernel.target})
  echo "${KERNEL_VOLUME.name} is $dev, session to $(cat /sys/class/iscsi_session/session*/targetname)"
  note kernel-bytes $(($(cat /sys/block/\${dev#/dev/}/size) * 512))
  mke2fs -q -F -t ext4 $dev
  mount -t ext4 $dev /mnt/a
  cp -a /guest/tree/. /mnt/a/
  note kernel-files $(find /mnt/a -type f | wc -l)
  umount /mnt/a
  echo 3 > /proc/sys/vm/drop_caches
  e2fsck -f -n $dev'
`;
}

/** LUNs of the second boot, in SCSI id order: the volumes, then their restored copies; and the kernel's login. */
function secondBoot(kernel: KernelPortal): string {
  return `${FUNCTIONS}
${VOLUMES.map(
  (v, i) => `step reread-${v.name} '
  dev=$(disk ${i})
  e2fsck -f -n $dev
  mount -t ext4 -o ro $dev /mnt/a
  check_sums /mnt/a
  [ -e /mnt/a/after ] || { echo "the file written last is missing"; exit 1; }
  umount /mnt/a'`,
).join('\n')}
${VOLUMES.map(
  (v, i) => `step restored-${v.name} '
  dev=$(disk ${VOLUMES.length + i})
  # Taken while mounted: the first mount replays the journal, as after a crash.
  mount -t ext4 $dev /mnt/b; umount /mnt/b
  e2fsck -f -n $dev
  mount -t ext4 -o ro $dev /mnt/b
  check_sums /mnt/b
  [ ! -e /mnt/b/after ] || { echo "a file written after the snapshot is in it"; exit 1; }
  umount /mnt/b'`,
).join('\n')}
step kernel-reread '
  kernel_login ${kernel.port} ${kernel.target}
  dev=$(guest_iscsi_disk ${kernel.target})
  e2fsck -f -n $dev
  mount -t ext4 -o ro $dev /mnt/a
  check_sums /mnt/a
  umount /mnt/a'
`;
}

describe('@peer @guest @slow volumes from a Linux guest: ext4 through sd, a cache wiped, snapshots restored', function () {
  // Each part is bounded on its own (boots, the CLI, the gateway's start and uploads); this is the backstop.
  this.timeout(420_000);
  let image: GuestImage;
  let gw: GatewayProcess | undefined;
  let control: Server | undefined;
  let dataDir: string;
  const cli = async <T>(...args: string[]): Promise<T> => {
    const run = await runCli(['--data-dir', dataDir, ...args, '--json'], { cwd: tmpdir() });
    if (run.code !== 0) throw new Error(`tapegw ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  };
  const start = () =>
    startGatewayProcess({
      dataDir,
      args: ['--drives', '1', '--slots', '4', '--import-export-slots', '1', ...VOLUMES.flatMap((v) => ['--volume', v.flag])],
    });
  const lun = (name: string, index: number) => {
    const target = gw!.targets.find((t) => t.name.endsWith(`-${name}`));
    assert.ok(target, `the gateway serves no target for ${name}: ${gw!.targets.map((t) => t.name).join(', ')}`);
    return { portal: gw!.portal, iqn: target.name, lun: 0, initiatorName: `iqn.2026-11.io.tapegateway:guest-${index}` };
  };
  const log = (run: GuestResult) => console.log(`      ${summarize(run)}`);

  before(async function () {
    this.timeout(900_000); // a cold image build
    requirePeer(this, 'perl');
    image = await requireGuest(this);
    dataDir = await mkdtemp(join(tmpdir(), 'volumes-guest-'));
  });
  after(async () => {
    control?.close();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps ext4 whole across a restart with the cache wiped, and restores each volume as it was at its snapshot; the same tree through the kernel's initiator with mutual CHAP", async () => {
    const tree = makeTree();
    const files = {
      '/guest/tree.sums': tree.sums,
      ...Object.fromEntries(Object.entries(tree.files).map(([name, data]) => [`/guest/tree/${name}`, data])),
    };
    gw = await start();
    const created = await api(gw, 'POST', '/volumes', {
      name: KERNEL_VOLUME.name,
      type: 'cached',
      sizeBytes: KERNEL_VOLUME.sizeBytes,
      auth: { chap: KERNEL_VOLUME.chap, mutualChap: KERNEL_VOLUME.mutualChap },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const kernelTarget = (created.body as VolumeInfo).target;

    const snapshots = new Map<string, SnapshotInfo>();
    const snapshotAndRestore = async (name: string) => {
      const volume = VOLUMES.find((v) => v.name === name);
      if (!volume) throw new Error(`no volume ${name}`);
      const snapshot = await cli<SnapshotInfo>('snapshot', 'create', name, '--description', 'while mounted', '--wait', '--interval', '0.2');
      snapshots.set(name, snapshot);
      await cli<VolumeInfo>('volume', 'create', `${name}-copy`, '--type', volume.type, '--from-snapshot', snapshot.id);
    };
    control = createServer((req, res) => {
      const name = /^\/snapshot\/([\w-]+)$/.exec(req.url ?? '')?.[1];
      if (name === undefined) return void res.writeHead(404).end();
      snapshotAndRestore(name).then(
        () => res.writeHead(200).end('done\n'),
        (error: unknown) => {
          console.error(`      the snapshot of ${name} failed: ${String(error)}`);
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve) => control!.listen(0, '127.0.0.1', resolve));

    const first = await runGuest(image, {
      luns: VOLUMES.map((v, i) => lun(v.name, i)),
      forwardPorts: [(control.address() as AddressInfo).port, gw.port],
      script: firstBoot((control.address() as AddressInfo).port, { port: gw.port, target: kernelTarget }),
      files,
      timeoutMs: 210_000,
    });
    log(first);
    for (const v of VOLUMES) {
      assert.match(assertStep(first, `fill-${v.name}`).output, new RegExp(`^${FILES} files with equal checksums`, 'm'));
      assertStep(first, `snapshot-${v.name}`);
      assert.equal(snapshots.get(v.name)?.status, 'COMPLETED');
    }
    const refused = assertStep(first, 'kernel-refused').output;
    assert.match(refused, /no session with the wrong secrets/, refused);
    const [, wrongSecret, wrongMutual] = refused.split(/^-- .*$/m);
    assert.match(wrongSecret ?? '', /authorization failure/, refused);
    assert.match(wrongMutual ?? '', /incorrect CHAP response from target/, refused);
    const fill = assertStep(first, 'kernel-fill').output;
    assert.match(fill, new RegExp(`session to ${kernelTarget}$`, 'm'), fill);
    assert.equal(Number(first.notes.get('kernel-bytes')), KERNEL_VOLUME.sizeBytes, 'the size the kernel sees');
    assert.equal(Number(first.notes.get('kernel-files')), FILES, fill);
    const written = (await api(gw, 'GET', `/volumes/${KERNEL_VOLUME.name}`)).body as VolumeInfo;
    assert.equal(written.status, 'AVAILABLE');
    assert.ok(written.usedBytes >= tree.bytes, `${written.usedBytes} bytes used on ${KERNEL_VOLUME.name}, the tree alone is ${tree.bytes}`);

    await waitForUploads(gw);
    await gw.stop();
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    gw = await start();

    const names = [...VOLUMES.map((v) => v.name), ...VOLUMES.map((v) => `${v.name}-copy`)];
    const second = await runGuest(image, {
      luns: names.map(lun),
      forwardPorts: [gw.port],
      script: secondBoot({ port: gw.port, target: kernelTarget }),
      files,
      timeoutMs: 180_000,
    });
    log(second);
    for (const v of VOLUMES) {
      assert.match(assertStep(second, `reread-${v.name}`).output, new RegExp(`^${FILES} files with equal checksums`, 'm'));
      assert.match(assertStep(second, `restored-${v.name}`).output, new RegExp(`^${FILES} files with equal checksums`, 'm'));
    }
    assert.match(assertStep(second, 'kernel-reread').output, new RegExp(`^${FILES} files with equal checksums`, 'm'));
    console.log(`      ${FILES} files, ${(tree.bytes / 1024 / 1024).toFixed(1)} MiB a volume`);
  });
});
