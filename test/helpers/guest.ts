// A real Linux client for the tape library: a QEMU guest (software emulation) whose SCSI devices
// pass through QEMU's own iSCSI initiator, so that Linux's st, ch and sg drivers, mtx, mt-st, GNU
// tar and Bacula's btape talk to the target as they would on a backup server.
//
//   const image = await requireGuest(this);            // in before(): builds or reuses the image
//   const run = await runGuest(image, {
//     luns: [{ portal, iqn, lun: 2 }, { portal, iqn, lun: 1 }],   // scsi-id 0, 1, ...
//     script: `step status 'mtx -f /dev/sch0 status'`,
//     timeoutMs: 120_000,
//   });
//   assertStep(run, 'status');                          // throws with the step's output if rc != 0
//
// The image is scripts/guest/build.sh's (a Debian kernel and an initramfs of Debian packages,
// cached in .cache/guest/). The script runs inside the guest under /bin/sh (dash) after
// /lib/guest.sh (scripts/guest/guest.sh), whose `step NAME 'code'` runs code under `set -e` and
// prints marker lines on the serial console; runGuest parses them into per-step results.
// One guest at a time: QEMU's TCG takes a whole core.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findOnPath, requirePeer } from './peers.ts';
import { runStartScript } from './tgt.ts';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const buildScript = join(repoRoot, 'scripts', 'guest', 'build.sh');
const tgtVtlScript = join(repoRoot, 'scripts', 'guest', 'tgt-vtl.sh');
const guestForwarder = join(repoRoot, 'scripts', 'guest', 'guestfwd.pl');
/** QEMU's iSCSI block driver is a module of Debian's qemu-block-extra. */
const iscsiBlockModule = '/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so';

export interface GuestImage {
  readonly kernel: string;
  readonly initrd: string;
  /** How long build.sh took this time (a few ms to a second when cached). */
  readonly buildMs: number;
}

export interface GuestLun {
  /** host:port of the iSCSI portal, e.g. 127.0.0.1:3260 */
  readonly portal: string;
  readonly iqn: string;
  readonly lun: number;
  /** Default: iqn.2026-11.io.tapegateway:guest-N (one name per LUN: each LUN is its own session). */
  readonly initiatorName?: string;
}

export interface GuestRunOptions {
  /** Shell code run in the guest after /lib/guest.sh; use `step NAME 'code'` for results. */
  readonly script: string;
  /** The LUNs the guest sees, in order as SCSI ids 0, 1, ... of one virtio-scsi HBA. */
  readonly luns: readonly GuestLun[];
  /**
   * Host ports the guest reaches at 10.0.2.100 (QEMU's user-mode network with restrict=on:
   * nothing else). scripts/guest/guestfwd.pl relays each connection (perl, always on Debian).
   */
  readonly forwardPorts?: readonly number[];
  /** Extra files placed in the guest (absolute paths), e.g. a Bacula configuration. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** The whole run, boot included; QEMU is killed by its PID past it. Default 120 s. */
  readonly timeoutMs?: number;
  readonly memoryMiB?: number;
  /** Every console line as it arrives (GUEST_VERBOSE=1 also echoes them to stderr). */
  readonly onLine?: (line: string) => void;
}

export interface GuestStep {
  readonly name: string;
  /** The code's exit status; undefined when the step never ended (timeout, crash). */
  readonly rc: number | undefined;
  /** Time inside the guest. */
  readonly ms: number | undefined;
  /** The step's console output. */
  readonly output: string;
}

export interface GuestResult {
  /** Everything QEMU printed (console and its own messages), \r removed. */
  readonly transcript: string;
  readonly steps: readonly GuestStep[];
  /** Values handed over with `note NAME VALUE`. */
  readonly notes: ReadonlyMap<string, string>;
  /** "@@guest error" lines. */
  readonly errors: readonly string[];
  /** The guest's own exit status of the script, when it got that far. */
  readonly scriptRc: number | undefined;
  /** Guest uptime when the script started (ms), a measure of the boot. */
  readonly bootMs: number | undefined;
  readonly wallMs: number;
  readonly timedOut: boolean;
  readonly exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null };
  step(name: string): GuestStep;
}

