/**
 * Repetitions on a busy machine: the cases of a workload run in rounds (A, B, C, A, B, C, …) so
 * that they share whatever load the machine has, and each case keeps its fastest round.
 */
import type { CaseResult } from './types.js';

/** Runs `rounds` rounds of `cases` in order; per case, the fastest result, with every wall time in its details. */
export async function bestOfRounds(
  rounds: number,
  cases: readonly (() => Promise<CaseResult>)[],
): Promise<CaseResult[]> {
  const results: CaseResult[][] = cases.map(() => []);
  for (let round = 0; round < Math.max(1, rounds); round += 1) {
    for (const [index, run] of cases.entries()) results[index]?.push(await run());
  }
  return results.map((list) => {
    const best = list.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    if (list.length === 1) return best;
    const walls = list.map((c) => (c.wallMs / 1000).toFixed(3)).join(' / ');
    return { ...best, details: { ...best.details, [`walls of ${list.length} rounds (s)`]: walls } };
  });
}
