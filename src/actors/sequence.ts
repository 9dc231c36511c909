/**
 * The sequence actor: one per slice of a sequence — (job, model, sequence) and a few of its
 * runs, all of them when the suite has few runs. It lives only while its conversations
 * can make progress (its model actor starts it when there is room and stops it once done).
 * It owns the contexts of its runs as private state — no other code can read or change them — executes the
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
import { gateGroupOf } from '../conversation/provider-gate.js';
import { executeTurn } from '../conversation/turn-executor.js';
import type { TurnExecutorDeps, TurnOutcome } from '../conversation/turn-executor.js';
import { ERROR_CODES } from '../resilience/errors.js';
import { runChecks } from '../scoring/checks.js';
import type { JudgeDeps } from '../scoring/judge.js';
import type { CheckResult } from '../scoring/types.js';
import { startJudging, ungradedTurns } from './sequence-judging.js';
import { internalFailure, promptAt, skippedRecords, summarize, turnRecords } from './sequence-records.js';
import type { SequenceReport, SliceId, TurnSummary } from '../transport/protocol.js';
import type { JudgingMessage, UngradedTurn } from './sequence-judging.js';
import type { CheckpointStore, ErrorData, TurnRecord } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef, CrashHandler, SystemRef } from './nact.js';

export type { SequenceReport, SliceId, TurnSummary } from '../transport/protocol.js';

/** Messages a sequence actor accepts. */
export type SequenceMessage =
  | SequenceOwnMessage
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
      /** The suite's checks on the answer (absent when the turn has none or did not succeed). */
      readonly checks?: readonly CheckResult[];
    }
  | {
      readonly type: 'turns-committed';
      readonly epoch: number;
      readonly records: readonly TurnRecord[];
      readonly commitMs: number;
    }
  | { readonly type: 'commit-failed'; readonly epoch: number; readonly error: ErrorData };

/** Messages of the sequence actor's own promises and of its grading. */
type SequenceOwnMessage = JudgingMessage;

