/** Errors that end a command with a specific exit code and a message meant for the user. */

/** Exit codes of the CLI. */
export const ExitCode = {
  /** Everything succeeded. */
  ok: 0,
  /** The job ran but some turns failed. */
  turnsFailed: 1,
  /** Bad input: suite, flags, environment. Nothing was written. */
  badInput: 2,
  /** troupe itself failed (store, internal error). */
  internal: 3,
} as const;

/** An error whose message is for the user, and the exit code it ends the process with. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** Bad input (a suite file, a flag, a missing key): exit code 2, message names the place. */
export class InputError extends ExitError {
  constructor(message: string) {
    super(message, ExitCode.badInput);
    this.name = 'InputError';
  }
}
