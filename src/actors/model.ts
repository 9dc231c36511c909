/**
 * The model actor: one per (job, model). It walks the model's conversations in a fixed order
 * (see `SliceWalk`: the store's sequence records a page at a time, each page longest first, which
 * shortens the makespan) and keeps a window of them live: a
 * sequence actor exists only while its conversations can make progress. It starts slices of
 * sequences as the window has room, stops each once its turns are recorded, counts their turns
 * into progress for the supervisor, and supervises them: a sequence actor that throws is reset
 * and rebuilt from the store; one that keeps throwing is stopped and reported, so one bad
 * conversation never takes down the job.
 *
 * What it holds grows with the window, not with the job: one page of sequences, counters for the
 * finished slices, and a small record per live slice. As slices finish it checkpoints where it stands (`ModelProgress`:
 * the first slice not known complete, and the counts of those before it), so that a restarted
 * daemon resumes from there instead of walking, or reading, every conversation done before.
 */
import type { Clock } from '../resilience/clock.js';
import type { CheckpointStore, ErrorData, ModelProgress, TurnTally } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef, CrashHandler } from './nact.js';
import { sequenceRestartPolicy } from './restart-policy.js';
import type { SequenceMessage, SequenceReport, SliceId, TurnSummary } from './sequence.js';
import { conversationsOfStep, DEFAULT_LIVE_CONVERSATIONS_PER_MODEL } from './placement-steps.js';
import { SliceWalk } from './slice-walk.js';
import type { SequenceSource, Slice } from './slice-walk.js';

