/**
 * overhead: 20 000 requests (single-turn and 3-turn conversations) against a simulator with no
 * latency and no limit, at a concurrency of 64 on both sides: troupe (`limits.maxConcurrency`)
 * and a bare SDK loop (64 loops, each running conversations one after the other). The simulator
 * runs in a child process, so this process holds only the client side. `--workers N` is passed
 * to the Engine as is.
 */
import type { Limits, Suite } from '../../src/suite/types.js';
import { runBareLoop } from '../lib/bare-loop.js';
import { runTroupeJob } from '../lib/job-runner.js';
import { lifetimePeakRssBytes, mb, measuringRss } from '../lib/memory.js';
import { bestOfRounds } from '../lib/repeat.js';
import { childSimulator, localSimulator } from '../lib/simulator-host.js';
import type { SimulatorHost, SimulatorStats } from '../lib/simulator-host.js';
import { benchEnv, buildSuite, sequences, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { commitGapDetails } from '../lib/turn-records.js';
import { check } from '../lib/types.js';
import type { BenchOptions, CaseResult, Workload } from '../lib/types.js';

const CONCURRENCY = 64;
const MODELS = 2;
/** Per model and run: 50 single-turn conversations and 50 of 3 turns = 200 requests. */
const SINGLE_TURN_SEQUENCES = 50;
const THREE_TURN_SEQUENCES = 50;
const RUNS = 50;
const QUICK_RUNS = 5;
/** Runs of the warm-up job: enough for V8 to have optimized the hot paths of a fresh worker. */
const WARM_UP_RUNS = 10;
const QUICK_WARM_UP_RUNS = 1;
const TARGET_RATIO = 0.8;
const JOB_TIMEOUT_MS = 600_000;

function spec(host: SimulatorHost, runs: number): SuiteSpec {
  const limits: Limits = { maxConcurrency: CONCURRENCY };
  return {
    name: 'bench-overhead',
    runs,
    providers: [{ id: 'oai', type: 'openai', baseURL: host.openaiBaseURL, limits }],
    models: Array.from({ length: MODELS }, (_, i) => ({
      id: `m${i + 1}`,
      provider: 'oai',
      model: `gpt-sim-${i + 1}`,
      maxTokens: 100,
    })),
    sequences: [
      ...sequences('one', SINGLE_TURN_SEQUENCES, 1),
      ...sequences('three', THREE_TURN_SEQUENCES, 3),
    ],
  };
}

/** The simulator's CPU time per request between two stats, when it runs in its own process. */
function simulatorCpu(before: SimulatorStats, after: SimulatorStats): Record<string, number> {
  if (before.processCpuMs === undefined || after.processCpuMs === undefined || after.requests === 0)
    return {};
  return {
    'simulator CPU µs/request': Math.round(
      ((after.processCpuMs - before.processCpuMs) * 1000) / after.requests,
    ),
  };
}

/** Worker processes of the troupe case the target applies to (the setting). */
const TARGET_WORKERS = 2;

/** The troupe side; `workers` goes straight to the Engine (0: one process). */
async function troupeCase(
  host: SimulatorHost,
  options: BenchOptions,
  suite: Suite,
  workerCount: number,
  warmUp: Suite,
): Promise<CaseResult> {
  let before: SimulatorStats | undefined;
  const run = await runTroupeJob({
    suite,
    env: benchEnv(),
    workers: workerCount,
    logLevel: options.logLevel,
    timeoutMs: JOB_TIMEOUT_MS,
    warmUp,
    beforeMeasured: async () => {
      await host.reset();
      before = await host.stats();
    },
  });
  const stats = await host.stats();
  const turns = turnsOf(suite);
  const workers = workerCount > 0 ? `${workerCount} workers` : 'one process';
  const workerRss: Record<string, string> =
    run.workerPeakRssBytes.length > 0
      ? { 'workers peak RSS MB': run.workerPeakRssBytes.map((bytes) => mb(bytes)).join(' / ') }
      : {};
  return {
    label: `troupe, maxConcurrency ${CONCURRENCY}, ${workers}`,
    kind: 'troupe',
    turns,
    wallMs: run.wallMs,
    turnsPerSecond: turns / (run.wallMs / 1000),
    rateLimited: stats.rateLimited,
    cpuMs: run.cpuMs,
    peakRssBytes: run.peakRssBytes,
    details: {
      requests: stats.requests,
      ...(before !== undefined && simulatorCpu(before, stats)),
      ...commitGapDetails(run.turns),
      ...workerRss,
    },
  };
}

/** The bare side: `CONCURRENCY` loops over the same conversations. */
async function bareCase(host: SimulatorHost, suite: Suite): Promise<CaseResult> {
  await host.reset();
  const before = await host.stats();
  const {
    value: run,
    peakRssBytes,
    cpuMs,
  } = await measuringRss(() => runBareLoop(suite, benchEnv(), CONCURRENCY));
  const stats = await host.stats();
  const turns = turnsOf(suite);
  if (run.turns !== turns) throw new Error(`bare loop answered ${run.turns} of ${turns} turns`);
  return {
    label: `bare SDK loop, ${CONCURRENCY} loops`,
    kind: 'bare',
    turns: run.turns,
    wallMs: run.wallMs,
    turnsPerSecond: run.turns / (run.wallMs / 1000),
    rateLimited: stats.rateLimited,
    cpuMs,
    peakRssBytes,
    details: { requests: stats.requests, ...simulatorCpu(before, stats) },
  };
}

export const overhead: Workload = {
  name: 'overhead',
  summary: `20 000 requests at 0 ms latency, concurrency ${CONCURRENCY}: troupe ÷ bare SDK loop throughput`,
  async run(options) {
    const runs = options.quick ? QUICK_RUNS : RUNS;
    const host = options.simulatorInProcess
      ? await localSimulator({ latencyMs: 0 })
      : await childSimulator({ latencyMs: 0 });
    try {
      const suite = await buildSuite(spec(host, runs));
      const turns = turnsOf(suite);
      // Warm-up (not measured): every case runs warm, as a daemon does after its first minutes.
      // Each troupe case warms its own Engine (its workers are new processes); the bare loop
      // runs in this process, warmed here.
      const warmUp = await buildSuite(spec(host, options.quick ? QUICK_WARM_UP_RUNS : WARM_UP_RUNS));
      await bareCase(host, warmUp);

      const [inProcess, withWorkers, bare] = (await bestOfRounds(options.repeat, [
        () => troupeCase(host, options, suite, 0, warmUp),
        () => troupeCase(host, options, suite, TARGET_WORKERS, warmUp),
        () => bareCase(host, suite),
      ])) as [CaseResult, CaseResult, CaseResult];
      const ratio = withWorkers.turnsPerSecond / bare.turnsPerSecond;
      const inProcessRatio = inProcess.turnsPerSecond / bare.turnsPerSecond;
      // Only in one process is all of troupe's CPU time in this process: comparable to bare's.
      const cpuRatio =
        inProcess.cpuMs !== undefined && bare.cpuMs !== undefined && inProcess.cpuMs > 0
          ? bare.cpuMs / inProcess.cpuMs
          : Number.NaN;
      return {
        name: 'overhead',
        description:
          `${turns} requests (${MODELS} models × (${SINGLE_TURN_SEQUENCES} single-turn + ${THREE_TURN_SEQUENCES} 3-turn sequences) × ${runs} runs), ` +
          `latency 0 ms, concurrency ${CONCURRENCY}, simulator ${options.simulatorInProcess ? 'in this process' : 'in a child process'}`,
        cases: [inProcess, withWorkers, bare],
        targets: [check(`troupe (${TARGET_WORKERS} workers) ÷ bare throughput`, ratio, '>=', TARGET_RATIO)],
        ratios: {
          [`troupe (${TARGET_WORKERS} workers) ÷ bare throughput`]: ratio,
          'troupe (one process) ÷ bare throughput': inProcessRatio,
          'bare ÷ troupe CPU time of this process (load-independent view of the same)': cpuRatio,
        },
        notes: [
          'at 0 ms latency the simulator ends every request in the tick it arrives, so it never sees two open at once (no in-flight column)',
          `peak RSS of this process (the primary) since it started: ${mb(lifetimePeakRssBytes())} MB; workers' peaks are in the ${TARGET_WORKERS}-worker case`,
        ],
      };
    } finally {
      await host.close();
    }
  },
};
