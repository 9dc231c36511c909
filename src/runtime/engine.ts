import { query, spawnStatelessActor, startSystem, stopActor, dispatch } from '../actors/nact.js';
import type { ActorRef, SystemRef } from '../actors/nact.js';
import { spawnSupervisor } from '../actors/supervisor.js';
import type { JobEvent, JobOutcome, StatusSnapshot, SupervisorMessage } from '../actors/supervisor.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import { resolveApiKeys } from '../suite/api-keys.js';
import { GateRegistry } from './gate-registry.js';
import { localPlacement } from './local-placement.js';

/** How long a status query may take before it is reported as unanswered, in ms. */
export const STATUS_QUERY_TIMEOUT_MS = 5_000;

/** Restarts allowed per sequence actor before it is stopped and its job halted. */
export const MAX_SEQUENCE_RESTARTS = 5;

/** What an engine needs. */
export interface EngineOptions {
  readonly store: CheckpointStore;
  readonly log: Logger;
  readonly clock: Clock;
  /** Where API keys are read from. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The running actor system of one troupe process: the supervisor, the provider
 * gates and the placement of sequence actors. `troupe run` and the daemon both
 * drive jobs through it.
 */
export class Engine {
  private readonly system: SystemRef;
  private readonly supervisor: ActorRef<SupervisorMessage>;
  private readonly gates: GateRegistry;

  constructor(private readonly options: EngineOptions) {
    this.system = startSystem();
    // The registry spawns each provider's limiter and breaker under the supervisor, on first use
    // (always after the constructor, when the first job starts).
    this.gates = new GateRegistry(() => this.supervisor, options.clock, options.log);
    this.supervisor = spawnSupervisor(this.system, {
      store: options.store,
      clock: options.clock,
      log: options.log,
      maxSequenceRestarts: MAX_SEQUENCE_RESTARTS,
      runtimeFor: (job) => {
        const apiKeys = resolveApiKeys(job.suite, options.env, job.suitePath);
        return {
          placement: localPlacement({
            job,
            store: options.store,
            apiKeys,
            gateFor: (providerId) => this.gates.gateFor(job, providerId),
            clock: options.clock,
            log: options.log,
          }),
        };
      },
    });
  }

  /** Starts (or resumes) a stored job; resolves with how it ended. */
  runJob(job: JobRecord): Promise<JobOutcome> {
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

  /** Cancels a running job: no new request is sent; finished turns stay. */
  cancelJob(jobId: string): void {
    dispatch(this.supervisor, { type: 'cancel-job', job: jobId });
  }

  /** Progress of every job this engine runs. */
  status(): Promise<StatusSnapshot> {
    return query<SupervisorMessage, StatusSnapshot>(
      this.supervisor,
      (replyTo) => ({ type: 'get-status', replyTo }),
      STATUS_QUERY_TIMEOUT_MS,
    );
  }

  /** Stops issuing turns everywhere (shutdown); in-flight requests are aborted. */
  stopWork(): void {
    dispatch(this.supervisor, { type: 'stop-all-work' });
  }

  /** Stops the actor system and waits until everything committed is on disk. */
  async close(): Promise<void> {
    stopActor(this.system);
    await this.options.store.flush();
  }
}
