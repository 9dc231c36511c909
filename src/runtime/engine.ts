import { query, spawnStatelessActor, startSystem, stopActor, dispatch } from '../actors/nact.js';
import type { ActorRef, SystemRef } from '../actors/nact.js';
import type { SequencePlacement } from '../actors/model.js';
import { spawnSupervisor } from '../actors/supervisor.js';
import type { JobEvent, JobOutcome, StatusSnapshot, SupervisorMessage } from '../actors/supervisor.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import type { ProviderConfig } from '../suite/types.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import { resolveApiKeys } from '../suite/api-keys.js';
import { GateRegistry, accountKeyOf } from './gate-registry.js';
import { BudgetBook } from '../planning/budget-gate.js';
import { CoordinationRegistry } from '../coordination/registry.js';
import { sampleSharedMetrics } from '../coordination/shared-metrics.js';
import { localPlacement } from './local-placement.js';
import { loadSdksFor } from '../providers/create.js';
import { placementWhileWorkersBoot } from './boot-placement.js';
import { WorkerPool } from './worker-pool.js';
import { noMetrics } from '../metrics/metrics.js';
import type { Metrics } from '../metrics/metrics.js';
import { modelRefusal, providerStatus } from './provider-status.js';
import { sampleProviderMetrics } from './provider-metrics.js';
import type { AccountStatus } from './provider-status.js';
import { DEFAULT_MAX_SEQUENCE_RESTARTS } from '../actors/restart-policy.js';
import { conversationsOfJob } from './worker-settings.js';

/** How long a status query may take before it is reported as unanswered, in ms. */
export const STATUS_QUERY_TIMEOUT_MS = 5_000;

/** What an engine needs. */
export interface EngineOptions {
  readonly store: CheckpointStore;
  readonly log: Logger;
  readonly clock: Clock;
  /** Where API keys are read from. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Worker processes for the sequence actors. 0 (default): everything in this
   * process. More needs `dataDir` (workers open the same store).
   */
  readonly workers?: number;
  /**
   * Jobs of at most this many conversations (`conversationsOfJob`) run in this process even with
   * workers. Default 0: every job on the workers when there are any.
   */
  readonly inProcessJobMaxConversations?: number;
  /** The store's directory; required with workers. */
  readonly dataDir?: string;
  /** Log level of the workers. Default `warn`. */
  readonly logLevel?: string;
  /** Where observations go. Default: nowhere. */
  readonly metrics?: Metrics;
  /** Heartbeat interval of the workers' transport, in ms (a hung worker is replaced after 3). Default 1 000. */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long sequences placed while the first workers boot wait for all of them, in ms, before
   * going to those ready. Default `FIRST_BOOT_WAIT_MS` (2 s).
   */
  readonly firstBootWaitMs?: number;
  /**
   * Provider types of the jobs this engine will run first (those a daemon resumes): workers load
   * their SDKs while they boot instead of when the first sequence arrives. Default: none.
   */
  readonly providerTypes?: readonly ProviderConfig['type'][];
  /**
   * Give up on a provider unavailable (its breaker open or half-open) longer than its
   * `retry.maxPauseMs`: the models on it stop, their unanswered turns kept; the rest of each job
   * goes on, and the job then ends `paused`, resumable. A foreground run does; the daemon
   * does not (it keeps probing and shows when in status). Default false.
   */
  readonly pauseUnavailableProviders?: boolean;
}

/**
 * The running actor system of one troupe process: the supervisor, the provider
 * gates and the placement of sequence actors (here, or on worker processes).
 * `troupe run` and the daemon both drive jobs through it.
 */
export class Engine {
  private readonly system: SystemRef;
  private readonly supervisor: ActorRef<SupervisorMessage>;
  private readonly gates: GateRegistry;
  private readonly stopSampling: () => void;
  private closed = false;
  /** Jobs started here, by id (their suites name their providers). */
  private readonly jobs = new Map<string, JobRecord>();

