import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { JobOutcome, JobStatus } from '../../actors/supervisor.js';
import { ExitCode, InputError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import type { Logger } from '../../log/logger.js';
import { systemClock } from '../../resilience/clock.js';
import { forecastBesideActual } from '../../planning/outcome.js';
import { summarizeStoredJob } from '../../results/stored-job-summary.js';
import { formatSummaryTable } from '../../results/summary.js';
import { formatFailureCauses } from '../../results/failure-causes.js';
import { formatScoreTable } from '../../scoring/score-table.js';
import { Engine } from '../../runtime/engine.js';
import { conversationsOfJob, workersForJob } from '../../runtime/worker-settings.js';
import { handleStopSignals } from '../../runtime/shutdown.js';
import { createJob } from '../../runtime/jobs.js';
import { findReuse } from '../../planning/reuse.js';
import { cappedSuite } from '../../planning/capped-suite.js';
import { holdJobLease } from '../../store/job-lease.js';
import type { HeldLease } from '../../store/job-lease.js';
import { LMDB_DATA_FILE } from '../../store/lmdb-file-check.js';
import { openLmdbStore } from '../../store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../../store/lmdb-store.js';
import type { CheckpointStore, JobRecord } from '../../store/records.js';
import { openJobSuite } from '../../runtime/job-suite.js';
import { countOf } from '../../suite/summary.js';
import { createProgressDisplay } from '../progress-display.js';
import { sanitizeLines } from '../../results/terminal-text.js';
import type { OutputWatch } from '../output-watch.js';
import { checkJobInReader, readStoredJobsInReader } from '../reader-process.js';
import { checkStoreInReader } from './verify.js';

/** How often the progress display asks for the job's state on a terminal / elsewhere, in ms. */
const PROGRESS_POLL_TTY_MS = 250;
const PROGRESS_POLL_PLAIN_MS = 1_000;

/** Options of `troupe run`. */
export interface RunOptions {
  /** Path of the suite file; required unless `resume` is given. */
  readonly suite?: string;
  /** Id of a stored job to continue instead of starting a new one. */
  readonly resume?: string;
  /** The store's directory. */
  readonly dataDir: string;
  /** Lowest log level written to stderr. */
  readonly logLevel: string;
  /** Worker processes for the conversations; 0 keeps everything in this process. */
  readonly workers: number;
  /**
   * A job of at most this many conversations runs in this process, with no worker started (see
   * `workerSettings`); 0: the job runs on `workers` whatever its size.
   */
  readonly inProcessJobMaxConversations: number;
  /** After Ctrl-C, how long requests in flight may take to finish, in ms. */
  readonly graceMs: number;
  /** Port of the Prometheus endpoint while the job runs (none when undefined) and its host. */
  readonly metricsPort?: number;
  readonly metricsHost: string;
  /**
   * The job's spend cap in US dollars (`--max-cost`), over the suite's `budget`; with `resume`, the
   * new cap of a stored job (continues one that stopped at its cap). Every model needs prices.
   */
  readonly maxCostUsd?: number;
  /** Stored jobs whose answers a new job copies instead of requesting (`--reuse`). */
  readonly reuse?: readonly string[];
}

/** Where `troupe run` writes and what it reads. */
export interface RunIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /**
   * Tells when `stdout`'s reader went away (`troupe run … | head -1`): the job then stops as at
   * a first Ctrl-C (requests in flight finish and are committed) and `run` exits 0, unless the
   * work halted.
   */
  readonly output?: OutputWatch;
}

/**
 * `troupe run`: runs a suite (or resumes a stored job) in the foreground with a
 * progress display, then prints a summary per model. Returns the exit code: 0 when
 * every turn succeeded, 1 when some failed or the job was interrupted, 3 when work
 * halted (store failure). Bad input throws an InputError before the store is touched.
 */
