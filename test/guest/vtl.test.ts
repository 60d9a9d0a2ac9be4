// Real clients, end to end: a Linux guest (QEMU, software emulation) drives the gateway's tape
// library with Linux's st and ch drivers, in one boot, through both initiators:
//
// 1. QEMU's own iSCSI initiator (libiscsi), one session per device (sch0, nst0, nst1): mtx (status
//    with barcodes, load, unload, transfer to an import/export slot, which exports to the shelf),
//    mt-st (status, rewind, fsf, bsf, eod, tell, seek, offline), GNU tar across filemarks with
//    checksums compared, the empty drive's NOT READY seen through sg, WRITE ATTRIBUTE through sg_raw,
//    and stenc's application-managed encryption (the bytes the gateway keeps never hold the plaintext).
// 2. The kernel's own initiator as a Linux backup server uses it: open-iscsi's iscsistart and iscsid
//    over QEMU's restricted user network (sch1, nst2, nst3). Two drives write 1 MiB records at once;
//    drive 1's connection is cut from the host mid-write (a relay) and the kernel's error recovery
//    logs in again, with everything before the last filemark intact. Then Bacula's btape `test` with
//    fixtures/bacula/bacula-sd.conf on drive 2 (about 1.3 GB written and read in 64 KiB records,
//    some 40,000 commands). That takes scripts/guest/guestfwd.pl: with socat relaying the guest's
//    connections each WRITE waited about 40 ms for a delayed ACK, 16 minutes of btape.
//
// About three and a half minutes at load 5 (btape 129 s), six at load 8-12 (btape 250 s). Run alone with:
//   npx mocha --no-config -n import=tsx test/guest/vtl.test.ts
// GUEST_VERBOSE=1 echoes the guest's console.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { requirePeer } from '../helpers/peers.ts';
import { startRelay, type Relay } from '../helpers/tcp-relay.ts';
import { shelfTape, until } from '../shelf/gateway-helpers.ts';
import { assertStep, requireGuest, runGuest, summarize, type GuestImage, type GuestLun, type GuestResult } from '../helpers/guest.ts';

const baculaConfig = fileURLToPath(new URL('../../fixtures/bacula/bacula-sd.conf', import.meta.url));

const DRIVES = 2;
const SLOTS = 10;
const IMPORT_EXPORT = 2;
const TAPES = 4;
const PREFIX = 'GW';
/** Written through stenc's encryption: the gateway's files must never hold it. */
const SECRET_MARKER = 'TAPEGW-PLAINTEXT-MARKER';
const barcodes = Array.from({ length: TAPES }, (_, i) => `${PREFIX}${String(i + 1).padStart(4, '0')}L5`);

interface Api {
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
}

