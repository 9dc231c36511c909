import type { JobOutcome, JobStatus } from '../actors/supervisor.js';
import { InputError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { systemClock } from '../resilience/clock.js';
import { Engine } from '../runtime/engine.js';
import { createJob } from '../runtime/jobs.js';
import { findReuse } from '../planning/reuse.js';
import { handleStopSignals } from '../runtime/shutdown.js';
import type { MetricsEndpoint, MetricsEndpointOptions } from '../runtime/metrics-endpoint.js';
import { holdJobLease } from '../store/job-lease.js';
import type { HeldLease } from '../store/job-lease.js';
import { readStoredJobsInReader } from '../cli/reader-process.js';
import { WALK_PAGE_SIZE } from '../actors/slice-walk.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../store/lmdb-store.js';
import type { JobRecord } from '../store/records.js';
import { StoreError } from '../store/store-error.js';
import type { StoredJobsQuery, StoredJobView } from '../store/stored-jobs.js';
import { openJobSuite } from '../runtime/job-suite.js';
import { sharedKeyView } from '../coordination/shared-view.js';
import { countOf } from '../suite/summary.js';
import type { ControlRequest, ControlResponse, JobSummary } from './control-protocol.js';
import { ControlServer } from './control-server.js';
import { acquireDaemonLock } from './daemon-lock.js';

/** Options of `troupe daemon`. */
export interface DaemonOptions {
  readonly dataDir: string;
  /** Worker processes for the conversations; 0 keeps everything in the daemon's process. */
  readonly workers: number;
  /** Jobs of at most this many conversations run in the daemon's own process. Default 0: none. */
  readonly inProcessJobMaxConversations?: number;
  /** After SIGTERM/SIGINT, how long requests in flight may take to finish, in ms. */
  readonly graceMs: number;
  readonly log: Logger;
  readonly logLevel: string;
  /** Where API keys are read from. */
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  /** Serve Prometheus metrics here; default: no metrics endpoint. */
  readonly metrics?: MetricsEndpointOptions;
}

/**
 * The headless daemon: owns the data directory (one daemon per directory), runs
 * every unfinished job it finds there, takes new jobs and commands from the CLI
 * over its control socket, and stops gracefully on SIGTERM/SIGINT.
 */
export class Daemon {
  private readonly running = new Map<string, Promise<JobOutcome>>();
  private readonly leases = new Map<string, HeldLease>();
  /** Ends the background check of the resumed jobs' records (see `checkResumedJobs`) at close. */
  private readonly checking = new AbortController();
  private stopped: Promise<void>;
  private resolveStopped: () => void = () => undefined;
  private removeSignalHandlers: () => void = () => undefined;
  private control: ControlServer | undefined;

  private constructor(
    private readonly options: DaemonOptions,
    private readonly store: LmdbCheckpointStore,
    private readonly engine: Engine,
    private readonly releaseLock: () => Promise<void>,
    private readonly metricsEndpoint: MetricsEndpoint | undefined,
  ) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  /**
   * Opens the store (a corrupt, newer or unreadable one is refused untouched),
   * takes the directory's daemon lock, starts the engine and the control socket,
   * and resumes every unfinished job.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const store = await openLmdbStore(options.dataDir);
    let lock;
    try {
      lock = await acquireDaemonLock(options.dataDir, options.version);
    } catch (error) {
      await store.close();
      throw error;
    }
    // Before it trusts the store, a reader process reads what resuming the jobs reads first (a
    // damaged branch page crashes the reader, not the daemon): bounded by a page of sequences per
    // model, so a restart does not wait for a whole job's records (30 s at a million
    // conversations). Every record of those jobs is read just after, in the background.
    const checked = readStoredJobsInReader(
      options.dataDir,
      { count: false, check: { resumePageSize: WALK_PAGE_SIZE } },
      { forwardSignals: false },
    ).then(
      (jobs) => ({ jobs: jobs.map((job) => job.record) }),
      (error: unknown) => ({ error }),
    );
    // prom-client is loaded only when metrics are served: a quicker restart without them.
    const endpoint = options.metrics
      ? new (await import('../runtime/metrics-endpoint.js')).MetricsEndpoint(options.metrics)
      : undefined;
    const check = await checked;
    if ('error' in check && !isStoreDamage(check.error)) {
      await store.close();
      await lock.release();
      throw check.error;
    }
    if ('error' in check) {
      // Never written: the store refuses every write of this process from now on.
      const message = check.error instanceof Error ? check.error.message : String(check.error);
      store.refuseWrites(message);
      options.log.error({ error: message }, 'store damaged: no job resumed, nothing will be written');
    }
    let unfinished: JobRecord[];
    const leases = new Map<string, HeldLease>();
    try {
      unfinished = 'jobs' in check ? check.jobs.filter((job) => job.state === 'running') : [];
      // One owner per job: a job another live process runs (`troupe run --resume`) is refused.
      for (const job of unfinished) leases.set(job.id, Daemon.lease(store, job.id, options.log));
    } catch (error) {
      await Promise.all([...leases.values()].map((lease) => lease.release()));
      await store.close();
      await lock.release();
      throw error;
    }
    const engine = await Engine.start({
      store,
      providerTypes: unfinished.flatMap((job) => Object.values(job.suite.providers).map((p) => p.type)),
      log: options.log,
      clock: systemClock,
      env: options.env,
      workers: options.workers,
      inProcessJobMaxConversations: options.inProcessJobMaxConversations,
      dataDir: options.dataDir,
      logLevel: options.logLevel,
      metrics: endpoint?.metrics,
    });
    await endpoint?.serve(() => engine.readiness(), options.log);
    const daemon = new Daemon(options, store, engine, lock.release, endpoint);
    for (const [job, lease] of leases) daemon.leases.set(job, lease);
    daemon.control = await ControlServer.start(
      options.dataDir,
      (request) => daemon.handle(request),
      options.log,
    );
    await lock.publish(daemon.control.endpoint);
    daemon.removeSignalHandlers = handleStopSignals(
      engine,
      options.graceMs,
      (event, graceMs) => options.log.info({ event, graceMs }, 'shutdown'),
      () => void daemon.close(),
    ).remove;
    for (const job of unfinished) daemon.run(job);
    daemon.checkResumedJobs(unfinished.map((job) => job.id));
    options.log.info(
      {
        pid: process.pid,
        dataDir: options.dataDir,
        control: daemon.control.endpoint,
        resumedJobs: unfinished.length,
      },
      'daemon started',
    );
    return daemon;
  }

  /** Resolves once the daemon has shut down (after a stop signal). */
  whenStopped(): Promise<void> {
    return this.stopped;
  }

  private static lease(store: LmdbCheckpointStore, job: string, log: Logger): HeldLease {
    return holdJobLease(store, job, {
      owner: 'troupe daemon',
      onLost: (by) => log.error({ job, by }, 'job lease taken over by another process'),
      onHeartbeatError: (error) => log.warn({ job, error: String(error) }, 'job lease heartbeat not written'),
    });
  }

  private run(job: JobRecord): void {
    const outcome = this.engine.runJob(job);
    this.running.set(job.id, outcome);
    void outcome.then((result) => {
      this.running.delete(job.id);
      const lease = this.leases.get(job.id);
      this.leases.delete(job.id);
      void lease?.release();
      if (result.state === 'halted')
        this.options.log.error({ job: job.id, error: result.error }, 'job halted');
    });
  }

  private async handle(request: ControlRequest): Promise<ControlResponse> {
    const { requestId } = request;
    try {
      switch (request.type) {
        case 'ping':
          return { type: 'pong', requestId, pid: process.pid, version: this.options.version };
        case 'submit': {
          // Read and validated here, as validate does; the keys must be in the daemon's environment.
          const suite = await openJobSuite(request.suitePath, {
            maxCostUsd: request.maxCostUsd,
            env: this.options.env,
            dataDir: this.options.dataDir,
          });
          // What the job's creation reads (its forecast's history, the jobs it copies from) is
          // read first in a reader process: a damaged branch page crashes that, not the daemon.
          await this.storedJobs({
            count: false,
            check: request.reuse ?? [],
            historyBefore: new Date().toISOString(),
          });
          const reuse =
            request.reuse === undefined || request.reuse.length === 0
              ? undefined
              : findReuse(this.store, suite.settings, request.reuse);
          const job = await createJob(this.store, suite, request.suitePath, new Date(), reuse);
          this.leases.set(job.id, Daemon.lease(this.store, job.id, this.options.log));
          this.run(job);
          this.options.log.info({ job: job.id, suite: job.suite.name }, 'job submitted');
          return { type: 'submitted', requestId, job: job.id };
        }
        case 'jobs': {
          const jobs = await this.storedJobs({ count: true });
          return { type: 'job-list', requestId, jobs: jobs.map((job) => summaryOf(job)) };
        }
        case 'status': {
          const stored = await this.storedJobs({
            ...(request.job !== undefined && { only: request.job }),
            count: true,
            uncounted: [...this.running.keys()],
          });
          return {
            type: 'status',
            requestId,
            jobs: await this.status(stored),
            records: stored.map(({ record, spentUsd }) => ({
              record,
              ...(spentUsd !== undefined && { spentUsd }),
            })),
            shared: (await this.engine.coordination.report()).map(sharedKeyView),
          };
        }
        case 'cancel': {
          const outcome = this.running.get(request.job);
          if (outcome === undefined) {
            const [job] = await this.storedJobs({ only: request.job, count: false });
            throw new InputError(
              `job ${request.job} is not running (it is ${job?.record.state ?? 'unknown'})`,
            );
          }
          this.engine.cancelJob(request.job);
          await outcome;
          return { type: 'cancelled', requestId, job: request.job };
        }
        default: {
          const unknown: never = request;
          throw new Error(`unknown request ${JSON.stringify(unknown)}`);
        }
      }
    } catch (error) {
      const badInput = error instanceof InputError;
      return {
        type: 'error',
        requestId,
        error: {
          code: badInput ? 'troupe:bad-input' : 'troupe:internal',
          message: error instanceof Error ? error.message : String(error),
        },
        badInput,
      };
    }
  }

  /** Reads the store in a reader process: a damaged branch page crashes the reader, never the daemon. */
  private storedJobs(query: StoredJobsQuery): Promise<StoredJobView[]> {
    return readStoredJobsInReader(this.options.dataDir, query, { forwardSignals: false });
  }

  /** Live progress of running jobs; stored counts for the others. */
  private async status(stored: readonly StoredJobView[]): Promise<JobStatus[]> {
    const live = new Map((await this.engine.status()).jobs.map((job) => [job.job, job]));
    return stored.map(({ record: job, counts }) => {
      const running = live.get(job.id);
      if (running && this.running.has(job.id)) return running;
      const perModel = countOf(job.suite, job.sequences).turns / Math.max(1, job.suite.models.length);
      return {
        job: job.id,
        suite: job.suite.name,
        state: job.state === 'running' ? 'interrupted' : job.state,
        models: job.suite.models.map((model) => {
          const done = counts?.[model.id] ?? { ok: 0, failed: 0, skipped: 0, total: 0 };
          return {
            model: model.id,
            provider: model.provider,
            counts: { ...done, total: perModel, inputTokens: 0, outputTokens: 0 },
            turnsPerSecond: 0,
            etaSeconds: undefined,
          };
        }),
      };
    });
  }

  /**
   * Reads every record of the resumed jobs in a reader process, while they run: damage found there
   * stops every write of this process (their next turn halts them), as damage found before the
   * start does.
   */
  private checkResumedJobs(jobs: readonly string[]): void {
    if (jobs.length === 0) return;
    readStoredJobsInReader(
      this.options.dataDir,
      { count: false, check: jobs },
      { forwardSignals: false, signal: this.checking.signal },
    ).then(undefined, (error: unknown) => {
      if (this.checking.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      if (isStoreDamage(error)) {
        this.engine.refuseWrites(message);
        this.options.log.error(
          { error: message },
          'store damaged: resumed jobs halted, nothing more written',
        );
      } else this.options.log.warn({ error: message }, 'could not check the resumed jobs’ records');
    });
  }

  /** Stops taking commands, stops the engine and the workers, flushes and releases the directory. */
  private async close(): Promise<void> {
    this.checking.abort();
    this.removeSignalHandlers();
    await this.control?.close();
    await this.engine.close();
    await this.metricsEndpoint?.close();
    await Promise.all([...this.leases.values()].map((lease) => lease.release()));
    this.leases.clear();
    await this.store.close();
    await this.releaseLock();
    this.options.log.info('daemon stopped');
    this.resolveStopped();
  }
}

/** A stored job as `troupe jobs` lists it. */
function summaryOf({ record: job, counts }: StoredJobView): JobSummary {
  return {
    id: job.id,
    suite: job.suite.name,
    state: job.state,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    turnsRecorded: Object.values(counts ?? {}).reduce((sum, model) => sum + model.total, 0),
    turnsTotal: countOf(job.suite, job.sequences).turns,
  };
}

/** Whether an error says the store is damaged (its reader crashed, or met damage). */
function isStoreDamage(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'troupe:store-damaged';
}