export class GuestBuildError extends Error {
  override name = 'GuestBuildError';
}

let imagePromise: Promise<GuestImage> | undefined;

/** Builds (or reuses) the guest image with scripts/guest/build.sh. */
export function ensureGuestImage(): Promise<GuestImage> {
  imagePromise ??= (async () => {
    const started = Date.now();
    try {
      const { stdout } = await execFileAsync(buildScript, [], { maxBuffer: 16 * 1024 * 1024, timeout: 900_000 });
      const kernel = /^GUEST_KERNEL=(.*)$/m.exec(stdout)?.[1];
      const initrd = /^GUEST_INITRD=(.*)$/m.exec(stdout)?.[1];
      if (kernel === undefined || initrd === undefined) throw new GuestBuildError(`build.sh printed no image paths:\n${stdout}`);
      return { kernel, initrd, buildMs: Date.now() - started };
    } catch (error) {
      imagePromise = undefined;
      if (error instanceof GuestBuildError) throw error;
      const e = error as { stderr?: string; message: string };
      throw new GuestBuildError(`scripts/guest/build.sh failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  })();
  return imagePromise;
}

/**
 * In a before() hook (give it a long timeout: a cold build takes a minute or two): QEMU with its
 * iSCSI block driver must be installed and the image must build. Missing either fails under
 * CI=true and skips otherwise, as the peer rule says.
 */
export async function requireGuest(context: Mocha.Context): Promise<GuestImage> {
  requirePeer(context, 'qemu-system-x86_64');
  if (!existsSync(iscsiBlockModule)) {
    const message = `QEMU's iSCSI block driver ${iscsiBlockModule} is missing (Debian package qemu-block-extra)`;
    if (process.env['CI'] === 'true') throw new Error(`peer missing: ${message}; install it with apt-get install qemu-block-extra`);
    console.warn(`      SKIPPED: ${message}`);
    context.skip();
  }
  try {
    return await ensureGuestImage();
  } catch (error) {
    if (process.env['CI'] === 'true') throw error;
    console.warn(`      SKIPPED: the guest image could not be built: ${(error as Error).message.split('\n')[0]}`);
    context.skip();
  }
}

/** A newc cpio archive of the given files (and their parent directories), uncompressed. */
export function makeCpio(files: Readonly<Record<string, string | Buffer>>): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Buffer) => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.from(header + name + '\0', 'latin1');
    parts.push(head, pad4(head.length), data, pad4(data.length));
  };
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const segments = path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const dir of [...dirs].sort()) entry(dir, 0o040755, Buffer.alloc(0));
  for (const [path, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    entry(path.replace(/^\/+/, ''), 0o100755, data);
  }
  entry('TRAILER!!!', 0, Buffer.alloc(0));
  const archive = Buffer.concat(parts);
  return Buffer.concat([archive, Buffer.alloc((512 - (archive.length % 512)) % 512)]);
}

