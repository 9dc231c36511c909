import { resolveApiKeys } from '../../suite/api-keys.js';
import { loadSuiteFile } from '../../suite/load.js';
import { describeSuite } from '../../suite/summary.js';

/** Options of `troupe validate`. */
export interface ValidateOptions {
  /** Path of the suite file (YAML or JSON). */
  readonly suite: string;
}

/**
 * `troupe validate`: loads the suite, checks that the API keys it needs are set (in
 * `process.env`) and prints a short summary, warnings first. Throws an `InputError` (exit
 * code 2) listing every problem; nothing is written anywhere.
 */
export async function runValidate(options: ValidateOptions, out: (line: string) => void): Promise<void> {
  const { suite, warnings } = await loadSuiteFile(options.suite);
  resolveApiKeys(suite, process.env, options.suite);
  for (const warning of warnings) out(`warning: ${warning}`);
  for (const line of describeSuite(suite)) out(line);
  out(`${options.suite}: ok`);
}
