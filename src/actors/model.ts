/**
 * The model actor: one per (job, model). It places a sequence actor for every
 * sequence of the suite (longest first, which shortens the makespan; a few at a
 * time, so that the first requests leave while the rest are being set up), counts
 * their turns into progress for the supervisor, and supervises them: a sequence
 * actor that throws is reset and rebuilt from the store; one that keeps throwing
 * is stopped and reported, so one bad conversation never takes down the job.
 */
import type { ErrorData } from '../store/records.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';
import { dispatch, spawnActor } from './nact.js';
import type { ActorContext, ActorRef, AnyActorRef, CrashHandler } from './nact.js';
import { sequenceRestartPolicy } from './restart-policy.js';
import type { SequenceMessage, SequenceReport, TurnSummary } from './sequence.js';

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
  /** Sent to itself: place the next sequences. */
  | { readonly type: 'place-more' }
  | SequenceReport;

/**
 * Conversations (sequences × runs) placed per step, at most; the model actor yields to the event
 * loop between steps. Setting up a conversation costs CPU (reading its turns from the store,
 * building its context, its first admit), and placing a big job at once would keep its first
 * request waiting behind the set-up of all of them: after a daemon restart, resuming 10 000
 * conversations took about half a second before the first request left.
 */
export const CONVERSATIONS_PER_PLACEMENT_STEP = 256;
/** Conversations of the first placement step: the first requests leave after a short set-up. */
export const CONVERSATIONS_OF_FIRST_STEP = 16;

/**
 * Conversations of placement step `step` (0 for the first): the steps double from
 * `CONVERSATIONS_OF_FIRST_STEP` up to `CONVERSATIONS_PER_PLACEMENT_STEP`, so that the event loop
 * stays free for the first requests' messages while they find their way.
 */
export function conversationsOfStep(step: number): number {
  return Math.min(CONVERSATIONS_PER_PLACEMENT_STEP, CONVERSATIONS_OF_FIRST_STEP * 2 ** step);
}

/** Puts a sequence actor somewhere (this process or a worker) and returns a ref to it. */
export interface SequencePlacement {
  place(request: {
    readonly parent: ActorRef<ModelMessage>;
    readonly job: string;
    readonly model: ModelConfig;
    readonly sequence: SequenceConfig;
    readonly runs: number;
    readonly replyTo: ActorRef<SequenceReport>;
    readonly onCrash: CrashHandler<SequenceMessage>;
  }): ActorRef<SequenceMessage>;
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
  readonly sequences: readonly SequenceConfig[];
  readonly runs: number;
  /** Every turn of the model: sequences' prompts × runs. */
  readonly totalTurns: number;
  readonly placement: SequencePlacement;
  readonly replyTo: ActorRef<ModelReport>;
  /** Restarts allowed per sequence actor before it is stopped. */
  readonly maxSequenceRestarts: number;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
}

interface ModelState {
  readonly counts: ModelCounts;
  /**
   * Every recorded turn, by sequence and `run/turn`: counting by key makes reports
   * idempotent, so a sequence re-created elsewhere (its worker died) can report what
   * the store holds without counting a turn twice, or missing one whose report died.
   */
  readonly recorded: Map<string, TurnSummary>;
  /** Keys of `recorded` first known from the store (restored), not recorded by this run. */
  readonly restored: Set<string>;
  readonly sequences: ReadonlyMap<string, ActorRef<SequenceMessage>>;
  /** Sequences still to place, in placement order (none once stopped or draining). */
  readonly toPlace: readonly SequenceConfig[];
  /** Placement steps taken so far (see `conversationsOfStep`). */
  readonly placementSteps: number;
  readonly unfinished: ReadonlySet<string>;
  readonly finishedReported: boolean;
  /** While draining: the sequences that have not reported drained yet (undefined: not draining). */
  readonly undrained: ReadonlySet<string> | undefined;
}

/** Spawns the model actor for one (job, model) under `parent`. */
export function spawnModel(parent: AnyActorRef, name: string, deps: ModelDeps): ActorRef<ModelMessage> {
  return spawnActor<ModelState, ModelMessage>(
    parent,
    name,
    (state, message, ctx) => handle(deps, state, message, ctx),
    {
      initialState: () => ({
        counts: { ok: 0, failed: 0, skipped: 0, total: deps.totalTurns, inputTokens: 0, outputTokens: 0 },
        recorded: new Map(),
        restored: new Set(),
        sequences: new Map(),
        toPlace: [],
        placementSteps: 0,
        unfinished: new Set(deps.sequences.map((sequence) => sequence.id)),
        finishedReported: false,
        undrained: undefined,
      }),
    },
  );
}

