/**
 * The supervisor: root of troupe's actor tree. It runs stored jobs (new or
 * resumed — the store says where each conversation stands), spawns a model actor
 * per (job, model), gives each provider its gate (rate limiter and circuit
 * breaker, one per provider account for the whole daemon), keeps every job's
 * progress, and marks a job done in the store once every turn is recorded.
 */
import { RateEstimator } from '../progress/rate.js';
import type { ModelRefusal, ProviderStatus } from '../runtime/provider-status.js';
import type { Clock } from '../resilience/clock.js';
import type { CheckpointStore, ErrorData, JobRecord } from '../store/records.js';
import { ERROR_CODES } from '../resilience/errors.js';
import type { SequenceSource } from './slice-walk.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { liveConversationsFor, spawnModel } from './model.js';
import type { ModelCounts, ModelMessage, ModelReport, SequencePlacement } from './model.js';
import { dispatch, spawnActor, stopActor } from './nact.js';
import type { ActorContext, ActorRef, SystemRef } from './nact.js';

/** How a job's run in this process ended. */
export type JobOutcome =
  | { readonly state: 'done' }
  | { readonly state: 'cancelled' }
  /** This process stopped working on it (shutdown, Ctrl-C); it stays resumable. */
  | { readonly state: 'interrupted' }
  /** Work stopped before every turn was recorded (store failure, a sequence that kept crashing); resumable. */
  | { readonly state: 'halted'; readonly error: ErrorData }
  /** A spend cap would have been exceeded: nothing more was sent; resumable with a higher cap. */
  | { readonly state: 'budget-exhausted'; readonly reason: string }
  /** A provider stayed unavailable past its `retry.maxPauseMs`: its turns are left unanswered; resumable. */
  | { readonly state: 'paused'; readonly reason: string };

/** Events a job's watcher receives. */
export type JobEvent = { readonly type: 'job-ended'; readonly job: string; readonly outcome: JobOutcome };

/** Progress of one model of a job. */
export interface ModelStatus {
  readonly model: string;
  readonly provider: string;
  readonly counts: ModelCounts;
  /** Finished turns per second over the last half minute. */
  readonly turnsPerSecond: number;
  /** Seconds to the last turn at that rate; undefined while unknown. */
  readonly etaSeconds: number | undefined;
  /** Set once the model's provider was given up on: why; its unanswered turns wait for a resume. */
  readonly paused?: string;
  /** How the model's provider stands (filled in by the engine, which owns the gates). */
  readonly providerStatus?: ProviderStatus;
  /**
   * Set when the provider refused this model (404 naming it): why. Its remaining turns fail
   * unsent while the provider's other models go on (filled in by the engine).
   */
  readonly refused?: ModelRefusal;
}

/** Progress of one job. */
export interface JobStatus {
  readonly job: string;
  readonly suite: string;
  readonly state: 'running' | JobOutcome['state'];
  readonly models: readonly ModelStatus[];
}

/** What the supervisor answers to `get-status`. */
export interface StatusSnapshot {
  readonly jobs: readonly JobStatus[];
}

/** Messages the supervisor accepts. */
export type SupervisorMessage =
  | { readonly type: 'run-job'; readonly job: JobRecord; readonly watcher?: ActorRef<JobEvent> }
  | { readonly type: 'cancel-job'; readonly job: string }
  | { readonly type: 'stop-all-work' }
  /** Start no new turn anywhere; reply once nothing is in flight (see the sequence actor's `drain`). */
  | { readonly type: 'drain-all'; readonly replyTo: ActorRef<{ readonly type: 'drained' }> }
  | { readonly type: 'get-status'; readonly replyTo: ActorRef<StatusSnapshot> }
  | { readonly type: 'job-saved'; readonly job: string; readonly outcome: JobOutcome }
  /** A spend cap of the job refused a request: the job ends, resumable with a higher cap. */
  | { readonly type: 'budget-exhausted'; readonly job: string; readonly reason: string }
  /**
   * A provider account was given up on (unavailable too long): the job's models on `providers` (its
   * ids of that account) stop, their unanswered turns kept; the others go on, and the job then ends
   * paused, resumable. Every model stops if the judge's model is among them.
   */
  | {
      readonly type: 'provider-unavailable';
      readonly job: string;
      readonly providers: readonly string[];
      readonly reason: string;
    }
  | ModelReport;

