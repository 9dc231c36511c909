import { afterEach, describe, expect, it } from 'vitest';
import { conversationsOfStep } from '../src/actors/placement-steps.js';
import {
  DEFAULT_LIVE_CONVERSATIONS_PER_MODEL,
  PROGRESS_CHECKPOINT_INTERVAL_MS,
  spawnModel,
} from '../src/actors/model.js';
import type { ModelDeps, ModelMessage, ModelReport, SequencePlacement } from '../src/actors/model.js';
import { ManualClock, systemClock } from '../src/resilience/clock.js';
import type { Clock } from '../src/resilience/clock.js';
import type { ModelProgress } from '../src/store/records.js';
import { spawnStatelessActor, startSystem, stopActor, dispatch } from '../src/actors/nact.js';
import type { ActorRef, SystemRef } from '../src/actors/nact.js';
import type { SequenceMessage, TurnSummary } from '../src/actors/sequence.js';
import type { ModelConfig, SequenceConfig } from '../src/suite/types.js';
import { sequenceSourceOf } from './helpers/sequence-source.js';

const RUNS = 8;
/** The first step's 16 conversations at 8 runs: two sequences. */
const SEQUENCES_OF_FIRST_STEP = 2;
const MODEL: ModelConfig = { id: 'm', provider: 'p', model: 'm-1', maxTokens: 10 };
/** Sequence i has 1 + (i % 4) prompts, so longest-first is a visible reordering. */
const SEQUENCES: SequenceConfig[] = Array.from({ length: 20 }, (_, i) => ({
  id: `s${String(i).padStart(2, '0')}`,
  prompts: Array.from({ length: 1 + (i % 4) }, (_, p) => `prompt ${p}`),
}));

let system: SystemRef | undefined;
afterEach(() => {
  if (system) stopActor(system);
  system = undefined;
});

interface Harness {
  readonly model: ActorRef<ModelMessage>;
  /** Slices placed, as `sequence@firstRun+runs`, in order. */
  readonly placed: string[];
  /** What each placed sequence was told. */
  readonly told: [string, SequenceMessage['type']][];
  /** Sequence actors placed and not retired, by `sequence@firstRun`. */
  readonly alive: Set<string>;
  /** Most sequence actors alive at once. */
  readonly maxAlive: () => number;
  readonly reports: ModelReport[];
}

/** A model actor whose placement records what it places and what each placed sequence is told. */
function modelWithRecordingPlacement(
  options: {
    readonly readyFor?: SequencePlacement['readyFor'];
    readonly sequences?: readonly SequenceConfig[];
    readonly runs?: number;
    readonly liveConversations?: number;
    readonly store?: ModelDeps['store'];
    readonly clock?: Clock;
  } = {},
): Harness {
  system = startSystem();
  const sequences = options.sequences ?? SEQUENCES;
  const runs = options.runs ?? RUNS;
  const placed: string[] = [];
  const told: [string, SequenceMessage['type']][] = [];
  const alive = new Set<string>();
  let maxAlive = 0;
  const placement: SequencePlacement = {
    place: (request) => {
      const id = `${request.sequence.id}@${request.firstRun}`;
      placed.push(`${id}+${request.runs}`);
      alive.add(id);
      maxAlive = Math.max(maxAlive, alive.size);
      const ref = spawnStatelessActor<SequenceMessage>(
        request.parent,
        `seq-${request.sequence.id}-${request.firstRun}`,
        (message) => {
          told.push([request.sequence.id, message.type]);
        },
      );
      return {
        ref,
        retire: () => {
          alive.delete(id);
          stopActor(ref);
        },
      };
    },
    ...(options.readyFor && { readyFor: options.readyFor }),
  };
  const reports: ModelReport[] = [];
  const reportsRef = spawnStatelessActor<ModelReport>(system, 'reports', (report) => {
    reports.push(report);
  });
  const model = spawnModel(reportsRef, 'model', {
    job: 'job',
    model: MODEL,
    sequences: sequenceSourceOf(sequences),
    runs,
    totalTurns: sequences.reduce((sum, s) => sum + s.prompts.length, 0) * runs,
    liveConversations: options.liveConversations ?? DEFAULT_LIVE_CONVERSATIONS_PER_MODEL,
    placement,
    replyTo: reportsRef,
    store: options.store ?? memoryProgress(),
    clock: options.clock ?? systemClock,
    maxSequenceRestarts: 1,
    warn: () => undefined,
  });
  return { model, placed, told, alive, maxAlive: () => maxAlive, reports };
}

