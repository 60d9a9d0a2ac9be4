// Runs libiscsi's compliance suite `iscsi-test-cu` (Debian libiscsi-bin 1.19) against an iSCSI
// URL and reads its CUnit verbose output into per-test outcomes.
//
// Why the text output and not --xml: CUnit's XML records only failed assertions, while libiscsi
// marks a skipped test by logging "[SKIPPED] ..." and then passing it (CU_PASS), so only the
// verbose text tells a skip from a pass.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const ISCSI_TEST_CU = 'iscsi-test-cu';

export type CuOutcome = 'pass' | 'fail' | 'skip' | 'not-run';

export interface CuTestResult {
  /** e.g. "ALL.Read10.BeyondEol" */
  readonly name: string;
  readonly suite: string;
  readonly test: string;
  readonly outcome: CuOutcome;
  /** What the test logged: "[SKIPPED] ...", "[FAILED] ..." and its step descriptions. */
  readonly log: readonly string[];
  /** CUnit's failed assertions, "test_read10_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)". */
  readonly assertions: readonly string[];
}

export interface CuSuiteResult {
  readonly family: string;
  readonly suite: string;
  readonly tests: readonly CuTestResult[];
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
  readonly notRun: number;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Why tests did not run: the tool's own words (login failed, suite set-up failed, timeout). */
  readonly problem?: string;
  readonly output: string;
}

export interface CuRunOptions {
  /** iscsi://[user%secret@]host:port/iqn/lun */
  readonly url: string;
  /** Same LUN through a second session, for the MultipathIO suite. */
  readonly secondUrl?: string;
  readonly dataloss?: boolean;
  readonly allowSanitize?: boolean;
  readonly timeoutMs?: number;
  readonly initiatorName?: string;
  readonly initiatorName2?: string;
}

/** Families (ALL, SCSI, iSCSI, LINUX) → suite → test names, from `iscsi-test-cu --list`. */
export async function listTests(): Promise<Map<string, Map<string, string[]>>> {
  const { stdout } = await execFileAsync(ISCSI_TEST_CU, ['--list']);
  const families = new Map<string, Map<string, string[]>>();
  for (const line of stdout.split('\n')) {
    const parts = line.trim().split('.');
    if (parts[0] === '') continue;
    const [family, suite, test] = parts as [string, string?, string?];
    let suites = families.get(family);
    if (!suites) families.set(family, (suites = new Map()));
    if (suite === undefined) continue;
    let tests = suites.get(suite);
    if (!tests) suites.set(suite, (tests = []));
    if (test !== undefined) tests.push(test);
  }
  return families;
}

// A few tests skip by CU_PASS("[SKIPPED] ...") without logging it; these are the lines they log
// just before (libiscsi 1.19 set_swp(), used by ModeSense6.Control-SWP).
const SILENT_SKIP_LOGS = ['SWP is not changeable'];

interface ParsedTest {
  suite: string;
  test: string;
  status?: 'passed' | 'FAILED';
  skipped: boolean;
  log: string[];
  assertions: string[];
}

export interface ParsedCuOutput {
  readonly tests: ReadonlyArray<Omit<CuTestResult, 'name'>>;
  /** Suites whose set-up (login) failed, so CUnit ran none of their tests. */
  readonly suiteInitFailures: readonly string[];
  /** "Ran" from CUnit's run summary, when the run got that far. */
  readonly ran?: number;
}

/**
 * Reads CUnit's verbose output. A test starts at "  Test: NAME ..."; CUnit then writes "passed"
 * or "FAILED" at the start of a line or right after the dots, while libiscsi's log lines are
 * indented by four spaces and may come before (the test) or after (suite clean-up) that word.
 */
export function parseCuOutput(text: string): ParsedCuOutput {
  const tests: ParsedTest[] = [];
  const suiteInitFailures: string[] = [];
  let suite = '';
  let current: ParsedTest | undefined;
  let ran: number | undefined;

  const content = (rest: string): void => {
    if (!current) return;
    const status = /^(passed|FAILED)(.*)$/.exec(rest);
    if (status && current.status === undefined) {
      current.status = status[1] as 'passed' | 'FAILED';
      rest = status[2]!;
    }
    const assertion = /^\s+\d+\.\s+(.*)$/.exec(rest);
    if (assertion && current.status === 'FAILED') {
      current.assertions.push(assertion[1]!.trim());
      return;
    }
    const message = rest.trim();
    if (message === '') return;
    current.log.push(message);
    if (current.status === undefined && (message.includes('[SKIPPED]') || SILENT_SKIP_LOGS.includes(message))) {
      current.skipped = true;
    }
  };

  for (const line of text.split('\n')) {
    const suiteStart = /^Suite: (\S+)/.exec(line);
    if (suiteStart) {
      suite = suiteStart[1]!;
      current = undefined;
      continue;
    }
    const testStart = /^ {2}Test: (\S+) \.\.\.(.*)$/.exec(line);
    if (testStart) {
      current = { suite, test: testStart[1]!, skipped: false, log: [], assertions: [] };
      tests.push(current);
      content(testStart[2]!);
      continue;
    }
    const initFailure = /Suite initialization failed for '([^']+)'/.exec(line);
    if (initFailure) {
      suiteInitFailures.push(initFailure[1]!);
      current = undefined;
      continue;
    }
    const summary = /^\s+tests\s+\d+\s+(\d+)\s+\d+\s+\d+\s+\d+/.exec(line);
    if (summary) {
      ran = Number(summary[1]);
      current = undefined;
      continue;
    }
    if (line.startsWith('Run Summary:')) {
      current = undefined;
      continue;
    }
    content(line);
  }

  return {
    tests: tests.map((t) => ({
      suite: t.suite,
      test: t.test,
      outcome: t.status === undefined ? 'not-run' : t.status === 'FAILED' ? 'fail' : t.skipped ? 'skip' : 'pass',
      log: t.log,
      assertions: t.assertions,
    })),
    suiteInitFailures,
    ...(ran === undefined ? {} : { ran }),
  };
}

