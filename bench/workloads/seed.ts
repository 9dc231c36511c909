/**
 * seed: 3 models × 15 sequences × 3 prompts × 3 runs = 405 turns on two providers (one OpenAI-type,
 * one Anthropic-type) served by one simulator at 200 ms latency, no rate limit. troupe with its
 * adaptive concurrency, troupe with `maxConcurrency: 1000`, and a bare SDK loop running every
 * conversation at once, all in this process. Lower bound: T·L = 3 × 200 ms.
 */
import type { Simulator } from '../../src/simulator/server.js';
import type { Limits, Suite } from '../../src/suite/types.js';
import { runBareLoop } from '../lib/bare-loop.js';
import { runTroupeJob } from '../lib/job-runner.js';
import { lowerBound } from '../lib/lower-bound.js';
import type { LowerBound } from '../lib/lower-bound.js';
import { measuringRss } from '../lib/memory.js';
import { bestOfRounds } from '../lib/repeat.js';
import { breakdownDetails, count429, timeBreakdown } from '../lib/sim-records.js';
import { localSimulator } from '../lib/simulator-host.js';
import { benchEnv, buildSuite, maxTurnsOf, sequences, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { measuredTroupeCase } from '../lib/troupe-case.js';
import { check } from '../lib/types.js';
import { workerSettings, workersForJob } from '../../src/runtime/worker-settings.js';
import { availableParallelism } from 'node:os';
import type { BenchOptions, CaseResult, Workload } from '../lib/types.js';

const LATENCY_MS = 200;
const SEQUENCES = 15;
const PROMPTS = 3;
const RUNS = 3;
const QUICK_RUNS = 1;
const GENEROUS_CONCURRENCY = 1000;
const TARGET_RATIO = 1.5;
/** troupe's wall at most this many times the bare loop's, with its settings (concurrency, workers) left to their defaults. */
const BARE_LOOP_TARGET_RATIO = 1.25;
/** Far above anything troupe should need; a job that takes longer fails the bench. */
const JOB_TIMEOUT_MS = 180_000;

function spec(sim: Simulator, runs: number, sequenceCount: number, limits?: Limits): SuiteSpec {
  return {
    name: 'bench-seed',
    runs,
    providers: [
      { id: 'oai', type: 'openai', baseURL: sim.openaiBaseURL, ...(limits && { limits }) },
      { id: 'ant', type: 'anthropic', baseURL: sim.anthropicBaseURL, ...(limits && { limits }) },
    ],
    models: [
      { id: 'gpt-a', provider: 'oai', model: 'gpt-sim-a', maxTokens: 200, temperature: 0 },
      { id: 'gpt-b', provider: 'oai', model: 'gpt-sim-b', maxTokens: 200, system: 'Be brief.' },
      { id: 'claude', provider: 'ant', model: 'claude-sim', maxTokens: 200 },
    ],
    sequences: sequences('q', sequenceCount, PROMPTS),
  };
}

/**
 * Worker processes troupe runs `suite` on: `--workers` when given, else what `troupe run` chooses
 * by default for a job of its size (none for a job this small).
 */
function workersFor(options: BenchOptions, suite: Suite): number {
  const conversations = suite.models.length * suite.sequences.length * suite.runs;
  return workersForJob(workerSettings(options.workers, availableParallelism()), conversations);
}

/** One troupe job on `suite`, read against the simulator's records. */
async function troupeCase(
  sim: Simulator,
  options: BenchOptions,
  label: string,
  suite: Suite,
  bound: LowerBound,
): Promise<CaseResult> {
  return measuredTroupeCase(sim, options, label, suite, bound, {
    timeoutMs: JOB_TIMEOUT_MS,
    workers: workersFor(options, suite),
  });
}

/** The bare SDK loop on the same conversations, every conversation at once. */
async function bareCase(sim: Simulator, suite: Suite, bound: LowerBound): Promise<CaseResult> {
  sim.reset();
  const startedAtMs = Date.now();
  const { value: run, peakRssBytes, cpuMs } = await measuringRss(() => runBareLoop(suite, benchEnv(), 'all'));
  const records = sim.records;
  const turns = turnsOf(suite);
  if (run.turns !== turns) throw new Error(`bare loop answered ${run.turns} of ${turns} turns`);
  return {
    label: 'bare SDK loop, all conversations at once',
    kind: 'bare',
    turns: run.turns,
    wallMs: run.wallMs,
    lowerBoundMs: bound.ms,
    boundTerm: bound.term,
    turnsPerSecond: run.turns / (run.wallMs / 1000),
    rateLimited: count429(records),
    maxInFlight: sim.maxInFlight,
    cpuMs,
    peakRssBytes,
    details: {
      requests: records.length,
      ...breakdownDetails(timeBreakdown(records, startedAtMs, startedAtMs + run.wallMs)),
    },
  };
}

export const seed: Workload = {
  name: 'seed',
  summary: `3 models × ${SEQUENCES} sequences × ${PROMPTS} prompts × ${RUNS} runs at ${LATENCY_MS} ms; troupe vs bare SDK loop`,
  async run(options) {
    const runs = options.quick ? QUICK_RUNS : RUNS;
    const host = await localSimulator({ latencyMs: LATENCY_MS });
    const sim = host.local as Simulator;
    try {
      // Warm-up (not measured): JIT, first connections, LMDB's first environment.
      const warmSuite = await buildSuite(spec(sim, 1, 2, { maxConcurrency: GENEROUS_CONCURRENCY }));
      await runTroupeJob({
        suite: warmSuite,
        env: benchEnv(),
        workers: workersFor(options, warmSuite),
        logLevel: options.logLevel,
        timeoutMs: JOB_TIMEOUT_MS,
      });
      await runBareLoop(warmSuite, benchEnv(), 'all');

      const adaptiveSuite = await buildSuite(spec(sim, runs, SEQUENCES));
      const generousSuite = await buildSuite(
        spec(sim, runs, SEQUENCES, { maxConcurrency: GENEROUS_CONCURRENCY }),
      );
      const turns = turnsOf(adaptiveSuite);
      const bound = lowerBound({ turns, maxTurns: maxTurnsOf(adaptiveSuite), latencyMs: LATENCY_MS });
      const count = workersFor(options, adaptiveSuite);
      const workers = `${options.workers === undefined ? ', default workers' : ''}${count > 0 ? `, ${count} workers` : ', no worker'}`;
      const [adaptive, generous, bare] = (await bestOfRounds(options.repeat, [
        () => troupeCase(sim, options, `troupe, adaptive concurrency${workers}`, adaptiveSuite, bound),
        () =>
          troupeCase(
            sim,
            options,
            `troupe, maxConcurrency ${GENEROUS_CONCURRENCY}${workers}`,
            generousSuite,
            bound,
          ),
        () => bareCase(sim, adaptiveSuite, bound),
      ])) as [CaseResult, CaseResult, CaseResult];

      const notes: string[] = [];
      if (Math.abs(adaptive.wallMs - generous.wallMs) / generous.wallMs > 0.1) {
        notes.push(
          `adaptive concurrency and maxConcurrency ${GENEROUS_CONCURRENCY} differ by more than 10 % ` +
            `(most requests in flight: ${adaptive.maxInFlight ?? '?'} vs ${generous.maxInFlight ?? '?'} of ${turns / PROMPTS} conversations)`,
        );
      }
      return {
        name: 'seed',
        description: `${turns} turns (3 models × ${SEQUENCES} sequences × ${PROMPTS} prompts × ${runs} runs), 2 providers on one simulator in this process, latency ${LATENCY_MS} ms, no rate limit`,
        cases: [adaptive, generous, bare],
        targets: [
          check(`wall ÷ (T·L), ${generous.label}`, generous.wallMs / bound.ms, '<=', TARGET_RATIO),
          check(`wall ÷ (T·L), ${adaptive.label}`, adaptive.wallMs / bound.ms, '<=', TARGET_RATIO),
          check(
            `wall ÷ bare loop's wall, ${adaptive.label}`,
            adaptive.wallMs / bare.wallMs,
            '<=',
            BARE_LOOP_TARGET_RATIO,
          ),
        ],
        ratios: {
          [`troupe ÷ bare throughput (${adaptive.label})`]: adaptive.turnsPerSecond / bare.turnsPerSecond,
          [`troupe ÷ bare throughput (${generous.label})`]: generous.turnsPerSecond / bare.turnsPerSecond,
        },
        notes,
      };
    } finally {
      await host.close();
    }
  },
};
