/** The error an invalid suite (or its environment) ends a command with. */

import { InputError } from '../errors.js';
import { MAX_REPORTED_PROBLEMS } from './defaults.js';

/**
 * An invalid suite: exit code 2, and a message that lists the problems one per line, each
 * naming its file, line, field path, what was expected and what was found. At most
 * `MAX_REPORTED_PROBLEMS` are listed; the rest are counted.
 */
export class SuiteError extends InputError {
  /** The problems found, one line each, in order (a sequences file's beyond its first 1000 are only counted). */
  readonly problems: readonly string[];

  /** Problems found beyond `problems` and only counted (a sequences file with very many bad lines). */
  readonly moreProblems: number;

  constructor(problems: readonly string[], moreProblems = 0) {
    const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
    const more = problems.length - shown.length + moreProblems;
    const tail = more > 0 ? [`… and ${more} more problem${more === 1 ? '' : 's'}`] : [];
    super([...shown, ...tail].join('\n'));
    this.name = 'SuiteError';
    this.problems = problems;
    this.moreProblems = moreProblems;
  }
}