/** Turn counts of one (job, model). */
export interface ModelCounts {
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  /** Every turn of the model: sequences' prompts × runs. */
  readonly total: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** What a model actor tells the supervisor. */
export type ModelReport =
  | {
      readonly type: 'model-progress';
      readonly job: string;
      readonly model: string;
      readonly counts: ModelCounts;
      /** Of the turns counted, those found in the store when their sequences started (a resume). */
      readonly restoredTurns: number;
      /** How long the checkpoint write of the turns just counted took, in ms. */
      readonly commitMs: number;
    }
  | { readonly type: 'model-finished'; readonly job: string; readonly model: string }
  | {
      readonly type: 'model-halted';
      readonly job: string;
      readonly model: string;
      readonly error: ErrorData;
    }
  /** After `drain`: none of this model's sequences has anything in flight. */
  | { readonly type: 'model-drained'; readonly job: string; readonly model: string };

/** Messages a model actor accepts: its own commands and its sequences' reports. */
export type ModelMessage =
  | { readonly type: 'start' }
  | { readonly type: 'stop-work' }
  | { readonly type: 'drain' }
  /** Sent to itself: start the next slices, as far as the window has room. */
  | { readonly type: 'place-more' }
  | SequenceReport;

export { DEFAULT_LIVE_CONVERSATIONS_PER_MODEL };

/**
 * Conversations a model keeps live at once: its provider's `maxConcurrency` (more could only wait
 * at the limiter), or `DEFAULT_LIVE_CONVERSATIONS_PER_MODEL`.
 */
export function liveConversationsFor(maxConcurrency: number | undefined): number {
  return Math.max(1, maxConcurrency ?? DEFAULT_LIVE_CONVERSATIONS_PER_MODEL);
}

/**
 * How often a model actor writes where it stands, at most, in ms: a restart walks again the
 * slices finished since the last write (they read their turns from the store and finish at once).
 */
export const PROGRESS_CHECKPOINT_INTERVAL_MS = 500;

/** A sequence actor as placed: its ref, and how to stop it and free what it holds. */
export interface PlacedSequence {
  readonly ref: ActorRef<SequenceMessage>;
  /** Stops the actor (its slice is done, or its job ended) wherever it runs. */
  retire(): void;
}

/** Puts a sequence actor somewhere (this process or a worker). */
export interface SequencePlacement {
  place(request: {
    readonly parent: ActorRef<ModelMessage>;
    readonly job: string;
    readonly model: ModelConfig;
    readonly sequence: SequenceConfig;
    /** The slice's first run (from 1) and its number of runs. */
    readonly firstRun: number;
    readonly runs: number;
    readonly replyTo: ActorRef<SequenceReport>;
    readonly onCrash: CrashHandler<SequenceMessage>;
  }): PlacedSequence;
  /**
   * Resolves once a sequence of model `model` placed now could start without waiting (say, once
   * the SDKs its provider needs are loaded). The model actor asks before each placement step and
   * places none until it resolves. Absent, or undefined: at once.
   */
  readyFor?(model: string): Promise<void> | undefined;
}

/** Calls `then` once `placement` is ready for `model`'s next step: at once, or when its promise settles. */
function whenReady(placement: SequencePlacement, model: string, then: () => void): void {
  const ready = placement.readyFor?.(model);
  // Placed either way: a placement that could not get ready lets the turns report why.
  if (ready) ready.then(then, then);
  else then();
}

/** What a model actor needs. */
export interface ModelDeps {
  readonly job: string;
  readonly model: ModelConfig;
  /** The job's sequences, a page at a time (the store's sequence records). */
  readonly sequences: SequenceSource;
  readonly runs: number;
  /** Every turn of the model: sequences' prompts × runs. */
  readonly totalTurns: number;
  /** Conversations live at once, at most (see `liveConversationsFor`). */
  readonly liveConversations: number;
  readonly placement: SequencePlacement;
  readonly replyTo: ActorRef<ModelReport>;
  /** Where the model's progress checkpoints are read at start and written as it goes. */
  readonly store: Pick<CheckpointStore, 'getModelProgress' | 'putModelProgress'>;
  readonly clock: Clock;
  /** Restarts allowed per sequence actor before it is stopped. */
  readonly maxSequenceRestarts: number;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
}

/** A slice whose sequence actor is live. */
interface LiveSlice {
  readonly slice: Slice;
  /** Its place in the walk: slices are numbered as they start, from the walk's start. */
  readonly ordinal: number;
  readonly placed: PlacedSequence;
  /**
   * The turns of this slice counted so far, by `run/turn`: counting by key makes reports
   * idempotent, so a slice re-created elsewhere (its worker died) can report what the store
   * holds without counting a turn twice, or missing one whose report died. Bounded by the
   * slice's turns, and dropped with the slice.
   */
  readonly counted: Map<string, TurnSummary>;
  drained: boolean;
}

/**
 * The model actor's private state, changed in place: copying it on every report would cost
 * the size of the window per turn.
 */
interface ModelState {
  counts: ModelCounts;
  /** Of `counts`, the turns first known from the store (restored), not recorded by this run. */
  restoredTurns: number;
  readonly walk: SliceWalk;
  /** Live slices by `sliceKey`. */
  readonly live: Map<string, LiveSlice>;
  /** Live slices by ordinal (see `LiveSlice.ordinal`). */
  readonly liveByOrdinal: Map<number, LiveSlice>;
  /** The ordinal of the next slice to start. */
  nextOrdinal: number;
  /** The lowest ordinal of a slice not finished (every slice before it is). */
  mark: number;
  /** The turns of the slices before `mark`. */
  beforeMark: TurnTally;
  /** Finished slices after `mark`, by ordinal: their turns, until the mark passes them. */
  readonly finishedAfterMark: Map<number, TurnTally>;
  /** When progress was last written, and whether a write is wanted (the mark moved since). */
  progressWrittenAt: number;
  progressDirty: boolean;
  /** Conversations of the live slices. */
  liveConversations: number;
  /** Placement steps taken so far (see `conversationsOfStep`). */
  placementSteps: number;
  /** True while a `place-more` is on its way. */
  placementScheduled: boolean;
  /** No slice is started any more: stopped, or draining. */
  closed: boolean;
  finishedReported: boolean;
  /** True once told to drain, until `model-drained` is reported. */
  draining: boolean;
}

/** Spawns the model actor for one (job, model) under `parent`. */
export function spawnModel(parent: AnyActorRef, name: string, deps: ModelDeps): ActorRef<ModelMessage> {
  return spawnActor<ModelState, ModelMessage>(
    parent,
    name,
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => {
        const progress = deps.store.getModelProgress(deps.job, deps.model.id);
        const walk = new SliceWalk(deps.sequences, deps.runs, runsPerSlice(deps));
        if (progress) walk.seek(progress.resumeAt);
        const beforeMark = progress?.done ?? NO_TURNS;
        return {
          counts: { ...beforeMark, total: deps.totalTurns },
          restoredTurns: beforeMark.ok + beforeMark.failed + beforeMark.skipped,
          walk,
          live: new Map(),
          liveByOrdinal: new Map(),
          nextOrdinal: 0,
          mark: 0,
          beforeMark,
          finishedAfterMark: new Map(),
          progressWrittenAt: deps.clock.now(),
          progressDirty: false,
          liveConversations: 0,
          placementSteps: 0,
          placementScheduled: false,
          closed: false,
          finishedReported: false,
          draining: false,
        };
      },
      afterStop: (state) => {
        for (const live of state.live.values()) live.placed.retire();
        state.live.clear();
      },
    },
  );
}

