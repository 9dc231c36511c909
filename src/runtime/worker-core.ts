import { conversationsOfStep } from '../actors/placement-steps.js';
import { sequenceRestartPolicy } from '../actors/restart-policy.js';
import { dispatch, spawnStatelessActor, startSystem, stopActor } from '../actors/nact.js';
import type { ActorRef, SystemRef } from '../actors/nact.js';
import type { SequenceMessage, SequenceReport } from '../actors/sequence.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../resilience/clock.js';
import type { CheckpointStore, ErrorData, JobRecord } from '../store/records.js';
import { ERROR_CODES } from '../resilience/errors.js';
import { loadSdksFor } from '../providers/create.js';
import { resolveApiKeys } from '../suite/api-keys.js';
import type { ModelConfig, ProviderConfig } from '../suite/types.js';
import type { WorkerEnd } from '../transport/ends.js';
import type { FromWorker, SequenceKey, ToWorker } from '../transport/protocol.js';
import { sequenceFactory } from './local-placement.js';
import type { SequenceFactory } from './local-placement.js';
import { RemoteGates } from './remote-gate.js';

/** What a worker's core needs; the process adapter (worker-main) builds it. */
export interface WorkerCoreDeps {
  readonly transport: WorkerEnd<FromWorker, ToWorker>;
  readonly store: CheckpointStore;
  /** Where API keys are read from: this worker's own environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly log: Logger;
  /** Restarts allowed per sequence actor before it is stopped. */
  readonly maxSequenceRestarts: number;
}

/** A sequence whose spawn waits for its placement step, with the commands that came meanwhile. */
interface PendingSpawn {
  readonly job: string;
  readonly model: string;
  readonly sequence: string;
  readonly firstRun: number;
  readonly runs: number;
  readonly commands: Extract<ToWorker, { type: 'sequence-command' }>['command'][];
}

/** A job as the worker reads it once: its record, and its models and sequences by id. */
interface JobIndex {
  readonly job: JobRecord;
  readonly models: ReadonlyMap<string, ModelConfig>;
}

interface Hosted {
  readonly actor: ActorRef<SequenceMessage>;
  readonly forwarder: ActorRef<SequenceReport>;
}

/**
 * The worker's core, independent of how it is reached: it hosts sequence actors
 * (which own their conversations' context here, in this process), forwards their
 * reports to the primary, and passes their gate traffic to the primary's limiters.
 * Tests hand it an in-memory transport; the real worker hands it ZeroMQ.
 */
export class WorkerCore {
  private readonly system: SystemRef;
  private readonly gates: RemoteGates;
  private readonly hosted = new Map<SequenceKey, Hosted>();
  /** Spawns not done yet, in arrival order: done a step at a time (see `scheduleSpawnStep`). */
  private readonly pending = new Map<SequenceKey, PendingSpawn>();
  private stepScheduled = false;
  /** Spawn steps since `pending` was last empty: a new burst of spawns starts with a small step. */
  private stepsInBurst = 0;
  /** Jobs whose providers' SDKs are loaded (or failed to: their first requests report it). */
  private readonly readyJobs = new Set<string>();
  private readonly loadingJobs = new Set<string>();
  private stopped = false;
  /** One factory per job: it holds the job's provider clients. */
  private readonly factories = new Map<string, SequenceFactory>();
  /**
   * Each job read from the store once: its suite is frozen, and decoding it for every sequence
   * made setting up a job of n sequences cost n² (2 ms a read at 10 000 sequences).
   */
  private readonly jobs = new Map<string, JobIndex>();
  private readonly unsubscribe: () => void;
  /** Numbers actor names: one system hosts sequences of many jobs and models. */
  private spawned = 0;

  constructor(private readonly deps: WorkerCoreDeps) {
    this.system = startSystem();
    this.gates = new RemoteGates((message) => this.send(message));
    const unsubscribeMessages = deps.transport.onMessage((message) => this.receive(message));
    const unsubscribeMalformed = deps.transport.onMalformed((reason) =>
      deps.log.warn({ reason }, 'malformed frame from the primary; dropped'),
    );
    this.unsubscribe = () => {
      unsubscribeMessages();
      unsubscribeMalformed();
    };
  }

  /** Tells the primary this worker can take sequences. */
  announceReady(): void {
    this.send({ type: 'worker-ready', pid: process.pid });
  }

  /** Sequence actors hosted here now. */
  get hostedCount(): number {
    return this.hosted.size;
  }