async function apiOf(gw: GatewayProcess): Promise<Api> {
  const { url, token } = JSON.parse(await readFile(`${gw.dataDir}/api.json`, 'utf8')) as { url: string; token: string };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

/** Every file under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Shell: the sg device of a tape device (nst0 -> sg1), for sg3-utils and stenc's peers. */
const sgOf = (tape: string) => `/dev/$(ls /sys/class/scsi_tape/${tape}/device/scsi_generic)`;

/** Shell: a WRITE ATTRIBUTE parameter list (SPC-4 6.40) of ASCII host attributes, written with sg_raw. */
function writeAttributes(dev: string, attributes: { id: number; value: string }[]): string {
  const octal = (bytes: number[]) => bytes.map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  const body = attributes.flatMap(({ id, value }) => [
    id >> 8,
    id & 0xff,
    0x01,
    value.length >> 8,
    value.length & 0xff,
    ...Buffer.from(value),
  ]);
  const list = [0, 0, body.length >> 8, body.length & 0xff, ...body];
  return `printf "${octal(list)}" >/tmp/attributes
  sg_raw -v -s ${list.length} -i /tmp/attributes ${dev} 8d 00 00 00 00 00 00 00 00 00 00 00 00 ${list.length.toString(16)} 00 00`;
}

/** Shell: waits until the drive reports ONLINE (the first commands after a load may see a unit attention). */
const waitOnline = (dev: string) => `
  i=0
  until mt -f ${dev} status 2>&1 | grep -q ONLINE; do
    i=$((i + 1)); [ $i -lt 20 ] || { mt -f ${dev} status; echo "${dev} never came ONLINE"; exit 1; }
    sleep 0.5
  done`;

describe("@peer @guest the tape library from a Linux guest: st/ch drivers, mtx, mt, tar, sg3-utils, stenc and btape, through QEMU's initiator and the kernel's", function () {
  // One boot: 197 s at load 5, 315 s at load 8-12 (btape most of it); the bounds make a hang fail.
  this.timeout(600_000);
  let image: GuestImage;
  let dataDir: string;
  let gw: GatewayProcess | undefined;
  let api: Api;
  let relay: Relay | undefined;
  let run: GuestResult;
  let connectionsAtDrop = 0;

  before(async function () {
    image = await requireGuest(this);
    requirePeer(this, 'perl');
    dataDir = await mkdtemp(join(tmpdir(), 'guest-vtl-'));
    gw = await startGatewayProcess({
      dataDir,
      args: [
        '--drives',
        String(DRIVES),
        '--slots',
        String(SLOTS),
        '--import-export-slots',
        String(IMPORT_EXPORT),
        '--library-targets',
        'per-device',
        // Each drive in a thread of its own (src/gateway/drive-thread.ts): the guest's tools and the kernel's
        // initiator against the handed-over sessions; the other tests run the drives on the main thread.
        '--drive-threads',
        'worker',
      ],
    });
    api = await apiOf(gw);
    await api.post('/tapes', { count: TAPES, barcodePrefix: PREFIX, sizeBytes: 100 * 2 ** 30 });
    // The changer first (sch0), then the drives in element order (nst0, nst1, ...).
    const changer = gw.targets.flatMap((t) => t.luns.filter((l) => l.deviceType === 'changer').map((l) => ({ iqn: t.name, lun: l.lun })));
    const drives = gw.targets.flatMap((t) => t.luns.filter((l) => l.deviceType === 'tape').map((l) => ({ iqn: t.name, lun: l.lun })));
    assert.equal(changer.length, 1, `one changer expected among ${JSON.stringify(gw.targets)}`);
    assert.equal(drives.length, DRIVES, `${DRIVES} drives expected among ${JSON.stringify(gw.targets)}`);
    const status = (await api.get('/library')) as { drives: { index: number; target: string; lun: number }[] };
    const ordered = [...status.drives].sort((a, b) => a.index - b.index).map((d) => ({ iqn: d.target, lun: d.lun }));
    const luns: GuestLun[] = [changer[0]!, ...ordered].map((l) => ({ portal: gw!.portal, iqn: l.iqn, lun: l.lun }));
    // The kernel's session to drive 1 goes through a relay the test cuts; its changer and drive 2 reach the gateway directly.
    relay = await startRelay(gw.port);
    const name = (suffix: string) => gw!.targets.find((t) => t.name.endsWith(suffix))!.name;
    const config = await readFile(baculaConfig, 'utf8');
    run = await runGuest(image, {
      luns,
      forwardPorts: [gw.port, relay.port],
      timeoutMs: 540_000,
      files: { '/etc/bacula/bacula-sd.conf': config },
      onLine: (line) => {
        if (line !== '@@guest step-begin drop-write') return;
        connectionsAtDrop = relay!.connections;
        relay!.dropAfter(8 * 2 ** 20);
      },
      script: String.raw`
# mkdata NAME MIB: MIB MiB of incompressible data, no two MiB alike, from one MiB of /dev/urandom
# (slow under emulation) and a line that names the file and the MiB.
head -c 1048576 /dev/urandom >/tmp/seed
mkdata() {
  i=0; while [ $i -lt $2 ]; do echo "$1 $i"; cat /tmp/seed; i=$((i + 1)); done | head -c $(($2 * 1048576)) >/tmp/$1
}
# kmtx ARGS...: mtx on the kernel's changer, once more if it fails, as backup servers' changer
# scripts do: a unit attention (iscsid's take-over logs each of iscsistart's connections in again,
# a new nexus gets 29/00 once) fails mtx's READ ELEMENT STATUS and with it the move.
kmtx() {
  mtx -f /dev/sch1 "$@" >/tmp/mtx.out 2>&1 || { cat /tmp/mtx.out; sleep 1; mtx -f /dev/sch1 "$@" >/tmp/mtx.out 2>&1; } || { cat /tmp/mtx.out; return 1; }
  cat /tmp/mtx.out
}
step devices 'test -c /dev/sch0; test -c /dev/st0; test -c /dev/nst0; test -c /dev/nst1; ls /sys/class/scsi_tape'
step mtx-status 'mtx -f /dev/sch0 status'
step mtx-load '
  mtx -f /dev/sch0 load 1 0
  mtx -f /dev/sch0 status'
step mt-status '${waitOnline('/dev/nst0')}
  mt -f /dev/nst0 status'
step tar-write '
  dd if=/dev/urandom of=/tmp/a bs=64k count=48 2>/dev/null
  dd if=/dev/urandom of=/tmp/b bs=64k count=32 2>/dev/null
  dd if=/dev/urandom of=/tmp/c bs=1k count=1500 2>/dev/null
  for f in a b c; do note sum-$f $(sha256sum /tmp/$f | cut -d" " -f1); done
  mt -f /dev/nst0 rewind
  tar -C /tmp -b 128 -cf /dev/nst0 a
  tar -C /tmp -b 20 -cf /dev/nst0 b
  tar -C /tmp -b 256 -cf /dev/nst0 c
  mt -f /dev/nst0 status
  note end-block $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")'
step tar-read '
  mt -f /dev/nst0 rewind
  mkdir -p /tmp/back
  tar -C /tmp/back -b 128 -xf /dev/nst0
  mt -f /dev/nst0 fsf 1
  tar -C /tmp/back -b 20 -xf /dev/nst0
  mt -f /dev/nst0 fsf 1
  tar -C /tmp/back -b 256 -xf /dev/nst0
  for f in a b c; do note back-$f $(sha256sum /tmp/back/$f | cut -d" " -f1); done'
step mt-rewind '
  mt -f /dev/nst0 rewind
  mt -f /dev/nst0 status
  mt -f /dev/nst0 tell'
step mt-fsf '
  mt -f /dev/nst0 fsf 1
  mt -f /dev/nst0 status
  note file1-block $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")
  mt -f /dev/nst0 fsf 1
  mt -f /dev/nst0 status
  note file2-block $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")'
step mt-bsf '
  mt -f /dev/nst0 bsf 1
  mt -f /dev/nst0 status
  note bsf-block $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")'
step mt-eod '
  mt -f /dev/nst0 rewind
  mt -f /dev/nst0 eod
  mt -f /dev/nst0 status
  note eod-block $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")'
step mt-seek-read '
  target=$(mt -f /dev/nst0 rewind; mt -f /dev/nst0 fsf 1; mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")
  mt -f /dev/nst0 rewind
  mt -f /dev/nst0 seek $target
  note seek-tell $(mt -f /dev/nst0 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")
  mkdir -p /tmp/seek
  tar -C /tmp/seek -b 20 -xf /dev/nst0
  note seek-b $(sha256sum /tmp/seek/b | cut -d" " -f1)'
step write-attributes '
  ${writeAttributes(sgOf('nst0'), [
    { id: 0x0800, value: 'TAPEGWT ' },
    { id: 0x0801, value: 'guest-test'.padEnd(32) },
  ])}
  sg_read_attr ${sgOf('nst0')}
  # MEDIUM SERIAL NUMBER belongs to the cartridge: refused.
  if ${writeAttributes(sgOf('nst0'), [{ id: 0x0401, value: 'FORGED'.padEnd(32) }])} 2>&1; then echo "a read-only attribute was written"; exit 1; fi'
step mt-offline '
  mt -f /dev/nst0 offline
  if mt -f /dev/nst0 status 2>&1 | grep -q ONLINE; then echo "still ONLINE after offline"; exit 1; fi
  mt -f /dev/nst0 status 2>&1 || true'
step mtx-unload '
  mtx -f /dev/sch0 unload 1 0
  mtx -f /dev/sch0 status'
step tur-after-unload '
  sg_turs -v ${sgOf('nst0')} 2>&1 || true'
step stenc '
  mkdir -p /var/log
  mtx -f /dev/sch0 load 3 1
  ${waitOnline('/dev/nst1')}
  key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n")
  note key $key
  printf "%s\\nbackup-key-7\\n" $key >/tmp/key
  yes ${SECRET_MARKER} | head -c 3000000 >/tmp/secret
  note sum-secret $(sha256sum /tmp/secret | cut -d" " -f1)
  stenc -f /dev/nst1 -e on -k /tmp/key -a 1
  stenc -f /dev/nst1 --detail
  mt -f /dev/nst1 rewind
  tar -C /tmp -b 256 -cf /dev/nst1 secret
  mt -f /dev/nst1 rewind
  mkdir -p /tmp/crypt
  tar -C /tmp/crypt -b 256 -xf /dev/nst1
  note back-secret $(sha256sum /tmp/crypt/secret | cut -d" " -f1)
  stenc -f /dev/nst1 -e off
  mt -f /dev/nst1 rewind
  if tar -C /tmp/crypt -b 256 -xf /dev/nst1 2>/tmp/keyless; then echo "read without the key"; exit 1; fi
  cat /tmp/keyless
  note keyless $(cat /tmp/keyless | tr "\\n" " ")
  stenc -f /dev/nst1 -e on -k /tmp/key -a 1
  mt -f /dev/nst1 rewind
  rm -f /tmp/crypt/secret
  tar -C /tmp/crypt -b 256 -xf /dev/nst1
  note again-secret $(sha256sum /tmp/crypt/secret | cut -d" " -f1)
  stenc -f /dev/nst1 -e off
  mt -f /dev/nst1 offline
  mtx -f /dev/sch0 unload 3 1
  mtx -f /dev/sch0 status'
step mtx-transfer '
  mtx -f /dev/sch0 transfer 2 ${SLOTS + 1}
  mtx -f /dev/sch0 status'
step kernel-login '
  guest_iscsi_login ${gw.port} ${name('mediachanger')}
  guest_iscsi_login ${relay.port} ${name('tapedrive-01')}
  guest_iscsi_login ${gw.port} ${name('tapedrive-02')}
  guest_iscsid
  test -c /dev/sch1; test -c /dev/nst2; test -c /dev/nst3
  cat /sys/class/iscsi_session/session*/targetname
  # Each new nexus has a unit attention (29/00) to give: TEST UNIT READY takes it. (When the
  # take-over by iscsid logs a session in again, there is one more: kmtx and waitOnline allow for it.)
  for d in sch1 nst2 nst3; do sg_turs /dev/$(ls /sys/class/*/$d/device/scsi_generic) >/dev/null 2>&1 || true; done'
step kernel-two-drives '
  kmtx load 1 0
  kmtx load 3 1
  ${waitOnline('/dev/nst2')}
  ${waitOnline('/dev/nst3')}
  sg_read_attr ${sgOf('nst2')}
  mkdata x 6; mkdata y 6
  for f in x y; do note sum-$f $(sha256sum /tmp/$f | cut -d" " -f1); done
  mt -f /dev/nst2 rewind; mt -f /dev/nst3 rewind
  tar -C /tmp -b 2048 -cf /dev/nst2 x & one=$!
  tar -C /tmp -b 2048 -cf /dev/nst3 y & two=$!
  wait $one; wait $two
  mt -f /dev/nst2 rewind; mt -f /dev/nst3 rewind
  mkdir -p /tmp/x.back /tmp/y.back
  tar -C /tmp/x.back -b 2048 -xf /dev/nst2 & one=$!
  tar -C /tmp/y.back -b 2048 -xf /dev/nst3 & two=$!
  wait $one; wait $two
  note back-x $(sha256sum /tmp/x.back/x | cut -d" " -f1)
  note back-y $(sha256sum /tmp/y.back/y | cut -d" " -f1)
  mt -f /dev/nst3 offline
  kmtx unload 3 1'
step before-drop '
  mkdata k1 2; mkdata k2 2; mkdata k3 16
  for f in k1 k2; do note sum-$f $(sha256sum /tmp/$f | cut -d" " -f1); done
  mt -f /dev/nst2 rewind
  tar -C /tmp -b 2048 -cf /dev/nst2 k1
  tar -C /tmp -b 2048 -cf /dev/nst2 k2'
step drop-write '
  # The host cuts this connection 8 MiB into the write: tar may well fail, the data before it must not.
  wc -l </tmp/iscsid.log >/tmp/iscsid.lines
  tar -C /tmp -b 2048 -cf /dev/nst2 k3 || echo "tar failed with $?"'
step after-drop '
  i=0
  until mt -f /dev/nst2 rewind 2>/dev/null; do i=$((i + 1)); [ $i -lt 60 ] || { dmesg | tail -30; exit 1; }; sleep 1; done
  cat /sys/class/iscsi_session/session*/state
  # What iscsid said since the cut (its take-over of the sessions at login was a recovery too).
  tail -n +$(($(cat /tmp/iscsid.lines) + 1)) /tmp/iscsid.log
  mkdir -p /tmp/back2
  tar -C /tmp/back2 -b 2048 -xf /dev/nst2
  mt -f /dev/nst2 fsf 1
  tar -C /tmp/back2 -b 2048 -xf /dev/nst2
  for f in k1 k2; do note back-$f $(sha256sum /tmp/back2/$f | cut -d" " -f1); done
  # And the drive goes on: an archive appended at end-of-data reads back.
  mt -f /dev/nst2 eod
  at=$(mt -f /dev/nst2 tell | sed -n "s/^At block \([0-9]*\)\.$/\1/p")
  tar -C /tmp -b 2048 -cf /dev/nst2 k1
  mt -f /dev/nst2 seek $at
  mkdir -p /tmp/again
  tar -C /tmp/again -b 2048 -xf /dev/nst2
  note again-k1 $(sha256sum /tmp/again/k1 | cut -d" " -f1)
  mt -f /dev/nst2 offline
  kmtx unload 1 0'
step load '
  kmtx load 4 1
  ${waitOnline('/dev/nst3')}'
step btape '
  mkdir -p /var/lib/bacula /run/bacula
  # The fixture names the first changer and drive; through the kernel they are sch1 and, at drive index 1, nst3.
  sed -e "s#/dev/sch0#/dev/sch1#; s#/dev/nst0#/dev/nst3#; s#Drive Index = 0#Drive Index = 1#" /etc/bacula/bacula-sd.conf >/tmp/bacula-sd.conf
  printf "test\ny\nquit\n" | btape -c /tmp/bacula-sd.conf Drive-1'
step after 'mtx -f /dev/sch1 status'
`,
    });
    console.log(`      ${summarize(run)}; relay: ${relay.connections} connections, ${relay.dropped} cut`);
  });

  after(async function () {
    await relay?.close();
    await gw?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe("through QEMU's iSCSI initiator: mtx, mt, tar, sg3-utils and stenc", function () {
    it('the guest sees the changer as /dev/sch0 and the drives as /dev/st0, /dev/nst0 and /dev/nst1', function () {
      assertStep(run, 'devices');
    });

    it('mtx status shows the drives, the slots, the import/export slots and every barcode', function () {
      const out = assertStep(run, 'mtx-status').output;
      assert.match(out, new RegExp(`${DRIVES} Drives, ${SLOTS + IMPORT_EXPORT} Slots \\( ${IMPORT_EXPORT} Import/Export \\)`), out);
      barcodes.forEach((barcode, i) => assert.match(out, new RegExp(`Storage Element ${i + 1}:Full :VolumeTag=${barcode}`), out));
      assert.match(out, /Data Transfer Element 0:Empty/, out);
      assert.match(out, new RegExp(`Storage Element ${SLOTS + 1} IMPORT/EXPORT:Empty`), out);
    });

    it('mtx load puts the cartridge in the drive and mt status sees it online at BOT', function () {
      const out = assertStep(run, 'mtx-load').output;
      assert.match(out, new RegExp(`Data Transfer Element 0:Full \\(Storage Element 1 Loaded\\):VolumeTag = ${barcodes[0]}`), out);
      const status = assertStep(run, 'mt-status').output;
      assert.match(status, /ONLINE/, status);
      assert.match(status, /BOT/, status);
    });

    it('tar writes three archives across filemarks and reads them back with the same checksums', function () {
      assertStep(run, 'tar-write');
      assertStep(run, 'tar-read');
      for (const f of ['a', 'b', 'c']) {
        assert.ok(run.notes.get(`sum-${f}`), `no checksum of ${f}`);
        assert.equal(run.notes.get(`back-${f}`), run.notes.get(`sum-${f}`), `file ${f} read back differs`);
      }
    });

    it('mt rewind, fsf, bsf, eod and tell agree on the positions', function () {
      assert.match(assertStep(run, 'mt-rewind').output, /At block 0\./);
      const fsf = assertStep(run, 'mt-fsf').output;
      assert.match(fsf, /File number=1, block number=0/, fsf);
      assert.match(fsf, /File number=2, block number=0/, fsf);
      const file1 = Number(run.notes.get('file1-block'));
      const file2 = Number(run.notes.get('file2-block'));
      assert.ok(file1 > 0 && file2 > file1, `file 1 at ${file1}, file 2 at ${file2}`);
      assertStep(run, 'mt-bsf');
      // BSF lands on the beginning-of-tape side of the filemark that ends file 1.
      assert.equal(Number(run.notes.get('bsf-block')), file2 - 1, assertStep(run, 'mt-bsf').output);
      const eod = assertStep(run, 'mt-eod').output;
      assert.match(eod, /EOD/, eod);
      assert.equal(run.notes.get('eod-block'), run.notes.get('end-block'), 'EOD is not where writing ended');
    });

    it('mt seek goes to a block address and tar reads the archive there', function () {
      assertStep(run, 'mt-seek-read');
      assert.equal(run.notes.get('seek-tell'), run.notes.get('file1-block'));
      assert.equal(run.notes.get('seek-b'), run.notes.get('sum-b'));
    });

    it('mt offline unloads the cartridge; mtx unload returns it to its slot', function () {
      assertStep(run, 'mt-offline');
      const out = assertStep(run, 'mtx-unload').output;
      assert.match(out, /Data Transfer Element 0:Empty/, out);
      assert.match(out, new RegExp(`Storage Element 1:Full :VolumeTag=${barcodes[0]}`), out);
    });

    it('the empty drive answers NOT READY, MEDIUM NOT PRESENT through sg once mt offline and mtx unload took its cartridge, no unit attention first', function () {
      const out = assertStep(run, 'tur-after-unload').output;
      assert.match(out, /Not Ready/, out);
      assert.match(out, /Medium not present/, out);
      assert.doesNotMatch(out, /Unit Attention/i, out);
    });

    it('WRITE ATTRIBUTE through sg_raw sets host attributes sg_read_attr reads back; a read-only one is refused', function () {
      const out = assertStep(run, 'write-attributes').output;
      assert.match(out, /guest-test/, out);
      assert.match(out, /TAPEGWT/, out);
      assert.match(out, /Invalid field in parameter list/i, out);
    });

    it("stenc's encryption: what is written with the key reads back with it, not without; the gateway keeps neither the plaintext nor the key", async function () {
      assertStep(run, 'stenc');
      const out = run.step('stenc').output;
      assert.match(out, /Drive Output:\s+Decrypting/, out);
      assert.match(out, /Drive Input:\s+Encrypting/, out);
      assert.match(out, /backup-key-7/, out);
      assert.ok(run.notes.get('sum-secret'));
      assert.equal(run.notes.get('back-secret'), run.notes.get('sum-secret'));
      assert.equal(run.notes.get('again-secret'), run.notes.get('sum-secret'));
      assert.match(run.notes.get('keyless') ?? '', /Input\/output error/);
      const key = Buffer.from(run.notes.get('key')!, 'hex');
      assert.equal(key.length, 32);
      const marker = Buffer.from(SECRET_MARKER);
      for (const file of await filesUnder(dataDir)) {
        // The gateway runs on: an upload may have removed a file since the listing.
        const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? Buffer.alloc(0) : Promise.reject(e)));
        assert.equal(bytes.indexOf(marker), -1, `plaintext in ${file}`);
        assert.equal(bytes.indexOf(key), -1, `the key in ${file}`);
      }
      assert.ok(!JSON.stringify(gw!.logs).includes(run.notes.get('key')!), 'the key in the gateway log');
      // The second drive's cartridge went back to its slot through the changer.
      assert.match(out, new RegExp(`Storage Element 3:Full :VolumeTag=${barcodes[2]}`), out);
    });

    it('mtx transfer to an import/export slot exports the cartridge: it leaves the library and is archived to the shelf', async function () {
      const out = assertStep(run, 'mtx-transfer').output;
      assert.match(out, /Storage Element 2:Empty/, out);
      assert.equal(run.scriptRc, 0);
      const archived = await until(`${barcodes[1]} ARCHIVED`, async () => {
        const tape = await shelfTape(gw!, barcodes[1]!);
        return tape?.status === 'ARCHIVED' ? tape : undefined;
      });
      assert.equal(archived.pool, 'GLACIER');
      const status = (await api.get('/library')) as { importExport: { full: number } };
      assert.equal(status.importExport.full, 0, 'the import/export slot is free again');
      const tapes = (await api.get('/tapes')) as { tapes: { barcode: string }[] };
      assert.ok(!tapes.tapes.some((t) => t.barcode === barcodes[1]), 'an archived cartridge is not listed in the library');
    });
  });

  describe("through the kernel's initiator (iscsistart, iscsid) as a Linux backup server: two drives, a cut connection, btape", function () {
    it('iscsistart logs the changer and both drives in; ch and st attach to them', function () {
      const out = assertStep(run, 'kernel-login').output;
      for (const suffix of ['mediachanger', 'tapedrive-01', 'tapedrive-02']) assert.match(out, new RegExp(`gw1-${suffix}`), out);
    });

    it('two drives write and read 1 MiB records at once; the attributes written earlier come back with the cartridge', function () {
      const out = assertStep(run, 'kernel-two-drives').output;
      assert.match(out, /guest-test/, out);
      assert.ok(run.notes.get('sum-x') && run.notes.get('sum-y'));
      assert.equal(run.notes.get('back-x'), run.notes.get('sum-x'));
      assert.equal(run.notes.get('back-y'), run.notes.get('sum-y'));
    });

    it("a connection cut mid-write: the kernel's recovery logs in again, nothing before the last filemark is lost, and the drive goes on", function () {
      assertStep(run, 'before-drop');
      run.step('drop-write');
      assert.ok(relay!.dropped >= 1, 'the relay cut the connection');
      assert.ok(
        relay!.connections > connectionsAtDrop,
        `a new connection after the cut (${connectionsAtDrop} before, ${relay!.connections} in all)`,
      );
      const out = assertStep(run, 'after-drop').output;
      assert.match(out, /operational after recovery/, out);
      for (const f of ['k1', 'k2']) assert.equal(run.notes.get(`back-${f}`), run.notes.get(`sum-${f}`), `archive ${f}`);
      assert.equal(run.notes.get('again-k1'), run.notes.get('sum-k1'), 'the archive appended after the recovery');
    });

    it("btape test passes on a drive with the autochanger configuration of fixtures/bacula, through the kernel's changer and drive", function () {
      assertStep(run, 'load');
      const out = run.step('btape').output;
      const context = `btape said:\n${out
        .split('\n')
        .filter((l) => !/Wrote (one record|block to device)/.test(l))
        .join('\n')}`;
      assert.doesNotMatch(out, /NOT correct|Test failed|FAILED|Fatal error/i, context);
      assert.match(out, /=== Test Succeeded\. End Write, rewind, and re-read test ===/, context);
      assert.match(out, /We should be in file 4\. I am at file 4\. This is correct!/, context);
      assert.match(out, /The test autochanger worked!!/, context);
      assertStep(run, 'btape');
    });
  });
});
