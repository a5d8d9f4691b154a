/** Exit codes: 0 ok, 1 the operation failed, 2 the command line was wrong. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** A failure the CLI reports as one line (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
