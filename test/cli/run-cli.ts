// Runs the real `bin/tapegw` as a child process, from a working directory of
// the test's choosing, without the test runner's own GATEWAY_* variables.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const tapegw = fileURLToPath(new URL('../../bin/tapegw', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { cwd: string; env?: Readonly<Record<string, string>> }): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('GATEWAY_')) env[name] = value;
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    execFile(tapegw, [...args], { cwd: options.cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(new Error(`tapegw did not run: ${error.message}`, { cause: error }));
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** A refusal as the CLI must show it: the exit code, nothing on stdout, one matching line on stderr. */
export function assertFailure(run: CliRun, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit code of ${JSON.stringify(run)}`);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^tapegw: [^\n]+\n$/, 'one line on stderr');
  assert.match(run.stderr, message);
}
