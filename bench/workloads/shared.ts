/**
 * shared: several processes, one quota. A real redis-server (started here) holds the shared
 * budget of one `sharedLimits` key.
 *
 * - Paced: 1, 2 and 4 `troupe run` processes, each with its suite at the provider's 600 requests
 *   per minute and their requests split between them, against a simulator enforcing that limit
 *   (one bucket, as one account): combined wall ÷ bound (N − B) / R, where wall runs from the first request's
 *   arrival to the last answer (the processes' start-up is not the limiter's), and the 429s.
 * - Overhead: the per-request cost of the shared store against local limits, in one process (an
 *   Engine, as `troupe run` builds it) at a rate no limit holds back (0 ms latency, concurrency
 *   64, a limit far above it), each case warmed by an unmeasured job first: wall and CPU time per
 *   request with the limits local and shared, and the store's round trips per request, counted by
 *   Redis itself (`INFO commandstats`).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { LEASE_HORIZON_MS, MAX_LEASE_REQUESTS } from '../../src/coordination/defaults.js';
import type { RecordedRequest } from '../../src/simulator/types.js';
import type { Simulator } from '../../src/simulator/server.js';
import type { Limits } from '../../src/suite/types.js';
import { runTroupeJob } from '../lib/job-runner.js';
import { burstOf, lowerBound } from '../lib/lower-bound.js';
import { startRedisServer } from '../lib/redis-server.js';
import type { RedisServer } from '../lib/redis-server.js';
import { bestOfRounds } from '../lib/repeat.js';
import { count429, countOk } from '../lib/sim-records.js';
import { childSimulator, localSimulator } from '../lib/simulator-host.js';
import type { SimulatorHost } from '../lib/simulator-host.js';
import { benchEnv, buildSuite, sequences, suiteText, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { check } from '../lib/types.js';
import type { BenchOptions, CaseResult, TargetCheck, Workload } from '../lib/types.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SHARED_KEY = 'bench-org';

const PACED_LATENCY_MS = 200;
const REQUESTS_PER_MINUTE = 600;
/** The simulator's bucket holds one second of refill. */
const BURST_SECONDS = 1;
const PROCESS_COUNTS = [1, 2, 4] as const;
/** Requests of the paced cases, in all (split between the processes): 2-turn conversations. */
const PACED_REQUESTS = { full: 480, quick: 120 };
const PACED_PROMPTS = 2;
/** A process that has not ended this long after the bound has failed the bench. */
const PACED_TIMEOUT_SLACK_MS = 120_000;
const TARGET_PACED = 1.1;

const OVERHEAD_CONCURRENCY = 64;
/** Far above what one process reaches: the limit is enforced (and shared) but never waited for. */
const OVERHEAD_REQUESTS_PER_MINUTE = 6_000_000;
const OVERHEAD_RUNS = { full: 40, quick: 8 };
const OVERHEAD_WARM_UP_RUNS = { full: 8, quick: 2 };
/** Per model and run: 25 single-turn and 25 3-turn conversations = 100 requests. */
const OVERHEAD_SEQUENCES = 25;
const OVERHEAD_JOB_TIMEOUT_MS = 600_000;
const TARGET_OVERHEAD = 0.1;

function sharedLimits(redis: RedisServer, key: string) {
  return { url: redis.url, key };
}

/** The paced suite of one case; each case has a key of its own, so each starts from a fresh budget. */
function pacedSpec(sim: Simulator, conversations: number, redis: RedisServer, key: string): SuiteSpec {
  return {
    name: 'bench-shared',
    runs: 1,
    providers: [
      {
        id: 'oai',
        type: 'openai',
        baseURL: sim.openaiBaseURL,
        limits: { requestsPerMinute: REQUESTS_PER_MINUTE },
        sharedLimits: sharedLimits(redis, key),
      },
    ],
    models: [{ id: 'm1', provider: 'oai', model: 'gpt-sim-1', maxTokens: 100 }],
    sequences: sequences('s', conversations, PACED_PROMPTS),
  };
}

/** Runs `troupe run <suite>` to its end; rejects on a non-zero exit or after `timeoutMs`. */
function troupeRun(suitePath: string, dataDir: string, timeoutMs: number, logLevel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, 'run', suitePath, '--data-dir', dataDir, '--workers', '0', '--log-level', logLevel],
      { env: { ...process.env, ...benchEnv() }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 100_000) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(`troupe run ended with ${signal ?? `exit ${String(code)}`}: ${stderr.slice(-2_000)}`),
        );
    });
  });
}

function arrivalToLastAnswer(records: readonly RecordedRequest[]): number {
  const first = Math.min(...records.map((r) => r.receivedAt));
  const last = Math.max(...records.map((r) => r.finishedAt));
  return last - first;
}