/** Runs per slice: few enough that one slice never holds more than the window. */
function runsPerSlice(deps: ModelDeps): number {
  return Math.max(1, Math.min(deps.liveConversations, MAX_RUNS_PER_SLICE));
}

/**
 * Runs one sequence actor hosts, at most. A suite of few sequences and many runs is cut into
 * slices so that the window can hold a few of them; a suite's usual handful of runs is one slice.
 */
export const MAX_RUNS_PER_SLICE = 16;

/** The key of a slice in the live map. */
function sliceKey(slice: SliceId): string {
  return `${slice.firstRun}/${slice.sequence}`;
}

function handle(
  deps: ModelDeps,
  state: ModelState,
  message: ModelMessage,
  ctx: ActorContext<ModelMessage>,
): ModelState {
  switch (message.type) {
    case 'start':
      // The turns its checkpoint counts, before any slice reports more.
      if (state.restoredTurns > 0) reportProgress(deps, state, 0);
      if (deps.placement.readyFor?.(deps.model.id) !== undefined) {
        schedulePlacement(deps, state, ctx);
        return finishIfDone(deps, state);
      }
      placeStep(deps, state, ctx);
      return finishIfDone(deps, state);
    case 'place-more':
      state.placementScheduled = false;
      placeStep(deps, state, ctx);
      return finishIfDone(deps, state);
    case 'stop-work':
      state.closed = true;
      for (const live of state.live.values()) dispatch(live.placed.ref, { type: 'stop-work' });
      return state;
    case 'drain':
      state.closed = true;
      state.draining = true;
      for (const live of state.live.values()) dispatch(live.placed.ref, { type: 'drain' });
      return reportIfDrained(deps, state);
    case 'sequence-drained': {
      const live = state.live.get(sliceKey(message));
      if (live) live.drained = true;
      return reportIfDrained(deps, state);
    }
    case 'turns-recorded':
    case 'sequence-restored': {
      const live = state.live.get(sliceKey(message));
      // A report of a slice already retired: its turns were counted when it finished.
      if (!live) return state;
      countTurns(state, live, message.turns, message.type === 'sequence-restored');
      if (message.type === 'sequence-restored' && message.turns.length === 0) return state;
      reportProgress(deps, state, message.type === 'turns-recorded' ? message.commitMs : 0);
      return state;
    }
    case 'sequence-finished': {
      const key = sliceKey(message);
      const live = state.live.get(key);
      if (!live) return state;
      state.live.delete(key);
      state.liveByOrdinal.delete(live.ordinal);
      state.liveConversations -= live.slice.runs;
      live.placed.retire();
      passMark(deps, state, live);
      schedulePlacement(deps, state, ctx);
      return reportIfDrained(deps, finishIfDone(deps, state));
    }
    case 'sequence-halted':
      dispatch(deps.replyTo, {
        type: 'model-halted',
        job: deps.job,
        model: deps.model.id,
        error: {
          code: message.error.code,
          message: `sequence ${message.sequence}: ${message.error.message}`,
        },
      });
      return state;
    default: {
      const unknown: never = message;
      throw new Error(`model actor: unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

/** Adds a slice's reported turns to the counts, once per turn whatever the reports repeat. */
function countTurns(
  state: ModelState,
  live: LiveSlice,
  turns: readonly TurnSummary[],
  restored: boolean,
): void {
  let counts = state.counts;
  for (const turn of turns) {
    const key = `${turn.run}/${turn.turn}`;
    const previous = live.counted.get(key);
    if (previous) counts = addTurn(counts, previous, -1);
    else if (restored) state.restoredTurns += 1;
    counts = addTurn(counts, turn, 1);
    live.counted.set(key, turn);
  }
  state.counts = counts;
}

/** Asks for a `place-more` once the placement is ready, unless one is on its way or none could start. */
function schedulePlacement(deps: ModelDeps, state: ModelState, ctx: ActorContext<ModelMessage>): void {
  if (state.placementScheduled || state.closed || state.walk.done) return;
  if (state.liveConversations >= deps.liveConversations) return;
  state.placementScheduled = true;
  // A macrotask, not a message at once: the requests of the slices just started go out first.
  setImmediate(() =>
    whenReady(deps.placement, deps.model.id, () => dispatch(ctx.self, { type: 'place-more' })),
  );
}

/** Starts the next slices, about one step's worth of conversations and as far as the window has room. */
function placeStep(deps: ModelDeps, state: ModelState, ctx: ActorContext<ModelMessage>): void {
  if (state.closed) return;
  const stepConversations = conversationsOfStep(state.placementSteps);
  let conversations = 0;
  while (conversations < stepConversations) {
    const slice = state.walk.peek();
    if (slice === undefined) break;
    // One slice at least, whatever its size: a window smaller than a slice still makes progress.
    if (state.live.size > 0 && state.liveConversations + slice.runs > deps.liveConversations) break;
    state.walk.take();
    conversations += slice.runs;
    start(deps, state, slice, ctx);
  }
  state.placementSteps += 1;
  schedulePlacement(deps, state, ctx);
}

function start(deps: ModelDeps, state: ModelState, slice: Slice, ctx: ActorContext<ModelMessage>): void {
  const id = { sequence: slice.sequence.id, firstRun: slice.firstRun };
  const placed = deps.placement.place({
    parent: ctx.self,
    job: deps.job,
    model: deps.model,
    sequence: slice.sequence,
    firstRun: slice.firstRun,
    runs: slice.runs,
    replyTo: ctx.self,
    onCrash: sequenceRestartPolicy({
      sequence: slice.sequence.id,
      maxRestarts: deps.maxSequenceRestarts,
      onGiveUp: (error) => dispatch(ctx.self, { type: 'sequence-halted', ...id, error }),
      warn: deps.warn,
    }),
  });
  const live: LiveSlice = { slice, ordinal: state.nextOrdinal, placed, counted: new Map(), drained: false };
  state.nextOrdinal += 1;
  state.live.set(sliceKey(id), live);
  state.liveByOrdinal.set(live.ordinal, live);
  state.liveConversations += slice.runs;
  dispatch(placed.ref, { type: 'start' });
}

function reportProgress(deps: ModelDeps, state: ModelState, commitMs: number): void {
  dispatch(deps.replyTo, {
    type: 'model-progress',
    job: deps.job,
    model: deps.model.id,
    counts: state.counts,
    restoredTurns: state.restoredTurns,
    commitMs,
  });
}

const NO_TURNS: TurnTally = { ok: 0, failed: 0, skipped: 0, inputTokens: 0, outputTokens: 0 };

/** A slice finished: the mark passes it, and every finished slice right after it; checkpoints now and then. */
function passMark(deps: ModelDeps, state: ModelState, finished: LiveSlice): void {
  let turns = NO_TURNS;
  for (const turn of finished.counted.values()) turns = addTurn(turns, turn, 1);
  if (finished.ordinal !== state.mark) {
    state.finishedAfterMark.set(finished.ordinal, turns);
    return;
  }
  let beforeMark = addTally(state.beforeMark, turns);
  state.mark += 1;
  for (
    let next = state.finishedAfterMark.get(state.mark);
    next;
    next = state.finishedAfterMark.get(state.mark)
  ) {
    state.finishedAfterMark.delete(state.mark);
    beforeMark = addTally(beforeMark, next);
    state.mark += 1;
  }
  state.beforeMark = beforeMark;
  state.progressDirty = true;
  writeProgressIfDue(deps, state);
}

/** Writes where the model stands, unless it did less than `PROGRESS_CHECKPOINT_INTERVAL_MS` ago. */
function writeProgressIfDue(deps: ModelDeps, state: ModelState, force = false): void {
  const now = deps.clock.now();
  const due = force || (state.walk.done && state.live.size === 0);
  if (!state.progressDirty || (!due && now - state.progressWrittenAt < PROGRESS_CHECKPOINT_INTERVAL_MS))
    return;
  state.progressDirty = false;
  state.progressWrittenAt = now;
  const atMark = state.liveByOrdinal.get(state.mark)?.slice ?? state.walk.peek();
  const progress: ModelProgress = {
    job: deps.job,
    model: deps.model.id,
    resumeAt: atMark
      ? {
          sequence: atMark.sequence.id,
          firstRun: atMark.firstRun,
          ...(atMark.pageAfter !== undefined && { pageAfter: atMark.pageAfter }),
        }
      : null,
    done: state.beforeMark,
  };
  // A lost checkpoint costs a restart some walking, never a turn: the turns are the truth.
  deps.store.putModelProgress(progress).catch((error: unknown) =>
    deps.warn('could not write the model’s progress', {
      reason: error instanceof Error ? error.message : String(error),
    }),
  );
}

function addTally(a: TurnTally, b: TurnTally): TurnTally {
  return {
    ok: a.ok + b.ok,
    failed: a.failed + b.failed,
    skipped: a.skipped + b.skipped,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  };
}

function reportIfDrained(deps: ModelDeps, state: ModelState): ModelState {
  if (!state.draining) return state;
  for (const live of state.live.values()) if (!live.drained) return state;
  state.draining = false;
  // A graceful stop: the next start resumes exactly from here.
  writeProgressIfDue(deps, state, true);
  dispatch(deps.replyTo, { type: 'model-drained', job: deps.job, model: deps.model.id });
  return state;
}

function finishIfDone(deps: ModelDeps, state: ModelState): ModelState {
  if (state.finishedReported || state.live.size > 0 || !state.walk.done) return state;
  state.finishedReported = true;
  dispatch(deps.replyTo, { type: 'model-finished', job: deps.job, model: deps.model.id });
  return state;
}

/** `counts` with `turn` added (`sign` 1) or taken back (`sign` -1). */
function addTurn<T extends TurnTally>(counts: T, turn: TurnSummary, sign: 1 | -1): T {
  return {
    ...counts,
    ok: counts.ok + (turn.status === 'ok' ? sign : 0),
    failed: counts.failed + (turn.status === 'failed' ? sign : 0),
    skipped: counts.skipped + (turn.status === 'skipped' ? sign : 0),
    inputTokens: counts.inputTokens + sign * turn.inputTokens,
    outputTokens: counts.outputTokens + sign * turn.outputTokens,
  };
}
