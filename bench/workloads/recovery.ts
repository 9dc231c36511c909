/**
 * recovery: a daemon (a real `troupe daemon` process) runs 10 000 conversations × 3 turns at
 * 20 ms latency; at half the turns it is killed with SIGKILL and started again. Prints the
 * requests that repeated after the restart (target: at most those in flight at the kill; and
 * none for a turn already committed), the time from the restart to the first new request
 * (target < 1 s), and the whole job's wall time ÷ its lower bound.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { hashMessages } from '../../src/conversation/context.js';
import { startSimulator } from '../../src/simulator/server.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import type { Limits } from '../../src/suite/types.js';
import { killWholeDaemon, runCli, startDaemon } from '../lib/daemon-process.js';
import { lowerBound } from '../lib/lower-bound.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { buildSuite, sequences, suiteText, turnsOf } from '../lib/suite-text.js';
import type { SuiteSpec } from '../lib/suite-text.js';
import { check } from '../lib/types.js';
import type { BenchOptions, Workload } from '../lib/types.js';

const LATENCY_MS = 20;
const SEQUENCES = 100;
const RUNS = 100;
const QUICK_RUNS = 10;
const TURNS_PER_CONVERSATION = 3;
const CONCURRENCY = 256;
const KILL_AT_FRACTION = 0.5;
const FIRST_REQUEST_TARGET_MS = 1_000;
/** Longest a phase (start, half the job, the rest) may take before the bench gives up, in ms. */
const PHASE_TIMEOUT_MS = 600_000;
const POLL_MS = 20;

function spec(baseURL: string, runs: number): SuiteSpec {
  const limits: Limits = { maxConcurrency: CONCURRENCY };
  return {
    name: 'bench-recovery',
    runs,
    providers: [{ id: 'oai', type: 'openai', baseURL, limits }],
    models: [{ id: 'm1', provider: 'oai', model: 'gpt-sim-recovery', maxTokens: 64 }],
    sequences: sequences('conv', SEQUENCES, TURNS_PER_CONVERSATION),
  };
}

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`recovery: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export const recovery: Workload = {
  name: 'recovery',
  summary:
    'a daemon killed with SIGKILL at half a 10 000 × 3-turn job, then restarted: repeats, time to resume',
  async run(options) {
    const runs = options.quick ? QUICK_RUNS : RUNS;
    const sim = await startSimulator({ latencyMs: LATENCY_MS });
    const dir = await makeTempDir();
    const dataDir = join(dir.path, 'data');
    let daemon: ChildProcess | undefined;
    try {
      const suiteSpec = spec(sim.openaiBaseURL, runs);
      const suite = await buildSuite(suiteSpec);
      const turns = turnsOf(suite);
      const suitePath = join(dir.path, 'recovery.json');
      await writeFile(suitePath, suiteText(suiteSpec));

      const first = startDaemon(dataDir, workersArgs(options));
      daemon = first.child;
      await first.started;
      const submittedAt = Date.now();
      const job = await runCli(['submit', suitePath, '--data-dir', dataDir]);
      await until('half the turns', () => sim.records.length >= turns * KILL_AT_FRACTION);
      const openAtSimulator = sim.inFlight;
      await killWholeDaemon(daemon);
      const killedAt = Date.now();
      const store = await openLmdbStore(dataDir, { readOnly: true });
      const committedAtKill = store.turnsOf(job);
      // In flight, as troupe sees it: sent, and not committed (open at the provider, or answered
      // and not yet written). Only these may be asked again.
      const inFlightAtKill =
        sim.records.filter((r) => r.receivedAt <= killedAt).length - committedAtKill.length;

      const restartAt = Date.now();
      const second = startDaemon(dataDir, workersArgs(options));
      daemon = second.child;
      await second.started;
      await until('the first request after the restart', () =>
        sim.records.some((r) => r.receivedAt > restartAt),
      );
      const firstRequestMs =
        Math.min(...sim.records.filter((r) => r.receivedAt > restartAt).map((r) => r.receivedAt)) - restartAt;
      await until('the job to finish', () => store.getJob(job)?.state === 'done');
      const doneAt = Date.now();
      const stored = store.turnsOf(job);
      await store.close();

      // Repeats: requests beyond one per turn; and any request after the kill for a turn committed before it.
      const committedKeys = new Set(committedAtKill.map((t) => t.requestHash));
      const afterKill = sim.records.filter((r) => r.receivedAt > killedAt);
      const repeatsOfCommitted = afterKill.filter((r) => committedKeys.has(hashMessages(r.messages))).length;
      const answered = sim.records.filter((r) => r.status === 200).length;
      const extraRequests = sim.records.length - turns;
      if (stored.length !== turns || stored.some((t) => t.status !== 'ok')) {
        throw new Error(`recovery: ${stored.filter((t) => t.status === 'ok').length} of ${turns} turns ok`);
      }
      const bound = lowerBound({
        turns,
        maxTurns: TURNS_PER_CONVERSATION,
        latencyMs: LATENCY_MS,
        concurrency: CONCURRENCY,
      });
      const wallMs = doneAt - submittedAt;
      return {
        name: 'recovery',
        description: `${runs * SEQUENCES} conversations × ${TURNS_PER_CONVERSATION} turns (${turns} turns), latency ${LATENCY_MS} ms, maxConcurrency ${CONCURRENCY}, daemon with ${options.workers ?? `its default ${availableParallelism()}`} workers, SIGKILL of the daemon and its workers at ${KILL_AT_FRACTION * 100} %`,
        cases: [
          {
            label: 'troupe daemon, killed and restarted',
            kind: 'troupe',
            turns,
            wallMs,
            lowerBoundMs: bound.ms,
            boundTerm: bound.term,
            turnsPerSecond: turns / (wallMs / 1000),
            rateLimited: 0,
            peakRssBytes: 0,
            details: {
              'committed at the kill': committedAtKill.length,
              'in flight at the kill (sent, not committed)': inFlightAtKill,
              'open at the simulator at the kill': openAtSimulator,
              'requests beyond one per turn': extraRequests,
              'answered requests': answered,
              'repeats of committed turns': repeatsOfCommitted,
              'restart → first new request ms': firstRequestMs,
              'down ms (kill → restart)': restartAt - killedAt,
            },
          },
        ],
        targets: [
          check(
            'requests beyond one per turn ≤ in flight at the kill',
            extraRequests - inFlightAtKill,
            '<=',
            0,
          ),
          check('repeats of turns committed before the kill', repeatsOfCommitted, '<=', 0),
          check('restart → first new request (ms)', firstRequestMs, '<=', FIRST_REQUEST_TARGET_MS),
        ],
        ratios: { 'wall ÷ lower bound (whole job, restart included)': wallMs / bound.ms },
        notes: [
          'the restart time includes starting a Node.js process, opening the store and forking the workers',
          'peak RSS is not measured here: the daemon is another process',
          'the bound counts latency only (256 requests of 20 ms in flight: 12 800 turns/s); at that pace the CPU decides, and the overhead workload compares troupe with a bare SDK loop on this machine',
        ],
      };
    } finally {
      daemon?.kill('SIGKILL');
      await sim.close();
      await dir.remove();
    }
  },
};

/** The daemon's `--workers`, unless the bench was given none: then its own default, as in production. */
function workersArgs(options: BenchOptions): string[] {
  return options.workers === undefined ? [] : ['--workers', String(options.workers)];
}