/** `processes` runs on one key, the paced requests split between them. */
async function pacedCase(
  processes: number,
  sim: Simulator,
  redis: RedisServer,
  options: BenchOptions,
): Promise<CaseResult> {
  const total = options.quick ? PACED_REQUESTS.quick : PACED_REQUESTS.full;
  const conversations = total / PACED_PROMPTS / processes;
  const dir = await makeTempDir();
  try {
    const spec = pacedSpec(sim, conversations, redis, `${SHARED_KEY}-${processes}`);
    const suite = await buildSuite(spec);
    const suitePath = join(dir.path, 'suite.json');
    await writeFile(suitePath, suiteText(spec));
    const bound = lowerBound({
      turns: turnsOf(suite) * processes,
      maxTurns: PACED_PROMPTS,
      latencyMs: PACED_LATENCY_MS,
      requestsPerMinute: REQUESTS_PER_MINUTE,
      burst: burstOf(REQUESTS_PER_MINUTE, BURST_SECONDS),
    });
    sim.reset(); // Also refills the simulator's bucket.
    const started = Date.now();
    await Promise.all(
      Array.from({ length: processes }, (_, i) =>
        troupeRun(
          suitePath,
          join(dir.path, `data-${i}`),
          bound.ms + PACED_TIMEOUT_SLACK_MS,
          options.logLevel,
        ),
      ),
    );
    const records = sim.records;
    const ok = countOk(records);
    if (ok !== total) throw new Error(`${processes} processes: ${ok} of ${total} requests answered`);
    const wallMs = arrivalToLastAnswer(records);
    return {
      label: `${processes} × troupe run on one key`,
      kind: 'troupe',
      turns: total,
      wallMs,
      lowerBoundMs: bound.ms,
      boundTerm: bound.term,
      turnsPerSecond: total / (wallMs / 1000),
      rateLimited: count429(records),
      maxInFlight: sim.maxInFlight,
      peakRssBytes: 0,
      details: {
        'start to first request ms': Math.min(...records.map((r) => r.receivedAt)) - started,
        'processes wall ms': Date.now() - started,
      },
    };
  } finally {
    await dir.remove();
  }
}

function overheadSpec(host: SimulatorHost, runs: number, redis: RedisServer | undefined): SuiteSpec {
  const limits: Limits = {
    requestsPerMinute: OVERHEAD_REQUESTS_PER_MINUTE,
    maxConcurrency: OVERHEAD_CONCURRENCY,
  };
  return {
    name: 'bench-shared-overhead',
    runs,
    providers: [
      {
        id: 'oai',
        type: 'openai',
        baseURL: host.openaiBaseURL,
        limits,
        ...(redis !== undefined && { sharedLimits: sharedLimits(redis, `${SHARED_KEY}-overhead`) }),
      },
    ],
    models: [
      { id: 'm1', provider: 'oai', model: 'gpt-sim-1', maxTokens: 100 },
      { id: 'm2', provider: 'oai', model: 'gpt-sim-2', maxTokens: 100 },
    ],
    sequences: [...sequences('one', OVERHEAD_SEQUENCES, 1), ...sequences('three', OVERHEAD_SEQUENCES, 3)],
  };
}

/** Calls of the store's scripts so far, as Redis counts them. */
async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

/** One process, limits local (`redis` undefined) or shared. */
async function overheadCase(
  host: SimulatorHost,
  options: BenchOptions,
  redis: RedisServer | undefined,
  counter: Redis,
): Promise<CaseResult> {
  const runs = options.quick ? OVERHEAD_RUNS.quick : OVERHEAD_RUNS.full;
  const warmRuns = options.quick ? OVERHEAD_WARM_UP_RUNS.quick : OVERHEAD_WARM_UP_RUNS.full;
  const suite = await buildSuite(overheadSpec(host, runs, redis));
  const warmUp = await buildSuite(overheadSpec(host, warmRuns, redis));
  let callsBefore = 0;
  const run = await runTroupeJob({
    suite,
    env: benchEnv(),
    workers: 0,
    logLevel: options.logLevel,
    timeoutMs: OVERHEAD_JOB_TIMEOUT_MS,
    warmUp,
    beforeMeasured: async () => {
      await host.reset();
      callsBefore = await scriptCalls(counter);
    },
  });
  const calls = (await scriptCalls(counter)) - callsBefore;
  const stats = await host.stats();
  const turns = turnsOf(suite);
  return {
    label: redis === undefined ? 'one process, limits local' : 'one process, limits shared in Redis',
    kind: 'troupe',
    turns,
    wallMs: run.wallMs,
    turnsPerSecond: turns / (run.wallMs / 1000),
    rateLimited: stats.rateLimited,
    cpuMs: run.cpuMs,
    peakRssBytes: run.peakRssBytes,
    details: {
      'wall µs/request': Math.round((run.wallMs * 1000) / turns),
      'CPU µs/request': Math.round((run.cpuMs * 1000) / turns),
      ...(redis !== undefined && calls > 0 && { 'requests per store round trip': Math.round(turns / calls) }),
    },
  };
}

