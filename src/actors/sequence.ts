/**
 * The sequence actor: one per (job, model, sequence). It owns the contexts of its
 * runs as private state — no other code can read or change them — executes the
 * turns of each run strictly in order while runs proceed concurrently, and
 * commits every finished turn to the store before it counts.
 *
 * Its mailbox never waits on I/O: a turn is a promise (`executeTurn`) that reports
 * back with a message, and so is the store write. After a crash the actor is reset
 * and rebuilds every run's context from the store, resuming at the first turn
 * that has no record. Messages from the previous incarnation carry an old epoch
 * and are ignored, so a stale answer can never enter the rebuilt context.
 */
import { setMaxListeners } from 'node:events';
import { ConversationContext, hashMessages, systemPromptOf } from '../conversation/context.js';
import { executeTurn } from '../conversation/turn-executor.js';
import type { TurnExecutorDeps, TurnOutcome } from '../conversation/turn-executor.js';
import { ERROR_CODES } from '../resilience/errors.js';
import type { CheckpointStore, ErrorData, TurnRecord } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef, CrashHandler, SystemRef } from './nact.js';

/** What a sequence actor tells whoever started it (its model actor, possibly across processes). */
export type SequenceReport =
  | {
      readonly type: 'turns-recorded';
      readonly sequence: string;
      readonly turns: readonly TurnSummary[];
      /** How long their checkpoint write took, in ms. */
      readonly commitMs: number;
    }
  | { readonly type: 'sequence-finished'; readonly sequence: string }
  | { readonly type: 'sequence-halted'; readonly sequence: string; readonly error: ErrorData }
  /** After `drain`: nothing of this sequence is in flight or being committed any more. */
  | { readonly type: 'sequence-drained'; readonly sequence: string };

/** The part of a recorded turn that progress and summaries need. */
export interface TurnSummary {
  readonly run: number;
  readonly turn: number;
  readonly status: TurnRecord['status'];
  readonly latencyMs: number | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Messages a sequence actor accepts. */
export type SequenceMessage =
  | { readonly type: 'start' }
  | { readonly type: 'stop-work' }
  /** Start no new turn; let requests in flight finish and commit; then report `sequence-drained`. */
  | { readonly type: 'drain' }
  | {
      readonly type: 'turn-ended';
      readonly epoch: number;
      readonly run: number;
      readonly requestHash: string;
      readonly outcome: TurnOutcome;
    }
  | {
      readonly type: 'turns-committed';
      readonly epoch: number;
      readonly records: readonly TurnRecord[];
      readonly commitMs: number;
    }
  | { readonly type: 'commit-failed'; readonly epoch: number; readonly error: ErrorData };

/** Everything a sequence actor needs; built by whoever spawns it (model actor or worker host). */
export interface SequenceDeps {
  readonly job: string;
  readonly model: ModelConfig;
  readonly sequence: SequenceConfig;
  readonly runs: number;
  /** Where reports go: the model actor, or a proxy of it in another process. */
  readonly replyTo: ActorRef<SequenceReport>;
  readonly store: CheckpointStore;
  readonly executor: TurnExecutorDeps;
  /** Logs a problem; never receives prompts, answers or keys. */
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
}

type RunPhase = 'waiting' | 'requesting' | 'committing' | 'done';

interface RunState {
  readonly run: number;
  readonly context: ConversationContext;
  /** The next turn to request, from 1; prompts.length + 1 when every turn is recorded. */
  readonly nextTurn: number;
  readonly phase: RunPhase;
}

interface SequenceState {
  /** Changes on every (re)start; messages of another epoch are stale. */
  readonly epoch: number;
  readonly runs: readonly RunState[];
  /** False until `start`: the parent decides when work begins (longest sequences first). */
  readonly started: boolean;
  /** Aborts every request of this incarnation (stop-work, or replaced after a crash). */
  readonly abort: AbortController;
  readonly halted: boolean;
  /** Aborted by `drain`: turns still waiting give up, requests in flight finish. */
  readonly drain: AbortController;
  readonly draining: boolean;
  readonly drainedReported: boolean;
  readonly finishedReported: boolean;
}

let epochCounter = 0;

/** Spawns the sequence actor for one (job, model, sequence) under `parent`. */
export function spawnSequence(
  parent: AnyActorRef | SystemRef,
  name: string,
  deps: SequenceDeps,
  onCrash: CrashHandler<SequenceMessage>,
): ActorRef<SequenceMessage> {
  // Outlives a reset: nact does not call afterStop on reset, so the rebuilt state aborts the
  // requests of the incarnation it replaces — their answers could not be used anyway.
  let previous: AbortController | undefined;
  return spawnActor<SequenceState, SequenceMessage>(
    parent,
    name,
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => {
        previous?.abort();
        const state = restoreFromStore(deps);
        previous = state.abort;
        return state;
      },
      onCrash,
      afterStop: (state) => state.abort.abort(),
    },
  );
}

