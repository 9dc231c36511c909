/**
 * limited: 405 turns against a simulator that enforces 600 requests per minute (a bucket holding
 * one second of refill: 10 requests) at 200 ms latency. troupe told the limit in the suite, then
 * troupe left to learn it from the provider's headers and 429s. Lower bound: (N − B) / R.
 */
import type { Limits } from '../../src/suite/types.js';
import type { Simulator } from '../../src/simulator/server.js';
import { runTroupeJob } from '../lib/job-runner.js';
import { burstOf, lowerBound } from '../lib/lower-bound.js';
import { first429Ms } from '../lib/sim-records.js';
import { localSimulator } from '../lib/simulator-host.js';
import { troupeCaseRow } from '../lib/troupe-case.js';
import { benchEnv, buildSuite, maxTurnsOf, sequences, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { check } from '../lib/types.js';
import type { CaseResult, Workload } from '../lib/types.js';

const LATENCY_MS = 200;
const REQUESTS_PER_MINUTE = 600;
const BURST_SECONDS = 1;
const PROMPTS = 3;
const RUNS = 3;
const FULL = { models: 3, sequences: 15 };
const QUICK = { models: 1, sequences: 5 };
const TARGET_CONFIGURED = 1.05;
const TARGET_LEARNED = 1.25;
/** A job may take this many times its lower bound, plus a minute, before the bench fails it. */
const TIMEOUT_FACTOR = 3;
const TIMEOUT_SLACK_MS = 60_000;

function spec(sim: Simulator, models: number, sequenceCount: number, limits?: Limits): SuiteSpec {
  return {
    name: 'bench-limited',
    runs: RUNS,
    // One provider: the simulator has one bucket, shared by every model on it, like one account.
    providers: [{ id: 'oai', type: 'openai', baseURL: sim.openaiBaseURL, ...(limits && { limits }) }],
    models: Array.from({ length: models }, (_, i) => ({
      id: `m${i + 1}`,
      provider: 'oai',
      model: `gpt-sim-${i + 1}`,
      maxTokens: 200,
    })),
    sequences: sequences('r', sequenceCount, PROMPTS),
  };
}

export const limited: Workload = {
  name: 'limited',
  summary: `405 turns against a simulator limited to ${REQUESTS_PER_MINUTE} RPM at ${LATENCY_MS} ms; limit configured, then learned`,
  async run(options) {
    const size = options.quick ? QUICK : FULL;
    const host = await localSimulator({
      latencyMs: LATENCY_MS,
      rateLimit: { requestsPerMinute: REQUESTS_PER_MINUTE, burstSeconds: BURST_SECONDS },
    });
    const sim = host.local as Simulator;
    const env = benchEnv();
    try {
      const configuredSuite = await buildSuite(
        spec(sim, size.models, size.sequences, { requestsPerMinute: REQUESTS_PER_MINUTE }),
      );
      const learnedSuite = await buildSuite(spec(sim, size.models, size.sequences));
      const turns = turnsOf(configuredSuite);
      const burst = burstOf(REQUESTS_PER_MINUTE, BURST_SECONDS);
      const bound = lowerBound({
        turns,
        maxTurns: maxTurnsOf(configuredSuite),
        latencyMs: LATENCY_MS,
        requestsPerMinute: REQUESTS_PER_MINUTE,
        burst,
      });
      const timeoutMs = bound.ms * TIMEOUT_FACTOR + TIMEOUT_SLACK_MS;
      const workers = (options.workers ?? 0) > 0 ? `, ${options.workers} workers` : '';

      const troupeCase = async (label: string, suite: typeof configuredSuite): Promise<CaseResult> => {
        sim.reset(); // Also refills the simulator's bucket.
        const run = await runTroupeJob({
          suite,
          env,
          workers: options.workers ?? 0,
          logLevel: options.logLevel,
          timeoutMs,
        });
        const first429 = first429Ms(sim.records, run.startedAtMs);
        return troupeCaseRow(label, turns, bound, run, sim, {
          'attempts max': Math.max(...run.turns.map((turn) => turn.attempts)),
          ...(first429 !== undefined && { 'first 429 at ms': first429 }),
        });
      };
      const configured = await troupeCase(
        `troupe, limits.requestsPerMinute ${REQUESTS_PER_MINUTE}${workers}`,
        configuredSuite,
      );
      const learned = await troupeCase(`troupe, no limits in the suite${workers}`, learnedSuite);
      return {
        name: 'limited',
        description:
          `${turns} turns (${size.models} models × ${size.sequences} sequences × ${PROMPTS} prompts × ${RUNS} runs), ` +
          `simulator at ${REQUESTS_PER_MINUTE} RPM with a burst of ${burst}, latency ${LATENCY_MS} ms; bound (N − B) / R`,
        cases: [configured, learned],
        targets: [
          check('wall ÷ bound, limit configured', configured.wallMs / bound.ms, '<=', TARGET_CONFIGURED),
          check('429s, limit configured', configured.rateLimited, '<=', 0),
          check('wall ÷ bound, limit learned', learned.wallMs / bound.ms, '<=', TARGET_LEARNED),
        ],
        ratios: {},
        notes: [
          `the turn gaps here are mostly waiting for the limit: ${turns / PROMPTS} conversations share ${REQUESTS_PER_MINUTE / 60} requests per second`,
        ],
      };
    } finally {
      await host.close();
    }
  },
};
