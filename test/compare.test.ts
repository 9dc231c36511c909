import { describe, expect, it } from 'vitest';
import { compareJobs, formatComparison } from '../src/report/compare.js';
import type { Suite } from '../src/suite/types.js';
import { SCORED_SUITE, grade, jobOf, passedCheck, scoredTurn } from './helpers/records.js';

describe('troupe compare', () => {
  const before = {
    job: jobOf('before'),
    turns: [
      scoredTurn('before', 'alpha', 'greet', 1, 1, { checks: [passedCheck(false)], judge: grade(4) }),
      scoredTurn('before', 'alpha', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(6) }),
      scoredTurn('before', 'alpha', 'count', 1, 1, { checks: [passedCheck(true)], judge: grade(6) }),
      scoredTurn('before', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('before', 'beta', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(8) }),
    ],
  };
  const afterSuite = {
    ...SCORED_SUITE,
    models: [...SCORED_SUITE.models, { id: 'gamma', provider: 'p', model: 'g', maxTokens: 10 }],
    sequences: [SCORED_SUITE.sequences[0], { id: 'new-one', prompts: ['x'] }],
  } as Suite;
  const after = {
    job: jobOf('after', afterSuite),
    turns: [
      scoredTurn('after', 'alpha', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('after', 'alpha', 'greet', 1, 2, { checks: [passedCheck(true)], judge: grade(8) }),
      scoredTurn('after', 'beta', 'greet', 1, 1, { checks: [passedCheck(true)], judge: grade(5) }),
      scoredTurn('after', 'beta', 'greet', 1, 2, { status: 'failed' }),
      scoredTurn('after', 'gamma', 'greet', 1, 1, { judge: grade(9) }),
      scoredTurn('after', 'alpha', 'new-one', 1, 1, { judge: grade(1) }),
    ],
  };
  const comparison = compareJobs(before, after);
  const pair = (model: string, sequence: string) =>
    comparison.sequences.find((c) => c.model === model && c.sequence === sequence);

  it('says what got better: pass rate and judge up, failures not up', () => {
    expect(pair('alpha', 'greet')).toEqual({
      model: 'alpha',
      sequence: 'greet',
      passRate: { before: 0.5, after: 1, delta: 0.5, significant: null },
      judgeMean: { before: 5, after: 8, delta: 3, significant: null },
      failedTurns: { before: 0, after: 0, delta: 0, significant: null },
      verdict: 'better',
    });
  });

  it('says what got worse: judge down and a failed turn', () => {
    expect(pair('beta', 'greet')).toMatchObject({
      passRate: { before: 1, after: 1, delta: 0 },
      judgeMean: { before: 8, after: 5, delta: -3 },
      failedTurns: { before: 0, after: 1, delta: 1 },
      verdict: 'worse',
    });
  });

  it('mixed when figures move both ways; unchanged when nothing moved', () => {
    const mixedAfter = {
      ...before,
      job: jobOf('mixed'),
      turns: before.turns.map((t) =>
        t.model === 'beta' ? { ...t, checks: [passedCheck(false)], judge: grade(10) } : t,
      ),
    };
    const mixed = compareJobs(before, mixedAfter);
    expect(mixed.sequences.find((c) => c.model === 'beta' && c.sequence === 'greet')?.verdict).toBe('mixed');
    expect(mixed.sequences.find((c) => c.model === 'alpha' && c.sequence === 'greet')?.verdict).toBe(
      'unchanged',
    );

    const same = compareJobs(before, before);
    expect(same.sequences.every((c) => c.verdict === 'unchanged')).toBe(true);
    expect(same.models.every((c) => c.verdict === 'unchanged')).toBe(true);
    expect(formatComparison(same)).toContain('no sequence changed');
  });

  it('compares models over the sequences both jobs have', () => {
    // alpha's "count" is only in before and "new-one" only in after: only "greet" counts.
    expect(comparison.models.map((c) => c.model)).toEqual(['alpha', 'beta']);
    expect(comparison.models.find((c) => c.model === 'alpha')).toMatchObject({
      judgeMean: { before: 5, after: 8, delta: 3 },
      verdict: 'better',
    });
    expect(comparison.sequences.map((c) => `${c.model}/${c.sequence}`)).toEqual([
      'alpha/greet',
      'beta/greet',
    ]);
  });

  it('lists the models and sequences found in one job only', () => {
    expect(comparison.onlyBefore).toEqual({ models: [], sequences: ['count'] });
    expect(comparison.onlyAfter).toEqual({ models: ['gamma'], sequences: ['new-one'] });
  });

  it('a figure one job does not have is null, and its change too', () => {
    const unscored = {
      job: jobOf('unscored'),
      turns: before.turns.map((t) => ({ ...t, checks: undefined, judge: undefined })),
    };
    const c = compareJobs(unscored, before).models.find((m) => m.model === 'alpha');
    // Mean of the sequence means: greet (4, 6 → 5) and count (6).
    expect(c?.judgeMean).toEqual({ before: null, after: 5.5, delta: null, significant: null });
    expect(c?.passRate).toEqual({ before: null, after: 2 / 3, delta: null, significant: null });
    expect(c?.verdict).toBe('unchanged');
  });

  it('prints a table for the terminal', () => {
    const text = formatComparison(comparison);
    const lines = text.split('\n');
    expect(lines[0]).toBe('before → after');
    expect(lines[1]).toMatch(/^MODEL\s+SEQUENCE\s+CHECKS PASSED\s+JUDGE\s+FAILED TURNS\s+VERDICT$/);
    expect(text).toMatch(
      /alpha\s+\(all\)\s+50\.0 % → 100\.0 % \(\+50\.0 %\)\s+5\.00 → 8\.00 \(\+3\.00\)\s+0 → 0 \(±0\)\s+better/,
    );
    expect(text).toMatch(
      /beta\s+greet\s+100\.0 % → 100\.0 % \(±0\)\s+8\.00 → 5\.00 \(−3\.00\)\s+0 → 1 \(\+1\)\s+worse/,
    );
    expect(text).toContain('sequences only in before: count');
    expect(text).toContain('models only in after: gamma');
    expect(text).toContain('sequences only in after: new-one');
  });

  it("tests a model's change over the sequences both jobs have, and marks a significant one", () => {
    const suite = {
      ...SCORED_SUITE,
      sequences: ['s1', 's2', 's3'].map((id) => ({ id, prompts: ['q'] })),
    } as Suite;
    const judged = (job: string, model: string, scores: readonly number[]) =>
      scores.map((score, i) => scoredTurn(job, model, `s${i + 1}`, 1, 1, { judge: grade(score) }));
    const a = {
      job: jobOf('a', suite),
      turns: [...judged('a', 'alpha', [4, 5, 6]), ...judged('a', 'beta', [5, 5, 5])],
    };
    // alpha gains 2 on every sequence: significant. beta gains on one, loses on another: noise.
    const b = {
      job: jobOf('b', suite),
      turns: [...judged('b', 'alpha', [6, 7, 8]), ...judged('b', 'beta', [9, 1, 6])],
    };
    const result = compareJobs(a, b);
    const model = (id: string) => result.models.find((c) => c.model === id);
    expect(model('alpha')?.judgeMean).toEqual({ before: 5, after: 7, delta: 2, significant: true });
    expect(model('beta')?.judgeMean.delta).toBeCloseTo(1 / 3);
    expect(model('beta')?.judgeMean.significant).toBe(false);
    // No failed turn in any sequence: no change to find.
    expect(model('alpha')?.failedTurns.significant).toBe(false);
    // No checks: nothing to test.
    expect(model('alpha')?.passRate.significant).toBeNull();
    const text = formatComparison(result);
    expect(text).toMatch(/alpha\s+\(all\)\s+–\s+→\s+–\s+5\.00 → 7\.00 \(\+2\.00\)\*/);
    expect(text).not.toMatch(/beta\s+\(all\).*\*/);
    expect(text).toContain('* significant at 95 % (paired t-test over the sequences both jobs have)');
    // With one sequence in common nothing can be told, and nothing is marked.
    expect(comparison.models.every((c) => c.judgeMean.significant === null)).toBe(true);
    expect(formatComparison(comparison)).not.toContain('significant at 95 %');
  });

  it('gives JSON with every field (null, never missing)', () => {
    const json = JSON.parse(JSON.stringify(comparison)) as typeof comparison;
    expect(json).toEqual(comparison);
  });
});