function handle(
  deps: ModelDeps,
  state: ModelState,
  message: ModelMessage,
  ctx: ActorContext<ModelMessage>,
): ModelState {
  switch (message.type) {
    case 'start': {
      // Longest first: the conversations that take longest start earliest.
      const toPlace = [...deps.sequences]
        .sort((a, b) => b.prompts.length - a.prompts.length)
        .filter((sequence) => !state.sequences.has(sequence.id));
      const ready = deps.placement.readyFor?.(deps.model.id);
      if (ready === undefined) return finishIfDone(deps, placeStep(deps, { ...state, toPlace }, ctx));
      const placeMore = (): void => dispatch(ctx.self, { type: 'place-more' });
      ready.then(placeMore, placeMore);
      return finishIfDone(deps, { ...state, toPlace });
    }
    case 'place-more':
      return placeStep(deps, state, ctx);
    case 'stop-work':
      for (const sequence of state.sequences.values()) dispatch(sequence, { type: 'stop-work' });
      return { ...state, toPlace: [] };
    case 'drain':
      for (const sequence of state.sequences.values()) dispatch(sequence, { type: 'drain' });
      return reportIfDrained(deps, { ...state, toPlace: [], undrained: new Set(state.sequences.keys()) });
    case 'sequence-drained': {
      if (!state.undrained) return state;
      const undrained = new Set(state.undrained);
      undrained.delete(message.sequence);
      return reportIfDrained(deps, { ...state, undrained });
    }
    case 'turns-recorded':
    case 'sequence-restored': {
      // Updated in place: it is this actor's private state, and copying it on every report
      // would make a job quadratic in its turns.
      const recorded = state.recorded;
      let counts = state.counts;
      for (const turn of message.turns) {
        const key = `${message.sequence}/${turn.run}/${turn.turn}`;
        const previous = recorded.get(key);
        if (previous) counts = addTurn(counts, previous, -1);
        else if (message.type === 'sequence-restored') state.restored.add(key);
        counts = addTurn(counts, turn, 1);
        recorded.set(key, turn);
      }
      if (message.type === 'sequence-restored' && message.turns.length === 0) return state;
      dispatch(deps.replyTo, {
        type: 'model-progress',
        job: deps.job,
        model: deps.model.id,
        counts,
        restoredTurns: state.restored.size,
        commitMs: message.type === 'turns-recorded' ? message.commitMs : 0,
      });
      return { ...state, counts, recorded };
    }
    case 'sequence-finished': {
      const unfinished = new Set(state.unfinished);
      unfinished.delete(message.sequence);
      return finishIfDone(deps, { ...state, unfinished });
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

/** Places the next sequences of `toPlace`, about one step's worth of conversations, then yields. */
function placeStep(deps: ModelDeps, state: ModelState, ctx: ActorContext<ModelMessage>): ModelState {
  const sequences = new Map(state.sequences);
  let placed = 0;
  let conversations = 0;
  for (const sequence of state.toPlace) {
    if (conversations >= conversationsOfStep(state.placementSteps)) break;
    placed += 1;
    conversations += deps.runs;
    const ref = deps.placement.place({
      parent: ctx.self,
      job: deps.job,
      model: deps.model,
      sequence,
      runs: deps.runs,
      replyTo: ctx.self,
      onCrash: sequenceRestartPolicy({
        sequence: sequence.id,
        maxRestarts: deps.maxSequenceRestarts,
        onGiveUp: (error) => dispatch(ctx.self, { type: 'sequence-halted', sequence: sequence.id, error }),
        warn: deps.warn,
      }),
    });
    sequences.set(sequence.id, ref);
    dispatch(ref, { type: 'start' });
  }
  const toPlace = state.toPlace.slice(placed);
  // A macrotask, not a message at once: the requests of the sequences just placed go out first.
  if (toPlace.length > 0)
    setImmediate(() =>
      whenReady(deps.placement, deps.model.id, () => dispatch(ctx.self, { type: 'place-more' })),
    );
  return { ...state, sequences, toPlace, placementSteps: state.placementSteps + 1 };
}

function reportIfDrained(deps: ModelDeps, state: ModelState): ModelState {
  if (!state.undrained || state.undrained.size > 0) return state;
  dispatch(deps.replyTo, { type: 'model-drained', job: deps.job, model: deps.model.id });
  return { ...state, undrained: undefined };
}

function finishIfDone(deps: ModelDeps, state: ModelState): ModelState {
  if (state.finishedReported || state.unfinished.size > 0) return state;
  dispatch(deps.replyTo, { type: 'model-finished', job: deps.job, model: deps.model.id });
  return { ...state, finishedReported: true };
}

/** `counts` with `turn` added (`sign` 1) or taken back (`sign` -1). */
function addTurn(counts: ModelCounts, turn: TurnSummary, sign: 1 | -1): ModelCounts {
  return {
    ...counts,
    ok: counts.ok + (turn.status === 'ok' ? sign : 0),
    failed: counts.failed + (turn.status === 'failed' ? sign : 0),
    skipped: counts.skipped + (turn.status === 'skipped' ? sign : 0),
    inputTokens: counts.inputTokens + sign * turn.inputTokens,
    outputTokens: counts.outputTokens + sign * turn.outputTokens,
  };
}
