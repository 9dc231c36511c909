/**
 * How a troupe command process speaks: text lines on stdout through the terminal sanitiser, a
 * closed stdout taken quietly, and a failure turned into a message on stderr and an exit code.
 * Shared by the CLI's own process and the reader processes it starts (reader-main.ts).
 */
import { ExitCode, ExitError } from '../errors.js';
import { sanitizeLines } from '../results/terminal-text.js';
import { OutputWatch } from './output-watch.js';

/** A closed stdout (`troupe … | head`) ends a command quietly instead of with an EPIPE stack. */
export const stdoutWatch = new OutputWatch(process.stdout, (error) => {
  process.stderr.write(
    `troupe: cannot write the output: ${error instanceof Error ? error.message : String(error)}\n`,
  );
});

/**
 * Prints a line of a command's text output. Through the terminal sanitiser: a line may carry
 * names from a suite, the store or a provider (suite and model names, provider messages).
 */
export const stdoutLine = (line: string): void => {
  if (!stdoutWatch.closed) process.stdout.write(`${sanitizeLines(line)}\n`);
};

/**
 * Writes what ended a command to stderr and returns the exit code it ends with. An `ExitError`
 * without a message was told already (by a reader process, on the same stderr).
 */
export function reportFailure(error: unknown): number {
  if (error instanceof ExitError) {
    // Messages name suites, models, jobs and files: printed through the terminal sanitiser.
    if (error.message !== '') process.stderr.write(`troupe: ${sanitizeLines(error.message)}\n`);
    return error.exitCode;
  }
  process.stderr.write(
    `troupe: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return ExitCode.internal;
}
