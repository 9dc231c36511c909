/**
 * Runs one troupe job in this process the way `troupe run` does — a fresh store, a job created
 * from the suite, an Engine — and times `runJob` alone (engine start and store opening excluded).
 * Fails loudly unless the job ended `done` with every turn `ok`.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { JobOutcome } from '../../src/actors/supervisor.js';
import { createLogger } from '../../src/log/logger.js';
import { systemClock } from '../../src/resilience/clock.js';
import { Engine } from '../../src/runtime/engine.js';
import { createJob } from '../../src/runtime/jobs.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import type { CheckpointStore, TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';
import { cpuMsSince, processPeakRssBytes, sampleRss } from './memory.js';
import { withTempDir } from './temp-dir.js';
import { turnsOf } from './suite-text.js';

/** How long a stopped job may take to wind down before the bench gives up on it, in ms. */
const STOP_GRACE_MS = 10_000;

/** What `runTroupeJob` needs. */
export interface TroupeJobOptions {
  readonly suite: Suite;
  /** Environment the API keys are read from. */
  readonly env: NodeJS.ProcessEnv;
  /** Worker processes (0: the sequence actors run in this process). */
  readonly workers: number;
  readonly logLevel: string;
  /** The job is stopped and the bench fails if it runs longer, in ms. */
  readonly timeoutMs: number;
  /**
   * A suite run first, unmeasured, by the same Engine: its worker processes are then as warm
   * (code optimized by V8, connections open) as a daemon's are after its first minutes.
   */
  readonly warmUp?: Suite;
  /** Called once the Engine is up and warmed, right before the measured job starts. */
  readonly beforeMeasured?: () => Promise<void>;
  /**
   * Turns the job is expected to end with as `failed` or `skipped` (poison prompts); the bench
   * still fails unless every other turn is `ok` and the job is done. Default 0.
   */
  readonly expectedNotOk?: number;
}

/** A finished job, measured. */
export interface TroupeJobRun {
  /** From `runJob` to its end, in ms. */
  readonly wallMs: number;
  /** `Date.now()` when `runJob` was called and when it ended (to line up with the simulator's records). */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The turns as stored. */
  readonly turns: readonly TurnRecord[];
  /** Highest RSS of this process sampled while the job ran, in bytes. */
  readonly peakRssBytes: number;
  /** CPU time this process used while the job ran, in ms (worker processes not included). */
  readonly cpuMs: number;
  /** Peak RSS of each worker process, in bytes (empty without workers). */
  readonly workerPeakRssBytes: readonly number[];
}

/** Thrown when a job did not end with every turn answered. */
export class BenchJobError extends Error {
  override readonly name = 'BenchJobError';
}

/** Runs `suite` as one job with its own temporary store, removed afterwards. */
export function runTroupeJob(options: TroupeJobOptions): Promise<TroupeJobRun> {
  return withTempDir(async (dir) => {
    const dataDir = join(dir, 'data');
    const store = await openLmdbStore(dataDir);
    try {
      const log = createLogger({ level: options.logLevel });
      const engine = await Engine.start({
        store,
        log,
        clock: systemClock,
        env: options.env,
        workers: options.workers,
        dataDir,
        logLevel: options.logLevel,
      });
      if (options.warmUp !== undefined) {
        try {
          await runWarmUp(engine, store, options.warmUp, options.timeoutMs);
        } catch (error) {
          await engine.close();
          throw error;
        }
      }
      await options.beforeMeasured?.();
      const job = await createJob(store, options.suite, `${options.suite.name}.json`);
      let outcome: JobOutcome;
      let timedOut = false;
      const rss = sampleRss();
      const cpu = process.cpuUsage();
      const startedAtMs = Date.now();
      const started = performance.now();
      let wallMs: number;
      let cpuMs: number;
      let workerPeakRssBytes: number[] = [];
      try {
        outcome = await withDeadline(engine.runJob(job), options.timeoutMs, () => {
          timedOut = true;
          engine.stopWork();
        });
      } finally {
        wallMs = performance.now() - started;
        cpuMs = cpuMsSince(cpu);
        // Read before close: the workers are gone after it.
        workerPeakRssBytes = Object.values(engine.pool?.pids() ?? {})
          .map((pid) => (pid === undefined ? undefined : processPeakRssBytes(pid)))
          .filter((bytes): bytes is number => bytes !== undefined);
        await engine.close();
        log.flush();
      }
      const endedAtMs = startedAtMs + wallMs;
      const peakRssBytes = rss.stop();
      const turns = store.turnsOf(job.id);
      verify(options.suite, outcome, turns, timedOut ? options.timeoutMs : undefined, options.expectedNotOk);
      return { wallMs, startedAtMs, endedAtMs, turns, peakRssBytes, cpuMs, workerPeakRssBytes };
    } finally {
      await store.close();
    }
  });
}

/** Runs `suite` to its end on `engine`, unmeasured; throws unless every turn was answered. */
async function runWarmUp(
  engine: Engine,
  store: CheckpointStore,
  suite: Suite,
  timeoutMs: number,
): Promise<void> {
  const job = await createJob(store, suite, `${suite.name}.json`);
  let timedOut = false;
  const outcome = await withDeadline(engine.runJob(job), timeoutMs, () => {
    timedOut = true;
    engine.stopWork();
  });
  verify(suite, outcome, store.turnsOf(job.id), timedOut ? timeoutMs : undefined);
}

/** `work`, or a rejection once `timeoutMs` passed (after `onTimeout` and a grace period). */
async function withDeadline<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      const grace = setTimeout(
        () => reject(new BenchJobError(`the job did not finish within ${Math.round(timeoutMs / 1000)} s`)),
        STOP_GRACE_MS,
      );
      // The job ends (interrupted) once stopped; that still counts as a failure below.
      void work.finally(() => clearTimeout(grace));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function verify(
  suite: Suite,
  outcome: JobOutcome,
  turns: readonly TurnRecord[],
  timedOutAfterMs: number | undefined,
  expectedNotOk = 0,
): void {
  const expected = turnsOf(suite);
  const ok = turns.filter((turn) => turn.status === 'ok').length;
  if (outcome.state !== 'done' || ok !== expected - expectedNotOk || turns.length !== expected) {
    const failed = turns.find((turn) => turn.status === 'failed');
    const why =
      timedOutAfterMs !== undefined
        ? ` (stopped by the bench after ${Math.round(timedOutAfterMs / 1000)} s)`
        : outcome.state === 'halted'
          ? `: ${outcome.error.message}`
          : '';
    throw new BenchJobError(
      `job of suite ${suite.name} ended ${outcome.state}${why} with ${ok} of ${expected - expectedNotOk} expected turns ok ` +
        `(${turns.length} recorded)${failed ? `; first failure: ${failed.error?.message ?? 'unknown'}` : ''}`,
    );
  }
}
