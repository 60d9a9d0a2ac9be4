// The guest harness proved against tgt's tape library (Debian `tgt`): Linux's st and ch drivers
// bind to LUNs passed through QEMU's iSCSI initiator, and mtx, mt-st and GNU tar work on them.
// tgt's emulation is thin (no READ POSITION, no residuals; shared/peers.md), so only what it does
// implement is asserted here; test/guest/vtl.test.ts holds the full list against our gateway.
import assert from 'node:assert/strict';
import { requirePeer } from '../helpers/peers.ts';
import { assertStep, requireGuest, runGuest, startTgtVtl, summarize, type GuestImage, type TgtVtl } from '../helpers/guest.ts';

describe("@peer @guest guest harness against tgt's tape library", function () {
  this.timeout(600_000);
  let image: GuestImage;
  let vtl: TgtVtl | undefined;

  before(async function () {
    requirePeer(this, 'tgtd', 'tgtadm', 'tgtimg');
    image = await requireGuest(this);
    vtl = await startTgtVtl({ drives: 1, tapes: 4, tapeMiB: 256, importExport: 2 });
  });

  after(async function () {
    await vtl?.stop();
  });

  it('sees /dev/st0, /dev/nst0 and /dev/sch0; mtx and mt-st drive them; tar writes and reads back', async function () {
    const v = vtl!;
    const run = await runGuest(image, {
      // Changer first: it is sch0, the drive st0/nst0.
      luns: [
        { portal: v.portal, iqn: v.iqn, lun: v.changerLun },
        { portal: v.portal, iqn: v.iqn, lun: v.driveLuns[0]! },
      ],
      timeoutMs: 180_000,
      script: String.raw`
step devices 'test -c /dev/st0; test -c /dev/nst0; test -c /dev/sch0; ls /sys/class/scsi_tape /sys/class/scsi_changer'
step mtx-status 'mtx -f /dev/sch0 status'
step mtx-load 'mtx -f /dev/sch0 load 1 0'
step mt-status 'mt -f /dev/nst0 status'
step tar-write '
  dd if=/dev/urandom of=/tmp/data bs=64k count=48 2>/dev/null
  note data-sha256 $(sha256sum /tmp/data | cut -d" " -f1)
  mt -f /dev/nst0 rewind
  tar -C /tmp -b 128 -cf /dev/nst0 data
  mt -f /dev/nst0 weof 1
'
step tar-read '
  mt -f /dev/nst0 rewind
  mkdir -p /tmp/back
  tar -C /tmp/back -b 128 -xf /dev/nst0
  note back-sha256 $(sha256sum /tmp/back/data | cut -d" " -f1)
'
step mtx-unload 'mtx -f /dev/sch0 unload 1 0'
step mtx-transfer 'mtx -f /dev/sch0 transfer 2 7; mtx -f /dev/sch0 status'
`,
    });
    console.log(`      ${summarize(run)}`);
    assertStep(run, 'devices');
    const status = assertStep(run, 'mtx-status').output;
    for (const barcode of v.barcodes) assert.match(status, new RegExp(`VolumeTag=${barcode}`), status);
    assert.match(status, /1 Drives, \d+ Slots \( 2 Import\/Export \)/);
    assertStep(run, 'mtx-load');
    assert.match(assertStep(run, 'mt-status').output, /ONLINE/);
    assertStep(run, 'tar-write');
    assertStep(run, 'tar-read');
    assert.equal(run.notes.get('back-sha256'), run.notes.get('data-sha256'));
    assertStep(run, 'mtx-unload');
    const after = assertStep(run, 'mtx-transfer').output;
    assert.match(after, /Storage Element 7 IMPORT\/EXPORT:Full :VolumeTag=TGT002L5/, after);
    assert.equal(run.scriptRc, 0);
  });
});