  private constructor(
    private readonly options: EngineOptions,
    /** The workers, when sequence actors run in other processes. */
    readonly pool: WorkerPool | undefined,
    gates: GateRegistry,
    supervisorRef: { current: ActorRef<SupervisorMessage> | undefined },
    /** The budgets shared with other processes (`sharedLimits`). */
    readonly coordination: CoordinationRegistry,
  ) {
    this.system = startSystem();
    this.gates = gates;
    this.supervisor = spawnSupervisor(this.system, {
      store: options.store,
      clock: options.clock,
      log: options.log,
      maxSequenceRestarts: DEFAULT_MAX_SEQUENCE_RESTARTS,
      metrics: options.metrics ?? noMetrics,
      runtimeFor: (job) => {
        // Checked here too: a job must not start in a process that lacks its keys.
        const apiKeys = resolveApiKeys(job.suite, options.env, job.suitePath);
        const here = (): SequencePlacement =>
          localPlacement({
            job,
            store: options.store,
            apiKeys,
            gateFor: (providerId) => gates.gateFor(job, providerId),
            clock: options.clock,
            log: options.log,
          });
        const small = conversationsOfJob(job) <= (options.inProcessJobMaxConversations ?? 0);
        if (!pool || small) return { ...here(), release: () => undefined };
        const onWorkers = pool.placementFor(job);
        if (!pool.isBooting) return onWorkers;
        const placement = placementWhileWorkersBoot({
          local: here(),
          workers: onWorkers,
          workersBooting: () => pool.isBooting,
          workersBooted: pool.firstBoot,
        });
        return { ...placement, release: onWorkers.release };
      },
    });
    supervisorRef.current = this.supervisor;
    const metrics = options.metrics;
    if (metrics) {
      const stops = [sampleProviderMetrics(gates, metrics), sampleSharedMetrics(coordination, metrics)];
      this.stopSampling = () => stops.forEach((stop) => stop());
    } else this.stopSampling = () => undefined;
  }

  /**
   * Starts an engine; with workers, forks them. It does not wait for them: jobs start at once
   * (their stored turns counted), each model's first conversations start in this process while
   * the workers boot (see `placementWhileWorkersBoot`), and the rest wait for ready workers.
   */
  static async start(options: EngineOptions): Promise<Engine> {
    const supervisorRef: { current: ActorRef<SupervisorMessage> | undefined } = { current: undefined };
    // Each provider's limiter and breaker are spawned under the supervisor on first use,
    // which is always after the supervisor exists (when the first job starts).
    const coordination = new CoordinationRegistry(options.env, options.clock, options.log);
    // The jobs a provider that is given up on ends are the engine's, which exists only after its gates.
    const engineRef: { current: Engine | undefined } = { current: undefined };
    const gates = new GateRegistry(
      () => {
        if (!supervisorRef.current) throw new Error('engine: gates requested before the supervisor started');
        return supervisorRef.current;
      },
      options.clock,
      options.log,
      options.metrics,
      new BudgetBook(
        {
          read: (job) => options.store.getSpend(job),
          write: (job, spend) => options.store.putSpend(job, spend),
        },
        (job, reason) => {
          if (supervisorRef.current)
            dispatch(supervisorRef.current, { type: 'budget-exhausted', job, reason });
        },
        options.metrics ?? noMetrics,
      ),
      coordination,
      options.pauseUnavailableProviders
        ? (account, reason) => {
            for (const job of engineRef.current?.jobs.values() ?? []) {
              const providers = Object.entries(job.suite.providers)
                .filter(([id, config]) => accountKeyOf(id, config) === account.key)
                .map(([id]) => id);
              if (providers.length > 0 && supervisorRef.current)
                dispatch(supervisorRef.current, {
                  type: 'provider-unavailable',
                  job: job.id,
                  providers,
                  reason,
                });
            }
          }
        : undefined,
    );
    const workers = options.workers ?? 0;
    let pool: WorkerPool | undefined;
    if (workers > 0) {
      if (options.dataDir === undefined) throw new Error('engine: workers need the data directory');
      // Before the workers fork: the conversations that start here while they boot (see
      // `placementWhileWorkersBoot`) need these SDKs, and loading them alongside the workers'
      // own start, on the same cores, put off the first request by about 150 ms.
      await loadSdksFor((options.providerTypes ?? []).map((type) => ({ type })));
      pool = await WorkerPool.start({
        workers,
        dataDir: options.dataDir,
        gates,
        log: options.log,
        logLevel: options.logLevel ?? 'warn',
        env: options.env,
        metrics: options.metrics ?? noMetrics,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        firstBootWaitMs: options.firstBootWaitMs,
        providerTypes: options.providerTypes ?? [],
      });
    }
    const engine = new Engine(options, pool, gates, supervisorRef, coordination);
    engineRef.current = engine;
    return engine;
  }