const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Boots the guest with the LUNs attached, runs the script and returns what it printed. */
export async function runGuest(image: GuestImage, options: GuestRunOptions): Promise<GuestResult> {
  const qemu = findOnPath('qemu-system-x86_64');
  if (qemu === undefined) throw new Error('qemu-system-x86_64 not found (Debian package qemu-system-x86)');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const dir = await mkdtemp(join(tmpdir(), 'guest-run-'));
  try {
    // The test script rides in a second archive appended to the image's (the kernel unpacks both).
    const base = await readFile(image.initrd);
    const basePadded = Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4)]);
    const extra = makeCpio({ '/guest/test.sh': options.script, ...(options.files ?? {}) });
    const initrd = join(dir, 'initrd');
    await writeFile(initrd, Buffer.concat([basePadded, extra]));

    const append = [
      'console=ttyS0',
      'loglevel=3',
      'panic=-1',
      'mitigations=off',
      'nokaslr',
      'tsc=reliable',
      'no_timer_check',
      'cryptomgr.notests',
      'nowatchdog',
      `guest.devices=${options.luns.length}`,
      ...(options.forwardPorts?.length ? ['guest.net=1'] : []),
    ].join(' ');
    const args = [
      '-accel',
      'tcg',
      '-m',
      String(options.memoryMiB ?? 512),
      '-display',
      'none',
      '-nodefaults',
      '-no-user-config',
      '-serial',
      'stdio',
      '-no-reboot',
      '-kernel',
      image.kernel,
      '-initrd',
      initrd,
      '-append',
      append,
    ];
    if (options.luns.length > 0) args.push('-device', 'virtio-scsi-pci,id=scsi0');
    options.luns.forEach((lun, index) => {
      const initiator = lun.initiatorName ?? `iqn.2026-11.io.tapegateway:guest-${index}`;
      args.push(
        '-blockdev',
        `driver=iscsi,node-name=lun${index},transport=tcp,portal=${lun.portal},target=${lun.iqn},lun=${lun.lun},initiator-name=${initiator}`,
        '-device',
        `scsi-generic,bus=scsi0.0,drive=lun${index},scsi-id=${index},lun=0`,
      );
    });

    args.push(...networkArgs(options.forwardPorts ?? []));

    const started = Date.now();
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) running.add(child.pid);
    let transcript = '';
    let partial = '';
    const verbose = process.env['GUEST_VERBOSE'] === '1';
    const onText = (chunk: string) => {
      const text = chunk.replace(/\r/g, '');
      transcript += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        options.onLine?.(line);
        if (verbose) process.stderr.write(`      guest| ${line}\n`);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onText);
    child.stderr.setEncoding('utf8').on('data', onText);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
    });
    if (partial !== '') options.onLine?.(partial);
    return parseTranscript(transcript, { timedOut, exit, wallMs: Date.now() - started });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses the "@@guest" markers of a console transcript (see scripts/guest/guest.sh). */
/** GUEST_HOST is where the guest reaches the host's forwarded ports. */
export const GUEST_HOST = '10.0.2.100';

/**
 * QEMU's user-mode network, restricted to the forwarded ports: one scripts/guest/guestfwd.pl per
 * connection (socat in its place makes every request wait up to 40 ms: see the script).
 */
function networkArgs(ports: readonly number[]): string[] {
  if (ports.length === 0) return [];
  // QEMU's option syntax: a comma in a value is written twice.
  const relay = guestForwarder.replaceAll(',', ',,');
  const forwards = ports.map((port) => `guestfwd=tcp:${GUEST_HOST}:${port}-cmd:perl ${relay} ${port}`);
  return ['-netdev', ['user', 'id=n0', 'restrict=on', ...forwards].join(','), '-device', 'virtio-net-pci,netdev=n0'];
}

