// libiscsi's command-line tools (Debian libiscsi-bin) run as a user would, with their output read
// back into values tests can assert on.
import { execFile } from 'node:child_process';

export interface ToolRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(binary: string, args: readonly string[], timeoutMs = 20_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${binary} ${args.join(' ')}: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

export interface ListedLun {
  readonly lun: number;
  /** libiscsi's name for the peripheral device type, e.g. DIRECT_ACCESS, SEQUENTIAL_ACCESS. */
  readonly type: string;
  /** As iscsi-ls prints it for disks, e.g. "63M". */
  readonly size?: string;
  /** "(No media loaded)": TEST UNIT READY said MEDIUM NOT PRESENT (an empty tape drive). */
  readonly noMedia?: true;
}

export interface ListedTarget {
  readonly iqn: string;
  /** "127.0.0.1:3260,1": address, port and portal group tag. */
  readonly portal: string;
  readonly luns: readonly ListedLun[];
}

/** Reads `iscsi-ls -s` output: "Target:IQN Portal:ADDR,TPGT" then "Lun:N    Type:T (Size:S)". */
export function parseIscsiLs(stdout: string): ListedTarget[] {
  const targets: Array<{ iqn: string; portal: string; luns: ListedLun[] }> = [];
  for (const line of stdout.split('\n')) {
    const target = /^Target:(\S+) Portal:(\S+)/.exec(line);
    if (target) {
      targets.push({ iqn: target[1]!, portal: target[2]!, luns: [] });
      continue;
    }
    const lun = /^Lun:(\d+)\s+Type:(\S+)(?: \(Size:([^)]+)\))?( \(No media loaded\))?/.exec(line);
    if (lun && targets.length > 0) {
      targets[targets.length - 1]!.luns.push({
        lun: Number(lun[1]),
        type: lun[2]!,
        ...(lun[3] === undefined ? {} : { size: lun[3] }),
        ...(lun[4] === undefined ? {} : { noMedia: true }),
      });
    }
  }
  return targets;
}

export interface Capacity {
  readonly blockSize: number;
  readonly lastLba: number;
  readonly totalBytes: number;
}

/** Reads `iscsi-readcapacity16` output. */
export function parseReadCapacity16(stdout: string): Capacity {
  const field = (label: string): number => {
    const m = new RegExp(`^${label}:(\\d+)$`, 'm').exec(stdout);
    if (!m) throw new Error(`iscsi-readcapacity16 printed no "${label}":\n${stdout}`);
    return Number(m[1]);
  };
  return {
    blockSize: field('LOGICAL BLOCK LENGTH IN BYTES'),
    lastLba: field('RETURNED LOGICAL BLOCK ADDRESS'),
    totalBytes: field('Total size'),
  };
}

/** "Key:value" lines of iscsi-inq output, values as printed (vendor fields keep their padding). */
export function parseInqFields(stdout: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const values = fields.get(key) ?? [];
    values.push(line.slice(colon + 1));
    fields.set(key, values);
  }
  return fields;
}

export interface Designator {
  readonly codeSet: string;
  readonly association: string;
  readonly type: string;
  /** As printed between the brackets; binary designators come out as raw bytes. */
  readonly value: string;
}

/** Reads `iscsi-inq -e 1 -c 131` (VPD 83h): "DEVICE DESIGNATOR #n" blocks of "Key:(code) NAME" lines. */
export function parseDesignators(stdout: string): Designator[] {
  return stdout
    .split(/^DEVICE DESIGNATOR #\d+$/m)
    .slice(1)
    .map((block) => {
      const named = (key: string) => new RegExp(`^${key}:\\(\\d+\\) (\\S+)$`, 'm').exec(block)?.[1] ?? '';
      return {
        codeSet: named('Code Set'),
        association: named('Association'),
        type: named('Designator Type'),
        value: /^Designator:\[(.*)\]$/ms.exec(block)?.[1] ?? '',
      };
    });
}