/** Rebuilds every run from the stored turns: context from `ok` answers, next turn after the last record. */
function restoreFromStore(deps: SequenceDeps): SequenceState {
  epochCounter += 1;
  const stored = deps.store.turnsOf(deps.job, deps.model.id, deps.sequence.id);
  const system = systemPromptOf(deps.model, deps.sequence);
  const runs: RunState[] = [];
  for (let run = 1; run <= deps.runs; run += 1) {
    let context = ConversationContext.start(system);
    let nextTurn = 1;
    for (const record of stored) {
      if (record.run !== run || record.turn !== nextTurn) continue;
      if (record.status === 'ok' && record.response !== null) {
        context = context.withExchange(record.prompt, record.response);
      }
      nextTurn += 1;
    }
    // A run whose failure is recorded but not its skipped turns (a crash in between)
    // stays 'waiting': `advance` sees the failure and writes the missing records.
    runs.push({
      run,
      context,
      nextTurn,
      phase: nextTurn > deps.sequence.prompts.length ? 'done' : 'waiting',
    });
  }
  return {
    epoch: epochCounter,
    runs,
    started: false,
    abort: unlimitedAbortController(),
    halted: false,
    drain: unlimitedAbortController(),
    draining: false,
    drainedReported: false,
    finishedReported: false,
  };
}

/**
 * Every in-flight request of every run listens on the one signal (SDK, deadline,
 * gate, backoff sleep): more than Node's default warning threshold of 10, by design.
 */
function unlimitedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function handle(
  deps: SequenceDeps,
  state: SequenceState,
  message: SequenceMessage,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  switch (message.type) {
    case 'start':
      return advance(deps, { ...state, started: true }, ctx);
    case 'stop-work':
      state.abort.abort();
      return { ...state, halted: true };
    case 'drain':
      state.drain.abort();
      return reportIfDrained(deps, { ...state, draining: true });
    case 'turn-ended':
      if (message.epoch !== state.epoch || state.halted) return state;
      return onTurnEnded(deps, state, message.run, message.requestHash, message.outcome, ctx);
    case 'turns-committed':
      if (message.epoch !== state.epoch) return state;
      return advance(deps, applyCommitted(deps, state, message.records, message.commitMs), ctx);
    case 'commit-failed':
      if (message.epoch !== state.epoch) return state;
      // A store that cannot write must stop the work: an answer that cannot be
      // committed would otherwise be requested again after a restart, or lost.
      state.abort.abort();
      dispatch(deps.replyTo, { type: 'sequence-halted', sequence: deps.sequence.id, error: message.error });
      return { ...state, halted: true };
    default: {
      const unknown: never = message;
      throw new Error(`sequence actor: unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

/** Starts every run that can go, writes pending skipped records, reports when all are done. */
function advance(
  deps: SequenceDeps,
  state: SequenceState,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  if (state.halted || !state.started) return state;
  if (state.draining) return reportIfDrained(deps, state);
  const prompts = deps.sequence.prompts;
  const runs = state.runs.map((run) => {
    if (run.phase !== 'waiting') return run;
    if (run.nextTurn > prompts.length) return { ...run, phase: 'done' as const };
    if (lastRecordFailed(run)) {
      commit(deps, state, skippedRecords(deps, run.run, run.nextTurn, deps.executor.clock.now()), ctx);
      return { ...run, phase: 'committing' as const };
    }
    startTurn(deps, state, run, ctx);
    return { ...run, phase: 'requesting' as const };
  });
  const next = { ...state, runs };
  if (!next.finishedReported && runs.every((run) => run.phase === 'done')) {
    dispatch(deps.replyTo, { type: 'sequence-finished', sequence: deps.sequence.id });
    return { ...next, finishedReported: true };
  }
  return next;
}

/** While draining: once no run has a request in flight or a write pending, says so (once). */
function reportIfDrained(deps: SequenceDeps, state: SequenceState): SequenceState {
  if (!state.draining || state.drainedReported) return state;
  if (state.runs.some((run) => run.phase === 'requesting' || run.phase === 'committing')) return state;
  dispatch(deps.replyTo, { type: 'sequence-drained', sequence: deps.sequence.id });
  return { ...state, drainedReported: true };
}

/** A run's context holds only answered turns: if fewer answers than turns passed, one failed. */
function lastRecordFailed(run: RunState): boolean {
  return run.context.answeredTurns < run.nextTurn - 1;
}

function startTurn(
  deps: SequenceDeps,
  state: SequenceState,
  run: RunState,
  ctx: ActorContext<SequenceMessage>,
): void {
  const prompt = promptAt(deps, run.nextTurn);
  const messages = run.context.requestFor(prompt);
  const requestHash = hashMessages(messages);
  const spec = {
    modelId: deps.model.id,
    model: deps.model.model,
    messages,
    temperature: deps.model.temperature,
    maxTokens: deps.model.maxTokens,
    group: `${deps.job}/${deps.model.id}`,
    remainingTurns: deps.sequence.prompts.length - run.nextTurn + 1,
  };
  const { epoch } = state;
  executeTurn(deps.executor, spec, state.abort.signal, state.drain.signal).then(
    (outcome) => dispatch(ctx.self, { type: 'turn-ended', epoch, run: run.run, requestHash, outcome }),
    (error: unknown) =>
      dispatch(ctx.self, {
        type: 'turn-ended',
        epoch,
        run: run.run,
        requestHash,
        outcome: internalFailure(error, deps.executor.clock.now()),
      }),
  );
}

function onTurnEnded(
  deps: SequenceDeps,
  state: SequenceState,
  runNumber: number,
  requestHash: string,
  outcome: TurnOutcome,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  const run = state.runs[runNumber - 1];
  if (run === undefined || run.phase !== 'requesting') return state;
  if (outcome.status === 'cancelled')
    return reportIfDrained(deps, withRun(state, { ...run, phase: 'waiting' }));
  const prompt = promptAt(deps, run.nextTurn);
  const base = {
    job: deps.job,
    model: deps.model.id,
    sequence: deps.sequence.id,
    run: run.run,
    turn: run.nextTurn,
    prompt,
    attempts: outcome.attempts,
    startedAt: new Date(outcome.startedAt).toISOString(),
    finishedAt: new Date(outcome.finishedAt).toISOString(),
    requestHash,
  };
  const records: TurnRecord[] =
    outcome.status === 'ok'
      ? [
          {
            ...base,
            response: outcome.text,
            status: 'ok',
            error: null,
            usage: outcome.usage,
            latencyMs: outcome.latencyMs,
          },
        ]
      : [
          { ...base, response: null, status: 'failed', error: outcome.error, usage: null, latencyMs: null },
          // Later turns of this run depend on the failed answer: they are skipped, in the same transaction.
          ...skippedRecords(deps, run.run, run.nextTurn + 1, outcome.finishedAt),
        ];
  commit(deps, state, records, ctx);
  return withRun(state, { ...run, phase: 'committing' });
}

function skippedRecords(deps: SequenceDeps, run: number, fromTurn: number, now: number): TurnRecord[] {
  const at = new Date(now).toISOString();
  const records: TurnRecord[] = [];
  for (let turn = fromTurn; turn <= deps.sequence.prompts.length; turn += 1) {
    records.push({
      job: deps.job,
      model: deps.model.id,
      sequence: deps.sequence.id,
      run,
      turn,
      prompt: promptAt(deps, turn),
      response: null,
      status: 'skipped',
      error: { code: ERROR_CODES.skipped, message: `turn ${fromTurn - 1} of this run failed` },
      usage: null,
      latencyMs: null,
      attempts: 0,
      startedAt: at,
      finishedAt: at,
      requestHash: null,
    });
  }
  return records;
}

function commit(
  deps: SequenceDeps,
  state: SequenceState,
  records: readonly TurnRecord[],
  ctx: ActorContext<SequenceMessage>,
): void {
  const { epoch } = state;
  const startedAt = deps.executor.clock.now();
  deps.store.putTurns(records).then(
    () =>
      dispatch(ctx.self, {
        type: 'turns-committed',
        epoch,
        records,
        commitMs: deps.executor.clock.now() - startedAt,
      }),
    (error: unknown) => {
      deps.warn('checkpoint write failed; stopping this sequence', { sequence: deps.sequence.id });
      dispatch(ctx.self, {
        type: 'commit-failed',
        epoch,
        error: {
          code: ERROR_CODES.storeWrite,
          message: error instanceof Error ? error.message : String(error),
        },
      });
    },
  );
}

/** Folds committed records into their run's context and tells the reply address. */
function applyCommitted(
  deps: SequenceDeps,
  state: SequenceState,
  records: readonly TurnRecord[],
  commitMs: number,
): SequenceState {
  const first = records[0];
  if (first === undefined) return state;
  const run = state.runs[first.run - 1];
  if (run === undefined) return state;
  let context = run.context;
  for (const record of records) {
    if (record.status === 'ok' && record.response !== null)
      context = context.withExchange(record.prompt, record.response);
  }
  const last = records[records.length - 1] ?? first;
  dispatch(deps.replyTo, {
    type: 'turns-recorded',
    sequence: deps.sequence.id,
    turns: records.map(summarize),
    commitMs,
  });
  return withRun(state, { ...run, context, nextTurn: last.turn + 1, phase: 'waiting' });
}

function summarize(record: TurnRecord): TurnSummary {
  return {
    run: record.run,
    turn: record.turn,
    status: record.status,
    latencyMs: record.latencyMs,
    inputTokens: record.usage?.inputTokens ?? 0,
    outputTokens: record.usage?.outputTokens ?? 0,
  };
}

function withRun(state: SequenceState, run: RunState): SequenceState {
  return { ...state, runs: state.runs.map((existing) => (existing.run === run.run ? run : existing)) };
}

function promptAt(deps: SequenceDeps, turn: number): string {
  const prompt = deps.sequence.prompts[turn - 1];
  if (prompt === undefined) throw new Error(`sequence ${deps.sequence.id} has no turn ${turn}`);
  return prompt;
}

function internalFailure(error: unknown, now: number): TurnOutcome {
  return {
    status: 'failed',
    error: { code: ERROR_CODES.internal, message: error instanceof Error ? error.message : String(error) },
    attempts: 0,
    startedAt: now,
    finishedAt: now,
  };
}