  /** Starts (or resumes) a stored job; resolves with how it ended. */
  runJob(job: JobRecord): Promise<JobOutcome> {
    this.jobs.set(job.id, job);
    return new Promise((resolve) => {
      const watcher: ActorRef<JobEvent> = spawnStatelessActor<JobEvent>(
        this.system,
        `watch-${job.id}`,
        (event) => {
          if (event.type === 'job-ended' && event.job === job.id) {
            resolve(event.outcome);
            stopActor(watcher);
          }
        },
      );
      dispatch(this.supervisor, { type: 'run-job', job, watcher });
    });
  }

  /**
   * Refuses every write from now on, in this process and in every worker: a check found the store
   * damaged (`reason` says how). The running jobs halt at their next turn.
   */
  refuseWrites(reason: string): void {
    this.options.store.refuseWrites(reason);
    this.pool?.refuseWrites(reason);
  }

  /** Cancels a running job: no new request is sent; finished turns stay. */
  cancelJob(jobId: string): void {
    dispatch(this.supervisor, { type: 'cancel-job', job: jobId });
  }

  /** Progress of every job this engine runs, with the state of each model's provider. */
  async status(): Promise<StatusSnapshot> {
    const snapshot = await query<SupervisorMessage, StatusSnapshot>(
      this.supervisor,
      (replyTo) => ({ type: 'get-status', replyTo }),
      STATUS_QUERY_TIMEOUT_MS,
    );
    const byAccount = new Map<string, Promise<AccountStatus>>();
    const jobs = await Promise.all(
      snapshot.jobs.map(async (job) => {
        const record = this.jobs.get(job.job);
        if (!record) return job;
        const models = await Promise.all(
          job.models.map(async (model) => {
            const account = this.gates.existingAccount(record, model.provider);
            if (!account) return model;
            let status = byAccount.get(account.key);
            if (!status) {
              status = providerStatus(account);
              byAccount.set(account.key, status);
            }
            const standing = await status;
            const refused = modelRefusal(standing, job.job, model.model);
            return { ...model, providerStatus: standing.provider, ...(refused && { refused }) };
          }),
        );
        return { ...job, models };
      }),
    );
    return { jobs };
  }

  /** Whether the engine can work now: false while a worker is down, or after close. */
  readiness(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.closed) reasons.push('the engine is stopped');
    const down = this.pool?.notReady() ?? [];
    if (down.length > 0) reasons.push(`workers not ready: ${down.join(', ')}`);
    return { ok: reasons.length === 0, reasons };
  }

  /**
   * Starts no new turn anywhere and waits until the requests in flight have
   * finished and been committed: true when drained, false after `graceMs`.
   */
  async drain(graceMs: number): Promise<boolean> {
    try {
      await query<SupervisorMessage, { type: 'drained' }>(
        this.supervisor,
        (replyTo) => ({ type: 'drain-all', replyTo }),
        graceMs,
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Stops issuing turns everywhere (shutdown); in-flight requests are aborted. */
  stopWork(): void {
    dispatch(this.supervisor, { type: 'stop-all-work' });
  }

  /** Stops the actor system and the workers, and waits until everything committed is on disk. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopSampling();
    stopActor(this.system);
    await this.coordination.close();
    await this.pool?.stop();
    await this.options.store.flush();
  }
}