  /** Stops every hosted actor (their requests are aborted). */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    stopActor(this.system);
    this.hosted.clear();
    this.pending.clear();
  }

  private receive(message: ToWorker): void {
    switch (message.type) {
      case 'spawn-sequence':
        if (this.hosted.has(message.key) || this.pending.has(message.key)) return;
        this.pending.set(message.key, {
          job: message.job,
          model: message.model,
          sequence: message.sequence,
          firstRun: message.firstRun,
          runs: message.runs,
          commands: [],
        });
        this.scheduleSpawnStep();
        return;
      case 'sequence-command': {
        const hosted = this.hosted.get(message.key);
        if (hosted) dispatch(hosted.actor, { type: message.command });
        else this.pending.get(message.key)?.commands.push(message.command);
        return;
      }
      case 'stop-sequence': {
        this.pending.delete(message.key);
        const hosted = this.hosted.get(message.key);
        if (!hosted) return;
        dispatch(hosted.actor, { type: 'stop-work' });
        stopActor(hosted.actor);
        stopActor(hosted.forwarder);
        this.hosted.delete(message.key);
        return;
      }
      case 'gate-permit':
        this.gates.granted(message.id, message.probe);
        return;
      case 'gate-refused':
        this.gates.refused(message.id, message.error);
        return;
      case 'refuse-writes':
        this.deps.store.refuseWrites(message.reason);
        return;
      default: {
        const unknown: never = message;
        this.deps.log.warn({ message: unknown }, 'unknown message from the primary; dropped');
      }
    }
  }

  /**
   * Spawns the sequences of about one placement step, as the model actor places them, then
   * yields: after a restart a worker receives every sequence of the jobs it resumes at once,
   * and setting them all up before sending any admit would keep the first request waiting.
   */
  private scheduleSpawnStep(): void {
    if (this.stepScheduled) return;
    this.stepScheduled = true;
    setImmediate(() => {
      this.stepScheduled = false;
      if (this.stopped) return;
      let conversations = 0;
      const stepConversations = conversationsOfStep(this.stepsInBurst);
      let waitingForSdks = false;
      for (const [key, pending] of this.pending) {
        if (conversations >= stepConversations) break;
        if (!this.readyJobs.has(pending.job)) {
          // The rest waits for this job's SDKs: loading them is quick alone, slow behind set-ups.
          this.loadSdks(pending.job);
          waitingForSdks = true;
          break;
        }
        this.pending.delete(key);
        conversations += this.spawn(key, pending);
      }
      if (conversations > 0) this.stepsInBurst += 1;
      if (this.pending.size === 0) this.stepsInBurst = 0;
      else if (!waitingForSdks) this.scheduleSpawnStep();
    });
  }

  private loadSdks(jobId: string): void {
    if (this.loadingJobs.has(jobId)) return;
    this.loadingJobs.add(jobId);
    let providers: ProviderConfig[] = [];
    try {
      providers = Object.values(this.jobIndex(jobId)?.job.suite.providers ?? {});
    } catch {
      // Unreadable: the spawn reports it.
    }
    void loadSdksFor(providers).then(() => {
      this.loadingJobs.delete(jobId);
      this.readyJobs.add(jobId);
      this.scheduleSpawnStep();
    });
  }

  /** Spawns one sequence actor and hands it the commands that waited; returns its conversations. */
  private spawn(key: SequenceKey, pending: PendingSpawn): number {
    const { job: jobId, model: modelId, sequence: sequenceId } = pending;
    try {
      const index = this.jobIndex(jobId);
      const job = index?.job;
      const model = index?.models.get(modelId);
      // One record read per sequence hosted: a job's million sequences are never all decoded here.
      const sequence = index ? this.deps.store.getSequence(jobId, sequenceId) : undefined;
      if (!job || !model || !sequence)
        throw new Error(`no ${job ? 'model or sequence' : 'job'} for ${key} in the store`);
      this.spawned += 1;
      const forwarder = spawnStatelessActor<SequenceReport>(
        this.system,
        `reports-${this.spawned}`,
        (report) => this.send({ type: 'sequence-report', key, report }),
      );
      const actor = this.factoryFor(job)({
        parent: this.system,
        name: `sequence-${this.spawned}`,
        model,
        sequence,
        firstRun: pending.firstRun,
        runs: pending.runs,
        replyTo: forwarder,
        onCrash: sequenceRestartPolicy({
          sequence: key,
          maxRestarts: this.deps.maxSequenceRestarts,
          onGiveUp: (error) => this.send({ type: 'sequence-failed', key, error }),
          warn: (text, fields) => this.deps.log.warn({ key, ...fields }, text),
        }),
      });
      this.hosted.set(key, { actor, forwarder });
      for (const command of pending.commands) dispatch(actor, { type: command });
      return pending.runs;
    } catch (error) {
      this.failed(key, {
        code: ERROR_CODES.cannotStart,
        message: error instanceof Error ? error.message : String(error),
      });
      return 1;
    }
  }

  /** The job `jobId` from the store, read once; undefined (not remembered) while it is not there. */
  private jobIndex(jobId: string): JobIndex | undefined {
    let index = this.jobs.get(jobId);
    if (!index) {
      const job = this.deps.store.getJob(jobId);
      if (!job) return undefined;
      index = {
        job,
        models: new Map(job.suite.models.map((m) => [m.id, m])),
      };
      this.jobs.set(jobId, index);
    }
    return index;
  }

  private factoryFor(job: JobRecord): SequenceFactory {
    let factory = this.factories.get(job.id);
    if (!factory) {
      factory = sequenceFactory({
        job,
        store: this.deps.store,
        apiKeys: resolveApiKeys(job.suite, this.deps.env, job.suitePath),
        gateFor: (provider) => this.gates.gateFor(job.id, provider),
        clock: this.deps.clock,
        log: this.deps.log,
      });
      this.factories.set(job.id, factory);
    }
    return factory;
  }

  private failed(key: SequenceKey, error: ErrorData): void {
    this.deps.log.error({ key, error }, 'cannot host sequence');
    this.send({ type: 'sequence-failed', key, error });
  }

  private send(message: FromWorker): void {
    this.deps.transport.send(message).catch((error: unknown) => {
      // The primary is gone or stuck; the cluster will replace this worker or the primary
      // restarts. Nothing to retry: what was not acknowledged is redone from the store.
      this.deps.log.warn({ type: message.type, err: error }, 'could not send to the primary');
    });
  }
}