export async function runRun(options: RunOptions, io: RunIo): Promise<number> {
  const newSuite = options.resume === undefined ? await loadNewSuite(options, io.env) : undefined;
  // Reads before anything is written, in reader processes (a damaged index can crash a reader,
  // never this process). Resuming: every record of the job, then of the whole store, which is
  // never written when it fails its checks. A new job: what its creation reads.
  if (options.resume !== undefined) {
    await checkJobInReader(options.dataDir, options.resume);
    await checkStoreInReader(options.dataDir, options.resume);
  } else if (existsSync(join(options.dataDir, LMDB_DATA_FILE))) {
    await readStoredJobsInReader(options.dataDir, {
      count: false,
      check: options.reuse ?? [],
      historyBefore: new Date().toISOString(),
    });
  }
  const store = await openLmdbStore(options.dataDir);
  let lease: HeldLease | undefined;
  try {
    let job: JobRecord;
    if (newSuite) {
      const reuse =
        options.reuse === undefined || options.reuse.length === 0
          ? undefined
          : findReuse(store, newSuite.suite.settings, options.reuse);
      job = await createJob(store, newSuite.suite, newSuite.path, new Date(), reuse);
      if (reuse !== undefined)
        print(io, `reused ${job.forecast?.reusedTurns ?? 0} turns from ${reuse.sources.join(', ')}\n`);
    } else {
      const stored = resumableJob(store, options);
      job = await withNewCap(store, stored, options.maxCostUsd);
    }
    if (job.state === 'running') {
      lease = holdJobLease(store, job.id, {
        owner: 'troupe run',
        onLost: (by) => {
          process.stderr.write(
            `troupe: job ${job.id} was taken over by ${by ? `${by.owner} (pid ${by.pid} on ${by.host})` : 'another process'}; stopping\n`,
          );
          stopOnLostLease?.();
        },
      });
    }
    const code = await runJob(job, store, options, io);
    // Nobody reads any more: the work is safe (committed, resumable), which is all that is left to say.
    return io.output?.closed === true && code === ExitCode.turnsFailed ? ExitCode.ok : code;
  } finally {
    await lease?.release();
    await store.close();
  }
}

/** Writes `run`'s own text through the terminal sanitiser: it carries suite, model and provider names. */
function print(io: RunIo, text: string): void {
  io.stdout.write(sanitizeLines(text));
}

/** Set while a job runs: stops its work when another process took its lease over. */
let stopOnLostLease: (() => void) | undefined;

async function loadNewSuite(options: RunOptions, env: NodeJS.ProcessEnv) {
  if (options.suite === undefined) throw new InputError('run: give a suite file, or --resume <job>');
  // Checked here, before anything is written: a job that cannot start must leave no trace.
  const suite = await openJobSuite(options.suite, {
    maxCostUsd: options.maxCostUsd,
    env,
    dataDir: options.dataDir,
  });
  return { suite, path: resolvePath(options.suite) };
}

/**
 * The stored job with its cap raised to `maxCostUsd` (written before it runs), running again if
 * it had stopped at its cap; the job itself when no new cap is given.
 */
async function withNewCap(
  store: CheckpointStore,
  job: JobRecord,
  maxCostUsd: number | undefined,
): Promise<JobRecord> {
  if (maxCostUsd === undefined) return job;
  const resumable = job.state === 'running' || job.state === 'budget-exhausted';
  if (!resumable)
    throw new InputError(`--resume ${job.id}: the job is ${job.state}; there is nothing to continue`);
  const next: JobRecord = {
    ...job,
    suite: cappedSuite(job.suite, maxCostUsd),
    state: 'running',
    finishedAt: null,
  };
  await store.putJob(next);
  return next;
}

function resumableJob(store: CheckpointStore, options: RunOptions): JobRecord {
  const id = options.resume ?? '';
  const job = store.getJob(id);
  if (!job) {
    const known = store
      .listJobs()
      .slice(-5)
      .map((j) => j.id);
    throw new InputError(
      `--resume: no job "${id}" in ${options.dataDir}${known.length > 0 ? ` (latest: ${known.join(', ')})` : ' (it holds no jobs)'}`,
    );
  }
  return job;
}

async function runJob(
  job: JobRecord,
  store: LmdbCheckpointStore,
  options: RunOptions,
  io: RunIo,
): Promise<number> {
  const counts = countOf(job.suite, job.sequences);
  print(
    io,
    `job ${job.id}: ${job.suite.name}, ${counts.turns} turns (${counts.models} models × ${counts.sequences} sequences × ${job.suite.runs} runs)\n`,
  );
  if (job.state === 'budget-exhausted') {
    print(
      io,
      `job ${job.id} stopped at its spend cap; continue it with a higher one: troupe run --resume ${job.id} --max-cost <usd>\n`,
    );
    printSummary(job, store, io);
    return ExitCode.turnsFailed;
  }
  if (job.state !== 'running') {
    print(io, `job ${job.id} is already ${job.state}\n`);
  } else {
    const outcome = await driveJob(job, store, options, io);
    if (outcome.state === 'halted') {
      print(
        io,
        `job ${job.id} halted: ${outcome.error.message}\nresume it with: troupe run --resume ${job.id}\n`,
      );
      printSummary(job, store, io);
      return ExitCode.internal;
    }
    if (outcome.state === 'budget-exhausted') {
      print(
        io,
        `job ${job.id} stopped at its spend cap: ${outcome.reason}. Nothing more was sent; its finished turns are kept.\n` +
          `continue it with a higher cap: troupe run --resume ${job.id} --max-cost <usd>\n`,
      );
      printSummary(job, store, io);
      return ExitCode.turnsFailed;
    }
    if (outcome.state === 'paused') {
      io.stdout.write(
        `job ${job.id} paused, its unanswered turns kept: ${outcome.reason}\n` +
          `resume with troupe run --resume ${job.id}\n`,
      );
      printSummary(job, store, io);
      return ExitCode.turnsFailed;
    }
    if (outcome.state === 'cancelled' || outcome.state === 'interrupted') {
      print(io, `job ${job.id} was interrupted; resume it with: troupe run --resume ${job.id}\n`);
      printSummary(job, store, io);
      return ExitCode.turnsFailed;
    }
  }
  const summary = printSummary(job, store, io);
  return summary.some((model) => model.failed + model.skipped > 0) ? ExitCode.turnsFailed : ExitCode.ok;
}

