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

/**
 * A request nobody answered: no service listens (`noResponders`), or none answered in time. `reason` is the
 * message without its hint, for a caller that says what to do instead (vigil trigger names the run it may start).
 */
export class NoAnswerError extends CliError {
  constructor(
    readonly reason: string,
    hint: string,
    readonly noResponders: boolean,
  ) {
    super(reason + hint);
    this.name = 'NoAnswerError';
  }
}