/** Progress checkpoints kept in memory. */
function memoryProgress(): ModelDeps['store'] & { readonly written: ModelProgress[] } {
  const written: ModelProgress[] = [];
  return {
    written,
    getModelProgress: (job, model) => written.filter((p) => p.job === job && p.model === model).at(-1),
    putModelProgress: (progress) => {
      written.push(progress);
      return Promise.resolve();
    },
  };
}

/** A turn summary of run `run`, turn `turn`, answered. */
function okTurn(run: number, turn: number): TurnSummary {
  return { run, turn, status: 'ok', latencyMs: 1, inputTokens: 3, outputTokens: 2 };
}

describe('model actor placement', () => {
  it('steps start at 16 conversations and double up to 256', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(conversationsOfStep)).toEqual([16, 32, 64, 128, 256, 256, 256]);
  });

  it('places every sequence, longest first, a step of conversations at a time', async () => {
    const { model, placed, told } = modelWithRecordingPlacement();
    dispatch(model, { type: 'start' });
    // Watched once per turn of the event loop: each step comes in a turn of its own.
    const seen: number[] = [];
    for (let turn = 0; turn < 1_000 && placed.length < SEQUENCES.length; turn += 1) {
      if (seen.at(-1) !== placed.length) seen.push(placed.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Steps of 16, 32, 64 and 128 conversations: 2, 4, 8 and (the last) 6 sequences of 8 runs.
    expect([...seen, placed.length]).toEqual([0, 2, 6, 14, 20]);
    const expectedOrder = [...SEQUENCES]
      .sort((a, b) => b.prompts.length - a.prompts.length)
      .map((sequence) => `${sequence.id}@1+${RUNS}`);
    expect(placed).toEqual(expectedOrder);
    await expect.poll(() => told.length === SEQUENCES.length).toBe(true);
    expect(told.every(([, type]) => type === 'start')).toBe(true);
  });

  it('asks the placement before each step and places nothing while it is not ready', async () => {
    // Ready at once for the first step; then not until `open` is called.
    let open: () => void = () => undefined;
    const later = new Promise<void>((resolve) => {
      open = resolve;
    });
    const asked: string[] = [];
    const { model, placed } = modelWithRecordingPlacement({
      readyFor: (modelId) => {
        asked.push(modelId);
        return asked.length === 1 ? undefined : later;
      },
    });
    dispatch(model, { type: 'start' });
    await expect.poll(() => placed.length === SEQUENCES_OF_FIRST_STEP && asked.length >= 2).toBe(true);
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(placed).toHaveLength(SEQUENCES_OF_FIRST_STEP);
    expect(new Set(asked)).toEqual(new Set([MODEL.id]));
    open();
    await expect.poll(() => placed.length === SEQUENCES.length).toBe(true);
  });

  it('places nothing more once told to stop work', async () => {
    const { model, placed, told } = modelWithRecordingPlacement();
    dispatch(model, { type: 'start' });
    dispatch(model, { type: 'stop-work' });
    await expect
      .poll(() => told.filter(([, type]) => type === 'stop-work').length === SEQUENCES_OF_FIRST_STEP)
      .toBe(true);
    // Many event-loop turns later, still only the first step.
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(placed).toHaveLength(SEQUENCES_OF_FIRST_STEP);
  });

  it('never keeps more conversations live than its window; starts the rest as slices finish', async () => {
    const WINDOW = 3;
    const sequences = Array.from({ length: 30 }, (_, i) => ({ id: `q${i}`, prompts: ['one', 'two'] }));
    const harness = modelWithRecordingPlacement({ sequences, runs: 1, liveConversations: WINDOW });
    dispatch(harness.model, { type: 'start' });
    const finished = new Set<string>();
    // Plays each live conversation to its end, a few at a time, as its provider would.
    for (let round = 0; round < 1_000 && finished.size < sequences.length; round += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(harness.alive.size).toBeLessThanOrEqual(WINDOW);
      const [first] = harness.alive;
      if (first === undefined || finished.has(first)) continue;
      finished.add(first);
      const sequence = first.split('@')[0] ?? '';
      dispatch(harness.model, {
        type: 'turns-recorded',
        sequence,
        firstRun: 1,
        turns: [okTurn(1, 1), okTurn(1, 2)],
        commitMs: 1,
      });
      dispatch(harness.model, { type: 'sequence-finished', sequence, firstRun: 1 });
    }
    await expect.poll(() => harness.reports.some((r) => r.type === 'model-finished')).toBe(true);
    expect(harness.placed).toHaveLength(sequences.length);
    expect(harness.maxAlive()).toBe(WINDOW);
    expect(harness.alive.size).toBe(0);
    const progress = harness.reports.filter((r) => r.type === 'model-progress').at(-1);
    expect(progress?.type === 'model-progress' && progress.counts).toMatchObject({
      ok: 2 * sequences.length,
      total: 2 * sequences.length,
    });
  });

  it('cuts a sequence of many runs into slices, none bigger than the window', async () => {
    const sequences = [{ id: 'only', prompts: ['p'] }];
    const wide = modelWithRecordingPlacement({ sequences, runs: 40 });
    dispatch(wide.model, { type: 'start' });
    await expect.poll(() => wide.placed.length === 3).toBe(true);
    expect(wide.placed).toEqual(['only@1+16', 'only@17+16', 'only@33+8']);
    stopActor(system as SystemRef);
    const narrow = modelWithRecordingPlacement({ sequences, runs: 40, liveConversations: 5 });
    dispatch(narrow.model, { type: 'start' });
    await expect.poll(() => narrow.placed.length === 1).toBe(true);
    expect(narrow.placed).toEqual(['only@1+5']);
  });

  it('counts a turn once when a slice re-created elsewhere reports what the store holds', async () => {
    const sequences = [{ id: 'only', prompts: ['a', 'b'] }];
    const harness = modelWithRecordingPlacement({ sequences, runs: 2 });
    dispatch(harness.model, { type: 'start' });
    await expect.poll(() => harness.placed.length === 1).toBe(true);
    const slice = { sequence: 'only', firstRun: 1 };
    dispatch(harness.model, { type: 'turns-recorded', ...slice, turns: [okTurn(1, 1)], commitMs: 1 });
    // Its worker died; the replacement read run 1's first turn and run 2's first from the store
    // (run 2's report died with the worker).
    dispatch(harness.model, { type: 'sequence-restored', ...slice, turns: [okTurn(1, 1), okTurn(2, 1)] });
    await expect
      .poll(() => harness.reports.filter((r) => r.type === 'model-progress').length === 2)
      .toBe(true);
    const last = harness.reports.filter((r) => r.type === 'model-progress').at(-1);
    expect(last).toMatchObject({ counts: { ok: 2, total: 4, inputTokens: 6 }, restoredTurns: 1 });
  });

  it('checkpoints where it stands; started again, it resumes there and counts what came before', async () => {
    // Ids in key order, as the store pages them.
    const sequences = Array.from({ length: 12 }, (_, i) => ({
      id: `q${String(i).padStart(2, '0')}`,
      prompts: ['one'],
    }));
    const store = memoryProgress();
    const clock = new ManualClock(0);
    const first = modelWithRecordingPlacement({ sequences, runs: 1, liveConversations: 4, store, clock });
    dispatch(first.model, { type: 'start' });
    await expect.poll(() => first.alive.size === 4).toBe(true);
    // q01, q02 and q00 finish (q00 last): the mark passes all three at once; q03 stays in flight.
    for (const sequence of ['q01', 'q02', 'q00']) {
      clock.advance(PROGRESS_CHECKPOINT_INTERVAL_MS);
      dispatch(first.model, {
        type: 'turns-recorded',
        sequence,
        firstRun: 1,
        turns: [okTurn(1, 1)],
        commitMs: 1,
      });
      dispatch(first.model, { type: 'sequence-finished', sequence, firstRun: 1 });
    }
    await expect.poll(() => store.written.length > 0 && store.written.at(-1)?.done.ok === 3).toBe(true);
    expect(store.written.at(-1)).toMatchObject({
      resumeAt: { sequence: 'q03', firstRun: 1 },
      done: { ok: 3 },
    });
    stopActor(system as SystemRef);

    // The daemon restarts: a new model actor of the same (job, model) and store.
    const second = modelWithRecordingPlacement({ sequences, runs: 1, liveConversations: 4, store, clock });
    dispatch(second.model, { type: 'start' });
    await expect.poll(() => second.placed.length === 4).toBe(true);
    expect(second.placed).toEqual(['q03@1+1', 'q04@1+1', 'q05@1+1', 'q06@1+1']);
    await expect.poll(() => second.reports.some((r) => r.type === 'model-progress')).toBe(true);
    expect(second.reports.find((r) => r.type === 'model-progress')).toMatchObject({
      counts: { ok: 3, total: 12 },
      restoredTurns: 3,
    });
  });
});
