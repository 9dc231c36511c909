/** The error an invalid suite (or its environment) ends a command with. */

import { InputError } from '../errors.js';
import { MAX_REPORTED_PROBLEMS } from './defaults.js';

/**
 * An invalid suite: exit code 2, and a message that lists the problems one per line, each
 * naming its file, line, field path, what was expected and what was found. At most
 * `MAX_REPORTED_PROBLEMS` are listed; the rest are counted.
 */
export class SuiteError extends InputError {
  /** Every problem found, one line each, not capped. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
    const more = problems.length - shown.length;
    const tail = more > 0 ? [`… and ${more} more problem${more === 1 ? '' : 's'}`] : [];
    super([...shown, ...tail].join('\n'));
    this.name = 'SuiteError';
    this.problems = problems;
  }
}