/** Everything a sequence actor needs; built by whoever spawns it (model actor or worker host). */
export interface SequenceDeps {
  readonly job: string;
  readonly model: ModelConfig;
  readonly sequence: SequenceConfig;
  /** The first run of the slice (from 1). */
  readonly firstRun: number;
  /** How many runs the slice has: `firstRun` … `firstRun + runs - 1`. */
  readonly runs: number;
  /** Where reports go: the model actor, or a proxy of it in another process. */
  readonly replyTo: ActorRef<SequenceReport>;
  readonly store: CheckpointStore;
  readonly executor: TurnExecutorDeps;
  /** The suite's judge; absent: answers are not graded. */
  readonly judge?: JudgeDeps;
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
  /** Aborts with `abort` or `drain`: ends every wait for a permit or a backoff, and gradings. */
  readonly stopWaiting: AbortSignal;
  readonly draining: boolean;
  readonly drainedReported: boolean;
  /** Answers to grade once started (those the store holds without a grade). */
  readonly toGrade: readonly UngradedTurn[];
  /** Gradings in progress. */
  readonly judging: number;
  /** The stored turns found at start, reported once on `start`. */
  readonly restored: readonly TurnSummary[];
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
  const lastRun = deps.firstRun + deps.runs - 1;
  const stored = deps.store.turnsOfRuns(deps.job, deps.model.id, deps.sequence.id, deps.firstRun, lastRun);
  const system = systemPromptOf(deps.model, deps.sequence);
  const runs: RunState[] = [];
  for (let run = deps.firstRun; run <= lastRun; run += 1) {
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
  const abort = unlimitedAbortController();
  const drain = unlimitedAbortController();
  const stopWaiting = AbortSignal.any([abort.signal, drain.signal]);
  setMaxListeners(0, stopWaiting);
  return {
    epoch: epochCounter,
    runs,
    started: false,
    abort,
    halted: false,
    drain,
    stopWaiting,
    draining: false,
    drainedReported: false,
    toGrade: deps.judge ? ungradedTurns(stored, deps.model, deps.sequence) : [],
    restored: stored.map(summarize),
    judging: 0,
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
      if (state.restored.length > 0) {
        dispatch(deps.replyTo, { type: 'sequence-restored', ...sliceOf(deps), turns: state.restored });
      }
      return advance(deps, gradeStored(deps, { ...state, started: true, restored: [] }, ctx), ctx);
    case 'judging-ended':
      if (message.epoch !== state.epoch) return state;
      return advance(deps, { ...state, judging: state.judging - 1 }, ctx);
    case 'judging-failed':
      if (message.epoch !== state.epoch) return state;
      state.abort.abort();
      dispatch(deps.replyTo, { type: 'sequence-halted', ...sliceOf(deps), error: message.error });
      return { ...state, halted: true };
    case 'stop-work':
      state.abort.abort();
      return { ...state, halted: true };
    case 'drain':
      state.drain.abort();
      return reportIfDrained(deps, { ...state, draining: true });
    case 'turn-ended':
      if (message.epoch !== state.epoch || state.halted) return state;
      return onTurnEnded(deps, state, message, ctx);
    case 'turns-committed':
      if (message.epoch !== state.epoch) return state;
      return advance(deps, applyCommitted(deps, state, message.records, message.commitMs, ctx), ctx);
    case 'commit-failed':
      if (message.epoch !== state.epoch) return state;
      // A store that cannot write must stop the work: an answer that cannot be
      // committed would otherwise be requested again after a restart, or lost.
      state.abort.abort();
      dispatch(deps.replyTo, { type: 'sequence-halted', ...sliceOf(deps), error: message.error });
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
  if (!next.finishedReported && next.judging === 0 && runs.every((run) => run.phase === 'done')) {
    dispatch(deps.replyTo, { type: 'sequence-finished', ...sliceOf(deps) });
    return { ...next, finishedReported: true };
  }
  return next;
}

/** While draining: once no run has a request in flight or a write pending, says so (once). */
function reportIfDrained(deps: SequenceDeps, state: SequenceState): SequenceState {
  if (!state.draining || state.drainedReported) return state;
  if (state.judging > 0) return state;
  if (state.runs.some((run) => run.phase === 'requesting' || run.phase === 'committing')) return state;
  dispatch(deps.replyTo, { type: 'sequence-drained', ...sliceOf(deps) });
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
    group: gateGroupOf(deps.job, deps.model.id),
    remainingTurns: deps.sequence.prompts.length - run.nextTurn + 1,
  };
  const { epoch } = state;
  const checks = deps.sequence.checks?.[run.nextTurn - 1] ?? [];
  executeTurn(deps.executor, spec, state.abort.signal, state.stopWaiting)
    .then(async (outcome) => {
      // Checks run here, in the turn's promise: a slow script check never blocks the mailbox.
      const results =
        outcome.status === 'ok' && checks.length > 0
          ? await runChecks(checks, outcome.text, messages)
          : undefined;
      dispatch(ctx.self, {
        type: 'turn-ended',
        epoch,
        run: run.run,
        requestHash,
        outcome,
        ...(results && { checks: results }),
      });
    })
    .then(undefined, (error: unknown) =>
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
  ended: Extract<SequenceMessage, { type: 'turn-ended' }>,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  const run = runOf(state, ended.run);
  if (run === undefined || run.phase !== 'requesting') return state;
  if (ended.outcome.status === 'cancelled')
    return reportIfDrained(deps, withRun(state, { ...run, phase: 'waiting' }));
  commit(
    deps,
    state,
    turnRecords(deps, run.run, run.nextTurn, ended.requestHash, ended.outcome, ended.checks),
    ctx,
  );
  return withRun(state, { ...run, phase: 'committing' });
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
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  const first = records[0];
  if (first === undefined) return state;
  const run = runOf(state, first.run);
  if (run === undefined) return state;
  let context = run.context;
  let graded = state;
  for (const record of records) {
    if (record.status !== 'ok' || record.response === null) continue;
    graded = grade(deps, graded, { record, conversation: context.requestFor(record.prompt) }, ctx);
    context = context.withExchange(record.prompt, record.response);
  }
  const last = records[records.length - 1] ?? first;
  dispatch(deps.replyTo, {
    type: 'turns-recorded',
    ...sliceOf(deps),
    turns: records.map(summarize),
    commitMs,
  });
  return withRun(graded, { ...run, context, nextTurn: last.turn + 1, phase: 'waiting' });
}

/** Starts grading an answer, when the suite has a judge. */
function grade(
  deps: SequenceDeps,
  state: SequenceState,
  turn: UngradedTurn,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  if (!deps.judge || state.halted) return state;
  // A drain or a stop cancels the grading; the answer is graded again after a resume.
  startJudging(deps.judge, deps.store, deps.sequence, turn, state.stopWaiting, ctx.self, state.epoch);
  return { ...state, judging: state.judging + 1 };
}

/** On start: grades the answers the store holds without a grade (a grading lost to a crash). */
function gradeStored(
  deps: SequenceDeps,
  state: SequenceState,
  ctx: ActorContext<SequenceMessage>,
): SequenceState {
  let next: SequenceState = { ...state, toGrade: [] };
  for (const turn of state.toGrade) next = grade(deps, next, turn, ctx);
  return next;
}

/** Which slice this actor hosts, as its reports say. */
function sliceOf(deps: SequenceDeps): SliceId {
  return { sequence: deps.sequence.id, firstRun: deps.firstRun };
}

/** The state of run `run` (numbered in the whole sequence), if this slice hosts it. */
function runOf(state: SequenceState, run: number): RunState | undefined {
  const first = state.runs[0];
  return first === undefined ? undefined : state.runs[run - first.run];
}

function withRun(state: SequenceState, run: RunState): SequenceState {
  return { ...state, runs: state.runs.map((existing) => (existing.run === run.run ? run : existing)) };
}