/** Where a job's sequences run; `release` frees what it holds once the job ended. */
export interface JobRuntime extends SequencePlacement {
  release(): void;
}

/** What the supervisor needs. */
export interface SupervisorDeps {
  readonly store: CheckpointStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Builds where a job's sequences run and the gates they pass (may throw an InputError: missing key). */
  readonly runtimeFor: (job: JobRecord) => JobRuntime;
  /** Restarts allowed per sequence actor before it is stopped. */
  readonly maxSequenceRestarts: number;
  readonly metrics: Metrics;
}

/** How long an ended job's series stay exported, so that Prometheus scrapes their final values, in ms. */
export const ENDED_JOB_SERIES_RETENTION_MS = 10 * 60_000;

interface ModelEntry {
  readonly ref: ActorRef<ModelMessage>;
  readonly provider: string;
  readonly counts: ModelCounts;
  /**
   * Turns by status already added to the metrics: the most ever counted, so that a
   * turn is added once (a status that changes on a re-report is not taken back).
   */
  readonly exported: Readonly<Record<(typeof TURN_STATUSES)[number], number>>;
  /** Throughput of this run's turns: `counts` less `restoredTurns`. */
  readonly rate: RateEstimator;
  /** Of `counts`, the turns found in the store when their sequences started. */
  readonly restoredTurns: number;
  readonly finished: boolean;
  /** Set once its provider was given up on: why. The model actor is stopped; the job goes on without it. */
  readonly paused?: string;
}

interface JobEntry {
  readonly record: JobRecord;
  readonly runtime: JobRuntime;
  readonly models: ReadonlyMap<string, ModelEntry>;
  readonly watchers: readonly ActorRef<JobEvent>[];
  readonly state: JobStatus['state'];
  readonly halt: ErrorData | undefined;
}

interface SupervisorState {
  readonly jobs: ReadonlyMap<string, JobEntry>;
  /** While draining: who waits, and the `job/model` pairs not drained yet. */
  readonly drain:
    | { readonly replyTo: ActorRef<{ readonly type: 'drained' }>; readonly pending: ReadonlySet<string> }
    | undefined;
}

/** Spawns the supervisor under the actor system's root. */
export function spawnSupervisor(system: SystemRef, deps: SupervisorDeps): ActorRef<SupervisorMessage> {
  return spawnActor<SupervisorState, SupervisorMessage>(
    system,
    'supervisor',
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => ({ jobs: new Map(), drain: undefined }),
    },
  );
}

