import { afterEach, describe, expect, it } from 'vitest';
import { conversationsOfStep, spawnModel } from '../src/actors/model.js';
import type { ModelReport, SequencePlacement } from '../src/actors/model.js';
import { spawnStatelessActor, startSystem, stopActor, dispatch } from '../src/actors/nact.js';
import type { SystemRef } from '../src/actors/nact.js';
import type { SequenceMessage } from '../src/actors/sequence.js';
import type { ModelConfig, SequenceConfig } from '../src/suite/types.js';

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

/** A model actor whose placement records what it places and what each placed sequence is told. */
function modelWithRecordingPlacement(readyFor?: SequencePlacement['readyFor']) {
  system = startSystem();
  const placed: string[] = [];
  const told: [string, SequenceMessage['type']][] = [];
  const placement: SequencePlacement = {
    place: (request) => {
      placed.push(request.sequence.id);
      return spawnStatelessActor<SequenceMessage>(request.parent, `seq-${request.sequence.id}`, (message) => {
        told.push([request.sequence.id, message.type]);
      });
    },
    ...(readyFor && { readyFor }),
  };
  const reports = spawnStatelessActor<ModelReport>(system, 'reports', () => undefined);
  const model = spawnModel(reports, 'model', {
    job: 'job',
    model: MODEL,
    sequences: SEQUENCES,
    runs: RUNS,
    totalTurns: SEQUENCES.reduce((sum, s) => sum + s.prompts.length, 0) * RUNS,
    placement,
    replyTo: reports,
    maxSequenceRestarts: 1,
    warn: () => undefined,
  });
  return { model, placed, told };
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
      .map((sequence) => sequence.id);
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
    const { model, placed } = modelWithRecordingPlacement((modelId) => {
      asked.push(modelId);
      return asked.length === 1 ? undefined : later;
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
});
