// libiscsi's compliance suite against the gateway's volumes, a stored one and a cached one, and, in
// the same run, against tgtd serving a disk of the same size: no test that tgtd passes may fail on
// either of ours, except the entries of fixtures/iscsi-test-cu-known.json, each with its reason.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess } from '../helpers/gateway-process.ts';
import { listTests, runSuites, type CuSuiteResult, type CuTestResult } from '../helpers/iscsi-test-cu.ts';
import { parseReadCapacity16, runTool, type Capacity } from '../helpers/libiscsi.ts';
import { requirePeer } from '../helpers/peers.ts';
import { startTgtReference } from '../helpers/tgt.ts';

// ALL = every SBC and SPC suite (incl. reservations, extended copy, sanitize) plus the iSCSI ones
// (CmdSN, DataSN, residuals, task management) and MultipathIO, each suite once.
const FAMILY = 'ALL';
// Small, so suites that touch the whole LUN stay quick. tgtd 1.0.85 on a 64 MiB disk, 512-byte
// blocks, default settings: 162 pass, 9 fail, 59 skip in about 20 s (test/peers/README.md).
const VOLUME_SIZE = '64MiB';
/** The gateway's volumes under test: a stored one and a cached one. */
const VOLUMES = [
  { name: 'disk', flag: `disk=${VOLUME_SIZE}` },
  { name: 'cached', flag: `cached=${VOLUME_SIZE}:cached` },
] as const;
const SUITE_TIMEOUT_MS = 30_000;
const RUN_BUDGET_MS = 150_000;
const knownFile = new URL('../../fixtures/iscsi-test-cu-known.json', import.meta.url);

interface KnownEntry {
  readonly test: string;
  readonly reason: string;
}

async function readKnown(): Promise<KnownEntry[]> {
  const parsed: unknown = JSON.parse(await readFile(knownFile, 'utf8'));
  assert.ok(Array.isArray(parsed), 'fixtures/iscsi-test-cu-known.json must be an array');
  return parsed.map((entry: unknown, i) => {
    const e = entry as Partial<KnownEntry>;
    assert.ok(
      typeof e.test === 'string' && typeof e.reason === 'string' && e.reason.trim() !== '',
      `entry ${i} of fixtures/iscsi-test-cu-known.json needs "test" and a non-empty "reason"`,
    );
    return { test: e.test, reason: e.reason };
  });
}

const counts = (r: CuSuiteResult) => `${r.pass}/${r.fail}/${r.skip}${r.notRun ? ` +${r.notRun} not run` : ''}`;

