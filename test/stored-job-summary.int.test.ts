import { describe, expect, it } from 'vitest';
import { actualsOf } from '../src/planning/outcome.js';
import { summarizeStoredJob } from '../src/results/stored-job-summary.js';
import { summarizeByModel } from '../src/results/summary.js';
import { summarizeScores } from '../src/scoring/statistics.js';
import { writeSyntheticJob } from '../src/store/synthetic-job.js';
import type { SequenceConfig } from '../src/suite/types.js';
import { useTempStore } from './helpers/temp.js';

describe('the summary of a stored job, in one pass over its pages', () => {
  const temp = useTempStore();

  it('gives the figures of the whole-job summaries, read a few turns at a time', async () => {
    const job = await writeSyntheticJob(temp.store, {
      id: '20261203-0000-summary',
      models: 3,
      sequences: 40,
      runs: 3,
      turnsPerSequence: 2,
      responseChars: 30,
      failEvery: 7,
      disagreeEvery: 5,
    });
    const now = Date.parse('2026-12-03T12:00:00Z');
    const turns = temp.store.turnsOf(job.id);
    const sequences: SequenceConfig[] = [];
    for (const page of temp.store.sequencePages(job.id)) sequences.push(...page);
    // Pages of 13 turns: groups of (model, sequence) straddle the pages.
    const streamed = summarizeStoredJob(job, temp.store.turnPages(job.id, undefined, undefined, 13), now);

    expect(streamed.models).toEqual(summarizeByModel(turns, ['model-1', 'model-2', 'model-3']));
    expect(streamed.actual).toEqual(actualsOf(job, turns, now));
    const whole = summarizeScores(turns, { ...job.suite, sequences });
    expect(streamed.scores.hasChecks).toBe(true);
    expect(streamed.scores.models.map(({ consistency: _, ...rest }) => rest)).toEqual(
      whole.models.map(({ consistency: _, ...rest }) => rest),
    );
    // The synthetic job has failed turns and runs that disagree: the figures are not trivial.
    expect(streamed.models[0]?.failed).toBeGreaterThan(0);
    expect(streamed.scores.models[0]?.meanAgreement).toBeLessThan(1);
  });
});