/** A case's least CPU time over its rounds (the machine's other load only ever adds to it), in ms. */
function leastCpuMs(rounds: readonly CaseResult[]): number | undefined {
  const cpus = rounds.map((r) => r.cpuMs).filter((ms): ms is number => ms !== undefined);
  return cpus.length === 0 ? undefined : Math.min(...cpus);
}

/** The case with every round's CPU per request in its details. */
function withRoundsCpu(best: CaseResult, rounds: readonly CaseResult[]): CaseResult {
  if (rounds.length < 2) return best;
  const perRequest = rounds.map((r) => Math.round(((r.cpuMs ?? Number.NaN) * 1000) / r.turns)).join(' / ');
  return { ...best, details: { ...best.details, [`CPU µs/request of ${rounds.length} rounds`]: perRequest } };
}

export const shared: Workload = {
  name: 'shared',
  summary: `1, 2 and 4 processes on one sharedLimits key (a real redis-server) against ${REQUESTS_PER_MINUTE} RPM; the shared store's per-request overhead against local limits`,
  async run(options) {
    const redis = await startRedisServer();
    const counter = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      const paced = await localSimulator({
        latencyMs: PACED_LATENCY_MS,
        rateLimit: { requestsPerMinute: REQUESTS_PER_MINUTE, burstSeconds: BURST_SECONDS },
      });
      const pacedCases: CaseResult[] = [];
      try {
        for (const processes of PROCESS_COUNTS)
          pacedCases.push(await pacedCase(processes, paced.local as Simulator, redis, options));
      } finally {
        await paced.close();
      }
      const fast = await childSimulator({ latencyMs: 0 });
      let local: CaseResult;
      let sharedCase: CaseResult;
      // Every round of each case, for the CPU: its least over the rounds, as the wall's best round.
      const rounds: [CaseResult[], CaseResult[]] = [[], []];
      const kept = (list: CaseResult[], result: CaseResult): CaseResult => {
        list.push(result);
        return result;
      };
      try {
        [local, sharedCase] = (await bestOfRounds(options.repeat, [
          async () => kept(rounds[0], await overheadCase(fast, options, undefined, counter)),
          async () => kept(rounds[1], await overheadCase(fast, options, redis, counter)),
        ])) as [CaseResult, CaseResult];
      } finally {
        await fast.close();
      }
      const overheadRatio = sharedCase.wallMs / local.wallMs - 1;
      const [localCpu, sharedCpu] = rounds.map(leastCpuMs);
      const cpuOverhead =
        localCpu !== undefined && sharedCpu !== undefined && localCpu > 0
          ? sharedCpu / localCpu - 1
          : Number.NaN;
      const targets: TargetCheck[] = [
        ...pacedCases.flatMap((c) => [
          check(`${c.label}: wall ÷ bound`, c.wallMs / (c.lowerBoundMs ?? c.wallMs), '<=', TARGET_PACED),
          check(`${c.label}: 429s`, c.rateLimited, '<=', 0),
        ]),
        check('per-request overhead of the shared store (wall)', overheadRatio, '<=', TARGET_OVERHEAD),
        check('per-request overhead of the shared store (CPU)', cpuOverhead, '<=', TARGET_OVERHEAD),
      ];
      const total = options.quick ? PACED_REQUESTS.quick : PACED_REQUESTS.full;
      return {
        name: 'shared',
        description:
          `paced: ${total} requests (2-turn conversations) split between 1, 2 and 4 troupe run processes, each at ${REQUESTS_PER_MINUTE} RPM, ` +
          `simulator at ${REQUESTS_PER_MINUTE} RPM (burst ${BURST_SECONDS} s), latency ${PACED_LATENCY_MS} ms, wall from the first arrival to the last answer, bound (N − B) / R; ` +
          `overhead: ${local.turns} requests at 0 ms, concurrency ${OVERHEAD_CONCURRENCY}, one process, simulator in a child process`,
        cases: [...pacedCases, withRoundsCpu(local, rounds[0]), withRoundsCpu(sharedCase, rounds[1])],
        targets,
        ratios: {
          'shared ÷ local wall per request − 1': overheadRatio,
          'shared ÷ local CPU per request − 1': cpuOverhead,
        },
        notes: [
          'a fresh shared budget starts one burst and one lease in debt (half a second), which each paced case pays once',
          `a lease holds about ${LEASE_HORIZON_MS} ms of the process's recent rate (at most ${MAX_LEASE_REQUESTS} requests): round trips per request fall as the rate grows`,
          "CPU is this process only (the scripts run in redis-server); each case's least CPU over its rounds, as wall is each case's best round",
        ],
      };
    } finally {
      counter.disconnect();
      await redis.close();
    }
  },
};
