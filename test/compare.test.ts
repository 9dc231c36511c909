import { describe, expect, it } from 'vitest';
import { compareJobs, formatComparison } from '../src/report/compare.js';
import { SCORED_SUITE, grade, jobOf, passedCheck, scoredTurn } from './helpers/records.js';

describe('troupe compare', () => {
  const before = {
    job: jobOf('before'),
    turns: [
      scoredTurn('before', 'alpha', 'greet', 1, 1, { checks: [passedCheck(false)], judge: grade(4) }),
      scoredTurn('before', 'alpha', 'count', 1, 1, { checks: [passedCheck(true)], judge: grade(6) }),
      scoredTurn('before', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
    ],
  };
  const afterSuite = {
    ...SCORED_SUITE,
    models: [...SCORED_SUITE.models, { id: 'gamma', provider: 'p', model: 'g', maxTokens: 10 }],
    sequences: [SCORED_SUITE.sequences[0], { id: 'new-one', prompts: ['x'] }],
  } as typeof SCORED_SUITE;
  const after = {
    job: jobOf('after', afterSuite),
    turns: [
      scoredTurn('after', 'alpha', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('after', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(5) }),
    ],
  };
  const comparison = compareJobs(before, after);

  it('matches models and sequences by id and says what got better or worse', () => {
    const greet = (model: string) =>
      comparison.sequences.find((c) => c.model === model && c.sequence === 'greet');
    expect(greet('alpha')).toMatchObject({
      passRate: { before: 0, after: 1, delta: 1 },
      judgeMean: { before: 4, after: 8, delta: 4 },
      verdict: 'better',
    });
    expect(greet('beta')).toMatchObject({ judgeMean: { delta: -3 }, verdict: 'worse' });
  });

  it('compares models over the sequences both jobs have', () => {
    // alpha's "count" is not in the after job: only "greet" is compared.
    expect(comparison.models.find((c) => c.model === 'alpha')?.judgeMean).toEqual({
      before: 4,
      after: 8,
      delta: 4,
    });
  });

  it('lists what is only in one job', () => {
    expect(comparison.onlyBefore).toEqual({ models: [], sequences: ['count'] });
    expect(comparison.onlyAfter).toEqual({ models: ['gamma'], sequences: ['new-one'] });
  });

  it('unchanged when nothing moved', () => {
    const same = compareJobs(before, before);
    expect(same.sequences.every((c) => c.verdict === 'unchanged')).toBe(true);
    expect(formatComparison(same)).toContain('no sequence changed');
  });

  it('prints a table for the terminal', () => {
    const text = formatComparison(comparison);
    expect(text).toContain('before → after');
    expect(text).toMatch(/alpha\s+greet\s+0\.0 % → 100\.0 %\s+4\.00 → 8\.00\s+0 → 0\s+better/);
    expect(text).toContain('models only in after: gamma');
  });
});
