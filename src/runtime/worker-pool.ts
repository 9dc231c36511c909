import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { SequencePlacement } from '../actors/model.js';
import { dispatch, spawnStatelessActor, stopActor } from '../actors/nact.js';
import type { SequenceMessage } from '../actors/sequence.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProviderConfig } from '../suite/types.js';
import type { JobRecord } from '../store/records.js';
import { PrivateSocketDir } from '../transport/private-socket-dir.js';
import type { PrimaryEnd } from '../transport/ends.js';
import { isFromWorker, sequenceKey } from '../transport/protocol.js';
import type { FromWorker, ToWorker } from '../transport/protocol.js';
import { RouterTransport } from '../transport/router.js';
import type { GateRegistry } from './gate-registry.js';
import { WorkerGateServer } from './worker-gate-server.js';
import { PlacementTable } from './worker-placements.js';
import type { Placed } from './worker-placements.js';
import { forkWorker, setUpWorkerForks } from './worker-process.js';
import { quickCrashesAfter, restartDelayMs } from './worker-restart.js';
import { judgeSilence, processCpuTicks, WORKER_BUSY_SILENCE_MAX_MS } from './worker-liveness.js';

/** Heartbeat settings of the workers' transport: a hung worker is replaced after about interval × misses. */
export const WORKER_HEARTBEAT_INTERVAL_MS = 1_000;
export const WORKER_HEARTBEAT_MISSES = 3;

/**
 * How long sequences placed while the first workers boot wait for all of them, in ms; then they
 * go to whichever are ready (a worker that cannot start must not hold a job up).
 */
export const FIRST_BOOT_WAIT_MS = 2_000;

/** Options of `WorkerPool.start`. */
export interface WorkerPoolOptions {
  /** Worker processes to keep running (≥ 1). */
  readonly workers: number;
  /** The store's directory: workers open it too, and the transport's socket lives there. */
  readonly dataDir: string;
  readonly gates: GateRegistry;
  readonly log: Logger;
  readonly logLevel: string;
  /** The workers' environment (API keys are read from it there). */
  readonly env: NodeJS.ProcessEnv;
  readonly metrics: Metrics;
  /** Heartbeat interval, in ms. Default `WORKER_HEARTBEAT_INTERVAL_MS`. */
  readonly heartbeatIntervalMs?: number;
  /** How long the first boot waits for every worker, in ms. Default `FIRST_BOOT_WAIT_MS`. */
  readonly firstBootWaitMs?: number;
  /** Provider types whose SDKs each worker loads as it boots (see `EngineOptions.providerTypes`). */
  readonly providerTypes: readonly ProviderConfig['type'][];
}

/** A worker that stopped answering heartbeats, being watched (see `worker-liveness.ts`). */
interface Silence {
  readonly since: number;
  /** Its CPU time at the last look. */
  cpu: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  readonly id: string;
  /**
   * The transport's routing id of the live worker: its slot id and a number new at each fork.
   * A message from a worker that was replaced is then dropped (the primary may read it after the
   * worker's exit was handled: a late `gate-admit` would take a permit nobody settles), and one
   * queued for it never reaches its replacement. Undefined while no worker runs.
   */
  peer: string | undefined;
  worker: Worker | undefined;
  pid: number | undefined;
  ready: boolean;
  startedAt: number;
  quickCrashes: number;
  restarts: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** Set while its worker is silent (heartbeats unanswered) and watched rather than killed. */
  silence: Silence | undefined;
  /** Its worker's CPU time, sampled each heartbeat interval over the last window, oldest first. */
  cpuSamples: number[];
}

