// Real clients, end to end: a Linux guest (QEMU, software emulation) logs in to the gateway's tape
// library through QEMU's own iSCSI initiator, one session per device, and drives it with Linux's
// st and ch drivers: mtx (status with barcodes, load, unload, transfer to an import/export slot, which exports to the shelf),
// mt-st (status, rewind, fsf, bsf, eod, tell, seek, offline), GNU tar across filemarks with
// checksums compared, and Bacula's btape `test` with fixtures/bacula/bacula-sd.conf.
//
// Two boots: one for mtx/mt/tar (about 10 s of boot plus a few seconds of work), one for btape
// (about 1.3 GB written and read). Run alone with:
//   npx mocha --no-config --node-option import=tsx --timeout 20000 test/guest/vtl.test.ts
// GUEST_VERBOSE=1 echoes the guest's console.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { shelfTape, until } from '../shelf/gateway-helpers.ts';
import { assertStep, requireGuest, runGuest, summarize, type GuestImage, type GuestLun, type GuestResult } from '../helpers/guest.ts';

const baculaConfig = fileURLToPath(new URL('../../fixtures/bacula/bacula-sd.conf', import.meta.url));

const DRIVES = 2;
const SLOTS = 10;
const IMPORT_EXPORT = 2;
const TAPES = 4;
const PREFIX = 'GW';
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

/** Shell: waits until the drive reports ONLINE (the first commands after a load may see a unit attention). */
const waitOnline = (dev: string) => `
  i=0
  until mt -f ${dev} status 2>&1 | grep -q ONLINE; do
    i=$((i + 1)); [ $i -lt 20 ] || { mt -f ${dev} status; echo "${dev} never came ONLINE"; exit 1; }
    sleep 0.5
  done`;

describe('@peer @guest the tape library from a Linux guest: st/ch drivers, mtx, mt, tar and btape', function () {
  this.timeout(900_000);
  let image: GuestImage;
  let gw: GatewayProcess | undefined;
  let api: Api;
  let luns: GuestLun[];

  before(async function () {
    image = await requireGuest(this);
    gw = await startGatewayProcess({
      args: ['--drives', String(DRIVES), '--slots', String(SLOTS), '--import-export-slots', String(IMPORT_EXPORT), '--library-targets', 'per-device'],
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
    luns = [changer[0]!, ...ordered].map((l) => ({ portal: gw!.portal, iqn: l.iqn, lun: l.lun }));
  });

  after(async function () {
    await gw?.stop();
  });

  describe('mtx, mt and tar', function () {
    let run: GuestResult;

    before(async function () {
      run = await runGuest(image, {
        luns,
        timeoutMs: 300_000,
        script: String.raw`
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
step mt-offline '
  mt -f /dev/nst0 offline
  if mt -f /dev/nst0 status 2>&1 | grep -q ONLINE; then echo "still ONLINE after offline"; exit 1; fi
  mt -f /dev/nst0 status 2>&1 || true'
step mtx-unload '
  mtx -f /dev/sch0 unload 1 0
  mtx -f /dev/sch0 status'
step mtx-second-drive '
  mtx -f /dev/sch0 load 3 1
  ${waitOnline('/dev/nst1')}
  mt -f /dev/nst1 status
  mt -f /dev/nst1 offline
  mtx -f /dev/sch0 unload 3 1
  mtx -f /dev/sch0 status'
step mtx-transfer '
  mtx -f /dev/sch0 transfer 2 ${SLOTS + 1}
  mtx -f /dev/sch0 status'
`,
      });
      console.log(`      ${summarize(run)}`);
    });

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

    it('the second drive loads and unloads through the changer', function () {
      const out = assertStep(run, 'mtx-second-drive').output;
      assert.match(out, /ONLINE/, out);
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

  describe('Bacula', function () {
    it('btape test passes on the drive with the autochanger configuration of fixtures/bacula', async function () {
      const config = await readFile(baculaConfig, 'utf8');
      // btape writes two files of 10,000 blocks on the tape in drive 0, re-reads and repositions,
      // tests appending, then (asked "y") its autochanger test through mtx-changer loads slot 1.
      const run = await runGuest(image, {
        luns,
        timeoutMs: 600_000,
        files: { '/etc/bacula/bacula-sd.conf': config },
        script: String.raw`
step load '
  mtx -f /dev/sch0 load 4 0
  ${waitOnline('/dev/nst0')}'
step btape '
  mkdir -p /var/lib/bacula /run/bacula
  printf "test\ny\nquit\n" | btape -c /etc/bacula/bacula-sd.conf Drive-1'
step after 'mtx -f /dev/sch0 status'
`,
      });
      console.log(`      ${summarize(run)}`);
      assertStep(run, 'load');
      const out = run.step('btape').output;
      const context = `btape said:\n${out.split('\n').filter((l) => !/Wrote (one record|block to device)/.test(l)).join('\n')}`;
      assert.doesNotMatch(out, /NOT correct|Test failed|FAILED|Fatal error/i, context);
      assert.match(out, /=== Test Succeeded\. End Write, rewind, and re-read test ===/, context);
      assert.match(out, /We should be in file 4\. I am at file 4\. This is correct!/, context);
      assert.match(out, /The test autochanger worked!!/, context);
      assertStep(run, 'btape');
    });
  });
});
