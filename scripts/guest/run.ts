// Runs a script in the tape-test guest against any iSCSI target, by hand (the tests use
// test/helpers/guest.ts the same way):
//
//   node --import tsx scripts/guest/run.ts [--lun PORTAL/IQN/LUN]... [--file GUEST_PATH=HOST_PATH]...
//        [--timeout SECONDS] SCRIPT
//
//   e.g. node --import tsx scripts/guest/run.ts \
//          --lun 127.0.0.1:3260/iqn.2026-11.io.tapegateway:gw1-mediachanger/0 \
//          --lun 127.0.0.1:3260/iqn.2026-11.io.tapegateway:gw1-tapedrive-01/0 \
//          --file /etc/bacula/bacula-sd.conf=fixtures/bacula/bacula-sd.conf my-test.sh
//
// The LUNs become SCSI ids 0, 1, ... (the first changer is /dev/sch0, the first drive /dev/nst0).
// SCRIPT is shell code for the guest, with `step NAME 'code'` from scripts/guest/guest.sh. The
// console is echoed as it comes; the exit status is 0 when every step passed.
import { readFileSync } from 'node:fs';
import { ensureGuestImage, runGuest, summarize, type GuestLun } from '../../test/helpers/guest.ts';

function usage(message: string): never {
  console.error(
    `run.ts: ${message}\nusage: node --import tsx scripts/guest/run.ts [--lun PORTAL/IQN/LUN]... [--file GUEST=HOST]... [--timeout S] SCRIPT`,
  );
  process.exit(2);
}

const luns: GuestLun[] = [];
const files: Record<string, Buffer> = {};
let timeoutMs = 600_000;
let scriptPath: string | undefined;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  const value = () => args[++i] ?? usage(`${arg} needs a value`);
  if (arg === '--lun') {
    const m = /^([^/]+)\/(.+)\/(\d+)$/.exec(value());
    if (m === null) usage('--lun wants PORTAL/IQN/LUN, e.g. 127.0.0.1:3260/iqn.2026-11.io.tapegateway:gw1-tapedrive-01/0');
    luns.push({ portal: m[1]!, iqn: m[2]!, lun: Number(m[3]) });
  } else if (arg === '--file') {
    const spec = value();
    const eq = spec.indexOf('=');
    if (eq <= 0) usage('--file wants GUEST_PATH=HOST_PATH');
    files[spec.slice(0, eq)] = readFileSync(spec.slice(eq + 1));
  } else if (arg === '--timeout') {
    timeoutMs = Number(value()) * 1000;
  } else if (arg.startsWith('-')) {
    usage(`unknown option ${arg}`);
  } else {
    scriptPath = arg;
  }
}
if (scriptPath === undefined) usage('no script');

const image = await ensureGuestImage();
const result = await runGuest(image, {
  script: readFileSync(scriptPath, 'utf8'),
  luns,
  files,
  timeoutMs,
  onLine: (line) => console.log(line),
});
console.log(`\n${summarize(result)}${result.timedOut ? ' (timed out)' : ''}`);
process.exitCode = result.scriptRc === 0 && result.steps.every((s) => s.rc === 0) ? 0 : 1;
