/**
 * `--max-cost` on a suite. Apart from the budget gate so that the engine and the worker
 * processes, which load the gate, do not load the suite reader too.
 */
import { InputError } from '../errors.js';
import { unpricedProblem } from '../suite/spend-caps.js';
import type { SuiteSettings } from '../suite/types.js';

/** `suite` with the job's cap set to `maxCostUsd` (`--max-cost`); an `InputError` when a model has no prices. */
export function cappedSuite<T extends SuiteSettings>(suite: T, maxCostUsd: number): T {
  const problem = unpricedProblem(suite.models, () => true);
  if (problem !== undefined) throw new InputError(`--max-cost: ${problem}`);
  return { ...suite, budget: { maxCostUsd } };
}