/**
 * The cluster primary's side of the workers: keeps a slot per worker process, places sequence
 * actors on the least loaded ready one (a local proxy actor stands in for each, so model actors
 * do not know where their sequences run), routes the workers' messages (reports to the model
 * actors, gate traffic to the `WorkerGateServer`), and replaces a worker that dies or hangs —
 * re-creating its sequences on live workers, where they resume from the store. Forking is in
 * `worker-process.ts`, the restart backoff in `worker-restart.ts`, the bookkeeping of who hosts
 * what in `worker-placements.ts`.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** The slots by id, and by the routing id of their live worker: every message is looked up here. */
  private readonly slotsById = new Map<string, Slot>();
  private readonly slotsByPeer = new Map<string, Slot>();
  private readonly placed = new PlacementTable();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly gates: WorkerGateServer;
  private stopping = false;
  /** Why every write is refused (see `refuseWrites`); undefined while the store is trusted. */
  private writesRefused: string | undefined;
  /** Workers forked so far: numbers each one's routing id. */
  private forks = 0;
  /**
   * True while the first workers boot: sequences wait for all of them (or for
   * `FIRST_BOOT_WAIT_MS`), else the first worker ready would take every sequence of a job
   * resumed at start and the others none.
   */
  private booting = true;
  /** The private directory of the workers' socket (removed at `stop` when temporary). */
  private socketDir: PrivateSocketDir | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  /** Samples the workers' CPU time (see `sampleCpu`). */
  private cpuTimer: NodeJS.Timeout | undefined;
  private endBoot: () => void = () => undefined;
  /** Resolves when the first boot ends: every worker is ready, or `firstBootWaitMs` passed. */
  readonly firstBoot = new Promise<void>((resolve) => {
    this.endBoot = resolve;
  });
  private readonly onExit = (worker: Worker, code: number | null, signal: string | null): void =>
    this.workerExited(worker, code, signal);

  private constructor(
    private readonly options: WorkerPoolOptions,
    private readonly transport: PrimaryEnd<ToWorker, FromWorker>,
    /** Where workers connect. */
    private readonly endpoint: string,
  ) {
    this.gates = new WorkerGateServer({
      jobOf: (jobId) => this.jobs.get(jobId),
      gateFor: (job, provider) => options.gates.gateFor(job, provider),
      send: (worker, message) => this.send(worker, message),
    });
    transport.onMessage((peer, message) => this.receive(peer, message));
    transport.onMalformed((peer, reason) =>
      options.log.warn({ worker: peer, reason }, 'malformed frame from a worker; dropped'),
    );
    transport.onPeerLost((peer) => this.workerSilent(peer));
    // A silent worker heard again (any message) is working: it is not watched any more.
    transport.onPeerJoined((peer) => this.endSilence(this.slotsByPeer.get(peer)));
    cluster.on('exit', this.onExit);
  }

  /** Binds the transport and forks the workers; sequences placed before they are ready wait for them. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    // A private directory (0700): no other local user can pose as a worker.
    const socketDir = await PrivateSocketDir.open(options.dataDir);
    let transport;
    try {
      transport = await RouterTransport.bind<ToWorker, FromWorker>(socketDir.endpointFor('workers'), {
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? WORKER_HEARTBEAT_INTERVAL_MS,
        heartbeatMisses: WORKER_HEARTBEAT_MISSES,
        isMessage: isFromWorker,
      });
    } catch (error) {
      await socketDir.close();
      throw error;
    }
    const pool = new WorkerPool(options, transport, transport.endpoint);
    pool.socketDir = socketDir;
    setUpWorkerForks();
    for (let i = 1; i <= options.workers; i += 1) {
      const slot: Slot = {
        id: `worker-${i}`,
        peer: undefined,
        worker: undefined,
        pid: undefined,
        ready: false,
        startedAt: 0,
        quickCrashes: 0,
        restarts: 0,
        restartTimer: undefined,
        silence: undefined,
        cpuSamples: [],
      };
      pool.slots.push(slot);
      pool.slotsById.set(slot.id, slot);
      pool.fork(slot);
    }
    pool.bootTimer = setTimeout(() => pool.booted(), options.firstBootWaitMs ?? FIRST_BOOT_WAIT_MS);
    pool.bootTimer.unref();
    pool.cpuTimer = setInterval(
      () => pool.sampleCpu(),
      options.heartbeatIntervalMs ?? WORKER_HEARTBEAT_INTERVAL_MS,
    );
    pool.cpuTimer.unref();
    return pool;
  }

  /** Pids of the live workers, by worker id (for logs and tests). */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.slots.map((slot) => [slot.id, slot.pid]));
  }

  /** Routing ids of the live workers, by worker id (for tests and diagnostics). */
  peers(): Record<string, string | undefined> {
    return Object.fromEntries(this.slots.map((slot) => [slot.id, slot.peer]));
  }

  /** Sequences placed on each worker now, by worker id (for tests and diagnostics). */
  sequencesPerWorker(): Record<string, number> {
    return Object.fromEntries(this.slots.map((slot) => [slot.id, this.placed.countOn(slot.id)]));
  }

  /**
   * Sequence actors placed on the workers: in all so far, at most at once, and now (for tests and
   * diagnostics: at most at once is bounded by the models' windows, not by their jobs).
   */
  placementCounts(): { readonly placed: number; readonly mostAtOnce: number; readonly now: number } {
    const now = this.slots.reduce((sum, slot) => sum + this.placed.countOn(slot.id), 0);
    return { placed: this.placed.placed, mostAtOnce: this.placed.mostPlaced, now };
  }

  /** True until the first boot ends (see `firstBoot`). */
  get isBooting(): boolean {
    return this.booting;
  }

  /** Ids of the workers that are not ready now (starting, restarting, or hung). */
  notReady(): string[] {
    return this.slots.filter((slot) => !slot.ready).map((slot) => slot.id);
  }

  /** Worker restarts so far. */
  get restarts(): number {
    return this.slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /** The placement of one job's sequences on the workers. */
  placementFor(job: JobRecord): SequencePlacement & { release(): void } {
    this.jobs.set(job.id, job);
    return {
      place: (request) => {
        const key = sequenceKey(job.id, request.model.id, request.sequence.id, request.firstRun);
        const placed: Placed = {
          key,
          job: job.id,
          model: request.model.id,
          sequence: request.sequence.id,
          firstRun: request.firstRun,
          runs: request.runs,
          replyTo: request.replyTo,
          worker: undefined,
          started: false,
          halted: undefined,
        };
        this.placed.add(placed);
        this.assign(placed);
        const ref = spawnStatelessActor<SequenceMessage>(
          request.parent,
          `sequence-${request.sequence.id}-${request.firstRun}`,
          (message) => this.command(placed, message),
        );
        return {
          ref,
          retire: () => {
            this.retire(placed);
            stopActor(ref);
          },
        };
      },
      release: () => {
        for (const placed of this.placed.select((p) => p.job === job.id)) this.retire(placed);
        this.jobs.delete(job.id);
      },
    };
  }

  /** Stops a placed sequence actor on its worker and forgets it. */
  private retire(placed: Placed): void {
    if (!this.placed.holds(placed)) return;
    if (placed.worker) this.send(placed.worker, { type: 'stop-sequence', key: placed.key });
    this.placed.remove(placed);
  }

  /** Stops the workers (SIGTERM, then the cluster reaps them) and closes the transport. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.bootTimer);
    clearInterval(this.cpuTimer);
    cluster.off('exit', this.onExit);
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      this.endSilence(slot);
      slot.worker?.process.kill('SIGKILL');
    }
    this.gates.close();
    await this.transport.close();
    await this.socketDir?.close();
  }

  private fork(slot: Slot): void {
    this.forks += 1;
    slot.peer = `${slot.id}#${this.forks}`;
    this.slotsByPeer.set(slot.peer, slot);
    const worker = forkWorker(this.options.env, {
      id: slot.id,
      routingId: slot.peer,
      endpoint: this.endpoint,
      dataDir: this.options.dataDir,
      logLevel: this.options.logLevel,
      providerTypes: this.options.providerTypes,
    });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.cpuSamples = [];
    slot.ready = false;
    slot.startedAt = Date.now();
    this.options.log.info({ worker: slot.id, workerPid: slot.pid, peer: slot.peer }, 'worker started');
  }

  private receive(peer: string, message: FromWorker): void {
    const slot = this.slotsByPeer.get(peer);
    if (!slot) {
      this.options.log.debug({ peer, type: message.type }, 'message from a replaced worker; dropped');
      return;
    }
    const worker = slot.id;
    switch (message.type) {
      case 'worker-ready': {
        slot.ready = true;
        // Before any sequence is placed on it: a worker started after the store was found damaged.
        if (this.writesRefused !== undefined)
          this.send(worker, { type: 'refuse-writes', reason: this.writesRefused });
        this.options.log.info(
          { worker: slot.id, workerPid: slot.pid, startupMs: Date.now() - slot.startedAt },
          'worker ready',
        );
        if (this.booting && this.slots.every((s) => s.ready)) this.booted();
        else this.assignWaiting();
        return;
      }
      case 'sequence-report': {
        const placed = this.placed.get(message.key);
        if (placed && placed.worker === worker) dispatch(placed.replyTo, message.report);
        return;
      }
      case 'sequence-failed': {
        const placed = this.placed.get(message.key);
        // Like reports: only from the worker that hosts it now.
        if (placed && placed.worker === worker)
          dispatch(placed.replyTo, {
            type: 'sequence-halted',
            sequence: placed.sequence,
            firstRun: placed.firstRun,
            error: message.error,
          });
        return;
      }
      case 'gate-admit':
        this.gates.admit(worker, message.id, message.job, message.provider, message.request);
        return;
      case 'gate-cancel':
        this.gates.cancel(message.id);
        return;
      case 'gate-settle':
        this.gates.settle(message.id, message.outcome);
        return;
      default: {
        const unknown: never = message;
        this.options.log.warn({ worker, message: unknown }, 'unknown message from a worker; dropped');
      }
    }
  }

  /** Ends the first boot: the sequences placed meanwhile go to the workers ready now. */
  private booted(): void {
    if (!this.booting) return;
    this.booting = false;
    clearTimeout(this.bootTimer);
    this.assignWaiting();
    this.endBoot();
  }

  private assignWaiting(): void {
    for (const placed of this.placed.select((p) => p.worker === undefined)) this.assign(placed);
  }

  /**
   * Places `placed` on the least loaded ready worker, or leaves it waiting for one (none is
   * ready, or the first workers are still booting).
   */
  private assign(placed: Placed): void {
    if (placed.halted) {
      // Told to stop or drain: it stays nowhere. Nothing of it is in flight any more (its worker,
      // if it had one, is gone), so a drain is complete.
      this.placed.move(placed, undefined);
      if (placed.halted === 'drain') this.reportDrained(placed);
      return;
    }
    const ready = this.slots.filter((slot) => slot.ready).map((slot) => slot.id);
    const target = this.booting ? undefined : this.placed.leastLoaded(ready);
    this.placed.move(placed, target);
    if (target === undefined) return;
    this.send(target, {
      type: 'spawn-sequence',
      key: placed.key,
      job: placed.job,
      model: placed.model,
      sequence: placed.sequence,
      firstRun: placed.firstRun,
      runs: placed.runs,
    });
    if (placed.started) this.send(target, { type: 'sequence-command', key: placed.key, command: 'start' });
  }

  private command(placed: Placed, message: SequenceMessage): void {
    if (message.type !== 'start' && message.type !== 'stop-work' && message.type !== 'drain') return;
    if (message.type === 'start') placed.started = true;
    else placed.halted = message.type;
    if (placed.worker)
      this.send(placed.worker, { type: 'sequence-command', key: placed.key, command: message.type });
    // Waiting for a worker: it never runs now, and has nothing in flight.
    else if (message.type === 'drain') this.reportDrained(placed);
  }

  private reportDrained(placed: Placed): void {
    dispatch(placed.replyTo, {
      type: 'sequence-drained',
      sequence: placed.sequence,
      firstRun: placed.firstRun,
    });
  }

  /**
   * The transport lost `peer`'s heartbeats. A worker whose process used CPU over the last
   * heartbeat window is busy, not hung: it is watched, a window at a time, and replaced only once
   * it uses none over a window or stays silent too long (see `worker-liveness.ts`).
   */
  private workerSilent(peer: string): void {
    const slot = this.slotsByPeer.get(peer);
    if (!slot?.worker || slot.silence) return;
    slot.silence = { since: Date.now(), cpu: slot.cpuSamples[0], timer: undefined };
    this.lookAtSilent(slot);
  }

  /** Replaces the silent worker of `slot` now, or looks again after a heartbeat window. */
  private lookAtSilent(slot: Slot): void {
    const silence = slot.silence;
    const worker = slot.worker;
    if (!silence || !worker) return;
    const cpuNow = slot.pid === undefined ? undefined : processCpuTicks(slot.pid);
    const silentMs = Date.now() - silence.since;
    const verdict = judgeSilence({
      cpuBefore: silence.cpu,
      cpuNow,
      silentMs,
      busySilenceMaxMs: WORKER_BUSY_SILENCE_MAX_MS,
    });
    if (verdict === 'wait') {
      if (silence.timer === undefined)
        this.options.log.info(
          { worker: slot.id, workerPid: slot.pid },
          'worker busy, not answering heartbeats; watching it',
        );
      silence.cpu = cpuNow;
      silence.timer = setTimeout(() => this.lookAtSilent(slot), this.heartbeatWindowMs());
      silence.timer.unref();
      return;
    }
    this.endSilence(slot);
    this.options.log.warn(
      { worker: slot.id, workerPid: slot.pid, silentMs },
      'worker stopped answering heartbeats; killing it',
    );
    worker.process.kill('SIGKILL');
  }

  /** Samples every live worker's CPU time, once per heartbeat interval, keeping a window's worth. */
  private sampleCpu(): void {
    for (const slot of this.slots) {
      const cpu = slot.pid === undefined ? undefined : processCpuTicks(slot.pid);
      if (cpu === undefined) {
        slot.cpuSamples = [];
        continue;
      }
      slot.cpuSamples.push(cpu);
      if (slot.cpuSamples.length > WORKER_HEARTBEAT_MISSES) slot.cpuSamples.shift();
    }
  }

  /** Stops watching the silent worker of `slot`, if it is watched. */
  private endSilence(slot: Slot | undefined): void {
    if (!slot?.silence) return;
    clearTimeout(slot.silence.timer);
    slot.silence = undefined;
  }

  /** The time in which a live worker answers a heartbeat, in ms: the transport's interval × misses. */
  private heartbeatWindowMs(): number {
    return (this.options.heartbeatIntervalMs ?? WORKER_HEARTBEAT_INTERVAL_MS) * WORKER_HEARTBEAT_MISSES;
  }

  private workerExited(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.find((s) => s.worker === worker);
    if (!slot || this.stopping) return;
    this.endSilence(slot);
    slot.worker = undefined;
    if (slot.peer !== undefined) this.slotsByPeer.delete(slot.peer);
    slot.peer = undefined;
    slot.ready = false;
    this.options.log.warn(
      { worker: slot.id, workerPid: slot.pid, code, signal },
      'worker died; moving its sequences',
    );
    slot.pid = undefined;
    this.gates.workerGone(slot.id);
    for (const placed of this.placed.select((p) => p.worker === slot.id)) this.assign(placed);
    slot.quickCrashes = quickCrashesAfter(slot.quickCrashes, Date.now() - slot.startedAt);
    const delay = restartDelayMs(slot.quickCrashes);
    slot.restarts += 1;
    this.options.metrics.workerRestarted();
    this.options.log.warn({ worker: slot.id, restarts: slot.restarts, delayMs: delay }, 'restarting worker');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.fork(slot);
    }, delay);
  }

  /**
   * Tells every worker, and every worker started from now on, to refuse every write: the store was
   * found damaged. Their sequences halt at their next turn, as in the primary's own process.
   */
  refuseWrites(reason: string): void {
    this.writesRefused ??= reason;
    for (const slot of this.slots) this.send(slot.id, { type: 'refuse-writes', reason });
  }

  /** Sends to the live worker of slot `worker`; with none, the message is dropped. */
  private send(worker: string, message: ToWorker): void {
    const peer = this.slotsById.get(worker)?.peer;
    if (peer === undefined) return;
    this.transport.send(peer, message).catch((error: unknown) => {
      // The worker is gone: its exit event moves its sequences; nothing to do here.
      this.options.log.debug({ worker, type: message.type, err: error }, 'send to worker failed');
    });
  }
}