function handle(
  deps: SupervisorDeps,
  state: SupervisorState,
  message: SupervisorMessage,
  ctx: ActorContext<SupervisorMessage>,
): SupervisorState {
  switch (message.type) {
    case 'run-job':
      return runJob(deps, state, message.job, message.watcher, ctx);
    case 'cancel-job':
      return endJob(deps, state, message.job, { state: 'cancelled' }, ctx);
    case 'budget-exhausted':
      deps.log.warn({ job: message.job, reason: message.reason }, 'spend cap reached');
      return endJob(deps, state, message.job, { state: 'budget-exhausted', reason: message.reason }, ctx);
    case 'provider-unavailable':
      return pauseProvider(deps, state, message, ctx);
    case 'stop-all-work': {
      let next = state;
      for (const job of state.jobs.keys()) next = endJob(deps, next, job, { state: 'interrupted' }, ctx);
      return next;
    }
    case 'drain-all': {
      const pending = new Set<string>();
      for (const entry of state.jobs.values()) {
        if (entry.state !== 'running') continue;
        for (const [model, m] of entry.models) {
          dispatch(m.ref, { type: 'drain' });
          pending.add(`${entry.record.id}/${model}`);
        }
      }
      return replyIfDrained({ ...state, drain: { replyTo: message.replyTo, pending } });
    }
    case 'model-drained': {
      if (!state.drain) return state;
      const pending = new Set(state.drain.pending);
      pending.delete(`${message.job}/${message.model}`);
      return replyIfDrained({ ...state, drain: { ...state.drain, pending } });
    }
    case 'get-status':
      dispatch(message.replyTo, snapshot(deps, state));
      return state;
    case 'model-progress': {
      const next = updateModel(state, message.job, message.model, (model) => {
        const done = message.counts.ok + message.counts.failed + message.counts.skipped;
        // A report overtaken by a later one (never lower counts over the job's life).
        if (done < model.counts.ok + model.counts.failed + model.counts.skipped) return model;
        // The rate is of this run's turns: the restored ones arrive in a burst as sequences start.
        model.rate.record(deps.clock.now(), done - message.restoredTurns);
        const exported = { ...model.exported };
        for (const status of TURN_STATUSES) {
          const added = message.counts[status] - exported[status];
          if (added > 0) {
            deps.metrics.turnsRecorded(message.job, message.model, status, added);
            exported[status] = message.counts[status];
          }
        }
        return { ...model, counts: message.counts, exported, restoredTurns: message.restoredTurns };
      });
      deps.metrics.checkpointWrite(message.commitMs / 1000);
      exportJobProgress(deps, next, message.job);
      return next;
    }
    case 'model-finished': {
      const next = updateModel(state, message.job, message.model, (model) => ({ ...model, finished: true }));
      return endIfSettled(deps, next, message.job, ctx);
    }
    case 'model-halted':
      deps.log.error({ job: message.job, model: message.model, error: message.error }, 'work halted');
      return endJob(deps, state, message.job, { state: 'halted', error: message.error }, ctx);
    case 'job-saved': {
      const entry = state.jobs.get(message.job);
      if (entry)
        for (const watcher of entry.watchers)
          dispatch(watcher, { type: 'job-ended', job: message.job, outcome: message.outcome });
      return state;
    }
    default: {
      const unknown: never = message;
      throw new Error(`supervisor: unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

const TURN_STATUSES = ['ok', 'failed', 'skipped'] as const;

/** A job's progress ratio and ETA (its slowest model's) as metrics. */
function exportJobProgress(deps: SupervisorDeps, state: SupervisorState, jobId: string): void {
  const entry = state.jobs.get(jobId);
  if (!entry) return;
  const now = deps.clock.now();
  let done = 0;
  let total = 0;
  let eta = 0;
  for (const model of entry.models.values()) {
    done += model.counts.ok + model.counts.failed + model.counts.skipped;
    total += model.counts.total;
    eta = Math.max(eta, etaOf(model, now) ?? Number.NaN);
  }
  deps.metrics.setJobProgress(jobId, total === 0 ? 1 : done / total, eta);
}

function replyIfDrained(state: SupervisorState): SupervisorState {
  if (!state.drain || state.drain.pending.size > 0) return state;
  dispatch(state.drain.replyTo, { type: 'drained' });
  return { ...state, drain: undefined };
}

function runJob(
  deps: SupervisorDeps,
  state: SupervisorState,
  job: JobRecord,
  watcher: ActorRef<JobEvent> | undefined,
  ctx: ActorContext<SupervisorMessage>,
): SupervisorState {
  const existing = state.jobs.get(job.id);
  if (existing) {
    // Already running here: just add the watcher.
    const watchers = watcher ? [...existing.watchers, watcher] : existing.watchers;
    return withJob(state, { ...existing, watchers });
  }
  let runtime: JobRuntime;
  try {
    runtime = deps.runtimeFor(job);
  } catch (error) {
    // E.g. the API key of a resumed job is missing from this process's environment.
    const message = error instanceof Error ? error.message : String(error);
    deps.log.error({ job: job.id, reason: message }, 'job cannot start');
    if (watcher) {
      dispatch(watcher, {
        type: 'job-ended',
        job: job.id,
        outcome: { state: 'halted', error: { code: ERROR_CODES.cannotStart, message } },
      });
    }
    return state;
  }
  // The counts start at zero and rebuild from the model actors' reports, stored turns included
  // (each sequence reports what the store holds when it starts). Reading every stored turn here
  // first would delay a resumed job's first request by the time it takes.
  const totalTurns = job.sequences.prompts * job.suite.runs;
  // The job's sequences, from their records in the store, a page at a time: a model actor holds
  // one page, never the suite (a million sequences decoded would be gigabytes).
  const sequences: SequenceSource = (after, pageSize) =>
    deps.store.sequencePages(job.id, { ...(after !== undefined && { after }), pageSize }).next().value ?? [];
  const models = new Map<string, ModelEntry>();
  for (const model of job.suite.models) {
    const ref = spawnModel(ctx.self, `job-${job.id}-model-${model.id}`, {
      job: job.id,
      model,
      sequences,
      runs: job.suite.runs,
      totalTurns,
      liveConversations: liveConversationsFor(job.suite.providers[model.provider]?.limits?.maxConcurrency),
      placement: runtime,
      replyTo: ctx.self,
      store: deps.store,
      clock: deps.clock,
      maxSequenceRestarts: deps.maxSequenceRestarts,
      warn: (text, fields) => deps.log.warn({ job: job.id, model: model.id, ...fields }, text),
    });
    const rate = new RateEstimator();
    rate.record(deps.clock.now(), 0);
    models.set(model.id, {
      ref,
      provider: model.provider,
      counts: { ok: 0, failed: 0, skipped: 0, total: totalTurns, inputTokens: 0, outputTokens: 0 },
      exported: { ok: 0, failed: 0, skipped: 0 },
      rate,
      restoredTurns: 0,
      finished: false,
    });
  }
  for (const modelId of models.keys()) deps.metrics.setTurnsTotal(job.id, modelId, totalTurns);
  deps.log.info({ job: job.id, suite: job.suite.name }, 'job started');
  for (const model of models.values()) dispatch(model.ref, { type: 'start' });
  return withJob(state, {
    record: job,
    runtime,
    models,
    watchers: watcher ? [watcher] : [],
    state: 'running',
    halt: undefined,
  });
}

/**
 * Stops the job's models on the providers given up on (all of them if the judge's is one): their
 * turns in flight are refused by the breaker and left unrecorded, so a resume asks them again.
 */
function pauseProvider(
  deps: SupervisorDeps,
  state: SupervisorState,
  message: Extract<SupervisorMessage, { type: 'provider-unavailable' }>,
  ctx: ActorContext<SupervisorMessage>,
): SupervisorState {
  const entry = state.jobs.get(message.job);
  if (!entry || entry.state !== 'running') return state;
  const given = new Set(message.providers);
  const judge = entry.record.suite.judge?.model;
  const judgeProvider = entry.record.suite.models.find((model) => model.id === judge)?.provider;
  const all = judgeProvider !== undefined && given.has(judgeProvider);
  const models = new Map(entry.models);
  for (const [id, model] of entry.models) {
    if (model.finished || model.paused !== undefined || !(all || given.has(model.provider))) continue;
    dispatch(model.ref, { type: 'stop-work' });
    stopActor(model.ref);
    models.set(id, { ...model, paused: message.reason });
    deps.log.warn({ job: message.job, model: id, reason: message.reason }, 'model paused');
  }
  return endIfSettled(deps, withJob(state, { ...entry, models }), message.job, ctx);
}

/** Ends a running job once every model finished or was paused: `done`, or `paused` if any was. */
function endIfSettled(
  deps: SupervisorDeps,
  state: SupervisorState,
  jobId: string,
  ctx: ActorContext<SupervisorMessage>,
): SupervisorState {
  const entry = state.jobs.get(jobId);
  if (!entry || entry.state !== 'running') return state;
  const models = [...entry.models.values()];
  if (!models.every((model) => model.finished || model.paused !== undefined)) return state;
  const reasons = [...new Set(models.flatMap((model) => (model.paused === undefined ? [] : [model.paused])))];
  return endJob(
    deps,
    state,
    jobId,
    reasons.length > 0 ? { state: 'paused', reason: reasons.join('; ') } : { state: 'done' },
    ctx,
  );
}

/** Stops a job's work, writes its final state, then tells its watchers (after the write committed). */
function endJob(
  deps: SupervisorDeps,
  state: SupervisorState,
  jobId: string,
  outcome: JobOutcome,
  ctx: ActorContext<SupervisorMessage>,
): SupervisorState {
  const entry = state.jobs.get(jobId);
  if (!entry || entry.state !== 'running') return state;
  for (const model of entry.models.values()) {
    if (model.paused !== undefined) continue; // stopped already
    dispatch(model.ref, { type: 'stop-work' });
    stopActor(model.ref);
  }
  entry.runtime.release();
  const saved =
    outcome.state === 'halted' || outcome.state === 'interrupted' || outcome.state === 'paused'
      ? Promise.resolve() // The job stays 'running' in the store: the next start resumes it.
      : deps.store.putJob({
          ...entry.record,
          state: outcome.state,
          finishedAt: new Date(deps.clock.now()).toISOString(),
        });
  saved.then(
    () => dispatch(ctx.self, { type: 'job-saved', job: jobId, outcome }),
    (error: unknown) => {
      deps.log.error({ job: jobId, err: error }, 'could not record the end of the job');
      dispatch(ctx.self, {
        type: 'job-saved',
        job: jobId,
        outcome: { state: 'halted', error: { code: ERROR_CODES.storeWrite, message: String(error) } },
      });
    },
  );
  deps.log.info({ job: jobId, outcome: outcome.state }, 'job ended');
  setTimeout(() => deps.metrics.forgetJob(jobId), ENDED_JOB_SERIES_RETENTION_MS).unref();
  return withJob(state, {
    ...entry,
    state: outcome.state,
    halt: outcome.state === 'halted' ? outcome.error : undefined,
  });
}

/** Seconds until the model's turns are all recorded, at this run's rate; undefined when unknown. */
function etaOf(model: ModelEntry, now: number): number | undefined {
  return model.rate.etaSeconds(now, model.counts.total - model.restoredTurns);
}

function snapshot(deps: SupervisorDeps, state: SupervisorState): StatusSnapshot {
  const now = deps.clock.now();
  const jobs = [...state.jobs.values()].map((entry) => ({
    job: entry.record.id,
    suite: entry.record.suite.name,
    state: entry.state,
    models: [...entry.models.entries()].map(([model, m]) => ({
      model,
      provider: m.provider,
      counts: m.counts,
      turnsPerSecond: m.rate.perSecond(now),
      etaSeconds: etaOf(m, now),
      ...(m.paused !== undefined && { paused: m.paused }),
    })),
  }));
  return { jobs };
}

function updateModel(
  state: SupervisorState,
  jobId: string,
  modelId: string,
  change: (model: ModelEntry) => ModelEntry,
): SupervisorState {
  const entry = state.jobs.get(jobId);
  const model = entry?.models.get(modelId);
  if (!entry || !model) return state;
  const models = new Map(entry.models);
  models.set(modelId, change(model));
  return withJob(state, { ...entry, models });
}

function withJob(state: SupervisorState, entry: JobEntry): SupervisorState {
  const jobs = new Map(state.jobs);
  jobs.set(entry.record.id, entry);
  return { ...state, jobs };
}