export function parseTranscript(
  transcript: string,
  run: { timedOut: boolean; exit: { code: number | null; signal: NodeJS.Signals | null }; wallMs: number },
): GuestResult {
  const steps: GuestStep[] = [];
  const notes = new Map<string, string>();
  const errors: string[] = [];
  let scriptRc: number | undefined;
  let bootMs: number | undefined;
  let current: { name: string; lines: string[] } | undefined;
  for (const line of transcript.split('\n')) {
    const marker = /^@@guest (\S+) ?(.*)$/.exec(line);
    if (marker === null) {
      current?.lines.push(line);
      continue;
    }
    const [, kind, rest = ''] = marker;
    if (kind === 'step-begin') {
      if (current !== undefined) steps.push({ name: current.name, rc: undefined, ms: undefined, output: current.lines.join('\n') });
      current = { name: rest.trim(), lines: [] };
    } else if (kind === 'step-end') {
      const m = /^(\S+) rc=(\d+) ms=(-?\d+)/.exec(rest);
      const name = m?.[1] ?? rest.trim();
      const output = current?.name === name ? current.lines.join('\n').replace(/^\n+|\n+$/g, '') : '';
      steps.push({ name, rc: m ? Number(m[2]) : undefined, ms: m ? Number(m[3]) : undefined, output });
      current = undefined;
    } else if (kind === 'note') {
      const space = rest.indexOf(' ');
      if (space > 0) notes.set(rest.slice(0, space), rest.slice(space + 1).trim());
      else notes.set(rest.trim(), '');
    } else if (kind === 'error') {
      errors.push(rest);
    } else if (kind === 'devices' || kind === 'modules') {
      // progress only
    } else if (kind === 'done') {
      const m = /rc=(\d+) uptime=(\d+)/.exec(rest);
      if (m) scriptRc = Number(m[1]);
    }
    // The boot is over at the last of these markers before the script starts.
    const uptime = /uptime=(\d+)/.exec(rest);
    if (uptime && (kind === 'devices' || kind === 'modules' || kind === 'booted')) bootMs = Number(uptime[1]);
  }
  if (current !== undefined) steps.push({ name: current.name, rc: undefined, ms: undefined, output: current.lines.join('\n') });
  return {
    transcript,
    steps,
    notes,
    errors,
    scriptRc,
    bootMs,
    wallMs: run.wallMs,
    timedOut: run.timedOut,
    exit: run.exit,
    step(name: string): GuestStep {
      const found = steps.find((s) => s.name === name);
      if (found === undefined) {
        throw new Error(
          `guest step ${name} never ran${run.timedOut ? ' (the guest timed out)' : ''}; transcript tail:\n${tail(transcript, 60)}`,
        );
      }
      return found;
    },
  };
}

/** Throws (with the step's output, or the transcript's tail) unless the step ended with rc 0. */
export function assertStep(result: GuestResult, name: string): GuestStep {
  const step = result.step(name);
  if (step.rc !== 0) {
    const why = step.rc === undefined ? `did not finish${result.timedOut ? ' (the guest timed out)' : ''}` : `failed with rc=${step.rc}`;
    throw new Error(`guest step ${name} ${why}:\n${step.output || tail(result.transcript, 60)}`);
  }
  return step;
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** One line per step with its status and time, for a test's log. */
export function summarize(result: GuestResult): string {
  const rows = result.steps.map(
    (s) => `${s.name}: ${s.rc === undefined ? 'unfinished' : s.rc === 0 ? 'ok' : `rc=${s.rc}`}${s.ms === undefined ? '' : ` ${s.ms} ms`}`,
  );
  return `boot ${result.bootMs ?? '?'} ms, wall ${result.wallMs} ms; ${rows.join('; ')}`;
}

// ---- tgt's tape library (scripts/guest/tgt-vtl.sh), the reference the harness is proved against.

export interface TgtVtl {
  readonly dir: string;
  readonly pid: number;
  readonly portal: string;
  readonly iqn: string;
  readonly driveLuns: readonly number[];
  readonly changerLun: number;
  /** Barcodes in storage-slot order. */
  readonly barcodes: readonly string[];
  stop(): Promise<void>;
}

export async function startTgtVtl(
  options: { drives?: number; tapes?: number; tapeMiB?: number; importExport?: number } = {},
): Promise<TgtVtl> {
  const args = ['start'];
  if (options.drives !== undefined) args.push('--drives', String(options.drives));
  if (options.tapes !== undefined) args.push('--tapes', String(options.tapes));
  if (options.tapeMiB !== undefined) args.push('--tape-mb', String(options.tapeMiB));
  if (options.importExport !== undefined) args.push('--ie', String(options.importExport));
  const get = await runStartScript(tgtVtlScript, args);
  const dir = get('VTL_DIR');
  return {
    dir,
    pid: Number(get('VTL_PID')),
    portal: get('VTL_PORTAL'),
    iqn: get('VTL_IQN'),
    driveLuns: get('VTL_DRIVE_LUNS').split(',').map(Number),
    changerLun: Number(get('VTL_CHANGER_LUN')),
    barcodes: get('VTL_BARCODES').split(','),
    stop: async () => {
      await execFileAsync(tgtVtlScript, ['stop', dir]);
    },
  };
}
