import { checkSharedLimits } from '../../coordination/suite-check.js';
import { resolveApiKeys } from '../../suite/api-keys.js';
import { openSuite } from '../../suite/load.js';
import { describeSuite } from '../../suite/summary.js';

/** Options of `troupe validate`. */
export interface ValidateOptions {
  /** Path of the suite file (YAML or JSON). */
  readonly suite: string;
}

/**
 * `troupe validate`: loads the suite, checks that the API keys it needs are set (in
 * `process.env`), that each `sharedLimits` store answers with its password, and prints a
 * short summary, warnings first. Throws an `InputError` (exit code 2) listing every problem;
 * nothing is written anywhere.
 */
export async function runValidate(options: ValidateOptions, out: (line: string) => void): Promise<void> {
  // Streamed: a sequences file of a million lines is validated without being held.
  const { settings, stats, warnings } = await openSuite(options.suite);
  resolveApiKeys(settings, process.env, options.suite);
  await checkSharedLimits(settings, process.env, options.suite);
  for (const warning of warnings) out(`warning: ${warning}`);
  for (const line of describeSuite(settings, stats)) out(line);
  out(`${options.suite}: ok`);
}
