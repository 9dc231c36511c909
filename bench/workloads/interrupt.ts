/**
 * interrupt: how soon `troupe run` leaves after Ctrl-C while its provider's circuit breaker is
 * open (cool-down a minute). The provider answers 500 after 300 ms to 3.3 s, so the breaker opens
 * while other requests are still out; SIGINT lets those settle, then troupe must leave at once:
 * no cool-down or back-off timer may keep it alive. Measured from the later of the signal and the
 * last request's end (as the simulator saw it) to the process's exit, with and without a worker
 * process. Target: within 1 s, every repetition.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/simulator/server.js';
import type { Simulator } from '../../src/simulator/types.js';
import { BENCH_KEY_ENV, benchEnv, sequences, suiteText } from '../lib/suite-text.js';
import { withTempDir } from '../lib/temp-dir.js';
import { check } from '../lib/types.js';
import type { CaseResult, TargetCheck, Workload } from '../lib/types.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const WORKERS = [0, 1] as const;
const REPEAT = 5;
const QUICK_REPEAT = 2;
const TARGET_MS = 1_000;
const COOL_DOWN_MS = 60_000;
/** How long a repetition may take to reach an open breaker with requests out. */
const SETUP_TIMEOUT_MS = 60_000;
const POLL_MS = 10;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** One Ctrl-C: ms from the later of the signal and the last request's end to the exit. */
async function interruptOnce(sim: Simulator, dir: string, workers: number): Promise<number> {
  const path = join(dir, `suite-${workers}.yaml`);
  await writeFile(
    path,
    suiteText({
      name: 'bench-interrupt',
      runs: 2,
      providers: [
        {
          id: 'sim',
          type: 'openai',
          baseURL: sim.openaiBaseURL,
          retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 100, timeoutMs: 10_000, maxPauseMs: 120_000 },
          breaker: { consecutiveFailures: 2, coolDownMs: COOL_DOWN_MS, maxCoolDownMs: COOL_DOWN_MS },
        },
      ],
      models: [{ id: 'm', provider: 'sim', model: 'gpt-4o-mini', maxTokens: 32 }],
      sequences: sequences('s', 10, 2),
    }),
  );
  // The last repetition's requests, answered to a killed process, must not count in this one.
  for (const deadline = Date.now() + SETUP_TIMEOUT_MS; sim.inFlight > 0 && Date.now() < deadline;)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  sim.reset();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      path,
      '--data-dir',
      join(dir, `data-${workers}-${Date.now()}`),
      '--workers',
      String(workers),
    ],
    { env: { ...process.env, ...benchEnv() }, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<number>((resolve) => child.on('exit', () => resolve(Date.now())));
  try {
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    // The breaker has seen its two failures (four answered) while others are still out.
    while (!(sim.records.filter((r) => r.finishedAt > 0).length >= 4 && sim.inFlight >= 2)) {
      if (Date.now() > deadline) throw new Error('the breaker did not open with requests out in time');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    // Bounded: a run that outlives its cool-down is the defect this measures, reported as such.
    let timer: NodeJS.Timeout | undefined;
    const exitAt = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('troupe run did not exit after Ctrl-C within its cool-down')),
          COOL_DOWN_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const lastSettledAt = Math.max(...sim.records.map((r) => r.finishedAt));
    return exitAt - Math.max(interruptedAt, lastSettledAt);
  } finally {
    child.kill('SIGKILL');
  }
}

export const interrupt: Workload = {
  name: 'interrupt',
  summary: 'Ctrl-C with the breaker open: ms from the last request settling to the exit (target ≤ 1 s)',
  async run(options) {
    const repeat = options.quick ? QUICK_REPEAT : REPEAT;
    const sim = await startSimulator({
      port: 0,
      host: '127.0.0.1',
      latencyMs: 300,
      latencyJitterMs: 3_000,
      apiKey: benchEnv()[BENCH_KEY_ENV.openai],
      faults: [{ fault: { kind: 'status', status: 500 } }],
    });
    const cases: CaseResult[] = [];
    const targets: TargetCheck[] = [];
    try {
      await withTempDir(async (dir) => {
        for (const workers of WORKERS) {
          const delays: number[] = [];
          for (let i = 0; i < repeat; i++) delays.push(await interruptOnce(sim, dir, workers));
          cases.push({
            label: `troupe run, ${workers} worker${workers === 1 ? '' : 's'}`,
            kind: 'troupe',
            turns: 0,
            wallMs: median(delays),
            turnsPerSecond: 0,
            rateLimited: 0,
            peakRssBytes: 0,
            details: { 'median ms': median(delays), 'max ms': Math.max(...delays), repetitions: repeat },
          });
          targets.push(
            check(
              `exit after the last request, ${workers} workers (max ms)`,
              Math.max(...delays),
              '<=',
              TARGET_MS,
            ),
          );
        }
      });
    } finally {
      await sim.close();
    }
    return {
      name: 'interrupt',
      description: `Ctrl-C with the circuit breaker open (cool-down ${COOL_DOWN_MS / 1000} s), ${repeat} repetitions per case; "wall" is the median exit delay`,
      cases,
      targets,
      ratios: {},
      notes: [],
    };
  },
};