interface ProcessResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timedOut: boolean;
}

function runProcess(command: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exitCode: code, timedOut });
    });
  });
}

/**
 * Runs one suite (`-t FAMILY.SUITE`) and accounts for every test `--list` names in it: a test the
 * run never finished (login failure, hang, crash) counts as not-run.
 */
export async function runSuite(
  family: string,
  suite: string,
  expectedTests: readonly string[],
  options: CuRunOptions,
): Promise<CuSuiteResult> {
  const args = ['-t', `${family}.${suite}`];
  if (options.dataloss) args.push('--dataloss');
  if (options.allowSanitize) args.push('--allow-sanitize');
  if (options.initiatorName) args.push('--initiator-name', options.initiatorName);
  if (options.initiatorName2) args.push('--initiator-name-2', options.initiatorName2);
  args.push(options.url);
  if (options.secondUrl) args.push(options.secondUrl);

  const started = Date.now();
  // Line-buffered stdout, so a run killed at its timeout still shows which tests finished.
  const run = await runProcess('stdbuf', ['-oL', ISCSI_TEST_CU, ...args], options.timeoutMs ?? 60_000);
  const durationMs = Date.now() - started;

  const parsed = parseCuOutput(run.stdout);
  const byName = new Map(parsed.tests.filter((t) => t.suite === suite).map((t) => [t.test, t]));
  const tests: CuTestResult[] = expectedTests.map((test) => {
    const found = byName.get(test);
    return {
      name: `${family}.${suite}.${test}`,
      suite,
      test,
      outcome: found?.outcome ?? 'not-run',
      log: found?.log ?? [],
      assertions: found?.assertions ?? [],
    };
  });
  const count = (o: CuOutcome) => tests.filter((t) => t.outcome === o).length;

  let problem: string | undefined;
  if (run.timedOut) problem = `killed after ${options.timeoutMs ?? 60_000} ms`;
  else if (parsed.suiteInitFailures.includes(suite)) problem = 'suite set-up (login) failed';
  else if (parsed.tests.length === 0) {
    const said = (run.stderr + run.stdout).trim().split('\n').filter(Boolean).slice(-3).join(' / ');
    problem = `no test ran (exit ${run.exitCode}): ${said}`;
  } else if (parsed.ran !== undefined && parsed.ran !== parsed.tests.length) {
    problem = `CUnit ran ${parsed.ran} tests but ${parsed.tests.length} were read from its output`;
  }

  return {
    family,
    suite,
    tests,
    pass: count('pass'),
    fail: count('fail'),
    skip: count('skip'),
    notRun: count('not-run'),
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    durationMs,
    ...(problem === undefined ? {} : { problem }),
    output: run.stdout + (run.stderr ? `\n--- stderr ---\n${run.stderr}` : ''),
  };
}

/** The suite that needs the same LUN through two sessions (`secondUrl`). */
export const MULTIPATH_SUITE = 'MultipathIO';

/**
 * Runs the suites one after the other (never at once: each hammers the target). `secondUrl` goes
 * to the MultipathIO suite only; the others log in once. Past `deadline` (epoch ms) the remaining
 * suites are not started and their tests count as not run.
 */
export async function runSuites(
  family: string,
  suites: readonly string[],
  options: CuRunOptions & { readonly deadline?: number },
): Promise<CuSuiteResult[]> {
  const catalog = (await listTests()).get(family);
  if (!catalog) throw new Error(`iscsi-test-cu --list has no family ${family}`);
  const { secondUrl, deadline, ...single } = options;
  const results: CuSuiteResult[] = [];
  for (const suite of suites) {
    const expected = catalog.get(suite);
    if (!expected) throw new Error(`iscsi-test-cu --list has no suite ${family}.${suite}`);
    const left = (deadline ?? Infinity) - Date.now();
    if (left <= 0) {
      results.push(notStarted(family, suite, expected));
      continue;
    }
    const timeoutMs = Math.min(options.timeoutMs ?? 60_000, left);
    const perSuite = suite === MULTIPATH_SUITE && secondUrl ? { ...single, secondUrl } : single;
    results.push(await runSuite(family, suite, expected, { ...perSuite, timeoutMs }));
  }
  return results;
}

function notStarted(family: string, suite: string, expected: readonly string[]): CuSuiteResult {
  return {
    family,
    suite,
    tests: expected.map((test) => ({ name: `${family}.${suite}.${test}`, suite, test, outcome: 'not-run', log: [], assertions: [] })),
    pass: 0,
    fail: 0,
    skip: 0,
    notRun: expected.length,
    exitCode: null,
    timedOut: false,
    durationMs: 0,
    problem: 'not started: the time budget for the run was spent',
    output: '',
  };
}
