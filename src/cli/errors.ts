// How the CLI ends: a one-line message on stderr and an exit code a script can test.

export const EXIT = {
  ok: 0,
  /** The gateway refused the request (unknown tape, tape in a drive, duplicate barcode…) or failed. */
  refused: 1,
  /** The command line, or a value in it, is wrong. */
  usage: 2,
  /** No gateway answers at the address found. */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error whose message says what to type instead. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