function table(ours: readonly CuSuiteResult[], tgt: readonly CuSuiteResult[]): string {
  const rows = [['suite', 'ours p/f/s', 'tgt p/f/s', 'ours s', 'tgt s']];
  const total = (rs: readonly CuSuiteResult[], key: 'pass' | 'fail' | 'skip' | 'notRun') => rs.reduce((n, r) => n + r[key], 0);
  ours.forEach((o, i) => {
    const t = tgt[i]!;
    rows.push([o.suite, counts(o), counts(t), (o.durationMs / 1000).toFixed(1), (t.durationMs / 1000).toFixed(1)]);
  });
  const sum = (rs: readonly CuSuiteResult[]) =>
    `${total(rs, 'pass')}/${total(rs, 'fail')}/${total(rs, 'skip')}${total(rs, 'notRun') ? ` +${total(rs, 'notRun')} not run` : ''}`;
  const seconds = (rs: readonly CuSuiteResult[]) => (rs.reduce((n, r) => n + r.durationMs, 0) / 1000).toFixed(1);
  rows.push(['TOTAL', sum(ours), sum(tgt), seconds(ours), seconds(tgt)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

const describeTest = (t: CuTestResult) =>
  [`${t.name}: ${t.outcome}`, ...t.log.map((l) => `    ${l}`), ...t.assertions.map((a) => `    assertion: ${a}`)].join('\n');

describe('@peer iscsi-test-cu: the gateway volumes (stored and cached) against tgtd', function () {
  this.timeout((VOLUMES.length + 1) * RUN_BUDGET_MS + 120_000);

  const oursBy = new Map<string, CuSuiteResult[]>();
  let tgt: CuSuiteResult[] = [];
  let known: KnownEntry[] = [];
  let allTests = new Set<string>();

  before(async function () {
    requirePeer(this, 'iscsi-test-cu', 'iscsi-readcapacity16', 'tgtd', 'tgtadm');
    known = await readKnown();
    const suites = [...((await listTests()).get(FAMILY) ?? new Map<string, string[]>()).entries()];
    allTests = new Set(suites.flatMap(([suite, tests]) => tests.map((t) => `${FAMILY}.${suite}.${t}`)));
    const suiteNames = suites.map(([suite]) => suite);
    const cuOptions = { dataloss: true, allowSanitize: true, timeoutMs: SUITE_TIMEOUT_MS };

    // One drive: the library is not under test here, and the machine is small.
    const gateway = await startGatewayProcess({ args: [...VOLUMES.flatMap((v) => ['--volume', v.flag]), '--drives', '1'] });
    let capacity: Capacity | undefined;
    try {
      for (const volume of VOLUMES) {
        const target = gateway.targets.find((t) => t.name.endsWith(`-${volume.name}`));
        assert.ok(target, `the gateway serves no target for volume ${volume.name}: ${JSON.stringify(gateway.targets)}`);
        const lun = target.luns.find((l) => l.deviceType === 'disk');
        assert.ok(lun, `target ${target.name} has no disk LUN`);
        const url = `iscsi://${gateway.portal}/${target.name}/${lun.lun}`;
        const rc = await runTool('iscsi-readcapacity16', [url]);
        assert.equal(rc.exitCode, 0, `iscsi-readcapacity16 ${url} failed: ${rc.stderr}${rc.stdout}`);
        capacity = parseReadCapacity16(rc.stdout);
        oursBy.set(
          volume.name,
          await runSuites(FAMILY, suiteNames, { ...cuOptions, url, secondUrl: url, deadline: Date.now() + RUN_BUDGET_MS }),
        );
      }
    } finally {
      await gateway.stop();
    }

    assert.ok(capacity);
    const reference = await startTgtReference({ sizeBytes: capacity.totalBytes, blockSize: capacity.blockSize });
    try {
      tgt = await runSuites(FAMILY, suiteNames, {
        ...cuOptions,
        url: reference.url,
        secondUrl: reference.url,
        deadline: Date.now() + RUN_BUDGET_MS,
      });
    } finally {
      await reference.stop();
    }

    const logDir = await mkdtemp(join(tmpdir(), 'iscsi-test-cu-'));
    const sides = [...[...oursBy].map(([name, results]) => [`ours-${name}`, results] as const), ['tgt', tgt] as const];
    for (const [who, results] of sides) {
      for (const r of results) await writeFile(join(logDir, `${who}-${r.suite}.txt`), r.output);
    }
    for (const [name, results] of oursBy) console.log(`\nvolume ${name}:\n${table(results, tgt)}`);
    console.log(`(p/f/s = pass/fail/skip; full outputs in ${logDir})\n`);
    const problems = sides.flatMap(([who, results]) => results.map((r) => [who, r] as const)).filter(([, r]) => r.problem);
    for (const [who, r] of problems) console.log(`${who} ${r.suite}: ${r.problem}`);
  });

  it('names real tests, each with a reason, in the known-differences list', () => {
    const unknown = known.filter((k) => !allTests.has(k.test)).map((k) => k.test);
    assert.deepEqual(unknown, [], 'known-differences entries that iscsi-test-cu --list does not have');
  });

  it('runs every suite to its end on tgtd (the reference is sound)', () => {
    const broken = tgt.filter((r) => r.problem).map((r) => `${r.suite}: ${r.problem}`);
    assert.deepEqual(broken, []);
  });

  it('finishes every suite on each volume: no failed login, hang or crash', () => {
    const broken = [...oursBy].flatMap(([name, results]) =>
      results.filter((r) => r.problem).map((r) => `${name} ${r.suite}: ${r.problem}`),
    );
    assert.deepEqual(broken, []);
    assert.deepEqual(
      [...oursBy.keys()],
      VOLUMES.map((v) => v.name),
      'every volume was tested',
    );
  });

  for (const volume of VOLUMES) {
    it(`fails no test that tgtd passes on the ${volume.name} volume, except the known differences`, () => {
      failsNoMoreThanTgt(oursBy.get(volume.name) ?? []);
    });
  }

  function failsNoMoreThanTgt(results: readonly CuSuiteResult[]): void {
    const tgtOutcome = new Map(tgt.flatMap((r) => r.tests.map((t) => [t.name, t.outcome] as const)));
    const knownNames = new Set(known.map((k) => k.test));
    const ourTests = results.flatMap((r) => r.tests);
    const worse = ourTests.filter((t) => tgtOutcome.get(t.name) === 'pass' && (t.outcome === 'fail' || t.outcome === 'not-run'));
    const skippedHere = ourTests.filter((t) => tgtOutcome.get(t.name) === 'pass' && t.outcome === 'skip');
    if (skippedHere.length > 0) {
      console.log(`skipped on the gateway but passed on tgtd:\n${skippedHere.map(describeTest).join('\n')}`);
    }
    const stale = known.filter((k) => !worse.some((t) => t.name === k.test));
    if (stale.length > 0) console.log(`known differences that no longer differ: ${stale.map((k) => k.test).join(', ')}`);
    const regressions = worse.filter((t) => !knownNames.has(t.name));
    assert.ok(ourTests.length > 0, 'the suites ran');
    assert.equal(regressions.length, 0, `passed on tgtd, not on the gateway:\n${regressions.map(describeTest).join('\n')}`);
  }
});
