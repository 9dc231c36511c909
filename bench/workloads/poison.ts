/**
 * poison: the seed workload's 405 turns on one OpenAI-type provider (200 ms, no limit), once
 * clean and once with about 5 % poison turns: turn 2 of two sequences answers 500 every time
 * (18 turns over 3 models × 3 runs; their turn 3 is then skipped). Everything else must go on:
 * the target is the clean wall time × 1.5 plus one turn's retry budget (default retry policy:
 * 6 attempts and the backoff ceilings between them).
 */
import { DEFAULT_RETRY_POLICY } from '../../src/resilience/defaults.js';
import { backoffCeilingMs } from '../../src/resilience/backoff.js';
import type { FaultRule, Simulator } from '../../src/simulator/server.js';
import { lowerBound } from '../lib/lower-bound.js';
import { localSimulator } from '../lib/simulator-host.js';
import { buildSuite, maxTurnsOf, sequences, simModels, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { measuredTroupeCase } from '../lib/troupe-case.js';
import { check } from '../lib/types.js';
import type { Workload } from '../lib/types.js';

const LATENCY_MS = 200;
const PROMPTS = 3;
const RUNS = 3;
const FULL = { models: 3, sequences: 15 };
const QUICK = { models: 1, sequences: 5 };
/** Turn 2 of sequences p1 and p2 (the comma keeps p10…p15 out). */
const POISON: FaultRule = { fault: { kind: 'status', status: 500 }, matching: '^p[12], question 2:' };
const POISONED_SEQUENCES = 2;
const TARGET_FACTOR = 1.5;
const JOB_TIMEOUT_MS = 300_000;

/** One turn's retry budget under the default policy: its attempts' latency and the backoff ceilings. */
function retryBudgetMs(): number {
  let ms = DEFAULT_RETRY_POLICY.maxAttempts * LATENCY_MS;
  for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt++)
    ms += backoffCeilingMs(attempt, DEFAULT_RETRY_POLICY);
  return ms;
}

function spec(sim: Simulator, size: typeof FULL): SuiteSpec {
  return {
    name: 'bench-poison',
    runs: RUNS,
    providers: [{ id: 'oai', type: 'openai', baseURL: sim.openaiBaseURL }],
    models: simModels(size.models, 'oai', 200),
    sequences: sequences('p', size.sequences, PROMPTS),
  };
}

export const poison: Workload = {
  name: 'poison',
  summary: 'the seed workload, clean and with about 5 % poison turns (500 every time); wall ÷ clean wall',
  async run(options) {
    const size = options.quick ? QUICK : FULL;
    const host = await localSimulator({ latencyMs: LATENCY_MS });
    const sim = host.local as Simulator;
    try {
      const suite = await buildSuite(spec(sim, size));
      const bound = lowerBound({ turns: turnsOf(suite), maxTurns: maxTurnsOf(suite), latencyMs: LATENCY_MS });
      const clean = await measuredTroupeCase(sim, options, 'clean', suite, bound, {
        timeoutMs: JOB_TIMEOUT_MS,
      });
      sim.configure({ faults: [POISON] });
      // Each poisoned turn fails, and the turn after it in its run is skipped.
      const poisoned = size.models * RUNS * POISONED_SEQUENCES;
      const withPoison = await measuredTroupeCase(sim, options, `${poisoned} poison turns`, suite, bound, {
        timeoutMs: JOB_TIMEOUT_MS,
        expectedNotOk: 2 * poisoned,
      });
      const budget = retryBudgetMs();
      return {
        name: 'poison',
        description:
          `${turnsOf(suite)} turns (${size.models} models × ${size.sequences} sequences × ${PROMPTS} prompts × ${RUNS} runs), ` +
          `${poisoned} of them poison (${((100 * poisoned) / turnsOf(suite)).toFixed(1)} %), latency ${LATENCY_MS} ms, default retry policy`,
        cases: [clean, withPoison],
        targets: [
          check(
            `poison wall ≤ ${TARGET_FACTOR} × clean wall + one turn's retry budget (${budget} ms)`,
            withPoison.wallMs,
            '<=',
            TARGET_FACTOR * clean.wallMs + budget,
          ),
        ],
        ratios: { 'poison wall ÷ clean wall': withPoison.wallMs / clean.wallMs },
        notes: [],
      };
    } finally {
      await host.close();
    }
  },
};