async function driveJob(
  job: JobRecord,
  store: CheckpointStore,
  options: RunOptions,
  io: RunIo,
): Promise<JobOutcome> {
  const log = createLogger({ level: options.logLevel });
  const endpoint =
    options.metricsPort === undefined
      ? undefined
      : new (await import('../../runtime/metrics-endpoint.js')).MetricsEndpoint({
          port: options.metricsPort,
          host: options.metricsHost,
        });
  const engine = await Engine.start({
    metrics: endpoint?.metrics,
    providerTypes: Object.values(job.suite.providers).map((provider) => provider.type),
    store,
    log,
    clock: systemClock,
    env: io.env,
    // A small job asks little CPU: workers booting beside it would only slow it down.
    workers: workersForJob(options, conversationsOfJob(job)),
    dataDir: options.dataDir,
    logLevel: options.logLevel,
    // In the foreground a provider unavailable past its longest pause ends the job, resumable.
    pauseUnavailableProviders: true,
  });
  await endpoint?.serve(() => engine.readiness(), log);
  stopOnLostLease = () => engine.stopWork();
  const display = createProgressDisplay(io.stdout);
  let latest: JobStatus | undefined;
  const poll = setInterval(
    () => {
      engine.status().then(
        (snapshot) => {
          latest = snapshot.jobs.find((j) => j.job === job.id) ?? latest;
          if (latest) display.update(latest);
        },
        () => undefined, // A slow answer is skipped; the next poll will draw.
      );
    },
    io.stdout.isTTY ? PROGRESS_POLL_TTY_MS : PROGRESS_POLL_PLAIN_MS,
  );
  // Ctrl-C: finish what is in flight, then stop; what was committed stays, and --resume continues.
  const stopping = handleStopSignals(engine, options.graceMs, (event, graceMs) => {
    const lines = {
      draining: `stopping: letting requests in flight finish (up to ${Math.round(graceMs / 1000)} s; Ctrl-C again to stop now)`,
      drained: 'stopping: requests in flight finished',
      'grace-expired': 'stopping: grace period over; abandoning requests still in flight',
      forced: 'stopping now',
    };
    print(io, `\n${lines[event]}\n`);
  });
  const unwatch = io.output?.onClose(() => stopping.stop());
  let outcome: JobOutcome | undefined;
  try {
    outcome = await engine.runJob(job);
    const final = (await engine.status()).jobs.find((j) => j.job === job.id);
    if (final) display.finish(final);
    return outcome;
  } finally {
    stopOnLostLease = undefined;
    clearInterval(poll);
    stopping.remove();
    unwatch?.();
    await closeEngine(engine, outcome, log);
    await endpoint?.close();
    log.flush();
  }
}

/**
 * Closes the engine. A store that halted the job (a full disk) fails its last flush too: then the
 * outcome already says why, and what was committed before is intact, so that failure is only logged.
 */
async function closeEngine(engine: Engine, outcome: JobOutcome | undefined, log: Logger): Promise<void> {
  try {
    await engine.close();
  } catch (error) {
    if (outcome?.state !== 'halted') throw error;
    log.warn(
      { code: (error as { code?: unknown }).code },
      'could not flush the store after the job halted; what was committed before is intact',
    );
  }
}

function printSummary(job: JobRecord, store: LmdbCheckpointStore, io: RunIo) {
  // The stored job: its forecast, and a cap raised by --max-cost.
  const stored = store.getJob(job.id) ?? job;
  const { models, scores, actual, failures } = summarizeStoredJob(
    stored,
    store.turnPages(job.id),
    Date.now(),
  );
  print(io, `${formatSummaryTable(models)}\n`);
  for (const line of formatFailureCauses(failures, job.id)) print(io, `${line}\n`);
  for (const line of forecastBesideActual(stored, actual)) print(io, `${line}\n`);
  if (scores.hasChecks || scores.hasJudge) print(io, `\n${formatScoreTable(scores)}\n`);
  print(io, `results: troupe results ${job.id} --format jsonl|csv|table\n`);
  return models;
}
